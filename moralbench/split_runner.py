"""One split of one task: documents -> unique requests -> cache or backend -> sample records.

Requests are deduplicated across the split's documents, looked up in the cache, and the rest
sent to the backend in one call per request type; a document's `SampleRecord` is built (and
streamed to the samples file) as soon as its last answer arrives.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backend import Backend
from .cache import NullCache, RequestCache
from .chat_protocol import readable_messages
from .distributed import ProcessGroup
from .errors import MoralbenchError
from .item_limits import MAX_FIELD_CHARS, bound_document
from .progress import RequestProgress
from .requests import ChoiceRequest, GenerateRequest, Message, Request, Response, context_text
from .results import SamplesWriter
from .sample_record import SampleRecord
from .task import Doc, Task


@dataclass
class RunServices:
    """What every split of a run shares: the loaded backend, the cache, the process group."""

    backend: Backend
    fingerprint: str
    cache: RequestCache | NullCache
    group: ProcessGroup
    log: Callable[[str], None]
    log_prompts: bool = True
    show_progress: bool = True
    #: unique requests asked for, and of those the ones sent to the backend (not cached)
    requests_total: int = 0
    requests_sent: int = 0


@dataclass
class SplitRecords:
    """A split's sample records in document order, and what happened on the way."""

    records: list[SampleRecord]
    #: documents whose text was cut to `MAX_FIELD_CHARS`
    truncated: int = 0
    prompt_mode: dict[str, Any] | None = None


@dataclass
class _Pending:
    """One document while its requests are answered."""

    index: int
    doc: Doc
    requests: list[Request]
    keys: list[str]
    waiting: int


@dataclass
class _Plan:
    """The shard's documents and the unique requests they need."""

    pending: list[_Pending] = field(default_factory=list)
    unique: dict[str, Request] = field(default_factory=dict)
    waiting_on: dict[str, list[_Pending]] = field(default_factory=lambda: defaultdict(list))


