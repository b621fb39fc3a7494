"""Agreement slices: every metric again on the items people agree on and on those they dispute.

A split is cut by the share of votes for each item's top label, ``max_k n_k / N``:
*contested* below ``contested_below``, *clear* at or above ``clear_at`` and, when the two
cut points differ, *moderate* in between. A task may add slices of its own from boolean
flags in its records (Scruples dilemmas: the dataset's ``controversial``).

The rules of the whole-split metrics hold per slice: the temperature and the Dirichlet
concentration are the ones fitted once on the calibration split, and the human ceiling is
scored on the whole split's posterior draws (its Dirichlet prior fitted on the whole split),
restricted to the slice's items; only the items change. A slice with fewer than
``min_items`` items reports its values without intervals, and says so.

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
from .blas_threads import one_blas_thread
from .ceiling import human_ceilings
from .distribution import _as_2d, _check_counts, normalise, one_hot
from .slice_gaps import _slice_gaps, slice_gap

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


def _one_slice(
    p: FloatArray,
    t: NDArray[np.int64],
    n_votes: FloatArray | None,
    mask: BoolArray,
    keys: list[str],
    fitted: dict[str, float],
    ceiling: Mapping[str, float] | None,
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
        ceiling=ceiling,
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


@one_blas_thread
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
    ceilings: Mapping[str, Mapping[str, float]] | None = None,
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
        ceilings: each slice's human ceiling, as :func:`human_ceilings` returns them for
            ``groups`` (drawn here, the same way, when not given).

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
    masks = _checked_masks(groups, n_items)
    keys = [key for key in overall if f"{key}_ci" in overall]
    fitted = {
        key: float(overall[key])  # type: ignore[arg-type]
        for key in ("temperature", "dirichlet_c")
        if isinstance(overall.get(key), float)
    }
    if ceilings is None and n_votes is not None:
        ceilings = human_ceilings(n_votes, t, masks, seed=seed)[1]
    drawn = ceilings or {}
    bootstrap = {"seed": seed, "n_bootstrap": n_bootstrap, "min_items": min_items}
    out_groups = {
        name: _one_slice(p, t, n_votes, mask, keys, fitted, drawn.get(name), **bootstrap)
        for name, mask in masks.items()
    }
    out_gaps, measured = _gap_pairs(masks, gaps)
    gap_keys = [key for key in keys if key in GAP_METRICS]
    found = _gap_values(p, t, n_votes, fitted, gap_keys, measured, seed, n_bootstrap)
    for (name, a, b), per_key in zip(measured, found, strict=True):
        out_gaps[name] = _gap_entry(gap_keys, per_key, int(min(a.sum(), b.sum())), min_items)
    return {"groups": out_groups, "gaps": out_gaps}


def _gap_values(
    p: FloatArray,
    t: NDArray[np.int64],
    n_votes: FloatArray | None,
    fitted: Mapping[str, float],
    gap_keys: list[str],
    measured: Sequence[tuple[str, BoolArray, BoolArray]],
    seed: int,
    n_bootstrap: int,
) -> list[list[tuple[float, tuple[float, float] | None, int]]]:
    """:func:`_slice_gaps` of the per-item values of ``gap_keys`` for the measured pairs."""
    k = p.shape[1]
    y = one_hot(t, k) if n_votes is None else n_votes / n_votes.sum(axis=1, keepdims=True)
    correct = (np.argmax(p, axis=1) == t).astype(np.float64)
    temperature, concentration = fitted.get("temperature"), fitted.get("dirichlet_c")
    columns = [
        _per_item(key, p, y, t, correct, n_votes, temperature, concentration) for key in gap_keys
    ]
    if not columns or not measured:
        return [[] for _ in measured]
    pairs = [(a, b) for _, a, b in measured]
    return _slice_gaps(columns, pairs, seed=seed, n_resamples=n_bootstrap)


def _checked_masks(groups: Mapping[str, ArrayLike], n_items: int) -> dict[str, BoolArray]:
    masks = {name: np.asarray(m, dtype=bool) for name, m in groups.items()}
    for name, mask in masks.items():
        if mask.shape != (n_items,):
            raise ValueError(f"slice {name!r} has {mask.size} flags for {n_items} items")
    return masks


def _gap_pairs(
    masks: Mapping[str, BoolArray], gaps: Sequence[tuple[str, str]]
) -> tuple[dict[str, object], list[tuple[str, BoolArray, BoolArray]]]:
    """The gaps' entries in order (a note where a slice is empty) and the pairs to measure."""
    out_gaps: dict[str, object] = {}
    measured: list[tuple[str, BoolArray, BoolArray]] = []  # the gaps that get values
    for first, second in gaps:
        if first not in masks or second not in masks:
            continue
        name = f"{first}-{second}"
        if not masks[first].any() or not masks[second].any():
            out_gaps[name] = {"notes": [f"no gap: the {first} or {second} slice is empty"]}
            continue
        out_gaps[name] = {}  # filled by the caller, in this order
        measured.append((name, masks[first], masks[second]))
    return out_gaps, measured


def _gap_entry(
    gap_keys: Sequence[str],
    per_key: Sequence[tuple[float, tuple[float, float] | None, int]],
    smallest: int,
    min_items: int,
) -> dict[str, object]:
    entry: dict[str, object] = {}
    for key, (gap, ci, used) in zip(gap_keys, per_key, strict=True):
        entry[key] = gap
        entry[f"{key}_ci"] = list(ci) if ci is not None and smallest >= min_items else None
        entry["resamples"] = used
    if smallest < min_items:
        entry["notes"] = [
            f"a slice has {smallest} item(s), fewer than {min_items}: gaps without intervals"
        ]
    return entry
