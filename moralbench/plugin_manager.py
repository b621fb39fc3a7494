"""Builds the plugin manager: hook specs, entry-point plugins, include paths.

No module-global manager: every call builds a fresh one, so tests can add throwaway plugins.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .errors import MoralbenchError


@dataclass
class PluginFailure:
    """An entry point that could not be imported or registered."""

    name: str
    value: str
    error: str


@dataclass
class PluginSet:
    """A plugin manager plus what went wrong while loading it."""

    pm: pluggy.PluginManager
    failures: list[PluginFailure] = field(default_factory=list)
    include_paths: list[Path] = field(default_factory=list)


def get_plugin_manager(
    include_paths: Iterable[Path | str] = (),
    *,
    extra_plugins: Iterable[Any] = (),
    load_entry_points: bool = True,
) -> PluginSet:
    """Add the hook specs, load the `moralbench` entry-point group, register extras.

    A plugin that fails to import is recorded in `failures` (and reported by the CLI) and
    does not stop the others from loading.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    failures: list[PluginFailure] = []
    if load_entry_points:
        for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT):
            if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
                pm.register(plugin, name=ep.name)
            except Exception as exc:  # any import-time failure of someone else's code
                failures.append(PluginFailure(ep.name, ep.value, f"{type(exc).__name__}: {exc}"))
    for plugin in extra_plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise MoralbenchError(f"plugin error: {exc}") from exc
    return PluginSet(pm, failures, [Path(p) for p in include_paths])
