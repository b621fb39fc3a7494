"""`score()`: a task's metrics for predictions made elsewhere (no model is loaded).

The predictions format is described in `moralbench.predictions`. The metrics are computed by
the task's own `aggregate`, so they are the same keys, intervals and notes a run reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._version import __version__
from .data_files import default_data_dir, sha256_file
from .errors import MoralbenchError
from .predictions import choice_labels, score_predictions
from .run_options import options_per_task
from .run_result import DataFile, TaskOutcome
from .session import Session
from .task import Task, TaskContext, TaskFactory
from .task_building import task_data_dir


def _choice_task(task_name: str, include_path: list[Path] | None, warn: Any) -> TaskFactory:
    registry = Session.open(include_path or [], warn=warn).registry
    factories = registry.resolve_tasks([task_name])
    if len(factories) != 1 or factories[0].name != task_name:
        raise MoralbenchError(f"give one task name, not a pattern ({task_name!r})")
    if factories[0].output_type != "choice":
        raise MoralbenchError(f"task {task_name!r} is not a choice task; it cannot be scored")
    return factories[0]


def _calibration_records(
    task: Task, calibration: Path | None, allow_missing: bool
) -> list[dict[str, Any]] | None:
    if calibration is None:
        return None
    cal_split = task.calibration_split
    if cal_split is None:
        raise MoralbenchError(f"task {task.name!r} fits nothing on a calibration split")
    task.require_files(cal_split)
    cal_docs = list(task.docs(cal_split))
    return score_predictions(
        task, cal_split, calibration, cal_docs, allow_missing=allow_missing
    ).records


def _result_json(
    outcome: TaskOutcome,
    split: str,
    label_order: list[str],
    predictions: Path,
    calibration: Path | None,
    cal_split: str | None,
) -> dict[str, Any]:
    """The results dict of `score` (without the records)."""
    return {
        "moralbench_version": __version__,
        "task": outcome.name,
        "task_version": outcome.version,
        "split": split,
        "options": outcome.options,
        "label_order": label_order,
        "predictions": {"path": str(predictions), "sha256": sha256_file(predictions)},
        "calibration": (
            {"split": cal_split, "path": str(calibration), "sha256": sha256_file(calibration)}
            if calibration is not None
            else None
        ),
        "data": [f.to_json() for f in outcome.data_files],
        "metrics": outcome.metrics,
        "summary": outcome.summary,
    }


def score(
    task_name: str,
    predictions: Path,
    *,
    calibration: Path | None = None,
    split: str = "test",
    data_dir: Path | None = None,
    sample_data: bool = False,
    task_args: dict[str, str] | None = None,
    include_path: list[Path] | None = None,
    seed: int = 0,
    n_bootstrap: int = 1000,
    strict: bool = False,
    allow_missing: bool = False,
    warn: Any = None,
    agreement_cuts: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """The results dict `moralbench score` prints and writes."""
    warn = warn or (lambda message: None)
    factory = _choice_task(task_name, include_path, warn)
    folder = task_data_dir(factory, data_dir or default_data_dir(), sample_data)
    context = TaskContext(
        data_dir=folder,
        options=options_per_task(task_args or {}, [task_name])[task_name],
        seed=seed,
        strict=strict,
        n_bootstrap=n_bootstrap,
        agreement_cuts=agreement_cuts,
        warn=warn,
    )
    task = factory(context)
    task.require_files(split)
    docs = list(task.docs(split))
    scored = score_predictions(task, split, predictions, docs, allow_missing=allow_missing)
    if not scored.records:
        raise MoralbenchError(f"{predictions}: no prediction matched a document of {split!r}")

    calibration_records = _calibration_records(task, calibration, allow_missing)
    cal_split = task.calibration_split
    metrics = task.aggregate(scored.records, calibration_records)
    if calibration is not None and split == cal_split:
        metrics.setdefault("notes", []).append(
            "calibration fitted on the reported split itself: calibrated metrics are optimistic"
        )
    if scored.missing:
        metrics["n_missing"] = len(scored.missing)
    splits = [split] + ([cal_split] if calibration is not None and cal_split else [])
    outcome = TaskOutcome(
        name=task.name,
        version=task.version,
        options=dict(task.context.options),
        data_files=[
            DataFile(s, str(p), sha256_file(p)) for s in splits for p in task.data_files(folder, s)
        ],
        metrics=metrics,
        summary=task.summary(),
    )
    return _result_json(
        outcome, split, choice_labels(task, docs), predictions, calibration, cal_split
    ) | {"records": scored.records}
