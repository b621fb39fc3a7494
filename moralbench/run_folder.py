"""Cleaning up after killed runs: orphan samples and temporary files of the same configuration.

Each run holds an exclusive lock on a hidden marker file in its output folder for as long as
it runs; the marker names the run's timestamp and a key of its configuration. A marker whose
lock can be taken belongs to a run that died (SIGKILL, power loss, Ctrl-C before the end): the
next run of the same configuration deletes that run's partial `samples_*` and `*.tmp` files
and the marker. A finished run (its results file exists) keeps everything. Live runs into the
same folder hold their locks, so they are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: no cleanup, nothing else changes
    fcntl = None  # type: ignore[assignment]

MARKER_PREFIX = ".run_"
MARKER_SUFFIX = ".lock"


def config_key(config: dict[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _try_lock(handle: IO[str]) -> bool:
    if fcntl is None:
        return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _leftovers(out_dir: Path, stamp: str) -> list[Path]:
    if (out_dir / f"results_{stamp}.json").exists():
        return []  # it finished; only the marker is left over
    found = [
        p
        for p in out_dir.glob(f"samples_*_{stamp}*")
        if p.suffix in (".jsonl", ".tmp") and p.is_file()
    ]
    tmp = out_dir / f"results_{stamp}.tmp"
    return found + ([tmp] if tmp.is_file() else [])


class RunMarker:
    """The lock a running run holds on its output folder (see the module docstring)."""

    def __init__(self, out_dir: Path, stamp: str, key: str) -> None:
        self.out_dir = out_dir
        self.stamp = stamp
        self.key = key
        self.path = out_dir / f"{MARKER_PREFIX}{stamp}{MARKER_SUFFIX}"
        self._handle: IO[str] | None = None

    def start(self) -> list[Path]:
        """Remove what dead runs of this configuration left; take our own lock. Returns removed."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        removed = self._clean_dead_runs()
        # Locked and written under a private name, then renamed: another run never sees this
        # marker unlocked or empty (the lock belongs to the open file, which the rename keeps).
        staging = self.out_dir / f".staging{self.path.name}.{os.getpid()}"
        self._handle = open(staging, "w", encoding="utf-8")  # noqa: SIM115 - held for the run
        _try_lock(self._handle)
        self._handle.write(json.dumps({"stamp": self.stamp, "config": self.key}) + "\n")
        self._handle.flush()
        os.replace(staging, self.path)
        return removed

    def _clean_dead_runs(self) -> list[Path]:
        removed: list[Path] = []
        for marker in sorted(self.out_dir.glob(f"{MARKER_PREFIX}*{MARKER_SUFFIX}")):
            try:
                handle = open(marker, "r+", encoding="utf-8")  # noqa: SIM115
            except OSError:
                continue
            with handle:
                if not _try_lock(handle):
                    continue  # a live run holds it
                try:
                    info = json.loads(handle.read() or "{}")
                except ValueError:
                    info = {}
                if info.get("config") != self.key or not isinstance(info.get("stamp"), str):
                    continue
                for path in _leftovers(self.out_dir, info["stamp"]):
                    path.unlink(missing_ok=True)
                    removed.append(path)
                marker.unlink(missing_ok=True)
        return removed

    def finish(self) -> None:
        """The run completed: its files are final, the marker goes."""
        self.abandon()
        self.path.unlink(missing_ok=True)

    def abandon(self) -> None:
        """The run stopped early: release the lock, keep the marker for the next run to see."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
