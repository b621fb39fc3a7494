"""What every command sets up first: the plugins, what they register, and where data lives.

One `Session` per command (and per run): it loads the plugin manager, reports each plugin
that failed to load once through `warn`, and builds the registry. Nothing is global, so tests
open as many sessions as they like.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data_files import default_data_dir
from .plugin_manager import PluginFailure, PluginSet, get_plugin_manager
from .registry import Registry, build_registry

Warn = Callable[[str], None]


def failure_warning(failure: PluginFailure) -> str:
    """The one line that reports a plugin that could not be loaded."""
    return f"warning: plugin {failure.name!r} ({failure.value}) failed to load: {failure.error}"


@dataclass
class Session:
    """Loaded plugins and their registry."""

    plugins: PluginSet
    registry: Registry

    @classmethod
    def open(
        cls,
        include_path: Iterable[Path | str] = (),
        *,
        extra_plugins: Iterable[Any] = (),
        warn: Warn = print,
    ) -> Session:
        """Load the plugins (warning once per failed one) and build the registry."""
        plugins = get_plugin_manager(include_path, extra_plugins=extra_plugins)
        for failure in plugins.failures:
            warn(failure_warning(failure))
        return cls(plugins, build_registry(plugins))


def data_dir_or_default(data_dir: Path | str | None) -> Path:
    """`--data-dir` when given, else `$MORALBENCH_DATA` or the user data dir."""
    return Path(data_dir) if data_dir else default_data_dir()
