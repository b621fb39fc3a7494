"""Fetching a registered dataset: resumable downloads, sha256 records, safe tar extraction.

`download_dataset(source, data_dir)` fetches every `RemoteFile` of a `DatasetSource` into the
data dir and returns the manifest it writes to `<data_dir>/<name>.manifest.json`:

* Downloads go to `<dest>.part` first; an interrupted one is resumed with an HTTP Range
  request (by a retry within the same call, or by running the command again), and the file
  is renamed into place only when complete.
* Every file's sha256 is recorded; a file whose digest differs from a declared `sha256` is an
  error, and the bad download is removed.
* Archives are checked member by member before anything is written: absolute paths, `..`,
  symbolic and hard links, and device or other special files are rejected. Accepted members
  are unpacked into a staging folder beside the target and then moved into place, one
  top-level entry at a time, so a failure never leaves a half-extracted tree.
* `mirror` replaces everything before the file name of each URL (for a local copy, or a
  loopback server in tests).
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ._version import __version__
from .data_files import sha256_file
from .datasets import DatasetSource, RemoteFile
from .errors import DownloadError, UnsafeArchive
from .tar_extraction import CHUNK, extract_tar

__all__ = ["DownloadError", "UnsafeArchive", "download_dataset", "extract_tar", "manifest_path"]


class _Retryable(Exception):
    """A transfer problem worth retrying (dropped connection, short body, server error)."""


# -- URLs -----------------------------------------------------------------------------------


def mirror_url(url: str, mirror: str | None) -> str:
    """`url` with everything before its file name replaced by `mirror`."""
    if not mirror:
        return url
    name = PurePosixPath(urlsplit(url).path).name
    return f"{mirror.rstrip('/')}/{name}"


def display_url(url: str) -> str:
    """The URL without user info or query string, safe to print and record."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def manifest_path(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / f"{name}.manifest.json"


def _inside(data_dir: Path, relative: str, what: str, source: str) -> Path:
    rel = PurePosixPath(relative)
    if rel.is_absolute() or PureWindowsPath(relative).drive or ".." in rel.parts or not rel.parts:
        raise DownloadError(
            f"dataset {source!r}: {what} {relative!r} must be a relative path inside the data dir"
        )
    return Path(data_dir, *rel.parts)


# -- the transfer ---------------------------------------------------------------------------


def _content_range_start(header: str | None) -> int | None:
    # "bytes 100-999/1000"
    if not header or not header.startswith("bytes "):
        return None
    try:
        return int(header[6:].split("-", 1)[0])
    except ValueError:
        return None


def _fetch_into(url: str, part: Path, progress: Progress, label: str, timeout: float) -> None:
    """Fetch `url` into `part`, continuing from its current size when the server allows."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"moralbench/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            # The range starts at or beyond the end: the partial file is stale; start over.
            part.unlink()
            raise _Retryable("server refused to resume; restarting") from exc
        if exc.code >= 500:
            raise _Retryable(f"HTTP {exc.code}") from exc
        raise DownloadError(f"{display_url(url)}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _Retryable(str(getattr(exc, "reason", exc))) from exc
    with response:
        length = response.headers.get("Content-Length")
        body = int(length) if length and length.isdigit() else None
        if response.status == 206:
            if _content_range_start(response.headers.get("Content-Range")) != have:
                part.unlink(missing_ok=True)
                raise _Retryable("server resumed at another offset; restarting")
            mode, start = "ab", have
        else:  # the server sent the whole file
            mode, start = "wb", 0
        total = start + body if body is not None else None
        task = progress.add_task(label, total=total, completed=start)
        received = start
        try:
            with open(part, mode) as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    progress.update(task, completed=received)
        except (OSError, http.client.HTTPException) as exc:
            raise _Retryable(f"connection lost after {received} bytes: {exc}") from exc
        finally:
            progress.remove_task(task)
    if total is not None and received != total:
        raise _Retryable(f"connection closed after {received} of {total} bytes")


def _download(
    url: str,
    dest: Path,
    expected_sha256: str | None,
    progress: Progress,
    *,
    retries: int,
    retry_wait: float,
    timeout: float,
) -> str:
    """Download to `<dest>.part`, retrying with resume; check and move into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures = 0
    while True:
        try:
            _fetch_into(url, part, progress, dest.name, timeout)
            break
        except _Retryable as exc:
            failures += 1
            if failures > retries:
                kept = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"{display_url(url)}: {exc} (after {retries} retries); {kept} bytes kept "
                    f"in {part}: run the command again to resume"
                ) from exc
            time.sleep(retry_wait * failures)
    digest = sha256_file(part)
    if expected_sha256 and digest != expected_sha256.lower():
        part.unlink()
        raise DownloadError(
            f"{display_url(url)}: sha256 mismatch: expected {expected_sha256.lower()}, got "
            f"{digest}; the download was removed"
        )
    os.replace(part, dest)
    return digest


