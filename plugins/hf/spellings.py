"""A choice's log-probability from those of its spellings (" A", "a"...): their probabilities
summed, in log space."""

from __future__ import annotations

import math
from collections.abc import Sequence


def per_spelling(values: Sequence[float], counts: Sequence[int]) -> list[list[float]]:
    """The flat per-spelling values grouped by choice (`counts[k]` spellings of choice k)."""
    out, start = [], 0
    for n in counts:
        out.append(list(values[start : start + n]))
        start += n
    return out


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


def summed_logprobs(values: Sequence[float], counts: Sequence[int]) -> tuple[float, ...]:
    """Per choice, the log of the summed probabilities of its spellings."""
    return tuple(_logsumexp(group) for group in per_spelling(values, counts))
