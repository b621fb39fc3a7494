"""Reading local data files line by line, with errors that name file and line."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import jsonlines
import platformdirs

from .errors import FileLineError, TaskDataError

DATA_ENV = "MORALBENCH_DATA"


def default_data_dir() -> Path:
    """`$MORALBENCH_DATA`, else the platform's user data folder."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("moralbench")) / "data"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class JsonTextError(ValueError):
    """JSON text that cannot be read safely; `reason` says why, `line` where (when known)."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def _no_constants(name: str) -> Any:
    raise JsonTextError(f"{name} is not a JSON number")


def parse_json(text: str, *, allow_nan: bool = True) -> Any:
    """`json.loads` with every hostile input turned into a `JsonTextError`.

    Nesting too deep for the parser, integers longer than Python converts, NaN/Infinity (not
    JSON; refused unless `allow_nan`) and lone UTF-16 surrogates (`"\\ud800"`, which no file
    or tokenizer can encode) are refused with a reason instead of a raw RecursionError,
    ValueError or UnicodeEncodeError.
    """
    try:
        value = json.loads(text, parse_constant=None if allow_nan else _no_constants)
    except JsonTextError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonTextError(f"bad JSON: {exc.msg}", exc.lineno) from exc
    except RecursionError as exc:
        raise JsonTextError("bad JSON: nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise JsonTextError(f"bad JSON: {exc}") from exc
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise JsonTextError("bad JSON: a lone UTF-16 surrogate (\\ud800-\\udfff)") from exc
        except RecursionError as exc:
            raise JsonTextError("bad JSON: nested too deeply") from exc
    return value


#: characters jsonlines drops at the start of any line; here they are not JSON (after line 1)
_SKIPPED_BY_JSONLINES = ("\ufeff", "\x1e")


class _TextLines:
    """The non-blank lines of a binary JSONL file as text, counting every line.

    Decoding, the byte-order mark (allowed on line 1 only) and blank lines are handled here,
    so jsonlines, which would drop those marks on every line, sees plain JSON text.
    """

    def __init__(self, path: Path, handle: IO[bytes], error: type[FileLineError]) -> None:
        self.path, self.handle, self.error = path, handle, error
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.number += 1
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.error(self.path, self.number, f"not valid UTF-8 ({exc.reason})") from exc
            if self.number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            if line.startswith(_SKIPPED_BY_JSONLINES):
                try:
                    parse_json(line)  # not JSON: raises with json's own reason
                except JsonTextError as exc:
                    raise self.error(self.path, self.number, exc.reason) from exc
            yield line


def read_jsonl(
    path: Path, error: type[FileLineError] = TaskDataError
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, object); blank lines are skipped, bad JSON is an `error`.

    jsonlines reads the lines, and `parse_json` parses each, so hostile JSON is refused with a
    reason and the line it is on.
    """
    with open(path, "rb") as handle:
        lines = _TextLines(path, handle, error)
        reader = jsonlines.Reader(lines, loads=parse_json)
        while True:
            try:
                obj = reader.read(allow_none=True)
            except EOFError:
                return
            except jsonlines.InvalidLineError as exc:
                cause = exc.__cause__
                reason = cause.reason if isinstance(cause, JsonTextError) else str(exc)
                raise error(path, lines.number, reason) from exc
            if not isinstance(obj, dict):
                raise error(path, lines.number, "expected a JSON object")
            yield lines.number, obj


_BOM = b"\xef\xbb\xbf"


def read_csv(path: Path, required: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (1-based physical line number of the row's start, row); BOM-tolerant UTF-8.

    Lines end only at \\n, \\r or \\r\\n (the csv module's own rule): \\x0b, \\x1d, U+0085 or
    U+2028 inside a cell are text, not line breaks.
    """
    data = path.read_bytes()
    body = data.removeprefix(_BOM)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise TaskDataError(path, line, f"not valid UTF-8 ({exc.reason})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise TaskDataError(path, 1, f"bad CSV header: {exc}") from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise TaskDataError(path, 1, f"missing column(s) {', '.join(missing)}; found {header}")
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise TaskDataError(path, start, f"bad CSV: {exc}") from exc
        if None in row:
            raise TaskDataError(path, start, "more cells than header columns")
        yield start, row