# -- the whole dataset ----------------------------------------------------------------------


def read_manifest(data_dir: Path, name: str) -> dict[str, Any] | None:
    path = manifest_path(data_dir, name)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DownloadError(
            f"{path}: unreadable manifest ({exc.msg}); delete it and retry"
        ) from exc


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


@contextmanager
def _progress(console: Console | None) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
    )
    with progress:
        yield progress


def _is_current(path: Path, remote: RemoteFile, previous: dict[str, Any] | None) -> str | None:
    """The file's digest when it is already the right file, else None."""
    if not path.is_file():
        return None
    digest = sha256_file(path)
    if remote.sha256:
        return digest if digest == remote.sha256.lower() else None
    if previous and previous.get("sha256") == digest:
        return digest
    return None


def _fetch_entry(
    name: str,
    remote: RemoteFile,
    data_dir: Path,
    mirror: str | None,
    previous: dict[str, Any],
    force: bool,
    fetch: Callable[[str, Path, str | None], str],
) -> dict[str, Any]:
    """Fetch (or verify) one file, extract it when it is an archive; its manifest entry."""
    dest = _inside(data_dir, remote.dest, "dest", name)
    url = mirror_url(remote.url, mirror)
    digest = None if force else _is_current(dest, remote, previous.get(remote.dest))
    status = "present"
    if digest is None:
        digest = fetch(url, dest, remote.sha256)
        status = "downloaded"
    entry: dict[str, Any] = {
        "url": display_url(url),
        "dest": remote.dest,
        "size": dest.stat().st_size,
        "sha256": digest,
        "declared_sha256": remote.sha256,
        "status": status,
    }
    if remote.extract_to is not None:
        target = _inside(data_dir, remote.extract_to, "extract_to", name)
        entry["extract_to"] = remote.extract_to
        entry["extracted"] = extract_tar(dest, target, data_dir)
    return entry


def download_dataset(
    source: DatasetSource,
    data_dir: Path,
    *,
    mirror: str | None = None,
    console: Console | None = None,
    force: bool = False,
    retries: int = 3,
    retry_wait: float = 1.0,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Fetch (or verify) every file of `source` under `data_dir`; return the written manifest.

    A file already present with the declared sha256 (or, without one, the sha256 recorded by
    an earlier download) is not fetched again unless `force`. Archives are (re-)extracted on
    every call. Raises `DownloadError` (or `UnsafeArchive`) with a message for the user.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    old = read_manifest(data_dir, source.name) or {}
    previous = {entry.get("dest"): entry for entry in old.get("files", [])}
    with _progress(console) as progress:
        fetch = functools.partial(
            _download, progress=progress, retries=retries, retry_wait=retry_wait, timeout=timeout
        )
        entries = [
            _fetch_entry(source.name, remote, data_dir, mirror, previous, force, fetch)
            for remote in source.files
        ]
    manifest = {
        "dataset": source.name,
        "moralbench_version": __version__,
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "license": source.license,
        "citation": source.citation,
        "files": entries,
    }
    _write_json(manifest_path(data_dir, source.name), manifest)
    return manifest
