"""Data for the HTML page's item explorer: each item's prompt, votes and every model's answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..sample_record import SampleRecord
from .board import Row
from .task_results import TaskResult

#: task fields shown in their own place (choices, p, counts), or that are labels, not text
_NOT_TEXT = {"estimator", "template"}
TEXT_LIMIT = 4000


def _prompt_text(prompt: Any) -> str | None:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
        return "\n\n".join(f"── request {i} ──\n{text}" for i, text in enumerate(prompt, start=1))
    return None


def _rounded(values: Sequence[float] | None) -> list[float] | None:
    return None if values is None else [round(float(v), 5) for v in values]


def _answer(record: SampleRecord) -> dict[str, Any]:
    metrics = {
        k: round(float(v), 5)
        for k, v in record.metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    text = {
        k: v[:TEXT_LIMIT]
        for k, v in record.fields.items()
        if k not in _NOT_TEXT and isinstance(v, str) and v.strip()
    }
    return {
        "p": _rounded(record.probs),
        "metrics": metrics,
        "error": record.error,
        "text": text,
        "prompt_sha256": record.prompt_sha256,
    }


def explorer_data(
    entries: Sequence[tuple[int, Row, TaskResult]],
    colours: dict[int, str],
    *,
    limit: int | None = None,
) -> dict[str, Any]:
    """Items in first-seen order, each with one answer per model (None where it has none).

    `entries` are (row index, row, its result on the task variant); `colours` by row index.
    """
    models = [{"row": i, "label": row.label, "colour": colours[i]} for i, row, _ in entries]
    by_model = [{r.doc_id: r for r in (result.samples or [])} for _, _, result in entries]
    order: list[str] = []
    seen: set[str] = set()
    for _, _, result in entries:
        for record in result.samples or []:
            if record.doc_id not in seen:
                seen.add(record.doc_id)
                order.append(record.doc_id)
    shown = order if limit is None else order[:limit]
    items = []
    for doc_id in shown:
        records = [m.get(doc_id) for m in by_model]
        first = next(r for r in records if r is not None)
        prompts = {r.prompt_sha256 for r in records if r is not None}
        items.append(
            {
                "id": doc_id,
                "prompt": _prompt_text(first.prompt),
                "prompts_differ": len(prompts) > 1,
                "choices": first.fields.get("choices"),
                "counts": first.human_counts,
                "target": first.target,
                "answers": [None if r is None else _answer(r) for r in records],
            }
        )
    return {"models": models, "items": items, "total": len(order), "shown": len(items)}
