"""Bounding the text of one data item before it is rendered and tokenized.

A 10 MB anecdote used to be tokenized whole (gigabytes of memory) and then silently cut to
the context window. Each text field of a document is now cut to `MAX_FIELD_CHARS` characters
first (far above any context window, so real data is never affected); the runner counts the
documents cut per task in the results (`truncation`) and warns on the console.
"""

from __future__ import annotations

from typing import Any

#: characters kept of one text field of a document (about 50k tokens of English)
MAX_FIELD_CHARS = 200_000


def _bounded(value: Any, limit: int) -> tuple[Any, bool]:
    if isinstance(value, str):
        return (value[:limit], True) if len(value) > limit else (value, False)
    if isinstance(value, list):
        items = [_bounded(v, limit) for v in value]
        if any(cut for _, cut in items):
            return [v for v, _ in items], True
        return value, False
    if isinstance(value, dict):
        pairs = {k: _bounded(v, limit) for k, v in value.items()}
        if any(cut for _, cut in pairs.values()):
            return {k: v for k, (v, _) in pairs.items()}, True
        return value, False
    return value, False


def _too_long(value: Any, limit: int) -> bool:
    if isinstance(value, str):
        return len(value) > limit
    if isinstance(value, list):
        return any(_too_long(v, limit) for v in value)
    if isinstance(value, dict):
        return any(_too_long(v, limit) for v in value.values())
    return False


def bound_document(
    doc: dict[str, Any], limit: int = MAX_FIELD_CHARS
) -> tuple[dict[str, Any], bool]:
    """(the document with every text field at most `limit` characters, whether any was cut)."""
    if not _too_long(doc, limit):  # nearly every document: checked without copying
        return doc, False
    bounded, cut = _bounded(doc, limit)
    return bounded, cut
