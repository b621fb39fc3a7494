"""Unpacking a downloaded tar archive safely: every member checked before anything is written.

Absolute paths, `..`, symbolic and hard links, and device or other special files are
rejected. Accepted members are unpacked into a staging folder beside the target and then
moved into place, one top-level entry at a time, so a failure never leaves a half-extracted
tree.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from .data_files import sha256_file
from .errors import DownloadError, UnsafeArchive

#: bytes copied at a time
CHUNK = 1 << 16


def _member_path(archive: Path, member: tarfile.TarInfo) -> PurePosixPath | None:
    """The member's checked relative path (None for the archive root), or UnsafeArchive."""
    name = member.name
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        raise UnsafeArchive(archive, name, "absolute path")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(archive, name, "path contains '..'")
    if member.issym() or member.islnk():
        raise UnsafeArchive(archive, name, f"link to {member.linkname!r}")
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchive(archive, name, "device, fifo or other special file")
    return PurePosixPath(*parts) if parts else None


def _replace(new: Path, old: Path) -> None:
    """Move `new` to `old`, replacing whatever is there (a folder is swapped, then removed)."""
    if old.is_dir() and not old.is_symlink():
        backup = old.with_name(f".{old.name}.replaced-{os.getpid()}")
        os.replace(old, backup)
        os.replace(new, old)
        shutil.rmtree(backup)
    else:
        os.replace(new, old)


def extract_tar(archive: Path, target: Path, data_dir: Path) -> list[dict[str, Any]]:
    """Safely unpack `archive` into `target`; returns `{path, size, sha256}` per file."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [(m, _member_path(archive, m)) for m in tar.getmembers()]
    except tarfile.TarError as exc:
        raise DownloadError(f"{archive}: not a readable tar archive ({exc})") from exc
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extracting-", dir=target))
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member, rel in members:
                if rel is None:
                    continue
                path = staging.joinpath(*rel.parts)
                if member.isdir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # regular files always have data
                with source, open(path, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        listed = [
            {
                "path": (target / p.relative_to(staging)).relative_to(data_dir).as_posix(),
                "size": p.stat().st_size,
                "sha256": sha256_file(p),
            }
            for p in files
        ]
        for entry in sorted(staging.iterdir()):
            _replace(entry, target / entry.name)
    except OSError as exc:
        raise DownloadError(f"{archive}: extraction into {target} failed: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return listed
