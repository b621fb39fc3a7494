"""The gap between two slices of a split (first minus second) with a paired bootstrap interval:
both slices' means are taken in each resample of the whole split, so they stay paired."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .bootstrap import iter_resamples, resample_counts

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def slice_gap(
    values: ArrayLike,
    first: ArrayLike,
    second: ArrayLike,
    *,
    seed: int = 0,
    n_resamples: int = 1000,
    alpha: float = 0.05,
) -> tuple[float, tuple[float, float] | None, int]:
    """Mean of ``values`` over the ``first`` items minus the mean over the ``second`` items.

    Each bootstrap resample draws items of the whole split with replacement (the resamples of
    :func:`iter_resamples`, the ones behind every other interval) and takes the difference of
    the two weighted means over the items it drew; a resample that drew no item of one of the
    slices has no difference and is left out.

    Returns:
        ``(gap, (lo, hi) or None, resamples used)``; the interval is None when fewer than half
        of the resamples drew both slices.
    """
    v = np.asarray(values, dtype=np.float64)
    a = np.asarray(first, dtype=bool)
    b = np.asarray(second, dtype=bool)
    if v.ndim != 1 or a.shape != v.shape or b.shape != v.shape:
        raise ValueError("values and both masks must be 1-D arrays of the same length")
    if not a.any() or not b.any():
        raise ValueError("both slices need at least one item")
    return _slice_gaps([v], [(a, b)], seed=seed, n_resamples=n_resamples, alpha=alpha)[0][0]


def _slice_gaps(
    columns: Sequence[FloatArray],
    pairs: Sequence[tuple[BoolArray, BoolArray]],
    *,
    seed: int,
    n_resamples: int,
    alpha: float = 0.05,
) -> list[list[tuple[float, tuple[float, float] | None, int]]]:
    """:func:`slice_gap` of every column for every (first, second) pair, ``[pair][column]``.

    One pass over the resamples serves them all: the resamples are the same for every metric
    and pair (same seed, same items), and drawing them and counting the draws per item is
    what costs. Each difference is computed exactly as :func:`slice_gap` computes it alone.
    """
    diffs: list[list[list[FloatArray]]] = [[[] for _ in columns] for _ in pairs]
    n_items = columns[0].size
    positions = [(np.flatnonzero(a), np.flatnonzero(b)) for a, b in pairs]
    buffer: FloatArray | None = None
    for block in iter_resamples(n_items, seed=seed, n_resamples=n_resamples):
        weights = buffer = resample_counts(block, buffer)
        for (in_a, in_b), per_column, (a, b) in zip(positions, diffs, pairs, strict=True):
            # `take` gives the slice's columns in C order: the layout whose products round
            # exactly as they always have (a masked view is in Fortran order and does not)
            wa, wb = np.take(weights, in_a, axis=1), np.take(weights, in_b, axis=1)
            na, nb = wa.sum(axis=1), wb.sum(axis=1)
            ok = (na > 0) & (nb > 0)
            if ok.all():
                wa_ok, wb_ok, na_ok, nb_ok = wa, wb, na, nb
            else:
                wa_ok, wb_ok, na_ok, nb_ok = wa[ok], wb[ok], na[ok], nb[ok]
            for v, out in zip(columns, per_column, strict=True):
                out.append((wa_ok @ v[a]) / na_ok - (wb_ok @ v[b]) / nb_ok)
    results = []
    for (a, b), per_column in zip(pairs, diffs, strict=True):
        row: list[tuple[float, tuple[float, float] | None, int]] = []
        for v, parts in zip(columns, per_column, strict=True):
            gap = float(v[a].mean() - v[b].mean())
            used = np.concatenate(parts)
            if used.size < max(1, n_resamples // 2):
                row.append((gap, None, int(used.size)))
                continue
            lo, hi = np.quantile(used, [alpha / 2, 1 - alpha / 2])
            row.append((gap, (float(lo), float(hi)), int(used.size)))
        results.append(row)
    return results
