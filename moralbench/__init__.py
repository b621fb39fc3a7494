"""moralbench: how well do a language model's judgements match the spread of human ones?

What plugin authors may import is listed in `__all__`; everything else is internal.
"""

from ._version import __version__
from .backend import Backend, BackendOptions, BackendSpec
from .choice_records import aggregate_choices, choice_fields
from .errors import (
    BackendUnavailable,
    DataNotFound,
    MoralbenchError,
    TaskDataError,
)
from .hookspecs import hookimpl
from .judges import Judge, JudgeContext, JudgePair, JudgeSpec, Verdict
from .prompts import PromptTemplate
from .requests import (
    ChoiceRequest,
    ChoiceResponse,
    GenerateRequest,
    GenerateResponse,
    ItemView,
    Message,
)
from .runner import evaluate
from .task import Task, TaskContext
from .yaml_task import load_yaml_tasks

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
