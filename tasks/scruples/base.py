"""What the three Scruples tasks share: files, prompt variants, validation reports, metrics.

The Scruples tasks are Python tasks, not YAML definitions, because the declarative format
cannot say what they do: validate each release line and skip (and count) unscorable items
instead of failing, list each template's own answer keys in the prompt and score them, ask a
dilemma in both action orders and average, and add a study's metric profile. Their prompts
are declared as a YAML task declares its templates (`PromptVariant.declaration`, loaded by
`moralbench.prompts.load_templates`), and their metrics come from the same choice-task base.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from moralbench.choice_records import choice_fields
from moralbench.choice_task import ChoiceTask
from moralbench.errors import OptionError
from moralbench.fewshot import prompt_context
from moralbench.predictions import ESTIMATOR, distribution
from moralbench.prompts import PromptTemplate, load_templates
from moralbench.requests import (
    ChoiceRequest,
    ChoiceResponse,
    ItemView,
    Message,
    Request,
    Response,
)
from moralbench.task import Doc, Record, TaskContext

from .data import FileReport, JsonLine, read_docs
from .maity2024 import maity2024_item, summed_spellings, with_profile

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
SAMPLE_DATA_DIR = HERE / "sample_data"
FETCH_HINT = "moralbench data download scruples"


@dataclass(frozen=True)
class PromptVariant:
    """One named prompt of a task and the answers it offers.

    `keys` are the answer words in the task's label order; the choices the model scores are
    `" " + key`. The Jinja files live in `templates/<task>/`: `<name>.jinja` for a plain
    prompt, or `<name>.system.jinja` + `<name>.user.jinja` for a chat prompt (see
    `declaration`).
    """

    name: str
    keys: tuple[str, ...]
    description: str
    chat: bool = False
    answer_prefix: str = "Answer:"
    #: False: the choices are the keys exactly as written (no leading space)
    leading_space: bool = True
    #: more spellings per label, scored too and summed with the key's probability (e.g. the
    #: study's "yes" beside "Yes"); one tuple per extra spelling, in label order
    spellings: tuple[tuple[str, ...], ...] = ()
    #: the action order this template fixes (dilemmas), or None for the task's option
    order: str | None = None
    #: the metric profile whose formulas this prompt was written for (None: the suite's only)
    profile: str | None = None

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(f" {key}" if self.leading_space else key for key in self.keys)

    @property
    def verbatim(self) -> bool:
        """Whether the rendered text is the prompt exactly, whitespace included: so it is
        without an answer prefix (`plain_context`), as the studies' own prompts are."""
        return not self.chat and not self.answer_prefix

    @property
    def choice_sets(self) -> tuple[tuple[str, ...], ...]:
        """The choices of every request one question needs: the keys, then each spelling."""
        return (self.choices, *self.spellings)

    @property
    def declaration(self) -> dict[str, Any]:
        """This prompt as a YAML task's `templates:` entry declares it."""
        if self.chat:
            roles = ("system", "user")
            messages = [{"role": role, "file": f"{self.name}.{role}.jinja"} for role in roles]
            return {"messages": messages, "answer_prefix": self.answer_prefix}
        return {"file": f"{self.name}.jinja", "answer_prefix": self.answer_prefix}

    def load(self, task: str) -> PromptTemplate:
        declared = {self.name: self.declaration}
        return load_templates(task, declared, TEMPLATE_DIR / task)[self.name]


def template_help(variants: Mapping[str, PromptVariant]) -> str:
    listed = "; ".join(f"{v.name}: {v.description}" for v in variants.values())
    return f"prompt template (default: default). {listed}"


class ScruplesTask(ChoiceTask):
    """A Scruples task reading `<data_dir>/scruples/<subset>/<split>.scruples-<subset>.jsonl`."""

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
        return self.asked(fields)[0]

    def asked(self, fields: Mapping[str, Any]) -> list[ChoiceRequest]:
        """The requests of one question: one per spelling set (usually just one)."""
        # One layout whatever the template's last line: the answer prefix starts its own line
        # after a plain prompt (`plain_context`; a template without a prefix, a study's own
        # prompt, is left exactly as written); chat messages are trimmed.
        context = prompt_context(self.template, fields)
        if not isinstance(context, str):
            context = tuple(Message(m.role, m.content.strip()) for m in context)
        item = self.item_view(fields)
        prefix = self.template.answer_prefix
        return [
            ChoiceRequest(context, choices, prefix, item=item)
            for choices in self.variant.choice_sets
        ]

    def requests(self, doc: Doc) -> list[Request]:
        return list(self.asked(self.prompt_fields(doc)))

    def prediction_responses(self, doc: Doc, prediction: Mapping[str, Any]) -> list[Response]:
        """One response from a user's prediction line (`moralbench score`), whatever the
        number of spelling sets the template scores."""
        return [ChoiceResponse(distribution(prediction, len(self.labels)), ESTIMATOR)]

    def process(self, doc: Doc, responses: Sequence[Response]) -> Record:
        combined = summed_spellings(responses)
        record = choice_fields(combined, self.variant.choices, doc["target"], doc["counts"])
        if self.variant.profile and combined.error is None:
            assert isinstance(combined, ChoiceResponse)
            record["metrics"].update(self.profile_item(doc, [list(combined.logprobs)]))
        return self.annotate(record)

    def profile_item(self, doc: Doc, raw_logprobs: list[list[float]]) -> dict[str, float]:
        """Per-item values of the template's metric profile (the study's formulas)."""
        return maity2024_item(self.subset, doc["counts"], raw_logprobs)

    def annotate(self, record: Record) -> Record:
        record["labels"] = list(self.labels)
        record["template"] = self.variant.name
        return record

    # -- results --------------------------------------------------------------------------
    def aggregate(
        self, records: Sequence[Record], calibration: Sequence[Record] | None = None
    ) -> dict[str, Any]:
        metrics = super().aggregate(records, calibration)
        if self.variant.profile:
            metrics = with_profile(metrics, records, self.context.seed, self.context.n_bootstrap)
        return metrics

    def templates(self) -> dict[str, PromptTemplate]:
        return {self.template.name: self.template}

    def summary(self) -> dict[str, Any]:
        return {
            "template": self.variant.name,
            "choices": list(self.variant.choices),
            "labels": list(self.labels),
            "files": {split: report.as_dict() for split, report in self.reports.items()},
        }
