"""Declarative tasks: a YAML definition plus Jinja templates, no Python needed.

task: my_task                     # unique name
version: "1"
description: one line
tags: [my_suite]                 # optional: groups/tags `--tasks my_suite` selects
dataset:
  format: jsonl                   # jsonl or csv
  base: data                      # paths relative to the data dir (data) or this file (task)
  splits: {test: my/test.jsonl, dev: my/dev.jsonl}
doc_id: id                        # field holding a unique id (default: line number)
choices: [" yes", " no"]          # or choices_field: name of a list field
choice_variants: [["Yes"], ["No"]]  # optional, per choice: further strings that count as it
answer_instruction: Reply yes or no.   # optional: ends the user message in chat mode
target: label                     # field: an index or the text of a choice
human_counts: votes               # optional field: vote counts per choice
templates:
  default: {file: prompt.jinja, answer_prefix: "Answer:"}
metrics: [accuracy, f1_macro, xentropy]   # optional; default: all that apply
calibration_split: dev            # optional
fewshot_split: train              # optional; used with --num-fewshot
sample_data: samples              # optional folder beside this file, for --sample-data
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .choice_records import choice_fields
from .choice_task import ChoiceTask
from .data_files import read_csv, read_jsonl
from .errors import OptionError, TaskDataError, TaskDefinitionError
from .fewshot import ShotPool, prompt_context
from .prompts import PromptTemplate, load_templates
from .requests import ChoiceRequest, Request, Response
from .task import Doc, Record, Task, TaskContext
from .task_files import MAX_DATA_BYTES, check_regular_file, confined_path
from .yaml_schema import check_task_keys, is_task_definition

REQUIRED_KEYS = ("task", "version", "dataset", "templates", "target")


class YamlTaskFactory:
    """A task factory built from one YAML file (what `load_yaml_tasks` returns)."""

    output_type = "choice"

    def __init__(self, path: Path, config: Mapping[str, Any]) -> None:
        missing = [k for k in REQUIRED_KEYS if k not in config]
        if missing:
            raise TaskDefinitionError(f"{path}: missing key(s) {', '.join(missing)}")
        if "choices" not in config and "choices_field" not in config:
            raise TaskDefinitionError(f"{path}: give choices or choices_field")
        self.path = path
        self.config = dict(config)
        self.name = str(config["task"])
        self.version = str(config["version"])
        self.description = str(config.get("description", ""))
        self.tags = _tags(path, config.get("tags", []))
        sample = config.get("sample_data")
        self.sample_data_dir = (
            confined_path(self.name, path.parent / str(sample), [path.parent], "sample_data")
            if sample
            else None
        )
        fewshot = config.get("fewshot_split")
        self.fewshot_split = str(fewshot) if fewshot else None
        dataset = config["dataset"]
        if not isinstance(dataset, Mapping) or not isinstance(dataset.get("splits"), Mapping):
            raise TaskDefinitionError(f"{path}: dataset needs a splits map")
        if dataset.get("format", "jsonl") not in ("jsonl", "csv"):
            raise TaskDefinitionError(f"{path}: dataset format must be jsonl or csv")
        templates = config["templates"]
        if not isinstance(templates, Mapping) or not templates:
            raise TaskDefinitionError(f"{path}: templates must be a non-empty map")
        self.templates = load_templates(self.name, templates, path.parent)
        self.choice_variants = _choice_variants(path, config)
        self.answer_instruction = str(config.get("answer_instruction") or "")

    def __call__(self, context: TaskContext) -> Task:
        return YamlTask(self, context)

    @property
    def data_ships_with_task(self) -> bool:
        """Whether the data files lie beside the definition (`dataset.base: task`), so a
        `--sample-data` run can read them without a data dir."""
        return self.config["dataset"].get("base", "data") == "task"

    @property
    def options_help(self) -> dict[str, str]:
        """The options `--task-args` accepts (as `moralbench tasks --options` lists them)."""
        return {"template": f"one of {', '.join(self.templates)}"}

    def data_files(self, data_dir: Path, split: str) -> list[Path]:
        dataset = self.config["dataset"]
        relative = dataset["splits"].get(split)
        if relative is None:
            return []
        base = self.path.parent if dataset.get("base", "data") == "task" else data_dir
        return [self._confined_data_path(base / str(relative), data_dir)]

    def _confined_data_path(self, path: Path, data_dir: Path) -> Path:
        """A data path inside the task's folder or the data dir (resolved), else refused."""
        roots = [self.path.parent, data_dir]
        if self.sample_data_dir is not None:
            roots.append(self.sample_data_dir)
        confined_path(self.name, path, roots, "data file")
        return path


