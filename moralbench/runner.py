"""One evaluation run: tasks -> requests -> cache/backend -> sample records -> metrics.

Read top-down: `evaluate` builds a `RunConfig`; `Run.execute` builds the tasks
(`task_building`), loads the backend, runs each task into a `TaskOutcome` (`task_runner`,
which answers each split with `split_runner`), and assembles the `RunResult` that
`results.write_results` writes. See docs/architecture.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__
from .backend import Backend, BackendOptions
from .cache import NullCache, RequestCache, default_cache_path
from .data_files import default_data_dir
from .distributed import ProcessGroup, current_process_group
from .dry_run import preview_prompts
from .environment import environment_info
from .errors import RunFailures
from .gc_pause import full_collections_paused
from .item_limits import MAX_FIELD_CHARS
from .redaction import redact_args
from .registry import Registry
from .results import SamplesWriter, model_slug, timestamp, write_results
from .run_checks import check_run_options
from .run_folder import RunMarker, config_key
from .run_options import option_values, results_location
from .run_overrides import RequestOverrides, chat_model_args
from .run_result import RunResult, TaskOutcome
from .session import Session
from .split_runner import RunServices
from .task import Task
from .task_building import JudgeLoader, build_tasks
from .task_runner import run_task

#: the recorded options that make two runs "the same configuration" (`run_folder.config_key`):
#: a run removes what an interrupted run of the same configuration left
_RESUME_KEY_FIELDS = (
    "model",
    "model_args",
    "tasks",
    "split",
    "limit",
    "seed",
    "num_fewshot",
    "task_args",
    "sample_data",
)


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
    #: set the backend's chat option (`BackendSpec.chat_arg`); None: the backend's default
    apply_chat_template: bool | None = None
    #: a system message before every request's messages (`moralbench.run_overrides`)
    system_instruction: str | None = None
    #: decoding settings of every generate request (max_gen_toks, temperature, until...)
    gen_kwargs: dict[str, str] = field(default_factory=dict)
    #: run and write the samples files, compute no metrics (no calibration split)
    predict_only: bool = False
    #: show the first N documents' prompts per task as the model would see them; no run
    dry_run: int | None = None
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
    options["gen_kwargs"] = option_values(options.get("gen_kwargs"), "gen_kwargs")
    for key in ("data_dir", "output_path", "cache_path"):
        if options.get(key) is not None:
            options[key] = Path(options[key])
    include = options.get("include_path") or []
    if isinstance(include, str | Path):  # one folder, as the CLI's single --include-path
        include = [include]
    options["include_path"] = [Path(p) for p in include]
    with full_collections_paused():
        return Run(RunConfig(model=model, tasks=tasks, **options)).execute()


def _override_config(config: RunConfig) -> dict[str, Any]:
    """The lm-eval style settings of a run, recorded only when used (older files lack them)."""
    given = {
        "apply_chat_template": config.apply_chat_template,
        "system_instruction": config.system_instruction,
        "gen_kwargs": dict(config.gen_kwargs) or None,
        "predict_only": config.predict_only or None,
    }
    return {key: value for key, value in given.items() if value is not None}


class Run:
    """One run of `RunConfig`: `execute` does it and returns the results dict."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.group: ProcessGroup = current_process_group()

    def execute(self) -> dict[str, Any]:
        """Build the tasks, load the backend, run each task into a `TaskOutcome`, write the
        `RunResult`. Tasks and model args are checked before the weights load."""
        config = self.config
        started = time.perf_counter()
        check_run_options(config)
        registry = self._registry()
        spec = registry.model(config.model)
        config.model_args = chat_model_args(spec, config.model_args, config.apply_chat_template)
        overrides = RequestOverrides.of(config.system_instruction, config.gen_kwargs)
        tasks = [overrides.wrap(task) for task in self._build_tasks(registry)]
        for task in tasks:
            spec.check_request_type(task.name, task.output_type)
        if config.dry_run is not None:
            options = self._backend_options()
            return preview_prompts(
                spec, config.model_args, options, tasks, config.split, config.dry_run
            )
        spec.check(config.model_args, self._backend_options())
        backend = self._load_backend(registry, config.model, config.model_args)
        services = self._services(backend)
        stamp = self.group.broadcast(timestamp())
        slug = model_slug(config.model, config.model_args)
        out_dir, results_path = results_location(config.output_path, slug, stamp)
        marker = self._start_marker(out_dir, stamp, tasks, spec.secret_args)
        try:
            outcomes = [self._run_task(services, task, out_dir, stamp) for task in tasks]
            described = backend.describe()  # after the tasks: counters (API retries) are final
        except BaseException:
            if marker is not None:
                marker.abandon()  # its partial files are removed by the next such run
            raise
        finally:
            services.cache.close()
            backend.close()
        result = self._assemble(outcomes, services, described, spec.secret_args, started)
        return self._write(result, results_path, marker)

    # -- set-up -------------------------------------------------------------------------
    def _registry(self) -> Registry:
        config = self.config
        session = Session.open(
            config.include_path, extra_plugins=config.extra_plugins, warn=config.log
        )
        return session.registry

    def _build_tasks(self, registry: Registry) -> list[Task]:
        config = self.config
        judges = JudgeLoader(
            registry,
            lambda name, args: self._load_backend(registry, name, args),
            config.seed,
        )
        factories = registry.resolve_tasks(config.tasks)
        return build_tasks(factories, config, config.data_dir or default_data_dir(), judges)

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

    def _services(self, backend: Backend) -> RunServices:
        config = self.config
        cache: RequestCache | NullCache = (
            RequestCache(config.cache_path or default_cache_path())
            if config.use_cache
            else NullCache()
        )
        return RunServices(
            backend=backend,
            fingerprint=backend.fingerprint(),
            cache=cache,
            group=self.group,
            log=config.log,
            log_prompts=config.log_prompts,
            show_progress=config.show_progress,
        )

    def _recorded_config(self, tasks: Sequence[str], secret_args: Sequence[str]) -> dict[str, Any]:
        """The run's options as results and the run-folder key record them (secrets redacted)."""
        config = self.config
        return {
            "model": config.model,
            "model_args": redact_args(config.model_args, secret_args),
            "tasks": list(tasks),
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
            **_override_config(config),
        }

    def _start_marker(
        self, out_dir: Path, stamp: str, tasks: Sequence[Task], secret_args: Sequence[str]
    ) -> RunMarker | None:
        """Lock this run's output folder; remove what killed runs of this configuration left."""
        if not self.group.is_main:
            return None
        recorded = self._recorded_config([t.name for t in tasks], secret_args)
        key = config_key({k: recorded[k] for k in _RESUME_KEY_FIELDS})
        marker = RunMarker(out_dir, stamp, key)
        removed = marker.start()
        if removed:
            self.config.log(
                f"removed {len(removed)} partial file(s) that an interrupted run of this "
                f"configuration left in {out_dir}"
            )
        return marker

    # -- the run ------------------------------------------------------------------------
    def _run_task(
        self, services: RunServices, task: Task, out_dir: Path, stamp: str
    ) -> TaskOutcome:
        config = self.config
        writer = SamplesWriter(
            out_dir,
            task.name,
            stamp,
            self.group,
            enabled=config.log_samples,
            before_write=services.cache.flush,
        )
        return run_task(
            services,
            task,
            writer,
            split=config.split,
            limit=config.limit,
            calibration_limit=config.calibration_limit,
            predict_only=config.predict_only,
        )

    def _assemble(
        self,
        outcomes: list[TaskOutcome],
        services: RunServices,
        described: dict[str, Any],
        secret_args: Sequence[str],
        started: float,
    ) -> RunResult:
        wall = time.perf_counter() - started
        total = services.requests_total
        cache = services.cache
        return RunResult(
            moralbench_version=__version__,
            config=self._recorded_config([o.name for o in outcomes], secret_args),
            model={"fingerprint": services.fingerprint, **described},
            tasks=outcomes,
            timing={
                "wall_seconds": round(wall, 3),
                "requests": total,
                "requests_sent_to_backend": services.requests_sent,
                "requests_per_second": round(total / wall, 3) if wall else None,
            },
            cache={
                "enabled": self.config.use_cache,
                "hits": cache.hits,
                "misses": cache.misses,
                "corrupt_rows": cache.corrupt,
            },
            max_field_chars=MAX_FIELD_CHARS,
            environment=environment_info(described.get("device")),
        )

    def _write(self, result: RunResult, path: Path, marker: RunMarker | None) -> dict[str, Any]:
        """Write the results file (main process), then refuse failures unless allowed."""
        payload = result.to_json()
        if self.group.is_main:
            payload["results_file"] = str(write_results(path, payload))
            if marker is not None:
                marker.finish()
            if result.failures and not self.config.allow_failures:
                raise RunFailures(result.failures, payload["results_file"])
        self.group.barrier()
        return payload
