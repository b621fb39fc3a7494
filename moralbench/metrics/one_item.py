"""Per-item metric values for a sample line: one item at a time, as the runner completes it.

The runner asks for these once per document, so the fixed cost of a numpy call on a row of two
to five numbers would outweigh the arithmetic: an ordinary item (finite non-negative scores, a
valid target, finite votes) is scored in plain Python floats with the formulas of the
vectorised kernels in :mod:`.distribution` (a test holds the two equal to 1e-12); anything
else takes the kernels themselves, which also give the errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .distribution import (
    EPS,
    WELFARE_KEYS,
    _as_2d,
    _brier,
    _check_counts,
    _js,
    _welfare,
    _xent,
    normalise,
    one_hot,
)

__all__ = ["item_metrics"]


def item_metrics(
    p: Sequence[float] | ArrayLike, target: int, counts: Sequence[float] | None
) -> dict[str, float]:
    """Metric values of one item, for its sample line.

    Args:
        p: the model's distribution over the K choices (normalised and clipped here).
        target: the majority / gold label index.
        counts: human votes per choice, or ``None`` when only a label is known.

    Returns:
        ``correct`` (1.0 when argmax p, ties to the lowest index, equals ``target``),
        ``xentropy``, ``brier``, ``js_divergence`` (against ``y = counts / N``, or the one-hot
        target without counts), ``clipped`` (1.0 when the 1e-12 clip fired) and, with counts,
        ``welfare_utilitarian``, ``welfare_nash``, ``welfare_rawlsian``. Metrics that need a
        fitted parameter or the whole split (Dirichlet, ECE, F1) are not per-item.
    """
    fast = _plain_item(p, target, counts)
    if fast is not None:
        return fast
    raw = _as_2d(p, "p")
    if raw.shape[0] != 1:
        raise ValueError("item_metrics takes one item's distribution")
    pp, clipped = normalise(raw)
    k = pp.shape[1]
    if not 0 <= int(target) < k:
        raise ValueError(f"target {target} is not a choice index in [0, {k})")
    n = None if counts is None else _check_counts(_as_2d(counts, "c"))
    y = one_hot([int(target)], k) if n is None else n / n.sum(axis=1, keepdims=True)
    if y.shape != pp.shape:
        raise ValueError(f"counts has {y.shape[1]} entries, p has {k}")
    out = {
        "correct": float(np.argmax(pp[0]) == int(target)),
        "xentropy": float(_xent(pp, y)[0]),
        "brier": float(_brier(pp, y)[0]),
        "js_divergence": float(_js(pp, y)[0]),
        "clipped": float(clipped),
    }
    if n is not None:  # validated above, its shape that of p
        for key, a in WELFARE_KEYS.items():
            out[key] = float(_welfare(pp, n, a)[0])
    return out


def _numbers(values: object) -> list[float] | None:
    """``values`` as floats when it is a list or tuple of finite non-negative numbers."""
    if not isinstance(values, list | tuple):
        return None
    out = []
    for v in values:
        if type(v) is not float and type(v) is not int:
            return None
        if not 0.0 <= v < math.inf:
            return None
        out.append(float(v))
    return out


def _plain_item(
    p: object, target: object, counts: Sequence[float] | None
) -> dict[str, float] | None:
    """:func:`item_metrics` of an ordinary item in plain floats; None for anything else."""
    raw = _numbers(p)
    k = 0 if raw is None else len(raw)
    if raw is None or k == 0 or type(target) is not int or not 0 <= target < k:
        return None
    total = sum(raw)
    if total <= 0:
        return None
    n = None if counts is None else _numbers(counts)
    if counts is not None and (n is None or len(n) != k or sum(n) <= 0):
        return None
    pp = [v / total for v in raw]
    clipped = min(pp) < EPS
    if clipped:
        pp = [max(v, EPS) for v in pp]
        total = sum(pp)
        pp = [v / total for v in pp]
    if n is None:
        y = [0.0] * k
        y[target] = 1.0
    else:
        votes = sum(n)
        y = [v / votes for v in n]
    m = [0.5 * (a + b) for a, b in zip(pp, y, strict=True)]
    kl_pm = sum(a * math.log(a) - a * math.log(c) for a, c in zip(pp, m, strict=True))
    kl_ym = sum(b * math.log(b) - b * math.log(c) for b, c in zip(y, m, strict=True) if b > 0)
    out = {
        "correct": float(max(range(k), key=pp.__getitem__) == target),
        "xentropy": -sum(b * math.log(a) for a, b in zip(pp, y, strict=True) if b > 0),
        "brier": sum((a - b) ** 2 for a, b in zip(pp, y, strict=True)),
        "js_divergence": max(0.5 * (kl_pm + kl_ym), 0.0),
        "clipped": float(clipped),
    }
    if n is not None:
        out["welfare_utilitarian"] = sum(b * a for a, b in zip(pp, y, strict=True))
        out["welfare_nash"] = math.exp(sum(b * math.log(a) for a, b in zip(pp, y, strict=True)))
        out["welfare_rawlsian"] = min(a for a, v in zip(pp, n, strict=True) if v > 0)
    return out
