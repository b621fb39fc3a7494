"""The HTML page's "Clear vs contested" view: its tables and figures, ready for the template."""

from __future__ import annotations

from typing import Any

from .board import Cell, Leaderboard
from .formatting import interval, number
from .slice_render import gap_text
from .slice_view import GAP, gap_sentence, slice_tables


def _cell(cell: Cell | None, gap: bool) -> dict[str, Any] | None:
    if cell is None:
        return None
    text = gap_text(cell).split(" [")[0] if gap else number(cell.value)
    return {
        "value": repr(cell.value),
        "text": text,
        "ci": interval(cell),
        "n": cell.n if not gap else None,
    }


def agreement_view(board: Leaderboard, colours: dict[int, str], *, plots: bool) -> list[dict]:
    """One entry per slice table: header, rows of cells, the figure (when plots are on)."""
    out = []
    for index, table in enumerate(slice_tables(board)):
        figure = None
        if plots:
            from .slice_plot import slice_figure

            figure = slice_figure(table, colours)
        out.append(
            {
                "id": f"slices-{index}",
                "title": table.title,
                "first": table.first,
                "second": table.second,
                "metrics": [
                    {
                        "metric": c.metric,
                        "arrow": c.arrow,
                        "parts": [table.part_title(p) for p in table.parts],
                    }
                    for c in table.metrics
                ],
                "rows": [
                    {
                        "kind": row.kind,
                        "label": row.label,
                        "colour": colours.get(row.row_index, "")
                        if row.row_index is not None
                        else "",
                        "cells": [
                            {
                                "part": part,
                                **(
                                    _cell(row.cells.get((c.metric, part)), part == GAP)
                                    or {"empty": True}
                                ),
                            }
                            for c in table.metrics
                            for part in table.parts
                        ],
                    }
                    for row in table.rows
                ],
                "caption": gap_sentence(table),
                "notes": table.notes,
                "figure": figure,
            }
        )
    return out
