"""Bootstrap over items: percentile confidence intervals and a paired test.

All functions draw item indices from ``numpy.random.default_rng(seed)`` in the same order:
resample ``b`` is row ``b`` of ``rng.integers(0, n_items, size=(n_resamples, n_items))``,
generated in blocks of rows to bound memory. The generic, mean and vectorised paths therefore
see the same resamples for the same seed and give identical intervals.

The indices are drawn as 32-bit integers: for a range below 2**32 numpy draws 64-bit integers
from the same 32-bit stream, so the values are the same (a test pins it) at half the memory
and time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .blas_threads import one_blas_thread

__all__ = [
    "bootstrap_ci",
    "bootstrap_ci_rows",
    "bootstrap_many",
    "bootstrap_mean_ci",
    "iter_resamples",
    "paired_bootstrap",
    "resample_counts",
]

FloatArray = NDArray[np.float64]
_MAX_BLOCK = 1 << 22  # indices per block (32 MiB of int64)


def _check(n_items: int, n_resamples: int, alpha: float = 0.05) -> None:
    if n_items < 1:
        raise ValueError("bootstrap needs at least one item")
    if n_resamples < 1:
        raise ValueError("n_resamples must be >= 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")


def iter_resamples(
    n_items: int, *, seed: int = 0, n_resamples: int = 1000
) -> Iterator[NDArray[np.int64]]:
    """Yield blocks of resampled item indices, shape ``(rows, n_items)``, ``n_resamples`` rows
    in all, with replacement, from ``numpy.random.default_rng(seed)``."""
    _check(n_items, n_resamples)
    rng = np.random.default_rng(seed)
    rows = max(1, _MAX_BLOCK // n_items)
    dtype = np.int32 if n_items <= np.iinfo(np.int32).max else np.int64
    done = 0
    while done < n_resamples:
        m = min(rows, n_resamples - done)
        yield rng.integers(0, n_items, size=(m, n_items), dtype=dtype)
        done += m


def _interval(stats: FloatArray, alpha: float) -> tuple[float, float]:
    if not np.all(np.isfinite(stats)):
        raise FloatingPointError("bootstrap statistic returned NaN or inf on a resample")
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


@one_blas_thread
def bootstrap_ci_rows(
    statistic_rows: Callable[[NDArray[np.int64]], FloatArray],
    n_items: int,
    *,
    seed: int = 0,
    n_resamples: int = 1000,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile interval with a vectorised statistic.

    ``statistic_rows(idx)`` receives a ``(rows, n_items)`` block of resampled indices and
    returns one value per row. Same resamples as :func:`bootstrap_ci`.
    """
    _check(n_items, n_resamples, alpha)
    stats = [
        statistic_rows(block)
        for block in iter_resamples(n_items, seed=seed, n_resamples=n_resamples)
    ]
    return _interval(np.concatenate(stats), alpha)