def _tags(path: Path, tags: Any) -> tuple[str, ...]:
    """The definition's `tags`: a list of names (one name alone is accepted too)."""
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise TaskDefinitionError(f"{path}: tags must be a list of names, got {tags!r}")
    return tuple(t.strip() for t in tags)


class YamlTask(ChoiceTask):
    """A running instance of a YAML-defined choice task."""

    def __init__(self, factory: YamlTaskFactory, context: TaskContext) -> None:
        self.factory = factory
        self.name = factory.name  # type: ignore[misc]
        self.version = factory.version  # type: ignore[misc]
        self.tags = factory.tags  # type: ignore[misc]
        self.calibration_split = factory.config.get("calibration_split")  # type: ignore[misc]
        self.fewshot_split = factory.fewshot_split  # type: ignore[misc]
        self.options_help = factory.options_help  # type: ignore[misc]
        self.metric_names = factory.config.get("metrics")  # type: ignore[misc]
        super().__init__(context)
        name = self.option(
            "template",
            "default" if "default" in factory.templates else next(iter(factory.templates)),
        )
        if name not in factory.templates:
            raise OptionError(
                f"task {self.name!r} has no template {name!r}; "
                f"templates: {', '.join(factory.templates)}"
            )
        self.template = factory.templates[name]
        self.shots = ShotPool(lambda: self.docs(self.fewshot_split or ""))

    def data_files(self, data_dir: Path, split: str) -> list[Path]:  # type: ignore[override]
        return self.factory.data_files(data_dir, split)

    def require_files(self, split: str) -> list[Path]:
        files = self.data_files(self.context.data_dir, split)
        if not files:
            raise TaskDefinitionError(f"task {self.name!r} has no split {split!r}")
        return super().require_files(split)

    def templates(self) -> dict[str, PromptTemplate]:  # type: ignore[override]
        return {self.template.name: self.template}

    def _choices(self, doc: Doc, path: Path, line: int) -> list[str]:
        config = self.factory.config
        if "choices" in config:
            return [str(c) for c in config["choices"]]
        value = doc.get(config["choices_field"])
        if not isinstance(value, list) or not value:
            raise TaskDataError(path, line, f"field {config['choices_field']!r} must be a list")
        return [str(c) for c in value]

    def docs(self, split: str) -> Iterable[Doc]:
        config = self.factory.config
        (path,) = self.require_files(split)
        check_regular_file(self.name, path, "data file", MAX_DATA_BYTES)
        rows = read_csv(path) if config["dataset"].get("format") == "csv" else read_jsonl(path)
        id_field = config.get("doc_id")
        for line, row in rows:
            doc: Doc = dict(row)
            if id_field is not None:
                if id_field not in row:
                    raise TaskDataError(path, line, f"missing field {id_field!r}")
                doc["doc_id"] = str(row[id_field])
            else:
                doc["doc_id"] = f"{split}-{line}"
            choices = self._choices(doc, path, line)
            doc["_choices"] = choices
            doc["_target"] = self._target(doc, choices, path, line)
            counts_field = config.get("human_counts")
            if counts_field:
                counts = row.get(counts_field)
                if (
                    not isinstance(counts, list)
                    or len(counts) != len(choices)
                    or any(not isinstance(c, int) or c < 0 for c in counts)
                ):
                    raise TaskDataError(
                        path,
                        line,
                        f"{counts_field!r} must list {len(choices)} non-negative integer counts",
                    )
                doc["_counts"] = counts
            yield doc

    def _target(self, doc: Doc, choices: Sequence[str], path: Path, line: int) -> int:
        field = self.factory.config["target"]
        if field not in doc:
            raise TaskDataError(path, line, f"missing field {field!r}")
        value = doc[field]
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value < len(choices):
                return value
            raise TaskDataError(path, line, f"target {value} is not a choice index")
        stripped = [c.strip() for c in choices]
        if str(value).strip() in stripped:
            return stripped.index(str(value).strip())
        raise TaskDataError(path, line, f"target {value!r} is not one of the choices")

    def _fields(self, doc: Doc) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if not k.startswith("_")} | {
            "choices": doc["_choices"]
        }

    def requests(self, doc: Doc) -> list[Request]:
        k = self.context.num_fewshot if self.fewshot_split else 0
        shots = self.shots.pick(doc, k, self.context.seed)
        examples = [(self._fields(s), s["_choices"][s["_target"]]) for s in shots]
        return [
            ChoiceRequest(
                prompt_context(self.template, self._fields(doc), examples),
                tuple(doc["_choices"]),
                self.template.answer_prefix,
                variants=self.factory.choice_variants,
                answer_instruction=self.factory.answer_instruction,
            )
        ]

    def process(self, doc: Doc, responses: Sequence[Response]) -> Record:
        return choice_fields(responses[0], doc["_choices"], doc["_target"], doc.get("_counts"))


