"""CSV: one line per row, four fields per column (value, interval ends, item count)."""

from __future__ import annotations

import csv
import io
import json

from .board import Cell, Leaderboard
from .formatting import rank_text
from .slice_render import csv_columns as slice_columns

ROW_FIELDS = ["rank", "rank_p_value", "kind", "model", "model_args", "fingerprint", "source"]


def render_csv(board: Leaderboard) -> str:
    """Column names use stable keys (`task:metric`, `task#variant:metric` when split)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = list(ROW_FIELDS)
    for column in board.columns:
        header += [column.key, f"{column.key}:ci_low", f"{column.key}:ci_high", f"{column.key}:n"]
    sliced = slice_columns(board)
    for name, _, _, _ in sliced:
        header += [name, f"{name}:ci_low", f"{name}:ci_high", f"{name}:n"]
    slice_rows = {
        (id(table), row.row_index if row.kind == "run" else "ceiling"): row
        for _, table, _, _ in sliced
        for row in table.rows
    }
    writer.writerow(header)
    for row, group in board.ordered_rows():
        run = row.run
        if row.reference is not None:
            source = row.reference.citation
        elif run is not None:
            source = " ".join(str(p) for p in run.results_files)
        else:
            source = "computed from the vote counts"
        fields: list[object] = [
            rank_text(row, group),
            "" if group is None or group.p_vs_above is None else repr(group.p_vs_above),
            row.kind,
            row.label,
            json.dumps(run.model_args, sort_keys=True) if run else "",
            (run.fingerprint or "") if run else "",
            source,
        ]
        for column in board.columns:
            cell = row.cells.get(column.key)
            if cell is None:
                fields += ["", "", "", ""]
                continue
            fields += [
                repr(cell.value),
                repr(cell.ci[0]) if cell.ci else "",
                repr(cell.ci[1]) if cell.ci else "",
                "" if cell.n is None else cell.n,
            ]
        index = board.rows.index(row)
        for _, table, metric, part in sliced:
            slice_row = slice_rows.get((id(table), index if row.kind == "run" else row.kind))
            cell = None if slice_row is None else slice_row.cells.get((metric, part))
            fields += _cell_fields(cell)
        writer.writerow(fields)
    return out.getvalue()


def _cell_fields(cell: Cell | None) -> list[object]:
    if cell is None:
        return ["", "", "", ""]
    return [
        repr(cell.value),
        repr(cell.ci[0]) if cell.ci else "",
        repr(cell.ci[1]) if cell.ci else "",
        "" if cell.n is None else cell.n,
    ]
