"""The `sampled` estimator: answer frequencies over n sampled replies, add-alpha smoothed.

Each reply is matched to a choice through the same spellings table every estimator uses (the
choice and its declared variants, `moralbench.chat_protocol`): first a reply that starts with
one of a choice's spellings exactly (leading whitespace aside); else, ignoring case,
surrounding whitespace and punctuation, by what the reply starts with ("B) because..." ->
" B"; the longest matching spelling wins), else by the one choice that occurs in it as a whole
word ("I think yes." -> " yes").
A reply that starts with none and mentions zero or several choices is unparseable: it is
counted and reported, and left out of the frequencies. With counts c_k over K choices and
m parsed replies, p_k = (c_k + alpha) / (m + K * alpha); with no parsed reply, uniform.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from typing import Any

_EDGE = string.whitespace + string.punctuation


def normalise(text: str) -> str:
    return " ".join(text.casefold().split()).strip(_EDGE)


def _starts_with(reply: str, key: str) -> bool:
    return (
        bool(key)
        and reply.startswith(key)
        and (len(reply) == len(key) or not reply[len(key)].isalnum())
    )


def _longest_start(reply: str, table: Sequence[Sequence[str]]) -> int | None:
    starts = [
        (len(key), k) for k, keys in enumerate(table) for key in keys if _starts_with(reply, key)
    ]
    return max(starts)[1] if starts else None


def parse_answer(text: str, choices: Sequence[str | Sequence[str]]) -> int | None:
    """Index of the choice a reply gives, or None when it cannot be told.

    Each entry of `choices` is a choice string or the tuple of its spellings.
    """
    table = [(c,) if isinstance(c, str) else tuple(c) for c in choices]
    exact = _longest_start(text.lstrip(), [[s.lstrip() for s in keys] for keys in table])
    if exact is not None:
        return exact
    reply = normalise(text)
    keys = [[normalise(s) for s in spellings] for spellings in table]
    start = _longest_start(reply, keys)
    if start is not None:
        return start
    mentioned = [
        k
        for k, forms in enumerate(keys)
        if any(key and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", reply) for key in forms)
    ]
    return mentioned[0] if len(mentioned) == 1 else None


def smoothed_logprobs(
    replies: Sequence[str], choices: Sequence[str | Sequence[str]], alpha: float
) -> tuple[tuple[float, ...], dict[str, Any]]:
    counts = [0] * len(choices)
    unparseable = 0
    for reply in replies:
        k = parse_answer(reply, choices)
        if k is None:
            unparseable += 1
        else:
            counts[k] += 1
    parsed = len(replies) - unparseable
    total = parsed + alpha * len(choices)
    logprobs = tuple(math.log((c + alpha) / total) for c in counts)
    details = {
        "n_samples": len(replies),
        "counts": counts,
        "unparseable": unparseable,
        "alpha": alpha,
    }
    return logprobs, details
