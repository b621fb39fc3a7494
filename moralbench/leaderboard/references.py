"""Rows reported in papers, shown beside model rows and marked "reported, not reproduced".

The built-in rows live in `reference_rows.yaml` beside this module (its header describes the
format); users add their own files with `--references`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ResultsFileError

BUILTIN_REFERENCES = Path(__file__).with_name("reference_rows.yaml")
_UNITS = {"fraction": 1.0, "percent": 100.0}
_LINE = "__line__"


@dataclass(frozen=True)
class Reference:
    """A paper: its citation and the note that applies to all its rows."""

    id: str
    citation: str
    url: str
    note: str
    #: how the rows are labelled: "reported, not reproduced" unless the file says more
    status: str = "reported, not reproduced"


@dataclass(frozen=True)
class ReferenceRow:
    reference: Reference
    model: str
    task: str
    split: str
    values: dict[str, float]  # as fractions when the metric is a share
    #: task options a column's run must have used (e.g. the paper's template), else any
    where: tuple[tuple[str, str], ...] = ()


class _LineLoader(yaml.SafeLoader):
    """Safe YAML loader that remembers the line of every mapping (for error messages)."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _text(entry: dict[str, Any], key: str, path: Path, *, required: bool = True) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ResultsFileError(path, entry.get(_LINE), f"{key!r} must be non-empty text")
    return " ".join(value.split())


def _where(value: Any, path: Path, line: int | None) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ResultsFileError(path, line, "'where' must map task options to values")
    return tuple(sorted((str(k), str(v)) for k, v in value.items() if k != _LINE))


def _row(
    entry: Any,
    reference: Reference,
    split: str,
    scale: float,
    path: Path,
    where: tuple[tuple[str, str], ...] = (),
) -> ReferenceRow:
    if not isinstance(entry, dict):
        raise ResultsFileError(path, None, f"rows of {reference.id!r} must be maps")
    line = entry.get(_LINE)
    values = entry.get("values")
    if not isinstance(values, dict) or not [k for k in values if k != _LINE]:
        raise ResultsFileError(path, line, "a row needs 'values': {metric: number}")
    parsed: dict[str, float] = {}
    for metric, value in values.items():
        if metric == _LINE:
            continue
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise ResultsFileError(path, line, f"value of {metric!r} must be a number")
        parsed[str(metric)] = float(value) / scale
    return ReferenceRow(
        reference=reference,
        model=_text(entry, "model", path),
        task=_text(entry, "task", path),
        split=str(entry.get("split", split)),
        values=parsed,
        where=_where(entry.get("where"), path, line) or where,
    )


def load_references(path: Path) -> list[ReferenceRow]:
    """Every row of one reference file."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ResultsFileError(
            path, mark.line + 1 if mark else None, f"invalid YAML: {exc}"
        ) from exc
    except OSError as exc:
        raise ResultsFileError(path, None, f"cannot read: {exc.strerror}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("references"), list):
        raise ResultsFileError(path, None, "expected a map with a 'references' list")
    rows: list[ReferenceRow] = []
    for entry in document["references"]:
        if not isinstance(entry, dict):
            raise ResultsFileError(path, None, "each reference must be a map")
        line = entry.get(_LINE)
        unit = entry.get("unit", "fraction")
        if unit not in _UNITS:
            raise ResultsFileError(path, line, f"unit must be one of {', '.join(_UNITS)}")
        reference = Reference(
            id=_text(entry, "id", path),
            citation=_text(entry, "citation", path),
            url=_text(entry, "url", path, required=False),
            note=_text(entry, "note", path, required=False),
            status=_text(entry, "status", path, required=False) or "reported, not reproduced",
        )
        if not isinstance(entry.get("rows"), list) or not entry["rows"]:
            raise ResultsFileError(path, line, f"reference {reference.id!r} has no rows")
        split = str(entry.get("split", "test"))
        where = _where(entry.get("where"), path, line)
        rows += [_row(r, reference, split, _UNITS[unit], path, where) for r in entry["rows"]]
    return rows


def load_missing(paths: Iterable[Path]) -> list[str]:
    """The `missing` sentences of reference files: papers whose figures are not entered yet."""
    out: list[str] = []
    for path in paths:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue  # load_references reports the problem
        missing = document.get("missing") if isinstance(document, dict) else None
        if isinstance(missing, list):
            out += [" ".join(str(m).split()) for m in missing if isinstance(m, str) and m.strip()]
    return out


def load_reference_files(paths: Iterable[Path]) -> list[ReferenceRow]:
    return [row for path in paths for row in load_references(path)]
