"""The `top_logprobs` estimator: choice log-probs from the first answer token's top-k list.

Each choice counts the listed tokens that equal one of its spellings exactly (the choice as
`moralbench.chat_protocol` writes it in this mode, plus the task's declared variants), and
their probabilities are summed: the same strings whose exact probabilities the hf backend
sums, so the two agree. A spelling longer than one token is never listed whole: a listed
token that begins it ("Un" for "Unethical") is counted for it when that token begins no
spelling of another choice, and is named under `first_token_only`. Its probability is that
of the first token, an upper bound on the spelling's (the hf backend scores the whole
spelling); declare one-token spellings where the tokenizer has them.

A choice with no listed token is floored at the largest probability it could have:
min(smallest listed probability, probability mass left outside the list). It is never
treated as impossible, and never credited with more than the server's list allows. Each
response reports `covered_mass` (listed probability that went to some choice), which
choices were floored, and which listed tokens counted, so a run whose answers fall outside
the choices is visible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MIN_PROBABILITY = 1e-12  # used when the list leaves no room at all for a missing choice


class AmbiguousChoices(ValueError):
    """One string is a spelling of two choices."""


def choice_logprobs_from_top(
    choices: Sequence[str | Sequence[str]], top: Sequence[tuple[str, float]]
) -> tuple[tuple[float, ...], dict[str, Any]]:
    """Per-choice log-probs (unnormalised) and the details to report for one request.

    Each entry of `choices` is a choice string or the tuple of its spellings.
    """
    spellings = [(c,) if isinstance(c, str) else tuple(c) for c in choices]
    index: dict[str, int] = {}
    for k, strings in enumerate(spellings):
        for text in strings:
            if index.setdefault(text, k) != k:
                raise AmbiguousChoices(f"{text!r} is a spelling of two choices")
    mass = [0.0] * len(spellings)
    counted: list[str] = []
    listed = [math.exp(lp) for _, lp in top]
    first_token_only: list[str] = []
    for (token, _), probability in zip(top, listed, strict=True):
        k = index.get(token)
        if k is None:
            k = _only_choice_begun_by(token, spellings)
            if k is not None:
                first_token_only.append(token)
        if k is not None:
            mass[k] += probability
            counted.append(token)
    unlisted = max(0.0, 1.0 - sum(listed))
    floor = max(MIN_PROBABILITY, min(min(listed), unlisted))
    floored = [k for k, m in enumerate(mass) if m == 0.0]
    logprobs = tuple(math.log(m) if m > 0.0 else math.log(floor) for m in mass)
    details: dict[str, Any] = {
        "covered_mass": round(sum(mass), 6),
        "top_k": len(top),
        "floored": floored,
        "counted_tokens": counted,
    }
    if first_token_only:
        details["first_token_only"] = first_token_only
    if floored:
        details["floor_logprob"] = math.log(floor)
    return logprobs, details


def _only_choice_begun_by(token: str, spellings: Sequence[Sequence[str]]) -> int | None:
    """The one choice with a longer spelling that starts with `token`, else None."""
    if not token.strip():
        return None
    begun = {
        k
        for k, strings in enumerate(spellings)
        for text in strings
        if len(text) > len(token) and text.startswith(token)
    }
    return begun.pop() if len(begun) == 1 else None