def _choice_variants(path: Path, config: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    """`choice_variants`: per choice of `choices`, the further strings that count as it."""
    raw = config.get("choice_variants")
    if raw is None:
        return ()
    fixed = config.get("choices")
    if not isinstance(fixed, list):
        raise TaskDefinitionError(f"{path}: choice_variants needs a fixed `choices` list")
    if not isinstance(raw, list) or len(raw) != len(fixed):
        raise TaskDefinitionError(
            f"{path}: choice_variants must list one list of strings per choice ({len(fixed)})"
        )
    owner: dict[str, int] = {}
    for k, values in enumerate(raw):
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise TaskDefinitionError(
                f"{path}: choice_variants entry {k + 1} (for {fixed[k]!r}) must be a list of "
                "non-empty strings; quote words YAML reads otherwise (yes, no, on, off)"
            )
        for value in values:
            if owner.setdefault(value, k) != k:
                raise TaskDefinitionError(
                    f"{path}: {value!r} is declared for two choices "
                    f"({fixed[owner[value]]!r}, {fixed[k]!r})"
                )
    return tuple(tuple(values) for values in raw)


def load_yaml_tasks(folder: Path | str) -> list[YamlTaskFactory]:
    """Every `*.yaml` / `*.yml` task definition under a folder (recursively)."""
    root = Path(folder)
    if not root.is_dir():
        raise TaskDefinitionError(f"task folder not found: {root}")
    factories = []
    for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
        text, config = _read_yaml(path)
        if is_task_definition(config):
            check_task_keys(path, text)
            factories.append(YamlTaskFactory(path, config))
    return factories


def _read_yaml(path: Path) -> tuple[str, Any]:
    """(text, parsed) of one YAML file; anything wrong is a `TaskDefinitionError` (file:line)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TaskDefinitionError(f"{path}:{line}: not valid UTF-8 ({exc.reason})") from exc
    try:
        config = yaml.safe_load(text)
        # YAML's "\\ud800" escapes make lone surrogates, which no file or tokenizer can encode
        json.dumps(config, ensure_ascii=False, default=str).encode("utf-8")
        return text, config
    except UnicodeEncodeError as exc:
        raise TaskDefinitionError(f"{path}: invalid YAML: a lone UTF-16 surrogate") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise TaskDefinitionError(f"{where}: invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise TaskDefinitionError(f"{path}: invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise TaskDefinitionError(f"{path}: invalid YAML: nested too deeply") from exc
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date such as 2024-13-45
        raise TaskDefinitionError(f"{path}: invalid YAML value: {exc}") from exc
