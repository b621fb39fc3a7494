"""Human ceiling: the expected score of an oracle that knows each item's true label distribution.

Model (Scruples' "BEST" idea): each item has an unknown true distribution
``theta_i ~ Dirichlet(alpha)`` and its ``N_i`` votes are a multinomial draw from ``theta_i``.
``alpha`` is fitted by maximum marginal likelihood (Dirichlet-multinomial over all items).
Given the observed votes the posterior is ``theta_i | n_i ~ Dirichlet(alpha + n_i)``. The
oracle predicts ``theta_i`` itself; its expected score on the observed data,
``E[score(theta_i, n_i) | n_i]``, is estimated by Monte Carlo over posterior draws.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from .blas_threads import one_blas_thread
from .classification import _f1_macro_rows
from .distribution import EPS, WELFARE_KEYS, _brier, _check_counts, _js, _welfare, _xent

__all__ = ["CEILING_METRICS", "fit_dirichlet_prior", "human_ceiling", "human_ceilings"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: metrics the ceiling reports
CEILING_METRICS = (
    "accuracy",
    "f1_macro",
    "xentropy",
    "dirichlet",
    "brier",
    "js_divergence",
    *WELFARE_KEYS,
)
#: the ceiling metrics that are means of per-item scores (macro-F1 is not)
_MEAN_METRICS = tuple(key for key in CEILING_METRICS if key != "f1_macro")
_ALPHA_BOUNDS = (1e-6, 1e6)


def fit_dirichlet_prior(counts: ArrayLike) -> FloatArray:
    """Maximum marginal likelihood Dirichlet prior over the items' label distributions.

    Maximises ``sum_i [lgamma(A) - lgamma(A + N_i) + sum_k (lgamma(a_k + n_ik) - lgamma(a_k))]``
    (the Dirichlet-multinomial log-likelihood without the multinomial coefficient) over
    ``alpha`` in ``[1e-6, 1e6]^K`` with L-BFGS-B on ``log alpha`` and the exact gradient.
    The start point is ``K * mean(y)`` (total concentration K). When no item has more than
    one vote the total concentration is not identifiable and stays at that start.

    Returns:
        ``alpha``, shape ``(K,)``.
    """
    n = _check_counts(counts)
    k = n.shape[1]
    big_n = n.sum(axis=1)
    y_mean = (n / big_n[:, None]).mean(axis=0)
    start = np.log(np.clip(k * y_mean, 1e-3, None))

    def nll(u: FloatArray) -> tuple[float, FloatArray]:
        a = np.exp(u)
        big_a = a.sum()
        ll = np.sum(gammaln(big_a) - gammaln(big_a + big_n))
        ll += np.sum(gammaln(a + n) - gammaln(a))
        grad = np.sum(digamma(big_a) - digamma(big_a + big_n))
        grad = grad + np.sum(digamma(a + n) - digamma(a), axis=0)
        return -float(ll) / len(n), -(grad * a) / len(n)

    bounds = [tuple(np.log(_ALPHA_BOUNDS))] * k
    res = minimize(nll, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return np.exp(res.x)


def _sample_log_dirichlet(rng: np.random.Generator, shape: FloatArray, draws: int) -> FloatArray:
    """log of Dirichlet draws, ``(draws, n, K)``, stable for tiny parameters.

    Uses ``Gamma(a) = Gamma(a + 1) * U^(1/a)`` in log space, so small ``a`` cannot underflow
    to a row of zeros.
    """
    full = np.broadcast_to(shape, (draws, *shape.shape))
    log_g = np.log(rng.standard_gamma(full + 1.0)) + np.log1p(-rng.random(full.shape)) / full
    log_g -= log_g.max(axis=-1, keepdims=True)
    log_g -= np.log(np.exp(log_g).sum(axis=-1, keepdims=True))
    return log_g


@one_blas_thread
def human_ceiling(
    counts: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    seed: int = 0,
    n_draws: int = 100,
    prior: ArrayLike | None = None,
) -> dict[str, float]:
    """Expected scores of the oracle that predicts each item's true distribution.

    Args:
        counts: ``(n, K)`` human votes.
        targets: the majority labels used for accuracy / F1 (as given to the model's metrics);
            by default ``argmax counts`` with ties to the lowest index.
        seed: seed of ``numpy.random.default_rng`` for the posterior draws.
        n_draws: Monte Carlo draws per item.
        prior: the Dirichlet prior ``alpha`` (shape ``(K,)``) to use instead of fitting one
            on ``counts``.

    Returns:
        ``{metric: value}`` for :data:`CEILING_METRICS`, each the average over draws of the
        metric computed exactly as for a model, with the draw ``theta`` (clipped at 1e-12) in
        place of ``p``. ``dirichlet`` uses the limit c -> infinity, i.e. the multinomial NLL
        ``-sum_k n_k log theta_k``: an oracle that knows ``theta`` is best served by an
        infinitely concentrated Dirichlet, so this is the oracle's own optimal concentration.
    """
    return human_ceilings(counts, targets, {}, seed=seed, n_draws=n_draws, prior=prior)[0]


@one_blas_thread
def human_ceilings(
    counts: ArrayLike,
    targets: ArrayLike | None,
    groups: Mapping[str, ArrayLike],
    *,
    seed: int = 0,
    n_draws: int = 100,
    prior: ArrayLike | None = None,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """:func:`human_ceiling` of the whole split and of each slice, from one set of draws.

    The slices (``groups``: ``{name: boolean mask over the items}``) are scored on the whole
    split's posterior draws, restricted to their items: one Monte Carlo pass serves them all,
    and the prior is the whole split's, so choosing items by their votes does not also choose
    the prior. A slice's value of a per-item metric is the mean of its items' draw-averaged
    scores (the item-weighted slices of a partition average back to the whole split's value);
    macro-F1 is computed per draw on the slice's items. An empty slice gets ``{}``.

    Returns:
        ``(whole split, {slice name: {metric: value}})``; the first is what
        :func:`human_ceiling` returns for the same arguments, to the last bit.
    """
    n = _check_counts(counts)
    n_items, k = n.shape
    t = _ceiling_targets(targets, n)
    if n_draws < 1:
        raise ValueError("n_draws must be >= 1")
    masks = {name: np.asarray(mask, dtype=bool) for name, mask in groups.items()}
    for name, mask in masks.items():
        if mask.shape != (n_items,):
            raise ValueError(f"slice {name!r} has {mask.size} flags for {n_items} items")
    alpha = fit_dirichlet_prior(n) if prior is None else _checked_prior(prior, k)
    post = alpha[None, :] + n
    y = n / n.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    block = max(1, (1 << 21) // (n_items * k))
    totals = dict.fromkeys(CEILING_METRICS, 0.0)
    per_item = {key: np.zeros(n_items) for key in _MEAN_METRICS} if masks else None
    f1_totals = dict.fromkeys(masks, 0.0)
    done = 0
    while done < n_draws:
        m = min(block, n_draws - done)
        log_theta = _sample_log_dirichlet(rng, post, m)
        # clip at EPS and renormalise, exactly as normalise() does for model outputs
        theta = np.maximum(np.exp(log_theta), EPS)
        theta /= theta.sum(axis=-1, keepdims=True)
        pred = _add_draw_scores(totals, per_item, theta, t, y, n)
        for name, mask in masks.items():
            if mask.any():
                f1_totals[name] += float(
                    np.sum(_f1_macro_rows(pred[:, mask], _rows(t[mask], m), k))
                )
        done += m
    whole = {key: value / n_draws for key, value in totals.items()}
    return whole, {
        name: _slice_values(per_item, f1_totals[name], mask, n_draws) if per_item else {}
        for name, mask in masks.items()
    }


def _rows(t: NDArray[np.int64], m: int) -> NDArray[np.int64]:
    return np.ascontiguousarray(np.broadcast_to(t, (m, t.size)))


def _slice_values(
    per_item: Mapping[str, FloatArray], f1_total: float, mask: BoolArray, n_draws: int
) -> dict[str, float]:
    """One slice's ceiling from the per-item sums over draws (``{}`` for an empty slice)."""
    size = int(mask.sum())
    if size == 0:
        return {}
    values = {key: float(sums[mask].sum()) / (n_draws * size) for key, sums in per_item.items()}
    values["f1_macro"] = f1_total / n_draws
    return {key: values[key] for key in CEILING_METRICS}


def _ceiling_targets(targets: ArrayLike | None, n: FloatArray) -> NDArray[np.int64]:
    """The given majority labels, checked; by default ``argmax counts`` (ties to the lowest)."""
    n_items, k = n.shape
    if targets is None:
        return np.argmax(n, axis=1)
    t = np.asarray(targets, dtype=np.int64)
    if t.shape != (n_items,) or t.min() < 0 or t.max() >= k:
        raise ValueError("targets must be one label in [0, K) per item")
    return t


def _checked_prior(prior: ArrayLike, k: int) -> FloatArray:
    alpha = np.asarray(prior, dtype=np.float64)
    if alpha.shape != (k,) or not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
        raise ValueError(f"prior must hold {k} positive finite numbers")
    return alpha


def _add_draw_scores(
    totals: dict[str, float],
    per_item: dict[str, FloatArray] | None,
    theta: FloatArray,
    t: NDArray[np.int64],
    y: FloatArray,
    n: FloatArray,
) -> NDArray[np.int64]:
    """Add each metric's per-draw mean over the items, summed over a block of draws, and
    (for slices) each item's scores summed over the block; return the block's predictions."""
    k = theta.shape[-1]
    pred = np.argmax(theta, axis=-1)
    tt = np.broadcast_to(t, pred.shape)
    totals["f1_macro"] += float(np.sum(_f1_macro_rows(pred, np.ascontiguousarray(tt), k)))
    scores: dict[str, Callable[[], NDArray[np.generic]]] = {
        "accuracy": lambda: pred == tt,
        "xentropy": lambda: _xent(theta, y),
        "dirichlet": lambda: _xent(theta, n),
        "brier": lambda: _brier(theta, y),
        "js_divergence": lambda: _js(theta, y),
        **{key: partial(_welfare, theta, n, a) for key, a in WELFARE_KEYS.items()},
    }
    for key, score in scores.items():  # one (draws, items) array alive at a time
        value = score()
        totals[key] += float(np.sum(np.mean(value, axis=1)))
        if per_item is not None:
            per_item[key] += value.sum(axis=0)
    return pred
