"""Building a run's tasks before the model loads: options checked, files found, one prompt rendered.

A typo in a task option, a missing data file or a template error fails here in a second,
not after minutes of loading weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .backend import Backend
from .errors import MoralbenchError, OptionError
from .judges import JudgeContext
from .registry import Registry
from .run_options import options_per_task
from .task import Task, TaskContext, TaskFactory


class JudgeLoader:
    """Loads each judge a task asks for once per run (`TaskContext.load_judge`)."""

    def __init__(
        self,
        registry: Registry,
        load_backend: Callable[[str, Mapping[str, str]], Backend],
        seed: int,
    ) -> None:
        self.registry = registry
        self.load_backend = load_backend
        self.seed = seed
        self.loaded: dict[str, Any] = {}

    def __call__(self, name: str, options: Mapping[str, str]) -> Any:
        judges = self.registry.judges
        if name not in judges:
            raise MoralbenchError(
                f"unknown judge {name!r}; known judges: {', '.join(sorted(judges))}"
            )
        if name not in self.loaded:
            context = JudgeContext(load_backend=self.load_backend, seed=self.seed)
            self.loaded[name] = judges[name].load(options, context)
        return self.loaded[name]


def task_data_dir(factory: Any, data_dir: Path, sample_data: bool) -> Path:
    """Where a task reads its files: the data dir, or with `--sample-data` the task's bundled
    items. A task whose data ships beside its definition reads it as it is."""
    if not sample_data:
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


def _make_task(factory: TaskFactory, context: TaskContext, task_args: Mapping[str, str]) -> Task:
    """The task, with a hint when an option meant for another task of the run stopped it."""
    try:
        return factory(context)
    except OptionError as exc:
        if not [k for k in task_args if ":" not in k]:
            raise
        raise OptionError(
            f"{exc} (--task-args without a task name apply to every task of the run; "
            f"give one task its own with {factory.name}:KEY=VALUE)"
        ) from exc


def _render_first_doc(task: Task, split: str) -> None:
    """Build the requests of the split's first document, so a template typo or a missing
    field is reported before the model loads."""
    first = next(iter(task.docs(split)), None)
    if first is not None:
        task.requests(first)


def build_tasks(
    factories: list[TaskFactory],
    config: Any,
    data_dir: Path,
    load_judge: Callable[[str, Mapping[str, str]], Any],
) -> list[Task]:
    """Each factory's task for this run (`config` is the run's `RunConfig`), checked."""
    task_options = options_per_task(config.task_args, [f.name for f in factories])
    tasks: list[Task] = []
    for factory in factories:
        context = TaskContext(
            data_dir=task_data_dir(factory, data_dir, config.sample_data),
            options=task_options[factory.name],
            seed=config.seed,
            num_fewshot=config.num_fewshot,
            strict=config.strict,
            n_bootstrap=config.n_bootstrap,
            agreement_cuts=config.agreement_cuts,
            load_judge=load_judge,
            warn=config.log,
        )
        task = _make_task(factory, context, config.task_args)
        task.require_files(config.split)
        _render_first_doc(task, config.split)
        tasks.append(task)
    return tasks
