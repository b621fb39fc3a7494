"""``compute_metrics``: every metric of a split, with bootstrap intervals and the ceiling."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .blas_threads import one_blas_thread
from .bootstrap import bootstrap_many
from .calibration import (
    apply_temperature,
)
from .calibration_fit import Calibration, _resolve_fit, _targets
from .catalogue import METRICS
from .ceiling import CEILING_METRICS, human_ceiling
from .classification import (
    _bin_index,
    _ece_counts,
    _ece_rows,
    _ece_weights,
    _f1_macro_counts,
    _f1_macro_rows,
)
from .distribution import (
    EPS,
    WELFARE_KEYS,
    _as_2d,
    _brier,
    _check_counts,
    _dirichlet_nll,
    _js,
    _welfare,
    _xent,
    normalise,
    one_hot,
)

__all__ = ["compute_metrics"]

FloatArray = NDArray[np.float64]

CALIBRATION_MISSING = (
    "calibration split missing: temperature and Dirichlet concentration not fitted"
)


def _select(
    requested: Sequence[str] | None, has_counts: bool, has_calibration: bool, notes: list[str]
) -> list[str]:
    """Metric keys to compute, in catalogue order; notes say what was skipped and why."""
    if requested is None:
        keys = [k for k, info in METRICS.items() if not info.task_computed]
        keys = [k for k in keys if has_counts or not METRICS[k].needs_counts]
        if not has_calibration:
            keys = [k for k in keys if not METRICS[k].needs_calibration]
            notes.append(CALIBRATION_MISSING)
        return keys
    unknown = [k for k in requested if k not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s): {', '.join(unknown)}; known: {', '.join(METRICS)}")
    wanted = set(requested)
    keys = []
    for key, info in METRICS.items():
        if key not in wanted:
            continue
        if info.task_computed:
            notes.append(f"{key}: computed by the task, not by compute_metrics")
        elif info.needs_counts and not has_counts:
            notes.append(f"{key}: skipped, needs human vote counts")
        elif info.needs_calibration and not has_calibration:
            if CALIBRATION_MISSING not in notes:
                notes.append(CALIBRATION_MISSING)
        else:
            keys.append(key)
    return keys


@one_blas_thread
def compute_metrics(
    probs: ArrayLike,
    targets: ArrayLike,
    counts: ArrayLike | None = None,
    *,
    metrics: Sequence[str] | None = None,
    calibration: Calibration | None = None,
    seed: int = 0,
    n_bootstrap: int = 1000,
    calibration_is_reported_split: bool = False,
    n_ceiling_draws: int = 100,
    fitted: Mapping[str, float] | None = None,
    ceiling_prior: ArrayLike | None = None,
    ceiling: Mapping[str, float] | None = None,
) -> dict[str, object]:
    """Aggregate metrics of one split with bootstrap 95% intervals.

    Args:
        probs: ``(n, K)`` model distributions over the choices (clipped at 1e-12, renormalised).
        targets: ``(n,)`` majority / gold label per item.
        counts: ``(n, K)`` human votes per choice, or ``None`` (count-based metrics skipped;
            cross-entropy, Brier and JS then use the one-hot target).
        metrics: keys of :data:`METRICS` to compute; ``None`` means all that apply. Keys the
            task computes itself, or that lack counts or a calibration split, are skipped
            with a note.
        calibration: ``(probs, targets, counts)`` of the calibration split (dev by default)
            for the temperature and the Dirichlet concentration. Without it
            ``xentropy_calibrated`` and ``dirichlet`` are absent and a note says so.
        seed: seed of the bootstrap and of the ceiling's Monte Carlo draws.
        n_bootstrap: bootstrap resamples (1,000 by default).
        calibration_is_reported_split: set when the caller deliberately passes the reported
            split as calibration; a note then flags the calibrated numbers as optimistic.
        fitted: ``temperature`` / ``dirichlet_c`` fitted elsewhere, used as given instead of
            fitting on ``calibration`` (a slice of a split reuses the whole split's fit).
        n_ceiling_draws, ceiling_prior: posterior draws per item and Dirichlet prior of the
            human ceiling (default: fitted on ``counts``; see :func:`human_ceiling`).
        ceiling: a ceiling already drawn for these items (see :func:`human_ceilings`).

    Returns:
        JSON-ready dict: ``<key>`` (float) and ``<key>_ci`` (``[lo, hi]``) per metric,
        ``temperature`` / ``dirichlet_c`` when fitted, ``ceiling`` (``{key: value}`` for the
        computed metrics that have one; empty without counts), ``clipped_items`` (items of
        the reported split where the 1e-12 clip fired) and ``notes`` (list of str).

    Raises:
        ValueError: on malformed input (shape mismatch, NaN, negative values, items without
            votes, unknown metric keys). FloatingPointError if a value came out non-finite.
    """
    split, clipped, notes = _validated(probs, targets, counts)
    has_calibration = calibration is not None or fitted is not None
    keys = _select(metrics, split.n_votes is not None, has_calibration, notes)
    temperature, concentration = _resolve_fit(
        keys, split.p.shape[1], fitted, calibration, calibration_is_reported_split, notes
    )
    result = _with_intervals(split, keys, temperature, concentration, seed, n_bootstrap)
    result["ceiling"] = _ceiling(keys, split, seed, n_ceiling_draws, ceiling_prior, ceiling)
    result["clipped_items"] = int(clipped)
    result["notes"] = notes
    _check_finite(result)
    return result


def _validated(
    probs: ArrayLike, targets: ArrayLike, counts: ArrayLike | None
) -> tuple[_Split, int, list[str]]:
    """The split's arrays checked and normalised, the clip count and the first notes."""
    p_in = _as_2d(probs, "probs")
    n_items, k = p_in.shape
    t = _targets(targets, n_items, k)
    notes: list[str] = []
    p, clipped = normalise(p_in)
    if clipped:
        notes.append(f"p clipped at {EPS:g} and renormalised on {clipped} item(s)")
    n_votes = None if counts is None else _check_counts(counts, (n_items, k))
    y = one_hot(t, k) if n_votes is None else n_votes / n_votes.sum(axis=1, keepdims=True)
    return _Split(p, y, t, n_votes), clipped, notes


@dataclass(frozen=True)
class _Split:
    """One split's validated arrays: normalised ``p``, human ``y``, targets, vote counts."""

    p: FloatArray
    y: FloatArray
    t: NDArray[np.int64]
    n_votes: FloatArray | None


def _with_intervals(
    split: _Split,
    keys: list[str],
    temperature: float | None,
    concentration: float | None,
    seed: int,
    n_bootstrap: int,
) -> dict[str, object]:
    """``<key>`` and ``<key>_ci`` per metric, the intervals from one pass of resamples."""
    p, y, t = split.p, split.y, split.t
    n_items, k = p.shape
    pred = np.argmax(p, axis=1)
    rows = np.arange(n_items)
    conf = p[rows, pred]
    correct = (pred == t).astype(np.float64)
    values: dict[str, float] = {}
    mean_keys: list[str] = []
    mean_columns: list[FloatArray] = []
    count_keys: list[str] = []
    count_stats: list[Callable[[FloatArray], FloatArray]] = []
    bins = _bin_index(conf, 10)
    for key in keys:
        if key == "f1_macro":
            values[key] = float(_f1_macro_rows(pred[None, :], t[None, :], k)[0])
            count_keys.append(key)
            count_stats.append(lambda counts: _f1_macro_counts(counts, pred, t, k))
        elif key in ("ece", "ece_soft"):
            gap = conf - (correct if key == "ece" else y[rows, pred])
            values[key] = float(_ece_rows(bins[None, :], gap[None, :], 10)[0])
            count_keys.append(key)
            weights = _ece_weights(bins, gap, 10)
            count_stats.append(lambda counts, w=weights: _ece_counts(counts, w))
        else:
            per_item = _per_item(key, p, y, t, correct, split.n_votes, temperature, concentration)
            values[key] = float(per_item.mean())
            mean_keys.append(key)
            mean_columns.append(per_item)
    intervals = (
        bootstrap_many(
            n_items,
            means=np.stack(mean_columns, axis=1) if mean_columns else None,
            statistics_counts=count_stats,
            seed=seed,
            n_resamples=n_bootstrap,
        )
        if keys
        else []
    )
    ci = dict(zip(mean_keys + count_keys, intervals, strict=True))
    return _assembled(keys, values, ci, temperature, concentration)


def _assembled(
    keys: list[str],
    values: Mapping[str, float],
    ci: Mapping[str, tuple[float, float]],
    temperature: float | None,
    concentration: float | None,
) -> dict[str, object]:
    """``<key>``, ``<key>_ci`` per metric, then the fitted parameters that were used."""
    result: dict[str, object] = {}
    for key in keys:
        result[key] = values[key]
        result[f"{key}_ci"] = list(ci[key])
    if temperature is not None and "xentropy_calibrated" in keys:
        result["temperature"] = temperature
    if concentration is not None and "dirichlet" in keys:
        result["dirichlet_c"] = concentration
    return result


def _ceiling(
    keys: list[str],
    split: _Split,
    seed: int,
    n_draws: int,
    prior: ArrayLike | None,
    drawn: Mapping[str, float] | None,
) -> dict[str, float]:
    """The human ceiling of the computed metrics that have one (empty without counts)."""
    with_ceiling = [key for key in keys if key in CEILING_METRICS or key == "xentropy_calibrated"]
    if split.n_votes is None or not with_ceiling:
        return {}
    full = (
        dict(drawn)
        if drawn is not None
        else human_ceiling(split.n_votes, split.t, seed=seed, n_draws=n_draws, prior=prior)
    )
    full["xentropy_calibrated"] = full["xentropy"]  # the oracle needs no temperature
    return {key: full[key] for key in with_ceiling}


def _per_item(
    key: str,
    p: FloatArray,
    y: FloatArray,
    t: NDArray[np.int64],
    correct: FloatArray,
    n_votes: FloatArray | None,
    temperature: float | None,
    concentration: float | None,
) -> FloatArray:
    if key == "accuracy":
        return correct
    if key == "xentropy":
        return _xent(p, y)
    if key == "xentropy_calibrated":
        assert temperature is not None
        return _xent(apply_temperature(p, temperature), y)
    if key == "brier":
        return _brier(p, y)
    if key == "js_divergence":
        return _js(p, y)
    if key == "dirichlet":
        assert concentration is not None and n_votes is not None
        return _dirichlet_nll(concentration * p, n_votes)
    if key in WELFARE_KEYS:
        assert n_votes is not None
        return _welfare(p, n_votes, WELFARE_KEYS[key])
    raise AssertionError(f"no per-item rule for {key}")  # pragma: no cover


def _check_finite(result: dict[str, object]) -> None:
    def walk(value: object, where: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise FloatingPointError(f"metric value {where} is {value}")
        if isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")
        if isinstance(value, dict):
            for key, v in value.items():
                walk(v, f"{where}.{key}")

    walk(result, "result")
