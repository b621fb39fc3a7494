"""What the loaded plugins provide, by name: tasks, backends, metrics, judges, datasets.

Each table keeps the plugin that registered each name (`*_plugin`); a name registered twice,
in any table, is an error naming both plugins (as `hookspecs` promises).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from .backend import BackendSpec
from .datasets import DatasetSource
from .errors import MoralbenchError, UnknownModel, UnknownTask
from .judges import JudgeSpec
from .plugin_manager import PluginSet
from .task import TaskFactory
from .yaml_task import load_yaml_tasks


@dataclass
class Registry:
    tasks: dict[str, TaskFactory] = field(default_factory=dict)
    task_plugin: dict[str, str] = field(default_factory=dict)
    models: dict[str, BackendSpec] = field(default_factory=dict)
    model_plugin: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    metric_plugin: dict[str, str] = field(default_factory=dict)
    judges: dict[str, JudgeSpec] = field(default_factory=dict)
    judge_plugin: dict[str, str] = field(default_factory=dict)
    datasets: dict[str, DatasetSource] = field(default_factory=dict)
    dataset_plugin: dict[str, str] = field(default_factory=dict)

    def resolve_tasks(self, spec: str | list[str]) -> list[TaskFactory]:
        """Comma-separated names, glob patterns or groups/tags (a task's `tags`), in the
        order given, without repeats."""
        patterns = spec.split(",") if isinstance(spec, str) else list(spec)
        chosen: list[str] = []
        for pattern in (p.strip() for p in patterns):
            if not pattern:
                continue
            matches = sorted(fnmatch.filter(self.tasks, pattern)) or self.tagged(pattern)
            if not matches:
                raise UnknownTask(pattern, list(self.tasks))
            chosen += [m for m in matches if m not in chosen]
        if not chosen:
            raise MoralbenchError("no task given (--tasks)")
        return [self.tasks[name] for name in chosen]

    def tagged(self, tag: str) -> list[str]:
        """The tasks in a group or with a tag, by name."""
        return sorted(n for n, f in self.tasks.items() if tag in (getattr(f, "tags", ()) or ()))

    def model(self, name: str) -> BackendSpec:
        if name not in self.models:
            raise UnknownModel(name, list(self.models))
        return self.models[name]


def _add(
    kind: str, table: dict[str, Any], owners: dict[str, str], name: str, value: Any, plugin: str
) -> None:
    if name in table:
        raise MoralbenchError(
            f"{kind} {name!r} is registered twice: by {owners[name]!r} and by {plugin!r}"
        )
    table[name] = value
    owners[name] = plugin


def build_registry(plugins: PluginSet) -> Registry:
    """Call every registration hook once and index the results by name."""
    reg = Registry()
    hook = plugins.pm.hook
    for impl in hook.moralbench_register_tasks.get_hookimpls():
        for factory in impl.function() or ():
            _add("task", reg.tasks, reg.task_plugin, factory.name, factory, impl.plugin_name)
    paths: list[tuple[str, Any]] = []
    for impl in hook.moralbench_task_paths.get_hookimpls():
        paths += [(impl.plugin_name, p) for p in impl.function() or ()]
    paths += [("--include-path", p) for p in plugins.include_paths]
    for owner, path in paths:
        for factory in load_yaml_tasks(path):
            _add("task", reg.tasks, reg.task_plugin, factory.name, factory, owner)
    tables = (
        ("model backend", hook.moralbench_register_models, reg.models, reg.model_plugin),
        ("metric", hook.moralbench_register_metrics, reg.metrics, reg.metric_plugin),
        ("judge", hook.moralbench_register_judges, reg.judges, reg.judge_plugin),
        ("dataset", hook.moralbench_register_datasets, reg.datasets, reg.dataset_plugin),
    )
    for kind, caller, table, owners in tables:
        for impl in caller.get_hookimpls():
            for item in impl.function() or ():
                _add(kind, table, owners, item.name, item, impl.plugin_name)
    return reg
