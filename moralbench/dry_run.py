"""`moralbench run --dry-run` (lm-eval's `--write_out`): the first prompts of each task exactly
as the model would see them, without loading the model.

The backend renders them through its `BackendSpec.prompt_preview` (the hf backend loads the
tokenizer alone and applies the chat template as a run would). A backend without one shows
each request's own text and says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from .backend import BackendOptions, BackendSpec
from .requests import ChoiceRequest, Request, context_text

#: documents per task shown by `--dry-run` without a number
DEFAULT_DOCS = 1


def _request_text(request: Request) -> dict[str, Any]:
    shown: dict[str, Any] = {"text": context_text(request.context) + request.answer_prefix}
    if isinstance(request, ChoiceRequest):
        shown["answers"] = [[choice] for choice in request.choices]
    return shown


def preview_prompts(
    spec: BackendSpec,
    model_args: Mapping[str, str],
    options: BackendOptions,
    tasks: Sequence[Any],
    split: str,
    docs_per_task: int,
) -> dict[str, Any]:
    """Per task, its first documents' requests as the backend would send them."""
    previewer = spec.preview(model_args, options)
    shown: dict[str, Any] = {}
    for task in tasks:
        items = []
        for doc in itertools.islice(task.docs(split), docs_per_task):
            prompts = [
                previewer.shown_prompt(r) if previewer is not None else _request_text(r)
                for r in task.requests(doc)
            ]
            items.append({"doc_id": doc["doc_id"], "prompts": prompts})
        shown[task.name] = items
    return {
        "dry_run": {
            "model": spec.name,
            "split": split,
            "rendered_by_backend": previewer is not None,
            "tasks": shown,
        }
    }
