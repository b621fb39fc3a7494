"""One task of a run: its split (and calibration split) answered, records finalized and
written, metrics aggregated, all gathered into a `TaskOutcome`."""

from __future__ import annotations

import time
from typing import Any

from .data_files import sha256_file
from .results import SamplesWriter
from .run_result import DataFile, TaskOutcome
from .sample_record import SampleRecord
from .split_runner import RunServices, SplitRun
from .task import Task


def note_calibration(metrics: dict[str, Any], cal_split: str, split: str) -> None:
    """Say why nothing was fitted: the calibration split is missing, or is the reported one."""
    notes = metrics.setdefault("notes", [])
    notes[:] = [n for n in notes if "calibration split missing" not in n]
    if cal_split == split:
        notes.append(
            f"the reported split {split!r} is the calibration split: temperature and Dirichlet "
            "concentration not fitted (they would be fitted on the items being reported)"
        )
    else:
        notes.append(
            "calibration split missing: temperature and Dirichlet concentration not fitted "
            f"(the task has no {cal_split!r} split here)"
        )


def _data_files(task: Task, splits: list[str | None]) -> list[DataFile]:
    return [
        DataFile(split, str(path), sha256_file(path))
        for split in dict.fromkeys(splits)
        if split and task.has_split(split)
        for path in task.data_files(task.context.data_dir, split)
    ]


def _finalize(
    task: Task, records: list[SampleRecord], writer: SamplesWriter, processes: int
) -> list[SampleRecord]:
    """The task's second stage (e.g. a judge) over all records, then the final samples file."""
    views = [r.task_view() for r in records]
    finalized = task.finalize(views)
    if finalized is not views:
        records = [r.with_task_view(v) for r, v in zip(records, finalized, strict=True)]
    rewrite = finalized is not views or processes > 1 or not writer.streamed_in_order
    writer.finish(records, rewrite=rewrite)
    return records


def run_task(
    services: RunServices,
    task: Task,
    writer: SamplesWriter,
    *,
    split: str,
    limit: int | None,
    calibration_limit: int | None,
    predict_only: bool = False,
) -> TaskOutcome:
    """Answer `task` on `split` (first `limit` documents) and report it; with
    `predict_only`, no calibration split is run and no metrics are computed."""
    started = time.perf_counter()
    answered = SplitRun(services, task, split, writer).records(limit)
    truncated, prompt_mode = answered.truncated, answered.prompt_mode
    calibration = None
    cal_split = None if predict_only else task.calibration_split
    if cal_split and cal_split != split and task.has_split(cal_split):
        fitted = SplitRun(services, task, cal_split, None).records(calibration_limit)
        calibration = [r.task_view() for r in fitted.records]
        truncated, prompt_mode = truncated + fitted.truncated, fitted.prompt_mode
    outcome = TaskOutcome(
        name=task.name,
        version=task.version,
        templates={n: t.sha256 for n, t in task.templates().items()},
        options=dict(task.context.options),
        prompt_mode=prompt_mode,
        truncated=truncated,
    )
    if services.group.is_main:
        records = _finalize(task, answered.records, writer, services.group.count)
        if not predict_only:
            outcome.metrics = task.aggregate([r.task_view() for r in records], calibration)
        if cal_split and calibration is None:
            note_calibration(outcome.metrics, cal_split, split)
        outcome.failures = sum(1 for r in records if r.error)
        outcome.samples_file = str(writer.path) if writer.path is not None else None
        outcome.summary = task.summary()
    outcome.data_files = _data_files(task, [split, cal_split])
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome
