"""`score()`: a task's metrics for predictions made elsewhere (no model is loaded).

The predictions format is described in `moralbench.predictions`. The metrics are computed by
the task's own `aggregate`, so they are the same keys, intervals and notes a run reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import __version__
from .data_files import default_data_dir, sha256_file
from .errors import MoralbenchError
from .plugin_manager import get_plugin_manager
from .predictions import choice_labels, score_predictions
from .registry import build_registry
from .run_options import options_per_task
from .task import TaskContext


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
    registry = build_registry(get_plugin_manager(include_path or []))
    factories = registry.resolve_tasks([task_name])
    if len(factories) != 1 or factories[0].name != task_name:
        raise MoralbenchError(f"give one task name, not a pattern ({task_name!r})")
    factory = factories[0]
    if factory.output_type != "choice":
        raise MoralbenchError(f"task {task_name!r} is not a choice task; it cannot be scored")
    folder = data_dir or default_data_dir()
    if sample_data:
        bundled = getattr(factory, "sample_data_dir", None)
        if bundled is not None:
            folder = Path(bundled)
        elif not getattr(factory, "data_ships_with_task", False):
            raise MoralbenchError(f"task {task_name!r} ships no sample data")
    context = TaskContext(
        data_dir=folder,
        options=options_per_task(task_args or {}, [task_name])[task_name],
        seed=seed,
        strict=strict,
        n_bootstrap=n_bootstrap,
        agreement_cuts=agreement_cuts,
        warn=warn or (lambda message: None),
    )
    task = factory(context)
    task.require_files(split)
    docs = list(task.docs(split))
    scored = score_predictions(task, split, predictions, docs, allow_missing=allow_missing)
    if not scored.records:
        raise MoralbenchError(f"{predictions}: no prediction matched a document of {split!r}")

    calibration_records = None
    cal_split = task.calibration_split
    if calibration is not None:
        if cal_split is None:
            raise MoralbenchError(f"task {task_name!r} fits nothing on a calibration split")
        task.require_files(cal_split)
        cal_docs = list(task.docs(cal_split))
        calibration_records = score_predictions(
            task, cal_split, calibration, cal_docs, allow_missing=allow_missing
        ).records
    metrics = task.aggregate(scored.records, calibration_records)
    if calibration is not None and split == cal_split:
        metrics.setdefault("notes", []).append(
            "calibration fitted on the reported split itself: calibrated metrics are optimistic"
        )
    if scored.missing:
        metrics["n_missing"] = len(scored.missing)
    files = [(split, p) for p in task.data_files(folder, split)]
    if calibration is not None and cal_split:
        files += [(cal_split, p) for p in task.data_files(folder, cal_split)]
    return {
        "moralbench_version": __version__,
        "task": task.name,
        "task_version": task.version,
        "split": split,
        "options": dict(task.context.options),
        "label_order": choice_labels(task, docs),
        "predictions": {"path": str(predictions), "sha256": sha256_file(predictions)},
        "calibration": (
            {"split": cal_split, "path": str(calibration), "sha256": sha256_file(calibration)}
            if calibration is not None
            else None
        ),
        "data": [{"split": s, "path": str(p), "sha256": sha256_file(p)} for s, p in files],
        "metrics": metrics,
        "summary": task.summary(),
        "records": scored.records,
    }
