"""What files a declarative task may read: its own folder and the data dir, nothing else.

A YAML task can come from any folder (`--include-path`), so its file names are untrusted:
`file: /proc/self/environ` or `../../etc/passwd` must not put a secret into prompts. A path is
resolved (symlinks included) and must lie under one of the allowed roots, be a regular file
(not a device or a pipe such as /dev/zero) and stay under a size limit.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from .errors import TaskDefinitionError

#: a template file larger than this is refused
MAX_TEMPLATE_BYTES = 1 << 20
#: a data file larger than this is refused
MAX_DATA_BYTES = 4 << 30


def confined_path(task: str, path: Path, roots: Sequence[Path], what: str) -> Path:
    """`path` resolved; a `TaskDefinitionError` naming task and path when outside `roots`."""
    try:
        resolved = path.resolve()
        allowed = [root.resolve() for root in roots]
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL in the name
        raise TaskDefinitionError(f"task {task!r}: {what} {path}: cannot resolve ({exc})") from exc
    if not any(resolved == root or resolved.is_relative_to(root) for root in allowed):
        places = " or ".join(str(root) for root in allowed)
        raise TaskDefinitionError(
            f"task {task!r}: {what} {path} lies outside the task's folder and the data dir "
            f"({places}); a task may read only its own files"
        )
    return resolved


def check_regular_file(task: str, path: Path, what: str, max_bytes: int) -> None:
    """Refuse a device, pipe or folder, and a file over `max_bytes`; missing files pass."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise TaskDefinitionError(f"task {task!r}: {what} {path}: {exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise TaskDefinitionError(f"task {task!r}: {what} {path} is not a regular file")
    if info.st_size > max_bytes:
        raise TaskDefinitionError(
            f"task {task!r}: {what} {path} is {info.st_size:,} bytes (limit {max_bytes:,})"
        )


def read_task_text(task: str, path: Path, roots: Sequence[Path], what: str = "template") -> str:
    """The text of a file a task names, confined to `roots`, regular, under the size limit."""
    resolved = confined_path(task, path, roots, what)
    check_regular_file(task, resolved, what, MAX_TEMPLATE_BYTES)
    try:
        with open(resolved, "rb") as handle:
            data = handle.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        raise TaskDefinitionError(f"task {task!r}: {what} {path}: {exc.strerror}") from exc
    if len(data) > MAX_TEMPLATE_BYTES:
        raise TaskDefinitionError(
            f"task {task!r}: {what} {path} is larger than {MAX_TEMPLATE_BYTES:,} bytes"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TaskDefinitionError(
            f"task {task!r}: {what} {path}:{line}: not valid UTF-8 ({exc.reason})"
        ) from exc
