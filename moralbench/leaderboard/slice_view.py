"""The clear-versus-contested view: each model's numbers on the items people agree on and on
those they dispute, side by side, with the gap and the human ceiling per slice.

Read from the `slices` section each task with vote counts writes into its results (see
`moralbench.metrics.slices`); nothing is recomputed here. A task variant gets one table per
pair of slices it reports: clear / contested by the top label's vote share, and for Scruples
dilemmas also the dataset's own `controversial` flag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .board import Cell, Column, Leaderboard, Row
from .task_results import TaskResult
from .variants import TaskVariant

#: slice pairs shown, first minus second
SLICE_PAIRS = (("clear", "contested"), ("not_controversial", "controversial"))
#: metrics shown when none of the overview's metrics has slice values
FALLBACK_METRICS = ("accuracy", "xentropy")
GAP = "gap"


def slice_title(name: str) -> str:
    return name.replace("not_", "not ").replace("_", " ")


@dataclass
class SliceRow:
    kind: str  # "run" or "ceiling"
    label: str
    row_index: int | None  # index into Leaderboard.rows (None for the ceiling)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (metric, slice or gap)


@dataclass
class SliceTable:
    variant: TaskVariant
    title: str
    first: str
    second: str
    by: str  # how the slices are defined
    metrics: list[Column]
    rows: list[SliceRow]
    notes: list[str]

    @property
    def key(self) -> str:
        return f"{self.metrics[0].key.rsplit(':', 1)[0]}@{self.first}-{self.second}"

    @property
    def parts(self) -> tuple[str, str, str]:
        return (self.first, self.second, GAP)

    def part_title(self, part: str) -> str:
        if part == GAP:
            return f"gap ({slice_title(self.first)} − {slice_title(self.second)})"
        return slice_title(part)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ci(value: Any) -> tuple[float, float] | None:
    if isinstance(value, list) and len(value) == 2 and all(_number(v) for v in value):
        return float(value[0]), float(value[1])
    return None


def _group_cell(group: dict[str, Any], metric: str) -> Cell | None:
    if not _number(group.get(metric)):
        return None
    n = group.get("n")
    return Cell(
        float(group[metric]), _ci(group.get(f"{metric}_ci")), int(n) if _number(n) else None
    )


def _by(slices: dict[str, Any], first: str) -> str:
    by = slices.get("by") or {}
    key = "agreement" if first == "clear" else first.removeprefix("not_")
    return str(by.get(key, ""))


Entry = tuple[int, Row, TaskResult]  # (index into Leaderboard.rows, the row, its result)


def _with_slices(entries: list[Entry], first: str, second: str) -> list[Entry]:
    return [
        (i, row, result)
        for i, row, result in entries
        if result.slices
        and first in (result.slices.get("groups") or {})
        and second in (result.slices.get("groups") or {})
    ]


def _wanted_metrics(
    board: Leaderboard, variant: TaskVariant, with_slices: list[Entry]
) -> list[Column]:
    """The overview's metrics that have slice values, else the fallback ones that do."""
    present = {
        metric
        for _, _, result in with_slices
        for group in (result.slices or {}).get("groups", {}).values()
        for metric in group
        if _number(group.get(metric))
    }
    wanted = [c for c in board.columns if c.variant == variant and c.metric in present]
    if wanted:
        return wanted
    columns = [c for c in board.all_columns if c.variant == variant]
    return [c for c in columns if c.metric in FALLBACK_METRICS and c.metric in present]


def _run_row(
    i: int, label: str, slices: dict[str, Any], wanted: list[Column], first: str, second: str
) -> SliceRow:
    groups = slices["groups"]
    gap = (slices.get("gaps") or {}).get(f"{first}-{second}") or {}
    out = SliceRow("run", label, i)
    for column in wanted:
        for part in (first, second):
            cell = _group_cell(groups[part], column.metric)
            if cell is not None:
                out.cells[(column.metric, part)] = cell
        if _number(gap.get(column.metric)):
            out.cells[(column.metric, GAP)] = Cell(
                float(gap[column.metric]), _ci(gap.get(f"{column.metric}_ci"))
            )
    return out


