"""Agreement slices: every metric again on the items people agree on and on those they dispute.

A split is cut by the share of votes for each item's top label, ``max_k n_k / N``:
*contested* below ``contested_below``, *clear* at or above ``clear_at`` and, when the two
cut points differ, *moderate* in between. A task may add slices of its own from boolean
flags in its records (Scruples dilemmas: the dataset's ``controversial``).

The rules of the whole-split metrics hold per slice: the temperature and the Dirichlet
concentration are the ones fitted once on the calibration split, and the human ceiling's
Dirichlet prior is the one fitted on the whole split; only the items change. A slice with
fewer than ``min_items`` items reports its values without intervals, and says so.

The gap between two slices (clear minus contested) gets a percentile interval from the same
bootstrap resamples of the whole split as the overall intervals: in each resample both
slices' metrics are computed on the items drawn, so the two stay paired by resample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .aggregate import _per_item, compute_metrics
from .bootstrap import iter_resamples, resample_counts
from .ceiling import fit_dirichlet_prior
from .distribution import _as_2d, _check_counts, normalise, one_hot

__all__ = [
    "DEFAULT_CUTS",
    "MIN_ITEMS_FOR_INTERVAL",
    "AgreementCuts",
    "agreement_groups",
    "flag_groups",
    "slice_gap",
    "slice_metrics",
    "top_share",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: slices smaller than this report values without a bootstrap interval
MIN_ITEMS_FOR_INTERVAL = 5
#: metrics whose gap between slices gets an interval (means of per-item values)
GAP_METRICS = (
    "accuracy",
    "xentropy",
    "xentropy_calibrated",
    "dirichlet",
    "brier",
    "js_divergence",
    "welfare_utilitarian",
    "welfare_nash",
    "welfare_rawlsian",
)


@dataclass(frozen=True)
class AgreementCuts:
    """Cut points on the top label's vote share.

    ``contested``: share < ``contested_below``; ``clear``: share >= ``clear_at``;
    ``moderate``: in between (only when ``contested_below < clear_at``).
    """

    contested_below: float = 0.75
    clear_at: float = 0.75

    def __post_init__(self) -> None:
        if not 0 < self.contested_below <= self.clear_at <= 1:
            raise ValueError(
                "agreement cuts must satisfy 0 < contested_below <= clear_at <= 1, got "
                f"{self.contested_below}, {self.clear_at}"
            )

    @classmethod
    def parse(cls, text: str) -> AgreementCuts:
        """``"0.75"`` (one cut: two slices) or ``"0.6,0.8"`` (contested below 0.6, clear from
        0.8, moderate in between)."""
        parts = [p.strip() for p in str(text).split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) not in (1, 2):
            raise ValueError(f"agreement cuts must be one number or two, like 0.6,0.8: {text!r}")
        return cls(values[0], values[-1])

    def describe(self) -> str:
        if self.contested_below == self.clear_at:
            return f"share of votes for the top label: contested < {self.clear_at:g} <= clear"
        return (
            f"share of votes for the top label: contested < {self.contested_below:g} <= "
            f"moderate < {self.clear_at:g} <= clear"
        )

    def as_dict(self) -> dict[str, float]:
        return {"contested_below": self.contested_below, "clear_at": self.clear_at}


DEFAULT_CUTS = AgreementCuts()


def top_share(counts: ArrayLike) -> FloatArray:
    """``max_k n_k / N`` per item (items without votes are rejected)."""
    n = _check_counts(counts)
    return n.max(axis=1) / n.sum(axis=1)


def agreement_groups(counts: ArrayLike, cuts: AgreementCuts = DEFAULT_CUTS) -> dict[str, BoolArray]:
    """Item masks ``{"clear": ..., "contested": ...}`` (plus ``"moderate"`` with two cuts).

    The share is compared with a tolerance of 1e-12, so 3 votes of 4 sit exactly at 0.75.
    """
    share = top_share(counts)
    tol = 1e-12
    groups = {
        "clear": share >= cuts.clear_at - tol,
        "contested": share < cuts.contested_below - tol,
    }
    if cuts.contested_below < cuts.clear_at:
        groups["moderate"] = ~groups["clear"] & ~groups["contested"]
    return groups


def flag_groups(name: str, flags: Sequence[bool]) -> dict[str, BoolArray]:
    """``{name: flag true, "not_" + name: flag false}`` from one boolean per item."""
    mask = np.asarray([bool(f) for f in flags], dtype=bool)
    return {name: mask, f"not_{name}": ~mask}


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
    for block in iter_resamples(n_items, seed=seed, n_resamples=n_resamples):
        weights = resample_counts(block)
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


def _one_slice(
    p: FloatArray,
    t: NDArray[np.int64],
    n_votes: FloatArray | None,
    mask: BoolArray,
    keys: list[str],
    fitted: dict[str, float],
    prior: FloatArray | None,
    *,
    seed: int,
    n_bootstrap: int,
    min_items: int,
) -> dict[str, object]:
    n = int(mask.sum())
    if n == 0:
        return {"n": 0, "notes": ["no items in this slice"]}
    out = compute_metrics(
        p[mask],
        t[mask],
        None if n_votes is None else n_votes[mask],
        metrics=keys,
        fitted=fitted or None,
        seed=seed,
        n_bootstrap=n_bootstrap,
        ceiling_prior=prior,
    )
    out["n"] = n
    notes = [note for note in out.get("notes", []) if isinstance(note, str)]
    if n < min_items:
        for key in list(out):
            if key.endswith("_ci"):
                del out[key]
        notes.append(f"{n} item(s), fewer than {min_items}: values without a bootstrap interval")
    out["notes"] = notes
    return out


def slice_metrics(
    probs: ArrayLike,
    targets: ArrayLike,
    counts: ArrayLike | None,
    groups: Mapping[str, ArrayLike],
    overall: Mapping[str, object],
    *,
    gaps: Sequence[tuple[str, str]] = (("clear", "contested"),),
    seed: int = 0,
    n_bootstrap: int = 1000,
    min_items: int = MIN_ITEMS_FOR_INTERVAL,
) -> dict[str, object]:
    """Every metric of ``overall`` again on each slice, and the gaps between slices.

    Args:
        probs, targets, counts: the whole split, as given to :func:`compute_metrics`.
        groups: ``{slice name: boolean mask over the items}``.
        overall: the whole split's :func:`compute_metrics` result; its metric keys are the
            ones computed per slice, and its ``temperature`` / ``dirichlet_c`` are reused.
        gaps: ``(first, second)`` slice pairs whose difference ``first - second`` gets a
            paired-bootstrap interval (pairs naming an unknown slice are ignored).
        min_items: slices with fewer items report no intervals (and a note says so).

    Returns:
        ``{"groups": {name: {"n", <metric>, <metric>_ci, "ceiling", "notes"}}, "gaps":
        {"first-second": {<metric>: gap, <metric>_ci: [lo, hi] or None, "resamples": int}}}``.
        A metric without per-item values (macro-F1, ECE) has no gap.
    """
    p_in = _as_2d(probs, "probs")
    p, _ = normalise(p_in)
    n_items, k = p.shape
    t = one_hot(np.asarray(targets).reshape(-1), k).argmax(axis=1)
    n_votes = None if counts is None else _check_counts(counts, (n_items, k))
    masks = {name: np.asarray(m, dtype=bool) for name, m in groups.items()}
    for name, mask in masks.items():
        if mask.shape != (n_items,):
            raise ValueError(f"slice {name!r} has {mask.size} flags for {n_items} items")
    keys = [key for key in overall if f"{key}_ci" in overall]
    fitted = {
        key: float(overall[key])  # type: ignore[arg-type]
        for key in ("temperature", "dirichlet_c")
        if isinstance(overall.get(key), float)
    }
    prior = fit_dirichlet_prior(n_votes) if n_votes is not None else None
    out_groups = {
        name: _one_slice(
            p,
            t,
            n_votes,
            mask,
            keys,
            fitted,
            prior,
            seed=seed,
            n_bootstrap=n_bootstrap,
            min_items=min_items,
        )
        for name, mask in masks.items()
    }
    y = one_hot(t, k) if n_votes is None else n_votes / n_votes.sum(axis=1, keepdims=True)
    correct = (np.argmax(p, axis=1) == t).astype(np.float64)
    out_gaps: dict[str, object] = {}
    measured: list[tuple[str, BoolArray, BoolArray]] = []  # the gaps that get values
    for first, second in gaps:
        if first not in masks or second not in masks:
            continue
        name = f"{first}-{second}"
        if not masks[first].any() or not masks[second].any():
            out_gaps[name] = {"notes": [f"no gap: the {first} or {second} slice is empty"]}
            continue
        out_gaps[name] = {}  # filled below, in this order
        measured.append((name, masks[first], masks[second]))
    gap_keys = [key for key in keys if key in GAP_METRICS]
    columns = [
        _per_item(
            key, p, y, t, correct, n_votes, fitted.get("temperature"), fitted.get("dirichlet_c")
        )
        for key in gap_keys
    ]
    found = (
        _slice_gaps(columns, [(a, b) for _, a, b in measured], seed=seed, n_resamples=n_bootstrap)
        if columns and measured
        else [[] for _ in measured]
    )
    for (name, a, b), per_key in zip(measured, found, strict=True):
        smallest = int(min(a.sum(), b.sum()))
        entry: dict[str, object] = {}
        for key, (gap, ci, used) in zip(gap_keys, per_key, strict=True):
            entry[key] = gap
            entry[f"{key}_ci"] = list(ci) if ci is not None and smallest >= min_items else None
            entry["resamples"] = used
        if smallest < min_items:
            entry["notes"] = [
                f"a slice has {smallest} item(s), fewer than {min_items}: gaps without intervals"
            ]
        out_gaps[name] = entry
    return {"groups": out_groups, "gaps": out_gaps}