def prompt_hash(requests: Sequence[Request]) -> str:
    h = hashlib.sha256()
    for request in requests:
        h.update(context_text(request.context).encode("utf-8"))
        h.update(request.answer_prefix.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def _sample_prompt(backend: Backend, request: Request) -> tuple[str, dict[str, Any] | None]:
    """The prompt text for a sample line and, when the backend tells, what it sends."""
    shown = backend.shown_prompt(request)
    if shown is None:
        return context_text(request.context) + request.answer_prefix, None
    if isinstance(shown.get("text"), str):
        return shown["text"], shown
    messages = [Message(m["role"], m["content"]) for m in shown.get("messages", [])]
    return readable_messages(messages), shown


def _has_variants(requests: Sequence[Request]) -> bool:
    return any(isinstance(r, ChoiceRequest) and bool(r.variants) for r in requests)


def _prompt_mode(backend: Backend, requests: Sequence[Request]) -> dict[str, Any] | None:
    """The backend's prompt mode, and whether any of `requests` has prompt variants."""
    mode = backend.prompt_mode()
    return None if mode is None else {**mode.as_dict(), "variants": _has_variants(requests)}


def _split_prompt_mode(backend: Backend, requests: Sequence[Request]) -> dict[str, Any]:
    """As `_prompt_mode`, with mode "unknown" when the backend does not say."""
    known = _prompt_mode(backend, requests)
    return known or {"mode": "unknown", "variants": _has_variants(requests)}


def load_docs(task: Task, split: str, limit: int | None) -> list[Doc]:
    """The split's first `limit` documents (all: None); refuses an empty split and repeated ids."""
    docs = task.docs(split)
    found = list(docs if limit is None else itertools.islice(docs, limit))
    if not found:
        files = ", ".join(str(p) for p in task.data_files(task.context.data_dir, split))
        raise MoralbenchError(
            f"task {task.name!r}: split {split!r} has no documents ({files or 'no file'}); "
            "an empty split would report metrics over nothing"
        )
    ids = [d["doc_id"] for d in found]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise MoralbenchError(f"task {task.name!r}: duplicate doc ids {dupes}")
    return found


class SplitRun:
    """Answers one split of one task; `records()` does the work."""

    def __init__(
        self, services: RunServices, task: Task, split: str, writer: SamplesWriter | None
    ) -> None:
        self.services = services
        self.task = task
        self.split = split
        self.writer = writer
        self._done: list[SampleRecord] = []
        self._answers: dict[str, Response] = {}

    def records(self, limit: int | None) -> SplitRecords:
        """Records of the split's first `limit` documents (all: None), in document order."""
        docs, truncated = self._bounded(load_docs(self.task, self.split, limit))
        group = self.services.group
        plan = self._plan(list(enumerate(docs))[group.index :: group.count])
        self.services.requests_total += len(plan.unique)
        mode = _split_prompt_mode(self.services.backend, list(plan.unique.values()))
        self._answer_from_cache(plan)
        self._answer_from_backend(plan)
        self.services.cache.flush()
        missing = [item.doc["doc_id"] for item in plan.pending if item.waiting > 0]
        if missing:
            raise MoralbenchError(
                f"backend returned no answer for {len(missing)} document(s) of "
                f"{self.task.name!r} (first: {missing[:3]})"
            )
        if self.writer is not None:
            self.writer.close_stream()
        merged = _gather(group, self._done)
        return SplitRecords(sorted(merged, key=lambda r: r.index or 0), truncated, mode)

    def _bounded(self, docs: list[Doc]) -> tuple[list[Doc], int]:
        """Cut over-long text fields before they are rendered and tokenized; count and warn."""
        pairs = [bound_document(doc) for doc in docs]
        cut = sum(was_cut for _, was_cut in pairs)
        if cut:
            self.services.log(
                f"warning: {cut} document(s) of {self.task.name!r} have a text field longer "
                f"than {MAX_FIELD_CHARS:,} characters; cut to that length before tokenizing"
            )
        return [doc for doc, _ in pairs], cut

    def _plan(self, shard: list[tuple[int, Doc]]) -> _Plan:
        plan = _Plan()
        for index, doc in shard:
            requests = self.task.requests(doc)
            keys = [r.key for r in requests]
            item = _Pending(index, doc, requests, keys, len(set(keys)))
            plan.pending.append(item)
            for key, request in zip(keys, requests, strict=True):
                plan.unique.setdefault(key, request)
            for key in dict.fromkeys(keys):
                plan.waiting_on[key].append(item)
        return plan

    def _answer_from_cache(self, plan: _Plan) -> None:
        cache = self.services.cache
        corrupt_before = cache.corrupt
        self._answers = cache.get_many(self.services.fingerprint, plan.unique)
        if cache.corrupt > corrupt_before:
            self.services.log(
                f"warning: {cache.corrupt - corrupt_before} damaged cache row(s) for "
                f"{self.task.name!r} ignored; those requests are asked again"
            )
        for key in self._answers:
            for item in plan.waiting_on[key]:
                item.waiting -= 1
        for item in plan.pending:
            if item.waiting == 0:
                self._complete(item)

    def _answer_from_backend(self, plan: _Plan) -> None:
        services, backend = self.services, self.services.backend
        todo = [(k, r) for k, r in plan.unique.items() if k not in self._answers]
        plan.unique.clear()  # `todo` holds what is still needed
        choice = [(k, r) for k, r in todo if isinstance(r, ChoiceRequest)]
        generate = [(k, r) for k, r in todo if isinstance(r, GenerateRequest)]
        label = f"{self.task.name} [{self.split}]"
        with RequestProgress(label, len(todo), enabled=services.show_progress) as progress:
            for group, method in ((choice, backend.score_choices), (generate, backend.generate)):
                if not group:
                    continue
                keys = [k for k, _ in group]
                stream: Iterator[tuple[int, Response]] = method([r for _, r in group])
                for position, response in stream:
                    key = keys[position]
                    self._answers[key] = response
                    services.cache.put(services.fingerprint, key, response)
                    services.requests_sent += 1
                    progress.advance()
                    for item in plan.waiting_on[key]:
                        item.waiting -= 1
                        if item.waiting == 0:
                            self._complete(item)

    def _complete(self, item: _Pending) -> None:
        """Build the document's record, stream it to the samples file, keep it."""
        responses = [self._answers[k] for k in item.keys]
        fields = self.task.process(item.doc, responses)
        error = fields.pop("error", None) or next((r.error for r in responses if r.error), None)
        backend = self.services.backend
        record = SampleRecord(
            doc_id=item.doc["doc_id"],
            task=self.task.name,
            split=self.split,
            prompt_sha256=prompt_hash(item.requests),
            fields=fields,
            error=error,
            prompt_mode=_prompt_mode(backend, item.requests),
            index=item.index,
        )
        if self.writer is not None and self.services.log_prompts:
            shown = [_sample_prompt(backend, r) for r in item.requests]
            sent = [s for _, s in shown if s is not None]
            if sent:
                record.sent = sent[0] if len(sent) == 1 else sent
            texts = [text for text, _ in shown]
            record.prompt = texts[0] if len(texts) == 1 else texts
        if self.writer is not None:
            self.writer.write(record)
        record.prompt = None  # kept on disk, not in memory
        self._done.append(record)
        item.requests = []  # rendered prompts are not needed any more: free them


def _gather(group: ProcessGroup, records: list[SampleRecord]) -> list[SampleRecord]:
    """Every process's records, on every process (a no-op without a launcher)."""
    if group.count == 1:
        return records
    from accelerate.utils import gather_object

    merged: list[SampleRecord] = []
    for part in gather_object([records]):
        merged += part
    return merged
