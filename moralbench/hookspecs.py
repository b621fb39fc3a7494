"""The whole moralbench extension surface.

A plugin is any module or object with functions named after these hooks, decorated with
`moralbench.hookimpl`, and exposed through the `moralbench` entry-point group of its
distribution, for example in its pyproject.toml:

    [project.entry-points.moralbench]
    my_tasks = "my_package.moralbench_plugin"

The built-in tasks and backends register through this same group. Every hook is called once
per plugin manager, when a run or a listing starts; the results of all plugins are
concatenated. Names must be unique across plugins: a duplicate name is an error that names
both plugins.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .backend import BackendSpec
    from .datasets import DatasetSource
    from .judges import JudgeSpec
    from .metrics import MetricInfo
    from .task import TaskFactory

PROJECT = "moralbench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def moralbench_register_tasks() -> Iterable[TaskFactory]:
    """Return the tasks this plugin provides.

    Called when the plugin manager is built. Each item is a task factory: a `Task` subclass,
    or a declarative definition returned by `moralbench.load_yaml_tasks(folder)`. A factory
    has the class attributes `name`, `version`, `output_type` ("choice" or "generate") and
    `description`, and is called with a `TaskContext` to make the task for one run.

    Return value: an iterable of task factories (an empty one is fine).
    """


@hookspec
def moralbench_register_models() -> Iterable[BackendSpec]:
    """Return the model backends this plugin provides.

    Called when the plugin manager is built. Each item is a `BackendSpec`: the name used with
    `--model`, an "module:attribute" factory that is imported only when the backend is
    chosen, the estimators it supports for choice scoring (best first), the optional
    packages it needs and the model args that hold secrets.

    A backend that reads no prompt (a classifier, a reward model) answers choice requests
    from `ChoiceRequest.item` (a `moralbench.ItemView`: the item's own text or text pair,
    each choice's semantic label, and the question with each choice as a whole answer),
    which every built-in choice task fills.

    Return value: an iterable of `BackendSpec`.
    """


@hookspec
def moralbench_register_metrics() -> Iterable[MetricInfo]:
    """Return descriptions of metrics this plugin's tasks report.

    Called when the plugin manager is built; the leaderboard uses them to know each metric's
    direction (lower or higher is better) and to describe it. Metric values themselves are
    computed by the task's `aggregate`.

    Return value: an iterable of `MetricInfo`.
    """


@hookspec
def moralbench_register_judges() -> Iterable[JudgeSpec]:
    """Return judges that compare a generated text with a reference text.

    Used by generation tasks (for example DFAR reasons) through the task option `judge=NAME`.
    Each item is a `JudgeSpec` with a name, a lazily imported factory, a version and a
    description.

    Return value: an iterable of `JudgeSpec`.
    """


@hookspec
def moralbench_task_paths() -> Iterable[Path | str]:
    """Return folders of declarative (YAML + Jinja) task definitions to load.

    The plugin-side equivalent of `--include-path`: a plugin that ships only YAML tasks
    implements just this hook.

    Return value: an iterable of folder paths.
    """


@hookspec
def moralbench_register_datasets() -> Iterable[DatasetSource]:
    """Return downloadable datasets for `moralbench data download NAME`.

    Each `DatasetSource` names the dataset, its files (URL, where it lands under the data
    dir, expected sha256 when known, whether it is an archive to extract) and its licence.

    Return value: an iterable of `DatasetSource`.
    """


def _all_hook_names() -> list[str]:
    return [name for name, value in globals().items() if name.startswith("moralbench_")]


__all__: list[Any] = ["hookimpl", "hookspec", "PROJECT", *_all_hook_names()]
