"""The formulas of the LLM calibration study (arXiv 2410.07826), as its released code computed
them, so that a run can be set beside the study's own figures.

These are *not* the suite's metrics and are named so they cannot be taken for them
(``maity2024_*``); ``docs/metrics.md`` shows on the same predictions how far they are from
``xentropy`` and ``dirichlet`` and why. What the study's code did, in words:

* **Model pair.** ``p = (P(yes) + P(Yes), P(no) + P(No))``: next-token probabilities over the
  whole vocabulary, summed over the two spellings and *not* renormalised, so the pair sums to
  whatever mass the four tokens got (often far below 1).
* **"Cross-entropy".** The pair is passed to a cross-entropy as *logits*: a second softmax,
  ``-sum_k y_k log softmax(p)_k``. Since both entries lie in [0, 1], softmax(p) stays within
  [0.27, 0.73] and every value sits near ln 2.
* **"Dirichlet-multinomial loss".** The Dirichlet-multinomial NLL of the votes with
  ``alpha = 1.0 * p`` (concentration fixed at 1, never fitted), without the multinomial
  coefficient; tiny ``alpha`` makes it large.
* **Human distribution (dilemmas).** ``[count of entries equal to 1, count of entries equal
  to 0] / 2`` over the two-element vote vector ``[n0, n1]``: a bug (the intended one is
  ``[n0, n1] / (n0 + n1)``), kept here because it is what the code did.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln, log_softmax

from .distribution import EPS, _as_2d, _check_counts

__all__ = [
    "MAITY2024_DIRICHLET",
    "MAITY2024_XENTROPY",
    "maity2024_dilemma_human_pair",
    "maity2024_dirichlet_fixed_c1",
    "maity2024_xentropy_double_softmax",
]

FloatArray = NDArray[np.float64]

#: result keys of the study's two formulas
MAITY2024_XENTROPY = "maity2024_xentropy_double_softmax"
MAITY2024_DIRICHLET = "maity2024_dirichlet_fixed_c1"


def _pair(raw: ArrayLike) -> FloatArray:
    p = _as_2d(raw, "raw probabilities")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1 + 1e-9):
        raise ValueError("raw probabilities must lie in [0, 1]")
    return p


def maity2024_xentropy_double_softmax(raw: ArrayLike, human: ArrayLike) -> FloatArray:
    """Per item ``-sum_k y_k log softmax(p)_k``: the raw probabilities taken as logits.

    Args:
        raw: ``(n, K)`` un-renormalised model probabilities (the study's summed spellings).
        human: ``(n, K)`` the human vector as the study built it (it need not sum to 1).
    """
    p = _pair(raw)
    y = _as_2d(human, "human")
    if y.shape != p.shape:
        raise ValueError(f"human has shape {y.shape}, raw has shape {p.shape}")
    return 0.0 - np.sum(y * log_softmax(p, axis=-1), axis=-1)  # 0.0 -: no "-0.0" for y = 0


def maity2024_dirichlet_fixed_c1(raw: ArrayLike, counts: ArrayLike) -> FloatArray:
    """Per item Dirichlet-multinomial NLL with ``alpha = 1.0 * p`` and no multinomial
    coefficient: ``-[lgamma(A) - lgamma(A + N) + sum_k (lgamma(alpha_k + n_k) -
    lgamma(alpha_k))]``. ``p`` is floored at 1e-12 (the study's code would give infinity for
    a probability of exactly 0)."""
    alpha = np.maximum(_pair(raw), EPS)
    n = _check_counts(counts, alpha.shape)
    big_a = alpha.sum(axis=-1)
    ll = gammaln(big_a) - gammaln(big_a + n.sum(axis=-1))
    ll = ll + np.sum(gammaln(alpha + n) - gammaln(alpha), axis=-1)
    return -ll


def maity2024_dilemma_human_pair(counts: ArrayLike) -> FloatArray:
    """The released code's human vector for a dilemma with votes ``[n0, n1]``:
    ``[#{entries == 1} / 2, #{entries == 0} / 2]`` (``list.count`` on the count vector)."""
    n = _as_2d(counts, "counts")
    if n.shape[1] != 2:
        raise ValueError("a dilemma has two vote counts")
    return np.stack([(n == 1).sum(axis=1) / 2.0, (n == 0).sum(axis=1) / 2.0], axis=1)
