"""Finding and reading the files `moralbench run` writes: results JSON and samples JSONL.

A results file is `<out>/<model-slug>/results_<stamp>.json`; each task it reports names its
samples file in `samples_files`. Samples are looked for beside the results file first (so a
results folder can be moved or copied), then at the path recorded at run time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data_files import JsonTextError, parse_json, read_jsonl
from .errors import ResultsFileError

RESULTS_PATTERN = "results_*.json"
_REQUIRED = {"results": dict, "config": dict, "versions": dict, "data": dict}


@dataclass(frozen=True)
class ResultsFile:
    """One parsed results JSON file."""

    path: Path
    payload: dict[str, Any] = field(repr=False)

    @property
    def stamp(self) -> str:
        """The run's timestamp from the file name (sorts in time order)."""
        return self.path.stem.removeprefix("results_")

    @property
    def config(self) -> dict[str, Any]:
        return self.payload["config"]

    @property
    def task_names(self) -> list[str]:
        return list(self.payload["results"])

    def samples_path(self, task: str) -> Path | None:
        """The samples file of `task`, or None when the run logged none or it is gone."""
        recorded = (self.payload.get("samples_files") or {}).get(task)
        if not recorded:
            return None
        beside = self.path.parent / Path(str(recorded)).name
        if beside.is_file():
            return beside
        original = Path(str(recorded))
        return original if original.is_file() else None


def find_results_files(paths: Iterable[Path | str]) -> list[Path]:
    """Results files named by `paths`: files as given, folders searched recursively.

    The same file reached twice (a folder and a file inside it) is listed once.
    """
    found: dict[Path, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            matches = sorted(path.rglob(RESULTS_PATTERN))
            if not matches:
                raise ResultsFileError(path, None, f"no {RESULTS_PATTERN} files in this folder")
        elif path.is_file():
            matches = [path]
        else:
            raise ResultsFileError(path, None, "no such file or folder")
        for match in matches:
            found.setdefault(match.resolve(), match)
    return list(found.values())


def load_results_file(path: Path) -> ResultsFile:
    """Parse and check one results JSON file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsFileError(path, None, f"not valid UTF-8 ({exc.reason})") from exc
    try:
        payload = parse_json(text, allow_nan=False)
    except JsonTextError as exc:
        raise ResultsFileError(path, exc.line, exc.reason) from exc
    if not isinstance(payload, dict):
        raise ResultsFileError(path, 1, "expected a JSON object (a moralbench results file)")
    for key, kind in _REQUIRED.items():
        if not isinstance(payload.get(key), kind):
            raise ResultsFileError(
                path, None, f"missing or malformed {key!r}: is this a moralbench results file?"
            )
    config = payload["config"]
    if not isinstance(config.get("model"), str) or not isinstance(config.get("model_args"), dict):
        raise ResultsFileError(path, None, "config needs 'model' (text) and 'model_args' (map)")
    tasks = payload["versions"].get("tasks")
    if not isinstance(tasks, dict):
        raise ResultsFileError(path, None, "missing 'versions.tasks'")
    for task, metrics in payload["results"].items():
        if not isinstance(metrics, dict):
            raise ResultsFileError(path, None, f"results[{task!r}] is not a map of metrics")
        if task not in tasks:
            raise ResultsFileError(path, None, f"task {task!r} has no entry in versions.tasks")
    return ResultsFile(path, payload)


def _check_finite(path: Path, line: int, record: dict[str, Any]) -> None:
    """Probabilities and log-probabilities must be finite numbers (NaN names file and line)."""
    for key in ("probs", "logprobs"):
        values = record.get(key)
        if values is None:
            continue
        if not isinstance(values, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        ):
            raise ResultsFileError(path, line, f"{key!r} must be a list of finite numbers")


def load_samples(path: Path) -> list[dict[str, Any]]:
    """Every sample record of a samples JSONL file, in the run's document order."""
    records: list[dict[str, Any]] = []
    for number, record in read_jsonl(path, ResultsFileError):
        if not isinstance(record.get("doc_id"), str):
            raise ResultsFileError(path, number, "expected a sample object with a doc_id")
        _check_finite(path, number, record)
        record["_line"] = number
        records.append(record)
    # Lines are streamed as documents complete; `_index` restores the run's document order,
    # which the run's bootstrap and ceiling draws followed.
    if records and all(isinstance(r.get("_index"), int) for r in records):
        records.sort(key=lambda r: r["_index"])
    ids = [r["doc_id"] for r in records]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        for record in records:
            if record["doc_id"] in seen:
                raise ResultsFileError(
                    path, record["_line"], f"doc_id {record['doc_id']!r} appears twice"
                )
            seen.add(record["doc_id"])
    return records
