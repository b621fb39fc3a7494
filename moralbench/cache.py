"""A persistent request cache: (backend fingerprint, request key) -> response.

sqlite in WAL mode, so several processes (accelerate shards) and an interrupted run can share
it. Answers are buffered in memory and written in one short transaction per flush, so a
process never holds the write lock while its model computes: two processes sharing the cache
each run at their own speed. The runner flushes before it writes the sample lines of the
answers, so every sample line on disk has its answer durable in the cache (a killed run
redoes nothing it logged). Failed responses are never stored, so they are retried next time.

The cache is verified, never blindly trusted: the file carries an application id and a schema
version (a foreign or newer database is refused with a message naming the file), and each row
a checksum; a row that fails its checksum or does not parse is a miss, counted in `corrupt`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .errors import MoralbenchError
from .requests import Response, response_from_json

CACHE_ENV = "MORALBENCH_CACHE"
#: `PRAGMA application_id` of a moralbench cache ("mbrc")
APPLICATION_ID = 0x6D627263
#: `PRAGMA user_version`: 2 added the application id and the per-row checksum
SCHEMA_VERSION = 2
_V1_COLUMNS = ["backend", "key", "response"]


def default_cache_path() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("moralbench")) / "requests.sqlite"


class CacheError(MoralbenchError):
    """The cache file cannot be used: names the file and how to get going again."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        super().__init__(
            f"request cache {self.path}: {reason}; run with --no-cache, choose another "
            "--cache-path, or delete the file (`moralbench cache clear`) to rebuild it"
        )


def row_checksum(backend: str, key: str, payload: str) -> str:
    digest = hashlib.sha256()
    for part in (backend, key, payload):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _decode_row(backend: str, key: str, payload: str, checksum: str) -> Response | None:
    """The response a row holds, or None when the row is damaged."""
    if checksum != row_checksum(backend, key, payload):
        return None
    try:
        data = json.loads(payload)
        if not isinstance(data, dict):
            return None
        response = response_from_json(data)
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    return response if response.error is None else None


