"""Text pieces every renderer shares: numbers, rank labels, the legend."""

from __future__ import annotations

from .board import Cell, Column, Leaderboard, Row
from .significance import RankGroup

DECIMALS = 3


def number(value: float) -> str:
    return f"{value:.{DECIMALS}f}"


def interval(cell: Cell) -> str:
    return f"[{number(cell.ci[0])}, {number(cell.ci[1])}]" if cell.ci else ""


def cell_text(cell: Cell | None, *, with_n: bool = False) -> str:
    if cell is None:
        return ""
    parts = [number(cell.value)]
    if cell.ci:
        parts.append(interval(cell))
    if with_n and cell.n is not None:
        parts.append(f"(n={cell.n})")
    return " ".join(parts)


def rank_text(row: Row, group: RankGroup | None) -> str:
    if row.kind == "reported":
        return "ref"
    if row.kind == "ceiling":
        return "ceiling"
    if group is None or group.group is None:
        return "–"
    return str(group.group)


def direction(column: Column) -> str:
    if column.lower_is_better is None:
        return "direction unknown"
    return "lower is better" if column.lower_is_better else "higher is better"


def column_title(column: Column) -> str:
    return f"{column.task_title} {column.metric} {column.arrow}".strip()


def items_vary(board: Leaderboard, column: Column) -> bool:
    """Whether the run rows of a column cover different numbers of items."""
    ns = {r.cells[column.key].n for r in board.rows if r.kind == "run" and column.key in r.cells}
    return len(ns) > 1


def legend(board: Leaderboard) -> list[str]:
    """Sentences explaining the table (shared by markdown, LaTeX captions and HTML)."""
    sort = board.column(board.sort_key)
    options = board.options
    return [
        f"Sorted by {column_title(sort)} ({direction(sort)}).",
        "Values are the metric over the task's items with its 95% bootstrap interval.",
        f"Rank: rows share a rank when a paired bootstrap ({options.n_resamples:,} resamples "
        f"over the items both rows scored) does not separate them from the row above at "
        f"p < {options.alpha:g}.",
        "Reported rows are copied from papers (reported, not reproduced); the human ceiling "
        "is the expected score of an oracle that knows each item's vote distribution.",
    ]


def reference_numbers(board: Leaderboard) -> dict[str, int]:
    return {ref.id: i for i, ref in enumerate(board.references, start=1)}