def bootstrap_ci(
    statistic: Callable[[NDArray[np.int64]], float],
    n_items: int,
    *,
    seed: int = 0,
    n_resamples: int = 1000,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap interval of any statistic of the items.

    Args:
        statistic: called once per resample with the resampled item indices (a 1-D integer
            array of length ``n_items``, drawn with replacement); returns the statistic of
            those items, e.g. ``lambda idx: f1_macro(pred[idx], gold[idx], k)``.
        n_items: number of items in the split.
        seed: seed of ``numpy.random.default_rng``; the same seed gives the same interval.
        n_resamples: number of resamples (1,000 by default).
        alpha: 0.05 gives the 2.5% and 97.5% percentiles (linear interpolation).

    Returns:
        ``(lo, hi)``. For plain means use :func:`bootstrap_mean_ci`, which is vectorised.
    """

    def rows(block: NDArray[np.int64]) -> FloatArray:
        return np.array([float(statistic(r)) for r in block])

    return bootstrap_ci_rows(rows, n_items, seed=seed, n_resamples=n_resamples, alpha=alpha)


def resample_counts(block: NDArray[np.int64], out: FloatArray | None = None) -> FloatArray:
    """How often each resample row drew each item: ``(rows, n_items)`` float64 counts.

    ``out``: an array to fill, at least ``rows`` rows of ``n_items`` (its first ``rows`` rows
    are returned). Reusing one across blocks spares fresh memory per block, which the kernel
    must zero first: on a small VM that zeroing cost more than the counting.
    """
    rows, n = block.shape
    # row by row into one float64 array: half the time of one bincount over offset keys
    # (no key array, no integer copy of the whole block; the counts are the same)
    counts = np.empty((rows, n)) if out is None or out.shape[0] < rows else out[:rows]
    for row, drawn in zip(counts, block, strict=True):
        row[:] = np.bincount(drawn, minlength=n)
    return counts


def _resample_means(values: FloatArray, block: NDArray[np.int64]) -> FloatArray:
    """Means of the columns of ``values`` ``(n, M)`` over each resample row: ``(rows, M)``."""
    return resample_counts(block) @ values / block.shape[1]


@one_blas_thread
def bootstrap_many(
    n_items: int,
    *,
    means: ArrayLike | None = None,
    statistics_rows: Sequence[Callable[[NDArray[np.int64]], FloatArray]] = (),
    statistics_counts: Sequence[Callable[[FloatArray], FloatArray]] = (),
    seed: int = 0,
    n_resamples: int = 1000,
    alpha: float = 0.05,
) -> list[tuple[float, float]]:
    """Several intervals from one pass over the resamples (the same ones as the functions above).

    Args:
        n_items: number of items.
        means: ``(n_items, M)`` per-item values; one interval per column for its mean.
        statistics_rows: vectorised statistics as for :func:`bootstrap_ci_rows`.
        statistics_counts: vectorised statistics of the same resamples given as
            :func:`resample_counts` (``(rows, n_items)``: how often each row drew each item),
            computed once per block for the means and all of these.

    Returns:
        The ``M`` mean intervals, then one per entry of ``statistics_rows``, then one per
        entry of ``statistics_counts``.
    """
    _check(n_items, n_resamples, alpha)
    v = np.zeros((n_items, 0)) if means is None else np.asarray(means, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] != n_items:
        raise ValueError(f"means must have shape (n_items, M), got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values contain NaN or inf")
    mean_blocks: list[FloatArray] = []
    stat_blocks: list[list[FloatArray]] = [[] for _ in statistics_rows]
    count_blocks: list[list[FloatArray]] = [[] for _ in statistics_counts]
    buffer: FloatArray | None = None
    for block in iter_resamples(n_items, seed=seed, n_resamples=n_resamples):
        if v.shape[1] or statistics_counts:
            counts = buffer = resample_counts(block, buffer)
            if v.shape[1]:
                mean_blocks.append(counts @ v / n_items)
            for out, count_stat in zip(count_blocks, statistics_counts, strict=True):
                out.append(np.asarray(count_stat(counts), dtype=np.float64))
        for out, stat in zip(stat_blocks, statistics_rows, strict=True):
            out.append(np.asarray(stat(block), dtype=np.float64))
    stat_blocks += count_blocks
    intervals = []
    if v.shape[1]:
        stacked = np.concatenate(mean_blocks)
        intervals += [_interval(stacked[:, j], alpha) for j in range(v.shape[1])]
    intervals += [_interval(np.concatenate(out), alpha) for out in stat_blocks]
    return intervals


def bootstrap_mean_ci(
    values: ArrayLike, *, seed: int = 0, n_resamples: int = 1000, alpha: float = 0.05
) -> tuple[float, float]:
    """Fast path of :func:`bootstrap_ci` for the mean of per-item values (same resamples)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError("values must be 1-D")
    return bootstrap_many(
        v.size, means=v[:, None], seed=seed, n_resamples=n_resamples, alpha=alpha
    )[0]


@one_blas_thread
def paired_bootstrap(
    a: ArrayLike, b: ArrayLike, *, seed: int = 0, n_resamples: int = 1000
) -> float:
    """Two-sided paired bootstrap p-value for the mean difference of two systems.

    ``a`` and ``b`` are per-item scores of two systems on the same items (same order). With
    ``d = mean(a - b)`` observed, items are resampled (pairs kept together) and the share of
    resampled mean differences on the other side of zero from ``d`` (zero included) is
    counted; the returned value is twice that share, capped at 1. It is 1.0 when ``d == 0``.
    Small values say the sign of the difference is stable under resampling; the leaderboard
    puts two rows in the same rank group when the value is at least its threshold (0.05).
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError("a and b must be 1-D arrays of the same length")
    d = x - y
    if not np.all(np.isfinite(d)):
        raise ValueError("scores contain NaN or inf")
    observed = float(d.mean()) if d.size else 0.0
    if d.size == 0 or observed == 0.0 or math.isclose(observed, 0.0, abs_tol=1e-15):
        return 1.0
    other_side = 0
    for block in iter_resamples(d.size, seed=seed, n_resamples=n_resamples):
        means = _resample_means(d[:, None], block)[:, 0]
        other_side += int(np.sum(means <= 0) if observed > 0 else np.sum(means >= 0))
    return float(min(1.0, 2.0 * other_side / n_resamples))
