"""What the three Scruples tasks share: files, prompt variants, validation reports, metrics."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from moralbench.choice_records import aggregate_choices, choice_fields
from moralbench.errors import OptionError
from moralbench.prompts import PromptTemplate, plain_context, template_file
from moralbench.requests import ChoiceRequest, ItemView, Message, Request, Response
from moralbench.task import Doc, Record, Task, TaskContext

from .data import FileReport, JsonLine, read_docs

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
SAMPLE_DATA_DIR = HERE / "sample_data"
FETCH_HINT = "moralbench data download scruples"


@dataclass(frozen=True)
class PromptVariant:
    """One named prompt of a task and the answers it offers.

    `keys` are the answer words in the task's label order; the choices the model scores are
    `" " + key`. The Jinja files live in `templates/<task>/`: `<name>.jinja` for a plain
    prompt, or `<name>.system.jinja` + `<name>.user.jinja` for a chat prompt.
    """

    name: str
    keys: tuple[str, ...]
    description: str
    chat: bool = False
    answer_prefix: str = "Answer:"

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(f" {key}" for key in self.keys)

    def load(self, task: str) -> PromptTemplate:
        folder = TEMPLATE_DIR / task
        if not self.chat:
            return template_file(task, self.name, folder / f"{self.name}.jinja", self.answer_prefix)
        messages = tuple(
            (role, (folder / f"{self.name}.{role}.jinja").read_text(encoding="utf-8").rstrip("\n"))
            for role in ("system", "user")
        )
        return PromptTemplate(task, self.name, messages=messages, answer_prefix=self.answer_prefix)


def template_help(variants: Mapping[str, PromptVariant]) -> str:
    listed = "; ".join(f"{v.name}: {v.description}" for v in variants.values())
    return f"prompt template (default: default). {listed}"


class ScruplesTask(Task):
    """A Scruples task reading `<data_dir>/scruples/<subset>/<split>.scruples-<subset>.jsonl`."""

    output_type: ClassVar[str] = "choice"
    calibration_split: ClassVar[str | None] = "dev"
    fetch_hint: ClassVar[str | None] = FETCH_HINT
    sample_data_dir: ClassVar[Path | None] = SAMPLE_DATA_DIR
    #: "anecdotes" or "dilemmas": the archive and file-name part
    subset: ClassVar[str]
    #: label names in choice order
    labels: ClassVar[tuple[str, ...]]
    variants: ClassVar[dict[str, PromptVariant]]

    def __init__(self, context: TaskContext) -> None:
        super().__init__(context)
        name = self.option("template", "default")
        if name not in self.variants:
            raise OptionError(
                f"task {self.name!r} has no template {name!r}; "
                f"templates: {', '.join(self.variants)}"
            )
        self.variant = self.variants[name]
        self.template = self.variant.load(self.name)
        self.reports: dict[str, FileReport] = {}

    @classmethod
    def data_files(cls, data_dir: Path, split: str) -> list[Path]:
        name = f"{split}.scruples-{cls.subset}.jsonl"
        return [Path(data_dir) / "scruples" / cls.subset / name]

    # -- documents ----------------------------------------------------------------------
    @abstractmethod
    def parse_line(self, line: JsonLine) -> Doc:
        """One validated doc, or raise TaskDataError (fatal) / SkippedLine (skippable)."""

    def docs(self, split: str) -> Iterable[Doc]:
        (path,) = self.require_files(split)
        report = self.reports[split] = FileReport(str(path))
        return read_docs(
            path, self.parse_line, report, strict=self.context.strict, warn=self.context.warn
        )

    # -- requests and records -----------------------------------------------------------
    @abstractmethod
    def prompt_fields(self, doc: Doc) -> dict[str, Any]:
        """The fields the templates see for one document."""

    @abstractmethod
    def item_view(self, fields: Mapping[str, Any]) -> ItemView:
        """The item for backends that read no prompt (classifiers, reward models)."""

    def answer_options(self, texts: Sequence[str]) -> list[dict[str, str]]:
        """`[{key, text}]` for templates that list the answers (keys in label order)."""
        return [{"key": k, "text": t} for k, t in zip(self.variant.keys, texts, strict=True)]

    def request(self, fields: Mapping[str, Any]) -> ChoiceRequest:
        rendered = self.template.render(fields)
        # One layout whatever the template's last line: the answer prefix starts its own line
        # after a plain prompt (`plain_context`); chat messages are trimmed.
        context: str | tuple[Message, ...] = (
            plain_context(rendered, self.template.answer_prefix)
            if isinstance(rendered, str)
            else tuple(Message(m.role, m.content.strip()) for m in rendered)
        )
        return ChoiceRequest(
            context, self.variant.choices, self.template.answer_prefix, item=self.item_view(fields)
        )

    def requests(self, doc: Doc) -> list[Request]:
        return [self.request(self.prompt_fields(doc))]

    def process(self, doc: Doc, responses: Sequence[Response]) -> Record:
        record = choice_fields(responses[0], self.variant.choices, doc["target"], doc["counts"])
        return self.annotate(record)

    def annotate(self, record: Record) -> Record:
        record["labels"] = list(self.labels)
        record["template"] = self.variant.name
        return record

    # -- results --------------------------------------------------------------------------
    def aggregate(
        self, records: Sequence[Record], calibration: Sequence[Record] | None = None
    ) -> dict[str, Any]:
        return aggregate_choices(
            records,
            calibration,
            metric_names=None,
            seed=self.context.seed,
            n_bootstrap=self.context.n_bootstrap,
        )

    def templates(self) -> dict[str, PromptTemplate]:
        return {self.template.name: self.template}

    def summary(self) -> dict[str, Any]:
        return {
            "template": self.variant.name,
            "choices": list(self.variant.choices),
            "labels": list(self.labels),
            "files": {split: report.as_dict() for split, report in self.reports.items()},
        }
