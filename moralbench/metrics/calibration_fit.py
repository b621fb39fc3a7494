"""The temperature and Dirichlet concentration a split's metrics use: given, or fitted on the
calibration split (notes say when a fit is doubtful)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .calibration import (
    CONCENTRATION_BOUNDS,
    TEMPERATURE_BOUNDS,
    fit_dirichlet_concentration,
    fit_temperature,
)
from .distribution import EPS, _as_2d, _check_counts, normalise, one_hot

Calibration = tuple[ArrayLike, ArrayLike, ArrayLike | None]


def _targets(targets: ArrayLike, n: int, k: int) -> NDArray[np.int64]:
    t = one_hot(np.asarray(targets).reshape(-1), k).argmax(axis=1)
    if t.shape != (n,):
        raise ValueError(f"{t.size} targets for {n} items")
    return t


def _at_bound(value: float, bounds: tuple[float, float]) -> bool:
    """Within a factor 1.1 of either end of the (log-scale) search range."""
    return value <= bounds[0] * 1.1 or value >= bounds[1] / 1.1


def _resolve_fit(
    keys: list[str],
    k: int,
    fitted: Mapping[str, float] | None,
    calibration: Calibration | None,
    calibration_is_reported_split: bool,
    notes: list[str],
) -> tuple[float | None, float | None]:
    """Temperature and concentration, given or fitted; drops the keys that cannot be had."""
    temperature: float | None = None
    concentration: float | None = None
    if fitted is not None:
        temperature = fitted.get("temperature") if "xentropy_calibrated" in keys else None
        concentration = fitted.get("dirichlet_c") if "dirichlet" in keys else None
        if temperature is None and "xentropy_calibrated" in keys:
            keys.remove("xentropy_calibrated")
    elif calibration is not None and ({"xentropy_calibrated", "dirichlet"} & set(keys)):
        temperature, concentration = _fit_calibration(calibration, k, keys, notes)
        if calibration_is_reported_split:
            notes.append(
                "calibration fitted on the reported split itself: calibrated metrics are optimistic"
            )
    if concentration is None and "dirichlet" in keys:
        keys.remove("dirichlet")
    return temperature, concentration


def _fit_calibration(
    calibration: Calibration, k: int, keys: list[str], notes: list[str]
) -> tuple[float | None, float | None]:
    """Temperature and Dirichlet concentration fitted on the calibration split."""
    c_probs, c_targets, c_counts = calibration
    cp = _as_2d(c_probs, "calibration probs")
    if cp.shape[1] != k:
        raise ValueError(f"calibration split has {cp.shape[1]} choices, reported split has {k}")
    cp, c_clipped = normalise(cp)
    if c_clipped:
        notes.append(f"calibration split: p clipped at {EPS:g} on {c_clipped} item(s)")
    ct = _targets(c_targets, cp.shape[0], k)
    cn = None if c_counts is None else _check_counts(c_counts, cp.shape)
    temperature = concentration = None
    if "xentropy_calibrated" in keys:
        if cn is None:
            notes.append(
                "calibration split has no vote counts: temperature fitted on its majority labels"
            )
        temperature = fit_temperature(cp, ct if cn is None else cn)
        if _at_bound(temperature, TEMPERATURE_BOUNDS):
            notes.append(f"temperature {temperature:.4g} hit its search bound {TEMPERATURE_BOUNDS}")
    if "dirichlet" in keys:
        if cn is None:
            notes.append("dirichlet: skipped, calibration split has no vote counts")
        else:
            concentration = fit_dirichlet_concentration(cp, cn)
            if cn.sum(axis=1).max() <= 1:
                notes.append(
                    "dirichlet_c not identifiable (no calibration item has more "
                    "than one vote); set to 1"
                )
            elif _at_bound(concentration, CONCENTRATION_BOUNDS):
                notes.append(
                    f"dirichlet_c {concentration:.4g} hit its search bound {CONCENTRATION_BOUNDS}"
                )
    return temperature, concentration
