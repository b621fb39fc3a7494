"""What both DFAR tasks share: data files, documents, template choice and few-shot examples."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from moralbench.errors import OptionError
from moralbench.fewshot import ShotPool, prompt_context
from moralbench.prompts import PromptTemplate
from moralbench.requests import Context
from moralbench.task import Doc, Task, TaskContext

from .data import SPLIT_FILES, read_dfar, split_path
from .prompting import TEMPLATES, example, load_template, prompt_fields

SAMPLE_DATA = Path(__file__).resolve().parent / "sample_data"
FEWSHOT_SPLIT = "train"


class DfarTask(Task):
    """Base of the DFAR tasks (not registered itself)."""

    fetch_hint: ClassVar[str | None] = "moralbench data download dfar"
    sample_data_dir: ClassVar[Path | None] = SAMPLE_DATA
    fewshot_split: ClassVar[str | None] = FEWSHOT_SPLIT
    options_help: ClassVar[dict[str, str]] = {
        "template": f"prompt template: {', '.join(TEMPLATES)} (default: default)",
    }

    def __init__(self, context: TaskContext) -> None:
        super().__init__(context)
        self.template = load_template(self.name, self.option("template", "default"))
        self.shots = ShotPool(lambda: self.docs(FEWSHOT_SPLIT))

    @classmethod
    def data_files(cls, data_dir: Path, split: str) -> list[Path]:
        path = split_path(data_dir, split)
        return [path] if path is not None else []

    def require_files(self, split: str) -> list[Path]:
        if split not in SPLIT_FILES:
            raise OptionError(
                f"task {self.name!r} has no split {split!r}; splits: {', '.join(SPLIT_FILES)}"
            )
        if self.context.num_fewshot > 0 and split != FEWSHOT_SPLIT:
            super().require_files(FEWSHOT_SPLIT)
        return super().require_files(split)

    def docs(self, split: str) -> Iterable[Doc]:
        (path,) = self.require_files(split)
        return read_dfar(path, split)

    def templates(self) -> dict[str, PromptTemplate]:
        return {self.template.name: self.template}

    def context_for(self, doc: Doc) -> Context:
        """The prompt for a document, with `--num-fewshot` worked examples from train."""
        shots = self.shots.pick(doc, self.context.num_fewshot, self.context.seed)
        return prompt_context(self.template, prompt_fields(doc), [example(s) for s in shots])

    def summary(self) -> dict[str, Any]:
        return {"template": self.template.name, "num_fewshot": self.context.num_fewshot}
