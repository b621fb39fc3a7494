"""Per-item inputs of a metric, read back from a run's samples.

Rank groups and merged shards need a metric item by item. Means (accuracy, cross-entropy,
Brier, JS, welfare, any task metric the samples carry per item) come from each sample's
`metrics`; calibrated cross-entropy and the Dirichlet score are recomputed from the sample's
`probs` with the temperature / concentration the run fitted; macro-F1 and ECE are not means,
so their per-item features (prediction and label, confidence and correctness) are kept with
the function that turns a set of items into the metric. Every reconstruction is checked
against the value the results file reports before it is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .. import metrics as mm
from ..sample_record import SampleRecord
from .task_results import TaskResult

FloatArray = NDArray[np.float64]
Statistic = Callable[[FloatArray], float]

#: sample `metrics` keys holding the per-item value of a metric, where they differ from its
#: name (the built-in tasks' names); a task that stores the value under the metric's own
#: name needs no entry
ITEM_KEYS = {
    "accuracy": "correct",
    "label_accuracy": "label_correct",
    "unparseable_rate": "unparseable",
    "misalignment_rate": "misaligned",
    "position_consistency": "position_consistent",
}


@dataclass(frozen=True)
class ItemScores:
    """One metric for one run, item by item.

    `features` has one row per item (in `doc_ids` order). With `statistic` None the metric is
    the mean of column 0; otherwise `statistic(features)` computes it from any set of rows.
    """

    metric: str
    doc_ids: tuple[str, ...]
    features: FloatArray
    statistic: Statistic | None = None

    def evaluate(self, features: FloatArray) -> float:
        if self.statistic is None:
            return float(features[:, 0].mean())
        return float(self.statistic(features))

    def value(self) -> float:
        return self.evaluate(self.features)

    def rows_for(self, doc_ids: Sequence[str]) -> FloatArray:
        position = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        return self.features[[position[d] for d in doc_ids]]


def _usable(samples: Sequence[SampleRecord]) -> list[SampleRecord]:
    return [r for r in samples if not r.error]


def _from_item_metrics(metric: str, records: list[SampleRecord]) -> ItemScores | None:
    """Per-item values every record carries under the metric's name or its alias.

    A record whose value is null (e.g. a judge verdict that could not be parsed) has no value
    for this metric and is left out, as the task's own aggregate leaves it out.
    """
    for key in dict.fromkeys([metric, ITEM_KEYS.get(metric, metric)]):
        if not all(key in r.metrics for r in records):
            continue
        ids, values = [], []
        for record in records:
            value = record.metrics[key]
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                break
            ids.append(record.doc_id)
            values.append(float(value))
        else:
            if values:
                return ItemScores(metric, tuple(ids), np.array(values, dtype=np.float64)[:, None])
    return None


def _distributions(
    records: list[SampleRecord],
) -> tuple[FloatArray, NDArray[np.int64], FloatArray | None] | str:
    probs = [r.probs for r in records]
    if any(not isinstance(p, list) or not p for p in probs):
        return "samples carry no choice probabilities"
    if len({len(p) for p in probs}) != 1:
        return "items have different numbers of choices"
    p = np.array(probs, dtype=np.float64)
    targets = np.array([-1 if r.target is None else r.target for r in records], dtype=np.int64)
    if targets.min() < 0 or targets.max() >= p.shape[1]:
        return "samples lack a valid target"
    counts = None
    if all(r.human_counts is not None for r in records):
        counts = np.array([r.human_counts for r in records], dtype=np.float64)
    return p, targets, counts


def _rescored(
    metric: str, records: list[SampleRecord], params: dict[str, float]
) -> ItemScores | str:
    arrays = _distributions(records)
    if isinstance(arrays, str):
        return arrays
    p_raw, t, counts = arrays
    p, _ = mm.normalise(p_raw)
    k = p.shape[1]
    y = mm.one_hot(t, k) if counts is None else mm.human_distribution(counts)
    pred = np.argmax(p, axis=1)
    conf = p[np.arange(len(p)), pred]
    ids = tuple(r.doc_id for r in records)
    if metric == "f1_macro":
        features = np.stack([pred, t], axis=1).astype(np.float64)
        return ItemScores(
            metric,
            ids,
            features,
            lambda f: mm.f1_macro(f[:, 0].astype(np.int64), f[:, 1].astype(np.int64), k),
        )
    if metric in ("ece", "ece_soft"):
        if metric == "ece_soft" and counts is None:
            return "ece_soft needs human vote counts"
        agree = (pred == t).astype(np.float64) if metric == "ece" else y[np.arange(len(p)), pred]
        return ItemScores(
            metric, ids, np.stack([conf, agree], axis=1), lambda f: mm.ece(f[:, 0], f[:, 1])
        )
    if metric == "xentropy_calibrated":
        if "temperature" not in params:
            return "the run reports no fitted temperature"
        calibrated = mm.apply_temperature(p, params["temperature"])
        return ItemScores(metric, ids, mm.cross_entropy(calibrated, y)[:, None])
    if metric == "dirichlet":
        if counts is None or "dirichlet_c" not in params:
            return "the Dirichlet score needs vote counts and the fitted concentration"
        return ItemScores(metric, ids, mm.dirichlet_nll(p, counts, params["dirichlet_c"])[:, None])
    return "no per-item values in the samples"


def item_scores(metric: str, result: TaskResult) -> ItemScores | str:
    """Per-item scores of `metric`, or the reason they cannot be had."""
    if result.samples is None:
        return "no samples file"
    records = _usable(result.samples)
    if not records:
        return "no successful samples"
    scores = _from_item_metrics(metric, records) or _rescored(metric, records, result.params)
    if isinstance(scores, str):
        return scores
    reported = result.values.get(metric)
    if reported is not None:
        rebuilt = scores.value()
        if not math.isclose(rebuilt, reported, rel_tol=1e-7, abs_tol=1e-9):
            return f"per-item values give {rebuilt:.6g}, the results file says {reported:.6g}"
    return scores
