"""The prompts and the metric profile of the LLM calibration study (arXiv 2410.07826).

Its templates (`maity2024`, and `maity2024_both_orders` for dilemmas) ask the study's own
questions, word for word, with no answer prefix, and score its answer tokens as it looked
them up: "Yes" and "yes" (and "No" / "no") with no leading space, summed without
renormalising. Records of these templates also carry the study's two formulas per item
(`moralbench.metrics.maity2024`); `with_profile` adds their means and intervals to the
task's results. The suite's own metrics are computed as for every other template.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from moralbench.choice_task import before_ceiling
from moralbench.metrics import bootstrap_mean_ci
from moralbench.metrics.maity2024 import (
    MAITY2024_DIRICHLET,
    MAITY2024_XENTROPY,
    maity2024_dilemma_human_pair,
    maity2024_dirichlet_fixed_c1,
    maity2024_xentropy_double_softmax,
)
from moralbench.requests import ChoiceResponse, Response

PROFILE = "maity2024"
PROFILE_KEYS = (MAITY2024_XENTROPY, MAITY2024_DIRICHLET)
PROFILE_NOTE = (
    "maity2024_*: the formulas of arXiv 2410.07826's released code (raw yes+Yes / no+No "
    "probabilities, a second softmax before the cross-entropy, Dirichlet concentration fixed "
    "at 1); not comparable with xentropy or dirichlet"
)
DILEMMA_NOTE = (
    "maity2024_xentropy_double_softmax (dilemmas) uses the released code's human vector "
    "[#entries == 1, #entries == 0] / 2 of the vote counts, not the vote shares"
)


def summed_spellings(responses: Sequence[Response]) -> Response:
    """One response from the responses of one question's spelling sets: per choice, the
    probabilities of its spellings summed (log-sum-exp of the log-probabilities)."""
    if len(responses) == 1:
        return responses[0]
    for response in responses:
        if getattr(response, "error", None):
            return response
    rows = []
    for response in responses:
        assert isinstance(response, ChoiceResponse)
        rows.append(response.logprobs)
    table = np.array(rows, dtype=np.float64)  # (spelling sets, choices)
    summed = tuple(float(v) for v in np.logaddexp.reduce(table, axis=0))
    first = responses[0]
    assert isinstance(first, ChoiceResponse)
    details = {**first.details, "spellings_summed": len(responses)}
    return ChoiceResponse(summed, first.estimator, details)


def maity2024_item(
    subset: str, counts: Sequence[int], raw_logprobs: Sequence[Sequence[float]]
) -> dict[str, float]:
    """The study's two formulas for one item.

    `raw_logprobs` holds one row per action order (released order first), each in label order
    and not renormalised; with two orders the raw probabilities are averaged.
    """
    raw = np.mean([[math.exp(v) for v in row] for row in raw_logprobs], axis=0)[None, :]
    votes = np.asarray(counts, dtype=np.float64)[None, :]
    dilemma = subset == "dilemmas"
    human = maity2024_dilemma_human_pair(votes) if dilemma else votes / votes.sum()
    return {
        MAITY2024_XENTROPY: float(maity2024_xentropy_double_softmax(raw, human)[0]),
        MAITY2024_DIRICHLET: float(maity2024_dirichlet_fixed_c1(raw, votes)[0]),
    }


def with_profile(
    metrics: dict[str, Any], records: Sequence[dict[str, Any]], seed: int, n_bootstrap: int
) -> dict[str, Any]:
    """`metrics` with the profile's means and intervals, placed before the ceiling."""
    extra: dict[str, Any] = {}
    for key in PROFILE_KEYS:
        values = [
            r["metrics"][key]
            for r in records
            if not r.get("error") and key in (r.get("metrics") or {})
        ]
        if not values:
            continue
        array = np.asarray(values, dtype=np.float64)
        extra[key] = float(array.mean())
        extra[f"{key}_ci"] = list(bootstrap_mean_ci(array, seed=seed, n_resamples=n_bootstrap))
    if not extra:
        return metrics
    out = before_ceiling(metrics, extra)
    out["metric_profile"] = PROFILE
    notes = list(out.get("notes", []))
    notes.append(PROFILE_NOTE)
    if any("controversial" in r for r in records):
        notes.append(DILEMMA_NOTE)
    out["notes"] = notes
    return out
