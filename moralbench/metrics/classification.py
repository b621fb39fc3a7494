"""Label metrics over a whole split: macro-F1 and expected calibration error (ECE).

The ``*_rows`` kernels score many resamples at once: row ``b`` of the 2-D inputs is one
resample of the items, which keeps the bootstrap of these ratio metrics vectorised.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .distribution import _as_2d, human_distribution, normalise

__all__ = ["ece", "ece_soft", "f1_macro"]

FloatArray = NDArray[np.float64]


def _f1_macro_rows(pred: NDArray[np.int64], target: NDArray[np.int64], k: int) -> FloatArray:
    """Macro-F1 of each row of ``pred`` against the same row of ``target`` (both ``(B, n)``)."""
    b, n = pred.shape
    keys = (np.arange(b)[:, None] * (k * k) + target * k + pred).ravel()
    cm = np.bincount(keys, minlength=b * k * k).reshape(b, k, k)  # [row, true, pred]
    return _f1_macro_confusion(cm)


def _f1_macro_counts(
    counts: FloatArray, pred: NDArray[np.int64], target: NDArray[np.int64], k: int
) -> FloatArray:
    """:func:`_f1_macro_rows` of resamples given as item counts ``(B, n)`` (how often each
    resample drew each item): the confusion matrices are ``counts @ one_hot(true, pred)``,
    whole numbers in float64, so the F1 values are the same to the last bit."""
    cells = np.zeros((pred.size, k * k))
    cells[np.arange(pred.size), target * k + pred] = 1.0
    return _f1_macro_confusion((counts @ cells).reshape(-1, k, k))


def _f1_macro_confusion(cm: NDArray[np.int64] | FloatArray) -> FloatArray:
    """Macro-F1 of confusion matrices ``(B, K, K)`` indexed [row, true, pred]."""
    tp = np.diagonal(cm, axis1=1, axis2=2).astype(np.float64)
    fp = cm.sum(axis=1) - tp
    fn = cm.sum(axis=2) - tp
    denom = 2 * tp + fp + fn
    present = denom > 0
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=present)
    return f1.sum(axis=1) / present.sum(axis=1)


def f1_macro(pred: ArrayLike, target: ArrayLike, n_classes: int) -> float:
    """Macro-averaged F1 over classes.

    Per class ``F1 = 2 TP / (2 TP + FP + FN)``; the macro average is taken over the classes
    that occur in ``pred`` or in ``target``. A class absent from both has no defined F1 and is
    left out (sklearn would count it as 0 and warn), so a K = 5 task whose split never uses
    one label is not penalised for it.

    Args:
        pred: predicted class per item.
        target: gold class per item.
        n_classes: K; labels must lie in ``[0, K)``.
    """
    p = np.asarray(pred, dtype=np.int64)
    t = np.asarray(target, dtype=np.int64)
    if p.ndim != 1 or p.shape != t.shape or p.size == 0:
        raise ValueError("pred and target must be non-empty 1-D arrays of the same length")
    for name, a in (("pred", p), ("target", t)):
        if a.min() < 0 or a.max() >= n_classes:
            raise ValueError(f"{name} must lie in [0, {n_classes})")
    return float(_f1_macro_rows(p[None, :], t[None, :], n_classes)[0])


def _bin_index(confidence: FloatArray, n_bins: int) -> NDArray[np.int64]:
    """Equal-width bins on [0, 1]: ``[b/n_bins, (b+1)/n_bins)``, the last bin closed at 1."""
    return np.minimum(np.floor(confidence * n_bins), n_bins - 1).astype(np.int64)


def _ece_rows(bins: NDArray[np.int64], gap: FloatArray, n_bins: int) -> FloatArray:
    """ECE per row: ``sum_b (n_b / n) |mean_b(conf - value)|`` = ``sum_b |sum_b gap| / n``."""
    return _ece_keyed(_bin_keys(bins, n_bins), gap, n_bins)


def _bin_keys(bins: NDArray[np.int64], n_bins: int) -> NDArray[np.int64]:
    """``row * n_bins + bin`` of each entry of ``bins`` ``(B, n)``, flattened."""
    return (np.arange(bins.shape[0])[:, None] * n_bins + bins).ravel()


def _ece_keyed(keys: NDArray[np.int64], gap: FloatArray, n_bins: int) -> FloatArray:
    """:func:`_ece_rows` from the bins' :func:`_bin_keys`."""
    b, n = gap.shape
    sums = np.bincount(keys, weights=gap.ravel(), minlength=b * n_bins).reshape(b, n_bins)
    return np.abs(sums).sum(axis=1) / n


def _ece_weights(bins: NDArray[np.int64], gap: FloatArray, n_bins: int) -> FloatArray:
    """``gap * one_hot(bin)``, ``(n, n_bins)``: the input of :func:`_ece_counts`."""
    weights = np.zeros((gap.size, n_bins))
    weights[np.arange(gap.size), bins] = gap
    return weights


def _ece_counts(counts: FloatArray, weights: FloatArray) -> FloatArray:
    """:func:`_ece_rows` of resamples given as item counts ``(B, n)`` (how often each
    resample drew each item), with :func:`_ece_weights`: each bin's sum of gaps is one product
    for the whole block, not an indexed copy of the gaps per resample. The sums add the same
    terms in another order, so a value may differ from :func:`_ece_rows` in the last bit."""
    return np.abs(counts @ weights).sum(axis=1) / counts.shape[1]


def _check_conf(confidence: ArrayLike) -> FloatArray:
    c = np.asarray(confidence, dtype=np.float64)
    if c.ndim != 1 or c.size == 0:
        raise ValueError("confidence must be a non-empty 1-D array")
    if not np.all(np.isfinite(c)) or np.any(c < 0) or np.any(c > 1):
        raise ValueError("confidence must lie in [0, 1]")
    return c


def ece(confidence: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> float:
    """Expected calibration error of top-label confidence against correctness.

    Items are put in ``n_bins`` equal-width bins ``[b/n_bins, (b+1)/n_bins)`` by confidence
    (the last bin includes 1.0); ``ECE = sum_b (n_b / n) |mean conf_b - accuracy_b|``.

    Args:
        confidence: ``max_k p_k`` per item.
        correct: 1/0 (or a value in [0, 1]) per item.
        n_bins: number of bins (10 by default).
    """
    c = _check_conf(confidence)
    v = np.asarray(correct, dtype=np.float64)
    if v.shape != c.shape:
        raise ValueError("confidence and correct must have the same length")
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    return float(_ece_rows(_bin_index(c, n_bins)[None, :], (c - v)[None, :], n_bins)[0])


def ece_soft(probs: ArrayLike, human_dist: ArrayLike, n_bins: int = 10) -> float:
    """Calibration to human agreement: ECE with ``y_{argmax p}`` in place of correctness.

    ``sum_b (n_b / n) |mean_b max_k p_k - mean_b y_{argmax p}|``: a model that says 0.7
    should pick labels that about 70% of annotators chose. ``probs`` is normalised (clipped)
    first; argmax ties go to the lowest index; ``human_dist`` rows are renormalised.
    """
    p, _ = normalise(_as_2d(probs, "probs"))
    y = human_distribution(human_dist)
    if y.shape != p.shape:
        raise ValueError(f"human_dist has shape {y.shape}, probs has shape {p.shape}")
    pred = np.argmax(p, axis=1)
    conf = p[np.arange(len(p)), pred]
    return ece(conf, y[np.arange(len(p)), pred], n_bins)
