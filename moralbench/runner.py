"""One evaluation run: tasks -> requests -> cache/backend -> sample records -> metrics.

Read top-down: `evaluate` builds a `RunConfig`, `Run.execute` loads plugins, the backend and
each task, `_run_split` asks for what is not cached and streams sample records to disk as
documents complete, and `results.write_results` writes the results JSON.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .backend import Backend, BackendOptions
from .cache import NullCache, RequestCache, default_cache_path
from .chat_protocol import readable_messages
from .data_files import default_data_dir, sha256_file
from .distributed import ProcessGroup, current_process_group
from .environment import environment_info
from .errors import MoralbenchError, OptionError, RunFailures
from .gc_pause import full_collections_paused
from .item_limits import MAX_FIELD_CHARS, bound_document
from .judges import JudgeContext
from .plugin_manager import get_plugin_manager
from .progress import RequestProgress
from .redaction import redact_args
from .registry import Registry, build_registry
from .requests import ChoiceRequest, GenerateRequest, Message, Request, Response, context_text
from .results import SamplesWriter, model_slug, timestamp, write_results
from .run_checks import check_run_options
from .run_folder import RunMarker, config_key
from .run_options import option_values, options_per_task, results_location
from .task import Doc, Record, Task, TaskContext


@dataclass
class RunConfig:
    model: str
    tasks: str | list[str]
    model_args: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None
    split: str = "test"
    limit: int | None = None
    #: documents of the calibration split; None: all of them, whatever `limit` says
    calibration_limit: int | None = None
    batch_size: int | str | None = None
    device: str | None = None
    output_path: Path | None = None
    seed: int = 0
    num_fewshot: int = 0
    include_path: list[Path] = field(default_factory=list)
    task_args: dict[str, str] = field(default_factory=dict)
    use_cache: bool = True
    cache_path: Path | None = None
    log_samples: bool = True
    sample_data: bool = False
    log_prompts: bool = True
    strict: bool = False
    allow_failures: bool = False
    n_bootstrap: int = 1000
    agreement_cuts: tuple[float, float] | None = None
    show_progress: bool = True
    extra_plugins: list[Any] = field(default_factory=list)
    log: Callable[[str], None] = print


def evaluate(model: str, tasks: str | list[str], **options: Any) -> dict[str, Any]:
    """Run tasks on a model and return the results dict (the same one results JSON holds).

    Options are the `RunConfig` fields, e.g. `model_args={"pretrained": DIR}`, `limit=20`,
    `output_path="out"`. `model_args` and `task_args` may also be lm-eval's `"k=v,k=v"`
    text, and their values typed (`True`, `4`, `Path(...)`). Raises `MoralbenchError`
    subclasses for anything a user can fix.
    """
    options["model_args"] = option_values(options.get("model_args"), "model_args")
    options["task_args"] = option_values(options.get("task_args"), "task_args")
    for key in ("data_dir", "output_path", "cache_path"):
        if options.get(key) is not None:
            options[key] = Path(options[key])
    include = options.get("include_path") or []
    if isinstance(include, str | Path):  # one folder, as the CLI's single --include-path
        include = [include]
    options["include_path"] = [Path(p) for p in include]
    with full_collections_paused():
        return Run(RunConfig(model=model, tasks=tasks, **options)).execute()


def _render_first_doc(task: Task, split: str) -> None:
    """Build the requests of the split's first document, so a template typo or a missing
    field is reported before the model loads."""
    first = next(iter(task.docs(split)), None)
    if first is not None:
        task.requests(first)


def _note_calibration(metrics: dict[str, Any], cal_split: str, split: str) -> None:
    """Say why nothing was fitted: the calibration split is missing, or is the reported one."""
    notes = metrics.setdefault("notes", [])
    notes[:] = [n for n in notes if "calibration split missing" not in n]
    if cal_split == split:
        notes.append(
            f"the reported split {split!r} is the calibration split: temperature and Dirichlet "
            "concentration not fitted (they would be fitted on the items being reported)"
        )
    else:
        notes.append(
            "calibration split missing: temperature and Dirichlet concentration not fitted "
            f"(the task has no {cal_split!r} split here)"
        )


def _prompt_hash(requests: Sequence[Request]) -> str:
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


def _task_prompt_mode(backend: Backend, requests_seen: Sequence[Request]) -> dict[str, Any]:
    mode = backend.prompt_mode()
    facts: dict[str, Any] = mode.as_dict() if mode is not None else {"mode": "unknown"}
    facts["variants"] = any(isinstance(r, ChoiceRequest) and r.variants for r in requests_seen)
    return facts


@dataclass
class _Pending:
    """Bookkeeping for one document while its requests are answered."""

    index: int
    doc: Doc
    requests: list[Request]
    keys: list[str]
    waiting: int


class Run:
    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.group: ProcessGroup = current_process_group()
        self.requests_sent = 0
        self.requests_total = 0
        self.prompt_modes: dict[str, dict[str, Any]] = {}
        self.truncated: dict[str, int] = {}

    # -- set-up -------------------------------------------------------------------------
    def _task_data_dir(self, factory: Any, data_dir: Path) -> Path:
        """Where a task reads its files: the data dir, or with `--sample-data` the task's
        bundled items. A task whose data ships beside its definition reads it as it is."""
        if not self.config.sample_data:
            return data_dir
        bundled = getattr(factory, "sample_data_dir", None)
        if bundled is not None:
            return Path(bundled)
        if getattr(factory, "data_ships_with_task", False):
            return data_dir
        raise MoralbenchError(
            f"task {factory.name!r} ships no sample data (and reads its data from the data "
            "dir); run it without --sample-data"
        )

    def _build_task(self, factory: Any, context: TaskContext) -> Task:
        """The task, with a hint when an option meant for another task of the run stopped it."""
        try:
            return factory(context)
        except OptionError as exc:
            shared = [k for k in self.config.task_args if ":" not in k]
            if not shared:
                raise
            raise OptionError(
                f"{exc} (--task-args without a task name apply to every task of the run; "
                f"give one task its own with {factory.name}:KEY=VALUE)"
            ) from exc

    def _registry(self) -> Registry:
        plugins = get_plugin_manager(
            self.config.include_path, extra_plugins=self.config.extra_plugins
        )
        for failure in plugins.failures:
            self.config.log(
                f"warning: plugin {failure.name!r} ({failure.value}) failed to load: "
                f"{failure.error}"
            )
        return build_registry(plugins)

    def _backend_options(self) -> BackendOptions:
        return BackendOptions(
            device=self.config.device,
            batch_size=self.config.batch_size,
            seed=self.config.seed,
            process_index=self.group.index,
            num_processes=self.group.count,
        )

    def _load_backend(self, registry: Registry, name: str, args: Mapping[str, str]) -> Backend:
        return registry.model(name).load(args, self._backend_options())

    def _start_marker(
        self, out_dir: Path, stamp: str, tasks: Sequence[Task], secret_args: Sequence[str]
    ) -> RunMarker | None:
        """Lock this run's output folder; remove what killed runs of this configuration left."""
        if not self.group.is_main:
            return None
        config = self.config
        key = config_key(
            {
                "model": config.model,
                "model_args": redact_args(config.model_args, secret_args),
                "tasks": [t.name for t in tasks],
                "split": config.split,
                "limit": config.limit,
                "seed": config.seed,
                "num_fewshot": config.num_fewshot,
                "task_args": config.task_args,
                "sample_data": config.sample_data,
            }
        )
        marker = RunMarker(out_dir, stamp, key)
        removed = marker.start()
        if removed:
            config.log(
                f"removed {len(removed)} partial file(s) that an interrupted run of this "
                f"configuration left in {out_dir}"
            )
        return marker

    # -- the run ------------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        config = self.config
        started = time.perf_counter()
        check_run_options(config)
        registry = self._registry()
        factories = registry.resolve_tasks(config.tasks)
        spec = registry.model(config.model)
        data_dir = config.data_dir or default_data_dir()
        judges: dict[str, Any] = {}

        def load_judge(name: str, options: Mapping[str, str]) -> Any:
            if name not in registry.judges:
                raise MoralbenchError(
                    f"unknown judge {name!r}; known judges: {', '.join(sorted(registry.judges))}"
                )
            if name not in judges:
                context = JudgeContext(
                    load_backend=lambda n, a: self._load_backend(registry, n, a),
                    seed=config.seed,
                )
                judges[name] = registry.judges[name].load(options, context)
            return judges[name]

        # Tasks are built (options checked, files found, one document rendered) before the
        # model is loaded, so a typo fails in a second, not after minutes of loading weights.
        task_options = options_per_task(config.task_args, [f.name for f in factories])
        tasks: list[Task] = []
        for factory in factories:
            context = TaskContext(
                data_dir=self._task_data_dir(factory, data_dir),
                options=task_options[factory.name],
                seed=config.seed,
                num_fewshot=config.num_fewshot,
                strict=config.strict,
                n_bootstrap=config.n_bootstrap,
                agreement_cuts=config.agreement_cuts,
                load_judge=load_judge,
                warn=config.log,
            )
            task = self._build_task(factory, context)
            task.require_files(config.split)
            _render_first_doc(task, config.split)
            tasks.append(task)

        # Model args checked cheaply after the tasks (their errors come first), before loading.
        spec.check(config.model_args, self._backend_options())
        backend = self._load_backend(registry, config.model, config.model_args)
        fingerprint = backend.fingerprint()
        described = backend.describe()  # before close(), which may free the model
        cache: RequestCache | NullCache = (
            RequestCache(config.cache_path or default_cache_path())
            if config.use_cache
            else NullCache()
        )
        slug = model_slug(config.model, config.model_args)
        stamp = self.group.broadcast(timestamp())
        out_dir, results_path = results_location(config.output_path, slug, stamp)
        marker = self._start_marker(out_dir, stamp, tasks, spec.secret_args)
        results: dict[str, Any] = {}
        task_info: dict[str, Any] = {}
        data_info: dict[str, Any] = {}
        samples_files: dict[str, str] = {}
        summaries: dict[str, Any] = {}
        failures: dict[str, int] = {}
        task_timing: dict[str, float] = {}
        try:
            for task in tasks:
                t0 = time.perf_counter()
                writer = SamplesWriter(
                    out_dir,
                    task.name,
                    stamp,
                    self.group,
                    enabled=config.log_samples,
                    before_write=cache.flush,
                )
                records = self._run_split(
                    task, config.split, backend, fingerprint, cache, writer, limit=config.limit
                )
                calibration = None
                cal_split = task.calibration_split
                if cal_split and cal_split != config.split and task.has_split(cal_split):
                    calibration = self._run_split(
                        task,
                        cal_split,
                        backend,
                        fingerprint,
                        cache,
                        None,
                        limit=config.calibration_limit,
                    )
                if self.group.is_main:
                    finalized = task.finalize(records)
                    writer.finish(
                        finalized,
                        rewrite=finalized is not records
                        or self.group.count > 1
                        or not writer.streamed_in_order,
                    )
                    records = finalized
                    metrics = task.aggregate(records, calibration)
                    if cal_split and calibration is None:
                        _note_calibration(metrics, cal_split, config.split)
                    results[task.name] = metrics
                    failures[task.name] = sum(1 for r in records if r.get("error"))
                    if writer.path is not None:
                        samples_files[task.name] = str(writer.path)
                    summaries[task.name] = task.summary()
                task_info[task.name] = {
                    "version": task.version,
                    "templates": {n: t.sha256 for n, t in task.templates().items()},
                    "options": dict(task.context.options),
                }
                data_info[task.name] = [
                    {"split": split, "path": str(p), "sha256": sha256_file(p)}
                    for split in dict.fromkeys([config.split, cal_split])
                    if split and task.has_split(split)
                    for p in task.data_files(task.context.data_dir, split)
                ]
                task_timing[task.name] = round(time.perf_counter() - t0, 3)
            described = backend.describe()  # again: counters (e.g. API retries) are final now
        except BaseException:
            if marker is not None:
                marker.abandon()  # its partial files are removed by the next such run
            raise
        finally:
            cache.close()
            backend.close()

        wall = time.perf_counter() - started
        payload = {
            "moralbench_version": __version__,
            "results": results,
            "config": {
                "model": config.model,
                "model_args": redact_args(config.model_args, spec.secret_args),
                "tasks": [t.name for t in tasks],
                "split": config.split,
                "limit": config.limit,
                "calibration_limit": config.calibration_limit,
                "sample_data": config.sample_data,
                "seed": config.seed,
                "batch_size": config.batch_size,
                "num_fewshot": config.num_fewshot,
                "task_args": dict(config.task_args),
                "n_bootstrap": config.n_bootstrap,
                "agreement_cuts": list(config.agreement_cuts) if config.agreement_cuts else None,
                "num_processes": self.group.count,
            },
            "model": {"fingerprint": fingerprint, **described},
            "versions": {"moralbench": __version__, "tasks": task_info},
            "data": data_info,
            "timing": {
                "wall_seconds": round(wall, 3),
                "requests": self.requests_total,
                "requests_sent_to_backend": self.requests_sent,
                "requests_per_second": round(self.requests_total / wall, 3) if wall else None,
                "per_task_seconds": task_timing,
            },
            "cache": {
                "enabled": config.use_cache,
                "hits": cache.hits,
                "misses": cache.misses,
                "corrupt_rows": cache.corrupt,
            },
            "failures": failures,
            "truncation": {"max_field_chars": MAX_FIELD_CHARS, "items": dict(self.truncated)},
            "summary": summaries,
            "samples_files": samples_files,
            "prompt_modes": {t.name: self.prompt_modes.get(t.name) for t in tasks},
            "environment": environment_info(described.get("device")),
        }
        if self.group.is_main:
            path = write_results(results_path, payload)
            payload["results_file"] = str(path)
            if marker is not None:
                marker.finish()
            total_failed = sum(failures.values())
            if total_failed and not config.allow_failures:
                raise RunFailures(total_failed, str(path))
        self.group.barrier()
        return payload

    # -- one split of one task ----------------------------------------------------------
    def _docs(self, task: Task, split: str, limit: int | None) -> list[Doc]:
        docs = task.docs(split)
        if limit is not None:
            docs = itertools.islice(docs, limit)
        found = list(docs)
        if not found:
            files = ", ".join(str(p) for p in task.data_files(task.context.data_dir, split))
            raise MoralbenchError(
                f"task {task.name!r}: split {split!r} has no documents ({files or 'no file'}); "
                "an empty split would report metrics over nothing"
            )
        return self._bounded_docs(task, found)

    def _bounded_docs(self, task: Task, docs: list[Doc]) -> list[Doc]:
        """Cut over-long text fields before they are rendered and tokenized; count and warn."""
        out, cut = [], 0
        for doc in docs:
            bounded, was_cut = bound_document(doc)
            out.append(bounded)
            cut += was_cut
        if cut:
            self.truncated[task.name] = self.truncated.get(task.name, 0) + cut
            self.config.log(
                f"warning: {cut} document(s) of {task.name!r} have a text field longer than "
                f"{MAX_FIELD_CHARS:,} characters; cut to that length before tokenizing"
            )
        return out

    def _run_split(
        self,
        task: Task,
        split: str,
        backend: Backend,
        fingerprint: str,
        cache: RequestCache | NullCache,
        writer: SamplesWriter | None,
        *,
        limit: int | None,
    ) -> list[Record]:
        """Records of one split's first `limit` documents (all: None), in document order."""
        all_docs = self._docs(task, split, limit)
        ids = [d["doc_id"] for d in all_docs]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise MoralbenchError(f"task {task.name!r}: duplicate doc ids {dupes}")
        shard = list(enumerate(all_docs))[self.group.index :: self.group.count]

        pending: list[_Pending] = []
        unique: dict[str, Request] = {}
        waiting_on: dict[str, list[_Pending]] = defaultdict(list)
        for index, doc in shard:
            requests = task.requests(doc)
            keys = [r.key for r in requests]
            item = _Pending(index, doc, requests, keys, len(set(keys)))
            pending.append(item)
            for key, request in zip(keys, requests, strict=True):
                unique.setdefault(key, request)
            for key in dict.fromkeys(keys):
                waiting_on[key].append(item)
        self.requests_total += len(unique)
        self.prompt_modes[task.name] = _task_prompt_mode(backend, list(unique.values()))

        corrupt_before = cache.corrupt
        answers: dict[str, Response] = cache.get_many(fingerprint, unique)
        if cache.corrupt > corrupt_before:
            self.config.log(
                f"warning: {cache.corrupt - corrupt_before} damaged cache row(s) for "
                f"{task.name!r} ignored; those requests are asked again"
            )
        records: list[tuple[int, Record]] = []

        def complete(item: _Pending) -> None:
            responses = [answers[k] for k in item.keys]
            record = {
                "doc_id": item.doc["doc_id"],
                "task": task.name,
                "split": split,
                "prompt_sha256": _prompt_hash(item.requests),
                **task.process(item.doc, responses),
            }
            errors = [r.error for r in responses if r.error]
            if errors and "error" not in record:
                record["error"] = errors[0]
            mode = backend.prompt_mode()
            if mode is not None:
                record["prompt_mode"] = {
                    **mode.as_dict(),
                    "variants": any(
                        isinstance(r, ChoiceRequest) and bool(r.variants) for r in item.requests
                    ),
                }
            if writer is not None and self.config.log_prompts:
                shown = [_sample_prompt(backend, r) for r in item.requests]
                sent = [s for _, s in shown if s is not None]
                if sent:
                    record["sent"] = sent[0] if len(sent) == 1 else sent
                writer.write(item.index, record, [text for text, _ in shown])
            elif writer is not None:
                writer.write(item.index, record, None)
            records.append((item.index, record))
            item.requests = []  # rendered prompts are not needed again: free them as we go

        for key in answers:
            for item in waiting_on[key]:
                item.waiting -= 1
        for item in pending:
            if item.waiting == 0:
                complete(item)

        todo = [(k, r) for k, r in unique.items() if k not in answers]
        unique.clear()  # what is still to ask is in `todo`; the rest can be freed
        choice = [(k, r) for k, r in todo if isinstance(r, ChoiceRequest)]
        generate = [(k, r) for k, r in todo if isinstance(r, GenerateRequest)]
        label = f"{task.name} [{split}]"
        with RequestProgress(label, len(todo), enabled=self.config.show_progress) as progress:
            for group, method in ((choice, backend.score_choices), (generate, backend.generate)):
                if not group:
                    continue
                keys = [k for k, _ in group]
                stream: Iterator[tuple[int, Response]] = method([r for _, r in group])
                for position, response in stream:
                    key = keys[position]
                    answers[key] = response
                    cache.put(fingerprint, key, response)
                    self.requests_sent += 1
                    progress.advance()
                    for item in waiting_on[key]:
                        item.waiting -= 1
                        if item.waiting == 0:
                            complete(item)
        cache.flush()
        missing = [item.doc["doc_id"] for item in pending if item.waiting > 0]
        if missing:
            raise MoralbenchError(
                f"backend returned no answer for {len(missing)} document(s) of {task.name!r} "
                f"(first: {missing[:3]})"
            )
        if writer is not None:
            writer.close_stream()
        merged = self._gather(records)
        return [record for _, record in sorted(merged, key=lambda pair: pair[0])]

    def _gather(self, records: list[tuple[int, Record]]) -> list[tuple[int, Record]]:
        """Every process's records, on every process (a no-op without a launcher)."""
        if self.group.count == 1:
            return records
        from accelerate.utils import gather_object

        merged: list[tuple[int, Record]] = []
        for part in gather_object([records]):
            merged += part
        return merged