def check_cache_path(path: Path) -> None:
    """Refuse a cache path that cannot be a cache file, before any work is done."""
    if path.is_dir():
        raise CacheError(path, "this is a folder; --cache-path takes a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise CacheError(path, f"cannot create the file: {parent} is not a writable folder")


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    schema_version: int
    rows: int
    backends: int
    size_bytes: int


class RequestCache:
    def __init__(
        self, path: Path | str, commit_every: int = 2048, busy_timeout: float = 60.0
    ) -> None:
        self.path = Path(path)
        check_cache_path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._commit_every = commit_every
        self._buffer: list[tuple[str, str, str, str]] = []
        self._last_commit = time.monotonic()
        self.hits = 0
        self.misses = 0
        self.corrupt = 0
        try:
            # isolation_level=None: no implicit transactions; every write is an explicit,
            # short BEGIN IMMEDIATE ... COMMIT.
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise CacheError(self.path, f"cannot open ({exc})") from exc
        try:
            with self._errors():
                self._open_schema()
        except BaseException:
            self._db.close()
            raise

    # -- opening ---------------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            reason = str(exc)
            if "not a database" in reason or "malformed" in reason:
                reason = f"not a usable sqlite database ({reason}): truncated or overwritten?"
            raise CacheError(self.path, reason) from exc

    def _tables(self) -> dict[str, list[str]]:
        names = [
            row[0]
            for row in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: [col[1] for col in self._db.execute(f'PRAGMA table_info("{name}")')]
            for name in names
        }

    def _open_schema(self) -> None:
        self._classify()  # read-only: a foreign database is refused before anything is written
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._transaction():
            kind = self._classify()
            if kind == "empty":
                self._db.execute(
                    "CREATE TABLE responses (backend TEXT NOT NULL, key TEXT NOT NULL,"
                    " response TEXT NOT NULL, checksum TEXT NOT NULL,"
                    " PRIMARY KEY (backend, key))"
                )
            elif kind == "v1":
                self._migrate_v1()
            if kind != "current":
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _classify(self) -> str:
        """'current', 'empty' or 'v1' (the unversioned cache of moralbench 0.1); else refuse."""
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = self._tables()
        if app_id == APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise CacheError(
                    self.path,
                    f"written by a newer moralbench (cache schema {version}, this one reads "
                    f"up to {SCHEMA_VERSION})",
                )
            if "responses" not in tables:
                raise CacheError(self.path, "the responses table is missing")
            return "current"
        if app_id == 0 and not tables:
            return "empty"
        if app_id == 0 and version == 0 and tables == {"responses": _V1_COLUMNS}:
            return "v1"
        raise CacheError(
            self.path, "not a moralbench request cache (a foreign sqlite database); not touched"
        )

    def _migrate_v1(self) -> None:
        self._db.execute("ALTER TABLE responses ADD COLUMN checksum TEXT NOT NULL DEFAULT ''")
        rows = self._db.execute("SELECT backend, key, response FROM responses").fetchall()
        self._db.executemany(
            "UPDATE responses SET checksum = ? WHERE backend = ? AND key = ?",
            [(row_checksum(b, k, r), b, k) for b, k, r in rows],
        )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- reading and writing ---------------------------------------------------------------
    def get_many(self, backend: str, keys: Iterable[str]) -> dict[str, Response]:
        found: dict[str, Response] = {}
        keys = list(keys)
        with self._errors():
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT key, response, checksum FROM responses "
                    f"WHERE backend = ? AND key IN ({marks})",
                    [backend, *chunk],
                ).fetchall()
                for key, payload, checksum in rows:
                    response = _decode_row(backend, key, payload, checksum)
                    if response is None:
                        self.corrupt += 1
                    else:
                        found[key] = response
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put(self, backend: str, key: str, response: Response) -> None:
        """Buffer an answer; it is written at the next `flush` (at the latest every second)."""
        if response.error is not None:
            return
        payload = json.dumps(response.to_json(), ensure_ascii=False)
        self._buffer.append((backend, key, payload, row_checksum(backend, key, payload)))
        if len(self._buffer) >= self._commit_every or time.monotonic() - self._last_commit > 1.0:
            self.flush()

    def flush(self) -> None:
        """Write the buffered answers in one short transaction; durable when this returns."""
        self._last_commit = time.monotonic()
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        with self._errors(), self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO responses (backend, key, response, checksum) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()

    # -- maintenance (`moralbench cache ...`) ---------------------------------------------
    def info(self) -> CacheInfo:
        with self._errors():
            rows = self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            backends = self._db.execute("SELECT COUNT(DISTINCT backend) FROM responses").fetchone()[
                0
            ]
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        size = sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"))
            if p.exists() and p.is_file()
        )
        return CacheInfo(self.path, version, rows, backends, size)

    def verify(self, *, delete_bad: bool = False) -> tuple[int, list[tuple[str, str]]]:
        """(rows checked, (backend, key) of each damaged row); optionally delete those."""
        bad: list[tuple[str, str]] = []
        checked = 0
        with self._errors():
            cursor = self._db.execute("SELECT backend, key, response, checksum FROM responses")
            for backend, key, payload, checksum in cursor:
                checked += 1
                if _decode_row(backend, key, payload, checksum) is None:
                    bad.append((backend, key))
            if delete_bad and bad:
                with self._transaction():
                    self._db.executemany("DELETE FROM responses WHERE backend = ? AND key = ?", bad)
        return checked, bad

    def clear(self) -> int:
        """Delete every row; returns how many there were."""
        with self._errors():
            with self._transaction():
                count = self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
                self._db.execute("DELETE FROM responses")
            self._db.execute("VACUUM")
        return int(count)


class NullCache:
    """`--no-cache`: the same interface, remembering nothing."""

    hits = 0
    misses = 0
    corrupt = 0

    def get_many(self, backend: str, keys: Iterable[str]) -> dict[str, Response]:
        self.misses += len(list(keys))
        return {}

    def put(self, backend: str, key: str, response: Response) -> None:
        return None

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None
