"""moralbench: how well do a language model's judgements match the spread of human ones?

What plugin authors may import is listed in `__all__`; everything else is internal.
"""

__version__ = "0.1.0"

from .backend import Backend, BackendOptions, BackendSpec  # noqa: E402
from .choice_records import aggregate_choices, choice_fields  # noqa: E402
from .errors import (  # noqa: E402
    BackendUnavailable,
    DataNotFound,
    MoralbenchError,
    TaskDataError,
)
from .hookspecs import hookimpl  # noqa: E402
from .judges import Judge, JudgeContext, JudgePair, JudgeSpec, Verdict  # noqa: E402
from .prompts import PromptTemplate  # noqa: E402
from .requests import (  # noqa: E402
    ChoiceRequest,
    ChoiceResponse,
    GenerateRequest,
    GenerateResponse,
    ItemView,
    Message,
)
from .runner import evaluate  # noqa: E402
from .task import Task, TaskContext  # noqa: E402
from .yaml_task import load_yaml_tasks  # noqa: E402

__all__ = [
    "__version__",
    "Backend",
    "BackendOptions",
    "BackendSpec",
    "BackendUnavailable",
    "ChoiceRequest",
    "ChoiceResponse",
    "DataNotFound",
    "GenerateRequest",
    "GenerateResponse",
    "ItemView",
    "Judge",
    "JudgeContext",
    "JudgePair",
    "JudgeSpec",
    "Message",
    "MoralbenchError",
    "PromptTemplate",
    "Task",
    "TaskContext",
    "TaskDataError",
    "Verdict",
    "aggregate_choices",
    "choice_fields",
    "evaluate",
    "hookimpl",
    "load_yaml_tasks",
]
