"""Finding and reading the files `moralbench run` writes: results JSON and samples JSONL.

A results file is `<out>/<model-slug>/results_<stamp>.json`; each task it reports names its
samples file. Samples are looked for beside the results file first (so a results folder can
be moved or copied), then at the path recorded at run time. Both are parsed by the classes
the runner writes them with (`RunResult`, `SampleRecord`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data_files import JsonTextError, parse_json, read_jsonl
from ..run_result import ResultsFormatError, RunResult
from ..sample_record import SampleFormatError, SampleRecord
from .errors import ResultsFileError

RESULTS_PATTERN = "results_*.json"


@dataclass(frozen=True)
class ResultsFile:
    """One parsed results JSON file."""

    path: Path
    result: RunResult = field(repr=False)

    @property
    def stamp(self) -> str:
        """The run's timestamp from the file name (sorts in time order)."""
        return self.path.stem.removeprefix("results_")

    @property
    def config(self) -> dict[str, Any]:
        return self.result.config

    @property
    def task_names(self) -> list[str]:
        return self.result.task_names

    def samples_path(self, task: str) -> Path | None:
        """The samples file of `task`, or None when the run logged none or it is gone."""
        recorded = self.result.outcome(task).samples_file
        if not recorded:
            return None
        beside = self.path.parent / Path(recorded).name
        if beside.is_file():
            return beside
        original = Path(recorded)
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
    """Parse and check one results JSON file (any schema version this moralbench reads)."""
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
    try:
        return ResultsFile(path, RunResult.from_json(payload))
    except ResultsFormatError as exc:
        raise ResultsFileError(path, None, str(exc)) from exc


def load_samples(path: Path) -> list[SampleRecord]:
    """Every sample record of a samples JSONL file, in the run's document order."""
    records: list[SampleRecord] = []
    for number, obj in read_jsonl(path, ResultsFileError):
        try:
            records.append(SampleRecord.from_json(obj, line=number))
        except SampleFormatError as exc:
            raise ResultsFileError(path, number, str(exc)) from exc
    # Lines are streamed as documents complete; the index restores the run's document order,
    # which the run's bootstrap and ceiling draws followed.
    if records and all(r.index is not None for r in records):
        records.sort(key=lambda r: r.index or 0)
    seen: set[str] = set()
    for record in records:
        if record.doc_id in seen:
            raise ResultsFileError(path, record.line, f"doc_id {record.doc_id!r} appears twice")
        seen.add(record.doc_id)
    return records
