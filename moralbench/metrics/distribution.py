"""Per-item scores of a model's choice distribution ``p`` against human votes.

Conventions used throughout the package:

* ``probs`` is an ``(n_items, K)`` array of non-negative scores per choice; a 1-D array is one
  item. It is normalised with :func:`normalise` (rows rescaled to sum 1, every entry clipped
  at ``eps = 1e-12``, rows renormalised) before any logarithm is taken.
* ``counts`` is an ``(n_items, K)`` array of human votes ``n``; the human distribution is
  ``y = n / N`` with ``N = sum_k n_k`` (items with no votes are rejected).
* Logs are natural logs, so cross-entropy, JS divergence and Dirichlet NLL are in nats.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln, logsumexp, xlogy

__all__ = [
    "EPS",
    "brier",
    "cross_entropy",
    "dirichlet_nll",
    "dirichlet_nll_alpha",
    "human_distribution",
    "js_divergence",
    "normalise",
    "one_hot",
    "predict",
    "probs_from_logprobs",
    "welfare",
]

EPS = 1e-12
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: welfare exponents a of the three named welfare metrics
WELFARE_KEYS: dict[str, float] = {
    "welfare_utilitarian": 0.0,
    "welfare_nash": 1.0,
    "welfare_rawlsian": math.inf,
}


def _float_array(x: ArrayLike, name: str) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim not in (1, 2) or a.shape[-1] < 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D or 2-D array, got shape {a.shape}")
    return a


def _as_2d(x: ArrayLike, name: str) -> FloatArray:
    a = _float_array(x, name)
    return a[None, :] if a.ndim == 1 else a


def _check_probs(p: FloatArray) -> None:
    if not np.all(np.isfinite(p)):
        raise ValueError("probs contains NaN or infinite values")
    if np.any(p < 0):
        raise ValueError("probs contains negative values")


def _check_counts(counts: ArrayLike, shape: tuple[int, ...] | None = None) -> FloatArray:
    n = _as_2d(counts, "counts")
    if shape is not None and n.shape != shape:
        raise ValueError(f"counts has shape {n.shape}, expected {shape}")
    if not np.all(np.isfinite(n)) or np.any(n < 0):
        raise ValueError("counts must be finite and non-negative")
    empty = np.flatnonzero(n.sum(axis=1) <= 0)
    if empty.size:
        shown = ", ".join(str(i) for i in empty[:10])
        raise ValueError(f"{empty.size} item(s) have no human votes (rows {shown})")
    return n


def normalise(probs: ArrayLike, eps: float = EPS) -> tuple[FloatArray, int]:
    """Rescale rows to sum 1, clip every entry at ``eps`` and renormalise.

    Args:
        probs: ``(n_items, K)`` non-negative scores (a 1-D array is one item; the output keeps
            the input's dimensionality). A row that sums to 0 becomes uniform.
        eps: the floor applied to every probability so that logs stay finite.

    Returns:
        ``(p, clipped)``: the normalised array and the number of items where the clip fired
        (some entry below ``eps`` after rescaling, or a row with no mass at all).

    Raises:
        ValueError: on NaN, infinite or negative input.
    """
    raw = _float_array(probs, "probs")
    p = raw[None, :] if raw.ndim == 1 else raw.copy()
    _check_probs(p)
    totals = p.sum(axis=1, keepdims=True)
    empty = totals[:, 0] <= 0
    p[empty] = 1.0
    p /= p.sum(axis=1, keepdims=True)
    fired = np.any(p < eps, axis=1) | empty
    if fired.any():
        p = np.maximum(p, eps)
        p /= p.sum(axis=1, keepdims=True)
    return (p[0] if raw.ndim == 1 else p), int(fired.sum())


def probs_from_logprobs(logprobs: ArrayLike) -> FloatArray:
    """Row-wise softmax of per-choice log-probabilities (numerically stable).

    This is the model's normalised distribution over the offered choices. ``-inf`` entries
    (a choice the backend gave no mass) become 0; a row that is entirely ``-inf`` is an error.

    Args:
        logprobs: ``(n_items, K)`` or ``(K,)`` log-probabilities.

    Returns:
        Array of the same shape whose rows sum to 1.

    Raises:
        ValueError: on NaN or ``+inf``, or a row with no finite entry.
    """
    a = _float_array(logprobs, "logprobs")
    if np.any(np.isnan(a)) or np.any(a == np.inf):
        raise ValueError("logprobs contains NaN or +inf")
    top = a.max(axis=-1, keepdims=True)
    if not np.all(np.isfinite(top)):
        raise ValueError("a row of logprobs has no finite entry (every choice is -inf)")
    e = np.exp(a - top)
    return e / e.sum(axis=-1, keepdims=True)


def predict(probs: ArrayLike) -> IntArray:
    """Argmax choice per item; ties go to the lowest index (``numpy.argmax`` semantics)."""
    return np.argmax(_as_2d(probs, "probs"), axis=1).astype(np.int64)


def one_hot(targets: ArrayLike, n_classes: int) -> FloatArray:
    """One-hot rows for integer targets in ``[0, n_classes)``."""
    t = np.asarray(targets)
    if t.ndim != 1 or not np.issubdtype(t.dtype, np.integer):
        t_int = np.asarray(t, dtype=np.float64)
        if t_int.ndim != 1 or not np.all(t_int == np.round(t_int)):
            raise ValueError("targets must be a 1-D array of integers")
        t = t_int.astype(np.int64)
    if np.any(t < 0) or np.any(t >= n_classes):
        raise ValueError(f"targets must lie in [0, {n_classes})")
    out = np.zeros((t.size, n_classes))
    out[np.arange(t.size), t] = 1.0
    return out


def human_distribution(counts: ArrayLike) -> FloatArray:
    """``y = n / N`` per item; rejects negative counts and items with no votes."""
    n = _check_counts(counts)
    return n / n.sum(axis=1, keepdims=True)


# --- vectorised kernels over the last axis (inputs already validated and normalised) ---


def _xent(p: FloatArray, y: FloatArray) -> FloatArray:
    return -np.sum(xlogy(y, p), axis=-1)


def _brier(p: FloatArray, y: FloatArray) -> FloatArray:
    return np.sum((p - y) ** 2, axis=-1)


def _js(p: FloatArray, y: FloatArray) -> FloatArray:
    m = 0.5 * (p + y)
    kl_pm = np.sum(xlogy(p, p) - xlogy(p, m), axis=-1)
    kl_ym = np.sum(xlogy(y, y) - xlogy(y, m), axis=-1)
    return np.maximum(0.5 * (kl_pm + kl_ym), 0.0)


def _dirichlet_nll(alpha: FloatArray, n: FloatArray) -> FloatArray:
    big_a = alpha.sum(axis=-1)
    big_n = n.sum(axis=-1)
    ll = gammaln(big_a) - gammaln(big_a + big_n)
    ll = ll + np.sum(gammaln(alpha + n) - gammaln(alpha), axis=-1)
    return -ll


def _welfare(p: FloatArray, n: FloatArray, a: float) -> FloatArray:
    w = n / n.sum(axis=-1, keepdims=True)
    if math.isinf(a):
        return np.min(np.where(n > 0, p, np.inf), axis=-1)
    if a == 0.0:
        return np.sum(w * p, axis=-1)
    logp = np.log(p)
    if a == 1.0:
        return np.exp(np.sum(w * logp, axis=-1))
    r = 1.0 - a
    return np.exp(logsumexp(r * logp, b=w, axis=-1) / r)


# --- public per-item functions ---


def _pair(probs: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    p, _ = normalise(_as_2d(probs, "probs"))
    yy = _as_2d(y, "y")
    if yy.shape != p.shape:
        raise ValueError(f"y has shape {yy.shape}, probs has shape {p.shape}")
    return p, yy


def cross_entropy(probs: ArrayLike, y: ArrayLike) -> FloatArray:
    """Per-item ``-sum_k y_k log p_k`` (nats) with ``p`` clipped at 1e-12 and renormalised.

    ``y`` is the human distribution (or a one-hot target row).
    """
    return _xent(*_pair(probs, y))


def brier(probs: ArrayLike, y: ArrayLike) -> FloatArray:
    """Per-item Brier score ``sum_k (p_k - y_k)^2`` (0 to 2, lower is better)."""
    return _brier(*_pair(probs, y))


def js_divergence(probs: ArrayLike, y: ArrayLike) -> FloatArray:
    """Per-item Jensen-Shannon divergence between ``p`` and ``y`` (nats, 0 to ln 2)."""
    return _js(*_pair(probs, y))


def dirichlet_nll_alpha(alpha: ArrayLike, counts: ArrayLike) -> FloatArray:
    """Per-item Dirichlet-multinomial NLL of the votes for given Dirichlet parameters.

    ``-[lgamma(A) - lgamma(A + N) + sum_k (lgamma(alpha_k + n_k) - lgamma(alpha_k))]`` with
    ``A = sum_k alpha_k``: no multinomial coefficient (it does not depend on the model). For
    backends that emit Dirichlet parameters themselves.
    """
    al = _as_2d(alpha, "alpha")
    if not np.all(np.isfinite(al)) or np.any(al <= 0):
        raise ValueError("alpha must be finite and positive")
    n = _check_counts(counts, al.shape)
    return _dirichlet_nll(al, n)


def dirichlet_nll(probs: ArrayLike, counts: ArrayLike, c: float) -> FloatArray:
    """Per-item Dirichlet-multinomial NLL with ``alpha = c * p`` (see :func:`dirichlet_nll_alpha`).

    ``p`` is clipped at 1e-12 and renormalised first; ``c`` must be finite and positive.
    """
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"concentration c must be finite and > 0, got {c}")
    p, _ = normalise(_as_2d(probs, "probs"))
    n = _check_counts(counts, p.shape)
    return _dirichlet_nll(c * p, n)


def welfare(probs: ArrayLike, counts: ArrayLike, a: float) -> FloatArray:
    """Per-item welfare of the annotators under the model's distribution.

    Annotator ``j`` who voted label ``l_j`` gets utility ``u_j = p_{l_j}``; the item's welfare
    is the power mean ``W_a = (mean_j u_j^(1-a))^(1/(1-a))``: ``a = 0`` arithmetic mean
    (utilitarian), ``a = 1`` geometric mean (Nash, the limit), ``a = inf`` the minimum over
    labels with at least one vote (Rawlsian). ``p`` is clipped at 1e-12 and renormalised.
    Computed in log space, so large ``a`` does not overflow. Higher is better.
    """
    if math.isnan(a) or a < 0:
        raise ValueError(f"welfare exponent a must be >= 0 (or inf), got {a}")
    p, _ = normalise(_as_2d(probs, "probs"))
    n = _check_counts(counts, p.shape)
    return _welfare(p, n, float(a))
