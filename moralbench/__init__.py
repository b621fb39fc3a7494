"""moralbench: how well do a language model's judgements match the spread of human ones?

What plugin authors may import is listed in `__all__`; everything else is internal.
"""

from ._version import __version__
from .backend import Backend, BackendOptions, BackendSpec
from .choice_records import aggregate_choices, choice_fields
from .choice_task import ChoiceTask
from .datasets import DatasetSource, RemoteFile
from .errors import (
    BackendUnavailable,
    BackendUnsupported,
    DataNotFound,
    MoralbenchError,
    OptionError,
    TaskDataError,
)
from .fewshot import ShotPool, prompt_context
from .hookspecs import hookimpl
from .judges import Judge, JudgeContext, JudgePair, JudgeSpec, Verdict
from .metrics import MetricInfo
from .prompts import PromptTemplate, load_templates, plain_context
from .requests import (
    ChoiceRequest,
    ChoiceResponse,
    GenerateRequest,
    GenerateResponse,
    ItemView,
    Message,
)
from .run_result import RunResult, TaskOutcome
from .runner import evaluate
from .sample_record import SampleRecord
from .scoring import score
from .task import Task, TaskContext
from .yaml_task import load_yaml_tasks

__all__ = [
    "__version__",
    "Backend",
    "BackendOptions",
    "BackendSpec",
    "BackendUnavailable",
    "BackendUnsupported",
    "ChoiceRequest",
    "ChoiceResponse",
    "ChoiceTask",
    "DataNotFound",
    "DatasetSource",
    "GenerateRequest",
    "GenerateResponse",
    "ItemView",
    "Judge",
    "JudgeContext",
    "JudgePair",
    "JudgeSpec",
    "Message",
    "MetricInfo",
    "MoralbenchError",
    "OptionError",
    "PromptTemplate",
    "RemoteFile",
    "RunResult",
    "SampleRecord",
    "ShotPool",
    "Task",
    "TaskContext",
    "TaskDataError",
    "TaskOutcome",
    "Verdict",
    "aggregate_choices",
    "choice_fields",
    "evaluate",
    "hookimpl",
    "load_templates",
    "load_yaml_tasks",
    "plain_context",
    "prompt_context",
    "score",
]
