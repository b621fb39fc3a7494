"""Shared building blocks for choice tasks: the standard sample fields and their aggregate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import metrics
from .model_alpha import apply_model_alpha
from .requests import ChoiceResponse, Response

Record = dict[str, Any]


def softmax(logprobs: Sequence[float]) -> list[float]:
    top = max(logprobs)
    weights = [math.exp(lp - top) for lp in logprobs]
    total = sum(weights)
    return [w / total for w in weights]


def choice_fields(
    response: Response,
    choices: Sequence[str],
    target: int,
    counts: Sequence[int] | None = None,
) -> Record:
    """The standard sample fields for one scored ChoiceRequest."""
    if not isinstance(response, ChoiceResponse):
        raise TypeError("choice_fields needs a ChoiceResponse")
    record: Record = {
        "choices": list(choices),
        "target": int(target),
        "estimator": response.estimator,
    }
    if counts is not None:
        record["human_counts"] = [int(c) for c in counts]
    if response.error is not None:
        record.update(logprobs=None, probs=None, metrics={}, error=response.error)
        return record
    probs = softmax(response.logprobs)
    record.update(
        logprobs=list(response.logprobs),
        probs=probs,
        metrics=metrics.item_metrics(probs, int(target), counts),
    )
    if response.details:
        record["estimator_details"] = response.details
    return record


def _arrays(records: Sequence[Record]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    ok = [r for r in records if r.get("probs") is not None]
    if not ok:
        return np.zeros((0, 0)), np.zeros(0, dtype=int), None
    probs = np.array([r["probs"] for r in ok], dtype=float)
    targets = np.array([r["target"] for r in ok], dtype=int)
    counts = None
    if all(r.get("human_counts") is not None for r in ok):
        counts = np.array([r["human_counts"] for r in ok], dtype=float)
    return probs, targets, counts


def aggregate_choices(
    records: Sequence[Record],
    calibration: Sequence[Record] | None,
    *,
    metric_names: Sequence[str] | None,
    seed: int,
    n_bootstrap: int,
    agreement_cuts: tuple[float, float] | None = None,
    flags: Sequence[str] = (),
) -> dict[str, Any]:
    """Metrics with bootstrap CIs over the successful records; failures are counted.

    With vote counts the result also has a `slices` section (see `agreement_slices`):
    every metric again on the clear and the contested items, cut at `agreement_cuts`
    (`(contested_below, clear_at)`, default 0.75 / 0.75), and on the items where each of
    `flags` (boolean fields of the records, e.g. "controversial") is true or false.
    """
    probs, targets, counts = _arrays(records)
    failed = sum(1 for r in records if r.get("error"))
    if len(targets) == 0:
        return {"n": 0, "n_failed": failed, "notes": ["no successful samples"]}
    calib = None
    if calibration:
        c_probs, c_targets, c_counts = _arrays(calibration)
        if len(c_targets):
            calib = (c_probs, c_targets, c_counts)
    out = metrics.compute_metrics(
        probs,
        targets,
        counts,
        metrics=metric_names,
        calibration=calib,
        seed=seed,
        n_bootstrap=n_bootstrap,
    )
    out["n"] = int(len(targets))
    out["n_failed"] = failed
    if counts is not None:
        ok = [r for r in records if r.get("probs") is not None]
        out["slices"] = agreement_slices(
            probs, targets, counts, out, ok,
            cuts=agreement_cuts, flags=flags, seed=seed, n_bootstrap=n_bootstrap,
        )  # fmt: skip
    return apply_model_alpha(out, records, seed=seed, n_bootstrap=n_bootstrap)


def agreement_slices(
    probs: np.ndarray,
    targets: np.ndarray,
    counts: np.ndarray,
    overall: dict[str, Any],
    records: Sequence[Record],
    *,
    cuts: tuple[float, float] | None,
    flags: Sequence[str],
    seed: int,
    n_bootstrap: int,
) -> dict[str, Any]:
    """The `slices` section of a task's results: definition, per-slice metrics, gaps."""
    agreement = metrics.AgreementCuts(*cuts) if cuts is not None else metrics.DEFAULT_CUTS
    groups = metrics.agreement_groups(counts, agreement)
    by = {"agreement": agreement.describe()}
    gaps = [("clear", "contested")]
    for flag in flags:
        values = [r.get(flag) for r in records]
        if all(isinstance(v, bool) for v in values):
            groups.update(metrics.flag_groups(flag, values))
            by[flag] = f"the dataset's {flag!r} flag of each item"
            gaps.append((f"not_{flag}", flag))
    computed = metrics.slice_metrics(
        probs, targets, counts, groups, overall, gaps=gaps, seed=seed, n_bootstrap=n_bootstrap
    )
    return {
        "by": by,
        "cuts": agreement.as_dict(),
        "min_items_for_interval": metrics.MIN_ITEMS_FOR_INTERVAL,
        **computed,
    }
