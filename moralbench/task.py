"""The task contract: documents in, requests out, responses back, metrics at the end."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from .errors import DataNotFound, OptionError
from .prompts import PromptTemplate
from .requests import Request, Response
from .run_options import reject_unknown

Doc = dict[str, Any]
Record = dict[str, Any]


def _no_warn(message: str) -> None:
    return None


@dataclass(frozen=True)
class TaskContext:
    """Everything a task gets for one run."""

    data_dir: Path
    options: Mapping[str, str] = field(default_factory=dict)
    seed: int = 0
    num_fewshot: int = 0
    strict: bool = False
    n_bootstrap: int = 1000
    #: (contested_below, clear_at) on the top label's vote share; None: the default 0.75
    agreement_cuts: tuple[float, float] | None = None
    load_judge: Callable[[str, Mapping[str, str]], Any] | None = None
    warn: Callable[[str], None] = _no_warn


def check_fewshot(task: str, num_fewshot: int, fewshot_split: str | None) -> None:
    """Refuse a `--num-fewshot` the task cannot apply, so no run records a setting it ignored."""
    if num_fewshot < 0:
        raise OptionError(f"--num-fewshot must be 0 or more, got {num_fewshot}")
    if num_fewshot > 0 and fewshot_split is None:
        raise OptionError(
            f"task {task!r} is zero-shot only: it has no split to draw --num-fewshot examples "
            f"from; run it without --num-fewshot (got {num_fewshot})"
        )


class TaskFactory(Protocol):
    """What `moralbench_register_tasks` returns: a Task subclass or a YAML definition."""

    name: str
    version: str
    output_type: str
    description: str

    def __call__(self, context: TaskContext) -> Task: ...

    def data_files(self, data_dir: Path, split: str) -> list[Path]: ...


class Task(ABC):
    """Base class for Python-defined tasks.

    Subclasses set the class attributes and implement `docs`, `requests`, `process` and
    `aggregate`. Records passed to `aggregate` are the JSON sample records as written to the
    samples file, so a task can be re-scored from its samples alone.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    output_type: ClassVar[str]  # "choice" or "generate"
    description: ClassVar[str] = ""
    #: split used to fit calibration parameters (None: the task fits nothing)
    calibration_split: ClassVar[str | None] = None
    #: documented task options: name -> help text; unknown options are an error
    options_help: ClassVar[dict[str, str]] = {}
    #: command that fetches this task's data, shown when a file is missing
    fetch_hint: ClassVar[str | None] = None
    #: groups and tags the task belongs to (`--tasks scruples` runs every task tagged so)
    tags: ClassVar[tuple[str, ...]] = ()
    #: a folder laid out like a data dir with a few bundled items (`--sample-data`)
    sample_data_dir: ClassVar[Path | None] = None
    #: split the task draws `--num-fewshot` examples from (None: the task is zero-shot only,
    #: and `--num-fewshot` above 0 is refused rather than silently ignored)
    fewshot_split: ClassVar[str | None] = None

    def __init__(self, context: TaskContext) -> None:
        self.context = context
        reject_unknown(context.options, self.options_help, f"task {self.name!r} has no option(s)")
        check_fewshot(self.name, context.num_fewshot, self.fewshot_split)

    def option(self, key: str, default: str) -> str:
        return str(self.context.options.get(key, default))

    @classmethod
    def data_files(cls, data_dir: Path, split: str) -> list[Path]:
        """The files `docs(split)` reads (for listings, missing-file errors and sha256)."""
        return []

    def require_files(self, split: str) -> list[Path]:
        files = self.data_files(self.context.data_dir, split)
        for path in files:
            if not path.is_file():
                raise DataNotFound(path, self.fetch_hint)
        return files

    def has_split(self, split: str) -> bool:
        files = self.data_files(self.context.data_dir, split)
        return bool(files) and all(p.is_file() for p in files)

    @abstractmethod
    def docs(self, split: str) -> Iterable[Doc]:
        """Validated documents, each with a unique string `doc_id`."""

    @abstractmethod
    def requests(self, doc: Doc) -> list[Request]:
        """The requests one document needs (often one)."""

    @abstractmethod
    def process(self, doc: Doc, responses: Sequence[Response]) -> Record:
        """The per-sample record (JSON-serialisable) from the responses, in request order."""

    @abstractmethod
    def aggregate(
        self, records: Sequence[Record], calibration: Sequence[Record] | None = None
    ) -> dict[str, Any]:
        """Metrics over the records: `{metric: value, "<metric>_ci": [lo, hi], ...}`."""

    def templates(self) -> dict[str, PromptTemplate]:
        """The templates this run uses (their sha256 goes into results)."""
        return {}

    def finalize(self, records: list[Record]) -> list[Record]:
        """Optional second stage over all records (e.g. a judge); default: unchanged."""
        return records

    def summary(self) -> dict[str, Any]:
        """Facts for results JSON beyond metrics (skipped lines, judge used...)."""
        return {}