def _small_slice_notes(label: str, groups: dict[str, Any], first: str, second: str) -> list[str]:
    return [
        f"{label}, {slice_title(part)}: {note}"
        for part in (first, second)
        for note in groups[part].get("notes") or []
        if "fewer than" in note or "no items" in note
    ]


def _ceiling_row(
    with_slices: list[Entry], wanted: list[Column], first: str, second: str
) -> SliceRow:
    """Per slice, the human ceiling of the run that scored the most items in it."""
    ceiling = SliceRow("ceiling", "Human ceiling", None)
    for part in (first, second):
        best = max(
            (r.slices["groups"][part] for _, _, r in with_slices if r.slices),
            key=lambda g: g.get("n") or 0,
        )
        for column in wanted:
            value = (best.get("ceiling") or {}).get(column.metric)
            if _number(value):
                ceiling.cells[(column.metric, part)] = Cell(float(value), None, best.get("n"))
    for column in wanted:
        a = ceiling.cells.get((column.metric, first))
        b = ceiling.cells.get((column.metric, second))
        if a is not None and b is not None:
            ceiling.cells[(column.metric, GAP)] = Cell(a.value - b.value)
    return ceiling


def _table(board: Leaderboard, variant: TaskVariant, first: str, second: str) -> SliceTable | None:
    entries = [
        (i, row, row.run.tasks[variant])
        for i, row in enumerate(board.rows)
        if row.kind == "run" and row.run is not None and variant in row.run.tasks
    ]
    with_slices = _with_slices(entries, first, second)
    if not with_slices:
        return None
    wanted = _wanted_metrics(board, variant, with_slices)
    if not wanted:
        return None
    sliced = {i for i, _, _ in with_slices}
    notes: list[str] = [
        f"{row.label}: no {slice_title(first)} / {slice_title(second)} slices in its results "
        "(results without a `slices` section, or shards merged here, whose slices are not "
        "recomputed)"
        for i, row, _ in entries
        if i not in sliced
    ]
    rows: list[SliceRow] = []
    definitions = set()
    for i, row, result in with_slices:
        slices = result.slices or {}
        definitions.add(_by(slices, first))
        rows.append(_run_row(i, row.label, slices, wanted, first, second))
        notes.extend(_small_slice_notes(row.label, slices["groups"], first, second))
    ceiling = _ceiling_row(with_slices, wanted, first, second)
    if ceiling.cells and board.options.show_ceiling:
        rows.append(ceiling)
    if len(definitions) > 1:
        notes.append(f"runs cut their items differently: {'; '.join(sorted(definitions))}")
    return SliceTable(
        variant=variant,
        title=wanted[0].task_title,
        first=first,
        second=second,
        by="; ".join(sorted(d for d in definitions if d)),
        metrics=wanted,
        rows=rows,
        notes=notes,
    )


def slice_tables(
    board: Leaderboard, pairs: Sequence[tuple[str, str]] = SLICE_PAIRS
) -> list[SliceTable]:
    """One table per task variant and slice pair that some run reported."""
    tables = []
    for variant in board.variants():
        for first, second in pairs:
            table = _table(board, variant, first, second)
            if table is not None:
                tables.append(table)
    return tables


def gap_sentence(table: SliceTable) -> str:
    return (
        f"Each model's metrics on the {slice_title(table.first)} and the "
        f"{slice_title(table.second)} items ({table.by}), and the gap "
        f"{slice_title(table.first)} − {slice_title(table.second)} with its 95% interval "
        "from a paired bootstrap (both slices recomputed on each resample of the split's "
        "items). The human ceiling is given per slice."
    )
