"""One task's numbers from one run: metric values, intervals, fitted parameters, samples."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sample_record import SampleRecord
from .errors import ResultsFileError
from .sources import ResultsFile, load_samples
from .variants import TaskVariant, variant_from_results

#: numeric keys of a task's results that are counts, not metrics
COUNT_KEYS = ("n", "n_failed", "clipped_items")


@dataclass
class TaskResult:
    """A task's outcome in one run row (several files when shards were merged)."""

    variant: TaskVariant
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    n: int | None
    n_failed: int
    params: dict[str, float]  # fitted on the calibration split: temperature, dirichlet_c, ...
    ceiling: dict[str, float]
    notes: list[str]
    samples: list[SampleRecord] | None = field(repr=False)
    results_files: tuple[Path, ...]
    samples_files: tuple[Path, ...]
    seed: int
    n_bootstrap: int
    stamp: str
    merged_from: int = 1
    #: the task's `slices` section (per-slice metrics and gaps), when it reported one
    slices: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def doc_ids(self) -> list[str] | None:
        return None if self.samples is None else [r.doc_id for r in self.samples]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def metric_keys(metrics: dict[str, Any], known: Collection[str]) -> list[str]:
    """Keys of a task's results that are metric values: known metrics, or keys with a `_ci`."""
    return [
        key
        for key, value in metrics.items()
        if _is_number(value)
        and key not in COUNT_KEYS
        and not key.endswith("_ci")
        and (key in known or f"{key}_ci" in metrics)
    ]


def _check_sample_count(
    source: ResultsFile, task: str, metrics: dict[str, Any], samples_path: Path, found: int
) -> None:
    """A samples file with fewer lines than its results report was cut short: refuse it."""
    n, failed = metrics.get("n"), metrics.get("n_failed") or 0
    if not (_is_number(n) and _is_number(failed)):
        return
    claimed = int(n) + int(failed)
    if found < claimed:
        raise ResultsFileError(
            samples_path,
            None,
            f"{found} sample line(s), but {source.path.name} reports {claimed} for {task!r}: "
            "the file was cut short",
        )


def task_result(
    source: ResultsFile, task: str, known_metrics: Collection[str], *, with_samples: bool = True
) -> TaskResult:
    """The `TaskResult` of `task` in one results file (samples read when present)."""
    metrics = source.result.outcome(task).metrics
    keys = metric_keys(metrics, known_metrics)
    intervals: dict[str, tuple[float, float]] = {}
    for key in keys:
        ci = metrics.get(f"{key}_ci")
        if ci is None:
            continue
        if not (isinstance(ci, list) and len(ci) == 2 and all(_is_number(x) for x in ci)):
            raise ResultsFileError(source.path, None, f"{task}.{key}_ci must be [low, high]")
        intervals[key] = (float(ci[0]), float(ci[1]))
    params = {
        key: float(value)
        for key, value in metrics.items()
        if _is_number(value) and key not in keys and key not in COUNT_KEYS
    }
    ceiling = metrics.get("ceiling") or {}
    if not isinstance(ceiling, dict):
        raise ResultsFileError(source.path, None, f"{task}.ceiling must be a map")
    samples_path = source.samples_path(task) if with_samples else None
    samples = load_samples(samples_path) if samples_path is not None else None
    if samples is not None and samples_path is not None:
        _check_sample_count(source, task, metrics, samples_path, len(samples))
    notes = [str(n) for n in metrics.get("notes") or []]
    if with_samples and samples_path is None:
        notes.append(f"samples file of {source.path.name} not found: no per-item comparison")
    n = metrics.get("n")
    config = source.config
    return TaskResult(
        variant=variant_from_results(source.result, task),
        values={key: float(metrics[key]) for key in keys},
        intervals=intervals,
        n=int(n) if _is_number(n) else (len(samples) if samples is not None else None),
        n_failed=int(metrics.get("n_failed") or 0),
        params=params,
        ceiling={k: float(v) for k, v in ceiling.items() if _is_number(v)},
        notes=notes,
        samples=samples,
        results_files=(source.path,),
        samples_files=(samples_path,) if samples_path else (),
        seed=int(config.get("seed") or 0),
        n_bootstrap=int(config.get("n_bootstrap") or 1000),
        stamp=source.stamp,
        slices=metrics.get("slices") if isinstance(metrics.get("slices"), dict) else None,
    )
