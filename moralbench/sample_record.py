"""One line of a samples file: what the runner knows about a document, plus the task's fields.

The runner writes these lines and the leaderboard reads them back through the same class, so
writer and reader cannot drift. A line is flat JSON: the bookkeeping keys below, then whatever
the task's `process` returned (`choices`, `probs`, `metrics`, ...), which `fields` holds.
Tasks see a record as a plain dict (`task_view`), as the `Task` contract promises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: JSON key of `SampleRecord.index` (the document's position in the run)
INDEX_KEY = "_index"
#: keys the runner owns; every other key of a line is one of the task's `fields`
_RUNNER_KEYS = ("doc_id", "task", "split", "prompt_sha256", "error", "prompt_mode", "sent")


class SampleFormatError(ValueError):
    """A samples line that is not a sample record; the reader adds file and line."""


def _finite_numbers(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value
    )


@dataclass(slots=True)
class SampleRecord:
    """One document's outcome in one run (slotted: a run keeps one per document)."""

    doc_id: str
    task: str
    split: str
    #: sha256 over the document's rendered requests (context and answer prefix)
    prompt_sha256: str | None
    #: what the task's `process` (and `finalize`) returned for the document
    fields: dict[str, Any] = field(default_factory=dict)
    #: why the document has no usable answer (a request failed after retries), or None
    error: str | None = None
    #: the prompt mode the backend used (chat or completion, prefill, variants)
    prompt_mode: dict[str, Any] | None = None
    #: what the backend sent, when it tells (one entry, or one per request)
    sent: Any = None
    #: the prompt text (one, or one per request); None when prompts are not logged
    prompt: str | list[str] | None = None
    #: the document's position in the run (lines are streamed as documents complete)
    index: int | None = None
    #: 1-based line in the samples file it was read from (reading only; never written)
    line: int | None = None

    # -- the task's side -----------------------------------------------------------------
    def task_view(self) -> dict[str, Any]:
        """The record as `Task.finalize` / `Task.aggregate` receive it: one flat dict."""
        view: dict[str, Any] = {
            "doc_id": self.doc_id,
            "task": self.task,
            "split": self.split,
            "prompt_sha256": self.prompt_sha256,
            **self.fields,
        }
        if self.error is not None:
            view["error"] = self.error
        if self.prompt_mode is not None:
            view["prompt_mode"] = self.prompt_mode
        if self.sent is not None:
            view["sent"] = self.sent
        return view

    def with_task_view(self, view: dict[str, Any]) -> SampleRecord:
        """This record with the fields of a task view (after `finalize` rewrote it)."""
        parsed = SampleRecord.from_json(view)
        parsed.prompt, parsed.index, parsed.line = self.prompt, self.index, self.line
        return parsed

    # -- choice-task fields the leaderboard reads (see `choice_records.choice_fields`) -----
    @property
    def probs(self) -> list[float] | None:
        value = self.fields.get("probs")
        return value if isinstance(value, list) else None

    @property
    def target(self) -> int | None:
        value = self.fields.get("target")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def human_counts(self) -> list[int] | None:
        value = self.fields.get("human_counts")
        return value if isinstance(value, list) else None

    @property
    def metrics(self) -> dict[str, Any]:
        value = self.fields.get("metrics")
        return value if isinstance(value, dict) else {}

    # -- JSON ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The samples-file line (without the trailing newline's JSON encoding)."""
        line = self.task_view()
        if self.prompt is not None:
            line["prompt"] = self.prompt
        if self.index is not None:
            line[INDEX_KEY] = self.index
        return line

    @classmethod
    def from_json(cls, obj: dict[str, Any], line: int | None = None) -> SampleRecord:
        """Parse one line; `SampleFormatError` says what is wrong with it."""
        if not isinstance(obj.get("doc_id"), str):
            raise SampleFormatError("expected a sample object with a doc_id")
        for key in ("probs", "logprobs"):
            if obj.get(key) is not None and not _finite_numbers(obj[key]):
                raise SampleFormatError(f"{key!r} must be a list of finite numbers")
        index = obj.get(INDEX_KEY)
        error = obj.get("error")
        known = {*_RUNNER_KEYS, "prompt", INDEX_KEY}
        return cls(
            doc_id=obj["doc_id"],
            task=str(obj.get("task", "")),
            split=str(obj.get("split", "")),
            prompt_sha256=obj.get("prompt_sha256"),
            fields={k: v for k, v in obj.items() if k not in known},
            error=str(error) if error else None,
            prompt_mode=obj.get("prompt_mode"),
            sent=obj.get("sent"),
            prompt=obj.get("prompt"),
            index=index if isinstance(index, int) and not isinstance(index, bool) else None,
            line=line,
        )
