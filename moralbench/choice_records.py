"""Shared building blocks for choice tasks: the standard sample fields and their aggregate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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

    With vote counts the result also has a `slices` section (see `SliceDefinition`):
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
    slicing = None
    ceiling = None
    if counts is not None:
        ok = [r for r in records if r.get("probs") is not None]
        slicing = SliceDefinition.of(counts, ok, agreement_cuts, flags)
        # one set of posterior draws for the whole split's ceiling and every slice's
        ceiling = metrics.human_ceilings(counts, targets, slicing.groups, seed=seed)
    out = metrics.compute_metrics(
        probs,
        targets,
        counts,
        metrics=metric_names,
        calibration=calib,
        seed=seed,
        n_bootstrap=n_bootstrap,
        ceiling=None if ceiling is None else ceiling[0],
    )
    out["n"] = int(len(targets))
    out["n_failed"] = failed
    if slicing is not None and ceiling is not None:
        out["slices"] = slicing.metrics(
            probs, targets, counts, out, ceiling[1], seed=seed, n_bootstrap=n_bootstrap
        )
    return apply_model_alpha(out, records, seed=seed, n_bootstrap=n_bootstrap)


@dataclass(frozen=True)
class SliceDefinition:
    """How a split is sliced: the agreement cuts and the task's flags, as item masks."""

    cuts: metrics.AgreementCuts
    groups: dict[str, np.ndarray]
    by: dict[str, str]
    gaps: list[tuple[str, str]]

    @classmethod
    def of(
        cls,
        counts: np.ndarray,
        records: Sequence[Record],
        cuts: tuple[float, float] | None,
        flags: Sequence[str],
    ) -> SliceDefinition:
        """Clear / contested (/ moderate) items by vote share, and each boolean flag of the
        `records` (the successful ones, in the order of `counts`) true or false."""
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
        return cls(agreement, groups, by, gaps)

    def metrics(
        self,
        probs: np.ndarray,
        targets: np.ndarray,
        counts: np.ndarray,
        overall: dict[str, Any],
        ceilings: dict[str, dict[str, float]] | None = None,
        *,
        seed: int,
        n_bootstrap: int,
    ) -> dict[str, Any]:
        """The `slices` section of a task's results: definition, per-slice metrics, gaps."""
        computed = metrics.slice_metrics(
            probs, targets, counts, self.groups, overall,
            gaps=self.gaps, seed=seed, n_bootstrap=n_bootstrap, ceilings=ceilings,
        )  # fmt: skip
        return {
            "by": self.by,
            "cuts": self.cuts.as_dict(),
            "min_items_for_interval": metrics.MIN_ITEMS_FOR_INTERVAL,
            **computed,
        }
