"""Metrics recomputed from sample records, for a row whose items came from several files.

Uses the same definitions, bootstrap and seed as the run itself: applied to the samples of a
single run it gives back that run's values and intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .. import metrics as mm
from ..sample_record import SampleRecord
from .item_scores import ItemScores, item_scores
from .task_results import TaskResult


def _interval(scores: ItemScores, seed: int, n_bootstrap: int) -> tuple[float, float]:
    n = len(scores.doc_ids)
    if scores.statistic is None:
        return mm.bootstrap_mean_ci(scores.features[:, 0], seed=seed, n_resamples=n_bootstrap)
    features = scores.features
    return mm.bootstrap_ci(
        lambda idx: scores.evaluate(features[idx]), n, seed=seed, n_resamples=n_bootstrap
    )


def _ceiling(
    records: Sequence[SampleRecord], wanted: Sequence[str], seed: int
) -> dict[str, float] | None:
    usable = [r for r in records if not r.error]
    if not wanted or not usable or not all(r.human_counts is not None for r in usable):
        return None
    counts = np.array([r.human_counts for r in usable], dtype=np.float64)
    targets = np.array([int(r.fields["target"]) for r in usable], dtype=np.int64)
    full = mm.human_ceiling(counts, targets, seed=seed)
    full["xentropy_calibrated"] = full["xentropy"]  # the oracle needs no temperature
    return {key: float(full[key]) for key in wanted if key in full}


def recompute(
    template: TaskResult,
    samples: list[SampleRecord],
    metric_names: Sequence[str],
    *,
    ceiling_keys: Sequence[str] = (),
) -> tuple[TaskResult, list[str]]:
    """A copy of `template` with its metrics recomputed over `samples`.

    Returns the result and notes naming every metric that could not be recomputed (they are
    left out of the result, not carried over from one part).
    """
    notes: list[str] = []
    probe = dataclasses.replace(template, samples=samples, values={}, intervals={})
    values: dict[str, float] = {}
    intervals: dict[str, tuple[float, float]] = {}
    for metric in metric_names:
        scores = item_scores(metric, probe)
        if isinstance(scores, str):
            notes.append(f"{metric} not recomputed over the merged items: {scores}")
            continue
        values[metric] = scores.value()
        intervals[metric] = _interval(scores, template.seed, template.n_bootstrap)
    ceiling = _ceiling(samples, ceiling_keys, template.seed)
    if ceiling is None and ceiling_keys:
        notes.append("human ceiling not recomputed over the merged items: no vote counts")
    result = dataclasses.replace(
        template,
        samples=samples,
        values=values,
        intervals=intervals,
        n=sum(1 for r in samples if not r.error),
        n_failed=sum(1 for r in samples if r.error),
        ceiling=ceiling or {},
    )
    return result, notes
