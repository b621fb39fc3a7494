"""What a run produces: one `TaskOutcome` per task, gathered into a `RunResult`.

The runner builds these and writes `RunResult.to_json()` as the results file; the leaderboard
reads a results file back with `RunResult.from_json`, so writer and reader share one
definition. The file layout groups facts by kind (`results`, `versions`, `data`, ... each
keyed by task name), as it always has; the classes group them by task.

Schema versions: 2 adds `schema_version` to the layout of 1. A file without the key is
version 1 (written before it existed) and reads unchanged; a newer version is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)


class ResultsFormatError(ValueError):
    """A results payload that is not one this version reads; the reader adds the file name."""


@dataclass(frozen=True)
class DataFile:
    """One data file a task read: its split, where it was and its sha256."""

    split: str
    path: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        return {"split": self.split, "path": self.path, "sha256": self.sha256}

    @classmethod
    def from_json(cls, obj: Any, task: str) -> DataFile:
        if not isinstance(obj, dict) or "sha256" not in obj:
            raise ResultsFormatError(f"data[{task!r}] entry without sha256")
        return cls(str(obj.get("split", "")), str(obj.get("path", "")), str(obj["sha256"]))


@dataclass
class TaskOutcome:
    """One task of a run: its metrics and everything that traces them to their inputs."""

    name: str
    #: the task's version
    version: str
    #: template name -> sha256 of the template text
    templates: dict[str, str] = field(default_factory=dict)
    #: the task options of the run
    options: dict[str, str] = field(default_factory=dict)
    #: the data files read, for the reported and the calibration split
    data_files: list[DataFile] = field(default_factory=list)
    #: what `Task.aggregate` returned: metric values, `<metric>_ci`, notes, fitted parameters
    metrics: dict[str, Any] = field(default_factory=dict)
    #: what `Task.summary` returned (files loaded, lines skipped, judge used, ...)
    summary: dict[str, Any] = field(default_factory=dict)
    #: documents whose requests failed after retries
    failures: int = 0
    #: wall-clock seconds the task took (None when not recorded)
    seconds: float | None = None
    #: the samples file, as written at run time (None when samples were not logged)
    samples_file: str | None = None
    #: the prompt mode the backend used for this task (None when it does not say)
    prompt_mode: dict[str, Any] | None = None
    #: documents with a text field cut to `RunResult.max_field_chars`
    truncated: int = 0


def _section(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


def _required(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise ResultsFormatError(
            f"missing or malformed {key!r}: is this a moralbench results file?"
        )
    return value


def _outcome_from_json(payload: dict[str, Any], name: str) -> TaskOutcome:
    metrics = payload["results"][name]
    if not isinstance(metrics, dict):
        raise ResultsFormatError(f"results[{name!r}] is not a map of metrics")
    info = payload["versions"]["tasks"].get(name)
    if info is None:
        raise ResultsFormatError(f"task {name!r} has no entry in versions.tasks")
    if not isinstance(info, dict) or "version" not in info:
        raise ResultsFormatError(f"versions.tasks[{name!r}] has no version")
    templates, options = info.get("templates") or {}, info.get("options") or {}
    files = payload["data"].get(name) or []
    if not isinstance(templates, dict) or not isinstance(options, dict):
        raise ResultsFormatError(f"malformed version or data entry for task {name!r}")
    if not isinstance(files, list):
        raise ResultsFormatError(f"malformed version or data entry for task {name!r}")
    seconds = _section(_section(payload, "timing"), "per_task_seconds").get(name)
    samples_file = _section(payload, "samples_files").get(name)
    prompt_mode = _section(payload, "prompt_modes").get(name)
    summary = _section(payload, "summary").get(name)
    return TaskOutcome(
        name=name,
        version=str(info["version"]),
        templates={str(k): str(v) for k, v in templates.items()},
        options={str(k): str(v) for k, v in options.items()},
        data_files=[DataFile.from_json(entry, name) for entry in files],
        metrics=metrics,
        summary=summary if isinstance(summary, dict) else {},
        failures=int(_section(payload, "failures").get(name) or 0),
        seconds=float(seconds) if isinstance(seconds, int | float) else None,
        samples_file=str(samples_file) if samples_file else None,
        prompt_mode=prompt_mode if isinstance(prompt_mode, dict) else None,
        truncated=int(_section(_section(payload, "truncation"), "items").get(name) or 0),
    )


@dataclass
class RunResult:
    """One run: its options, the model, each task's outcome, and how the run went."""

    moralbench_version: str
    #: the run's options as recorded (model, model_args with secrets redacted, split, ...)
    config: dict[str, Any]
    #: the model's fingerprint and what the backend describes (no secrets)
    model: dict[str, Any]
    tasks: list[TaskOutcome]
    #: wall_seconds, requests, requests_sent_to_backend, requests_per_second
    timing: dict[str, Any] = field(default_factory=dict)
    #: enabled, hits, misses, corrupt_rows
    cache: dict[str, Any] = field(default_factory=dict)
    #: longest text field kept; longer ones were cut (see `item_limits`)
    max_field_chars: int | None = None
    #: python, platform, library versions, device, git revision
    environment: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def outcome(self, task: str) -> TaskOutcome:
        return next(t for t in self.tasks if t.name == task)

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    @property
    def failures(self) -> int:
        return sum(t.failures for t in self.tasks)

    @property
    def sample_data(self) -> bool:
        """Whether the run scored the tasks' bundled sample items (`--sample-data`)."""
        return bool(self.config.get("sample_data"))

    def to_json(self) -> dict[str, Any]:
        """The results file's JSON object."""
        by_task = {t.name: t for t in self.tasks}
        return {
            "schema_version": self.schema_version,
            "moralbench_version": self.moralbench_version,
            "results": {n: t.metrics for n, t in by_task.items()},
            "config": self.config,
            "model": self.model,
            "versions": {
                "moralbench": self.moralbench_version,
                "tasks": {
                    n: {"version": t.version, "templates": t.templates, "options": t.options}
                    for n, t in by_task.items()
                },
            },
            "data": {n: [f.to_json() for f in t.data_files] for n, t in by_task.items()},
            "timing": {
                **self.timing,
                "per_task_seconds": {n: t.seconds for n, t in by_task.items()},
            },
            "cache": self.cache,
            "failures": {n: t.failures for n, t in by_task.items()},
            "truncation": {
                "max_field_chars": self.max_field_chars,
                "items": {n: t.truncated for n, t in by_task.items() if t.truncated},
            },
            "summary": {n: t.summary for n, t in by_task.items()},
            "samples_files": {n: t.samples_file for n, t in by_task.items() if t.samples_file},
            "prompt_modes": {n: t.prompt_mode for n, t in by_task.items()},
            "environment": self.environment,
        }

    @classmethod
    def from_json(cls, payload: Any) -> RunResult:
        """Read a results object of any readable schema version (`ResultsFormatError` if not)."""
        if not isinstance(payload, dict):
            raise ResultsFormatError("expected a JSON object (a moralbench results file)")
        version = payload.get("schema_version", 1)
        if version not in READABLE_SCHEMAS:
            raise ResultsFormatError(
                f"schema_version {version!r} is not one this moralbench "
                f"reads ({', '.join(map(str, READABLE_SCHEMAS))}); upgrade moralbench"
            )
        for key in ("results", "config", "versions", "data"):
            _required(payload, key)
        config = payload["config"]
        if not isinstance(config.get("model"), str) or not isinstance(
            config.get("model_args"), dict
        ):
            raise ResultsFormatError("config needs 'model' (text) and 'model_args' (map)")
        if not isinstance(payload["versions"].get("tasks"), dict):
            raise ResultsFormatError("missing 'versions.tasks'")
        timing = {k: v for k, v in _section(payload, "timing").items() if k != "per_task_seconds"}
        return cls(
            moralbench_version=str(payload.get("moralbench_version", "")),
            config=config,
            model=_section(payload, "model"),
            tasks=[_outcome_from_json(payload, name) for name in payload["results"]],
            timing=timing,
            cache=_section(payload, "cache"),
            max_field_chars=_section(payload, "truncation").get("max_field_chars"),
            environment=_section(payload, "environment"),
            schema_version=int(version),
        )
