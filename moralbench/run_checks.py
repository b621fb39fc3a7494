"""Options of a run checked before any work is done: one line on what is wrong and what works.

A bad `--limit`, an output path that is a file, a cache path that is a folder: each used to
surface as a traceback, some only after the model had loaded or every answer was scored.
`check_run_options` runs first thing in `Run.execute`, for the CLI and the Python API alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .cache import check_cache_path, default_cache_path
from .errors import OptionError
from .run_options import whole_number


def _positive_int(name: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    whole_number(value, name, text_ok=False)  # the run uses the value as it is: no text


def check_output_path(path: Path) -> None:
    """The output folder must be a folder (or creatable as one) that we may write to."""
    if path.exists() and not path.is_dir():
        raise OptionError(f"--output-path {path} is a file; it takes a folder (created if missing)")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OptionError(f"--output-path {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OptionError(f"--output-path {path}: the folder {existing} is not writable")


def check_run_options(config: Any) -> None:
    """Raise `OptionError` for the first invalid option of a `RunConfig`."""
    _positive_int("--limit", config.limit, allow_none=True)
    _positive_int("--bootstrap-iters", config.n_bootstrap)
    _positive_int("--dry-run", config.dry_run, allow_none=True)
    if config.batch_size is not None and config.batch_size != "auto":
        _positive_int("--batch-size (or 'auto')", config.batch_size)
    if not isinstance(config.split, str) or not config.split:
        raise OptionError(f"--split must name a split such as test, got {config.split!r}")
    output = config.output_path or Path("results")
    # a path ending in .json names the results file itself; its folder must be usable
    check_output_path(output.parent if output.suffix.lower() == ".json" else output)
    if config.use_cache:
        check_cache_path(config.cache_path or default_cache_path())
