"""Parameters fitted on a calibration split: softmax temperature and Dirichlet concentration.

Both fits minimise a one-dimensional objective over the log of the parameter: a coarse grid
over the allowed range finds the basin, then scipy's bounded Brent search refines it between
the neighbouring grid points. The result is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from .distribution import _as_2d, _check_counts, _dirichlet_nll, normalise, one_hot

__all__ = [
    "CONCENTRATION_BOUNDS",
    "TEMPERATURE_BOUNDS",
    "apply_temperature",
    "fit_dirichlet_concentration",
    "fit_temperature",
]

FloatArray = NDArray[np.float64]

#: search range of the temperature T
TEMPERATURE_BOUNDS = (1e-2, 1e2)
#: search range of the Dirichlet concentration c
CONCENTRATION_BOUNDS = (1e-3, 1e6)


def _minimise_log(
    objective: Callable[[float], float], bounds: tuple[float, float], n_grid: int = 61
) -> float:
    """argmin over x in ``bounds`` of ``objective(log x)``, returned as x."""
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    grid = np.linspace(lo, hi, n_grid)
    values = np.array([objective(float(u)) for u in grid])
    best = int(np.argmin(values))
    if np.ptp(values) <= 1e-12 * max(1.0, abs(values[best])):
        return 1.0  # flat: the parameter does not change the objective
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, n_grid - 1)]
    res = minimize_scalar(
        objective, bounds=(left, right), method="bounded", options={"xatol": 1e-9}
    )
    u = float(res.x) if res.fun <= values[best] else float(grid[best])
    return math.exp(u)


def apply_temperature(probs: ArrayLike, temperature: float) -> FloatArray:
    """Temperature scaling ``p_T = softmax(log p / T)`` of clipped, normalised ``p``."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be finite and > 0, got {temperature}")
    p, _ = normalise(_as_2d(probs, "probs"))
    z = np.log(p) / temperature
    return np.exp(z - logsumexp(z, axis=1, keepdims=True))


def _soft_targets(counts_or_onehot: ArrayLike, n: int, k: int) -> FloatArray:
    t = np.asarray(counts_or_onehot)
    if t.ndim == 1:
        y = one_hot(t, k)
    else:
        c = _check_counts(t)
        y = c / c.sum(axis=1, keepdims=True)
    if y.shape != (n, k):
        raise ValueError(f"targets give shape {y.shape}, probs have shape {(n, k)}")
    return y


def fit_temperature(probs: ArrayLike, counts_or_onehot: ArrayLike) -> float:
    """Temperature T minimising mean cross-entropy of ``softmax(log p / T)`` on this split.

    Args:
        probs: ``(n, K)`` model distributions of the calibration split (clipped at 1e-12).
        counts_or_onehot: ``(n, K)`` vote counts or one-hot rows (any non-negative weights,
            renormalised per row), or a 1-D array of integer targets.

    Returns:
        T within :data:`TEMPERATURE_BOUNDS`; T > 1 softens an over-confident model. When T has
        no effect (every row uniform) 1.0 is returned.
    """
    p, _ = normalise(_as_2d(probs, "probs"))
    y = _soft_targets(counts_or_onehot, *p.shape)
    logp = np.log(p)

    # with log p <= 0 rows shifted so their max is 0, z = log p / T has max 0 too
    logp -= logp.max(axis=1, keepdims=True)
    y_logp = np.sum(y * logp, axis=1)
    y_mass = y.sum(axis=1)

    def objective(u: float) -> float:
        inv_t = math.exp(-u)
        lse = np.log(np.exp(logp * inv_t).sum(axis=1))
        # -sum_k y_k log softmax(z)_k = sum_k y_k (lse - z_k)
        return float(np.mean(y_mass * lse - inv_t * y_logp))

    return _minimise_log(objective, TEMPERATURE_BOUNDS)


def fit_dirichlet_concentration(probs: ArrayLike, counts: ArrayLike) -> float:
    """Maximum-likelihood concentration c > 0 of the Dirichlet-multinomial with alpha = c * p.

    Minimises the mean of :func:`~moralbench.metrics.dirichlet_nll` over the items. Small c
    says the model's distribution is a loose guide to how votes fall (votes cluster more than
    p suggests); large c approaches the plain multinomial likelihood of the votes under p.
    Items with a single vote do not depend on c; when no item has more than one vote c is not
    identifiable and 1.0 is returned.

    Returns:
        c within :data:`CONCENTRATION_BOUNDS`.
    """
    p, _ = normalise(_as_2d(probs, "probs"))
    n = _check_counts(counts, p.shape)
    if n.sum(axis=1).max() <= 1:
        return 1.0

    def objective(u: float) -> float:
        return float(np.mean(_dirichlet_nll(math.exp(u) * p, n)))

    return _minimise_log(objective, CONCENTRATION_BOUNDS)
