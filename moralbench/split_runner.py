"""One split of one task: documents -> unique requests -> cache or backend -> sample records.

Documents are rendered and looked up in the cache a block at a time (`DOCS_PER_BLOCK`): a
document the cache answers whole becomes its `SampleRecord` (streamed to the samples file) at
once, and its rendered prompts and cached answers are freed, so a cached run holds one block
of requests, not the split's. The requests still unanswered are deduplicated across the whole
split and sent to the backend in one call per request type (which lets a local backend sort
them all by length); a document's record is built as soon as its last answer arrives.
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


@dataclass(slots=True)
class _Pending:
    """One document while its requests are answered."""

    index: int
    doc: Doc
    requests: list[Request]
    keys: list[str]
    waiting: int


#: documents rendered and looked up in the cache at a time
DOCS_PER_BLOCK = 2048


@dataclass
class _Plan:
    """Documents still waiting for answers, and the unique requests they wait on."""

    pending: list[_Pending] = field(default_factory=list)
    unique: dict[str, Request] = field(default_factory=dict)
    waiting_on: dict[str, list[_Pending]] = field(default_factory=lambda: defaultdict(list))
    #: every distinct request key of the split (answered or not), and whether any request
    #: has prompt variants
    seen: set[str] = field(default_factory=set)
    variants: bool = False
    #: cached answers kept because a waiting document also needs them
    kept: set[str] = field(default_factory=set)


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


def _prompt_mode(backend: Backend, variants: bool) -> dict[str, Any] | None:
    """The backend's prompt mode, and whether the requests have prompt variants."""
    mode = backend.prompt_mode()
    return None if mode is None else {**mode.as_dict(), "variants": variants}


def _split_prompt_mode(backend: Backend, variants: bool) -> dict[str, Any]:
    """As `_prompt_mode`, with mode "unknown" when the backend does not say."""
    return _prompt_mode(backend, variants) or {"mode": "unknown", "variants": variants}


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
        #: one prompt-mode dict per variants flag, shared by the records that have it
        self._modes: dict[bool, dict[str, Any] | None] = {}

    def records(self, limit: int | None) -> SplitRecords:
        """Records of the split's first `limit` documents (all: None), in document order."""
        docs, truncated = self._bounded(load_docs(self.task, self.split, limit))
        group = self.services.group
        shard = list(enumerate(docs))[group.index :: group.count]
        del docs
        blocks = [shard[i : i + DOCS_PER_BLOCK] for i in range(0, len(shard), DOCS_PER_BLOCK)]
        del shard
        blocks.reverse()  # popped from the end, so each block is freed once answered
        plan = _Plan()
        corrupt_before = self.services.cache.corrupt
        while blocks:
            self._plan_block(blocks.pop(), plan)
        self._warn_corrupt(corrupt_before)
        self.services.requests_total += len(plan.seen)
        plan.seen.clear()
        mode = _split_prompt_mode(self.services.backend, plan.variants)
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

    def _plan_block(self, block: list[tuple[int, Doc]], plan: _Plan) -> None:
        """Render a block of documents, answer what the cache can, and add what is left
        (documents still waiting, requests not yet answered) to `plan`."""
        part = _Plan()
        for index, doc in block:
            requests = self.task.requests(doc)
            keys = [r.key for r in requests]
            item = _Pending(index, doc, requests, keys, len(set(keys)))
            part.pending.append(item)
            for key, request in zip(keys, requests, strict=True):
                part.unique.setdefault(key, request)
            for key in dict.fromkeys(keys):
                part.waiting_on[key].append(item)
        plan.seen.update(part.unique)
        plan.variants = plan.variants or _has_variants(list(part.unique.values()))
        # keys already waiting for the backend were not in the cache a block ago either
        wanted = {k: r for k, r in part.unique.items() if k not in plan.unique}
        found = self.services.cache.get_many(self.services.fingerprint, wanted)
        self._answers.update(found)
        for key in found:
            for item in part.waiting_on[key]:
                item.waiting -= 1
        for item in part.pending:
            if item.waiting == 0:
                self._complete(item)
                continue
            plan.pending.append(item)
            for key, request in zip(item.keys, item.requests, strict=True):
                if key not in self._answers:
                    plan.unique.setdefault(key, request)
            for key in dict.fromkeys(item.keys):
                if key in self._answers:
                    plan.kept.add(key)
                else:
                    plan.waiting_on[key].append(item)
        for key in found:  # keep only the cached answers a waiting document still needs
            if key not in plan.kept:
                del self._answers[key]

    def _warn_corrupt(self, before: int) -> None:
        damaged = self.services.cache.corrupt - before
        if damaged:
            self.services.log(
                f"warning: {damaged} damaged cache row(s) for {self.task.name!r} ignored; "
                "those requests are asked again"
            )

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

    def _mode(self, requests: Sequence[Request]) -> dict[str, Any] | None:
        variants = _has_variants(requests)
        if variants not in self._modes:
            self._modes[variants] = _prompt_mode(self.services.backend, variants)
        return self._modes[variants]

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
            prompt_mode=self._mode(item.requests),
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
