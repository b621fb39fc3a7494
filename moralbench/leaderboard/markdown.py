"""GitHub-flavoured markdown: the table, its legend, runs, notes and citations."""

from __future__ import annotations

from .board import Leaderboard, Row
from .formatting import (
    cell_text,
    column_title,
    items_vary,
    legend,
    rank_text,
    reference_numbers,
)
from .slice_render import markdown_lines as slice_markdown


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _label(row: Row, numbers: dict[str, int]) -> str:
    if row.kind == "reported" and row.reference is not None:
        status = row.reference.status.removesuffix(", not reproduced")
        return f"{_escape(row.label)} *({_escape(status)} [{numbers[row.reference.id]}])*"
    if row.kind == "ceiling":
        return f"*{_escape(row.label)}*"
    return _escape(row.label)


def render_markdown(board: Leaderboard) -> str:
    numbers = reference_numbers(board)
    columns = board.columns
    vary = {c.key: items_vary(board, c) for c in columns}
    lines = ["# moralbench leaderboard", ""]
    header = ["Rank", "Model", *(_escape(column_title(c)) for c in columns)]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---:", "---", *(["---"] * len(columns))]) + "|")
    for row, group in board.ordered_rows():
        cells = []
        for column in columns:
            text = cell_text(row.cells.get(column.key), with_n=vary[column.key])
            top = (
                column.key == board.sort_key
                and row.kind == "run"
                and group is not None
                and group.group == 1
                and text
            )
            cells.append(f"**{text}**" if top else text)
        lines.append(
            "| " + " | ".join([rank_text(row, group), _label(row, numbers), *cells]) + " |"
        )
    lines += ["", *legend(board), ""]
    counts = []
    for column in columns:
        ns = sorted(
            {
                r.cells[column.key].n
                for r in board.rows
                if r.kind == "run" and column.key in r.cells and r.cells[column.key].n is not None
            }
        )
        if ns and not vary[column.key]:
            counts.append(f"{_escape(column.task_title)}: {ns[0]}")
    if counts:
        lines += ["Items per task: " + ", ".join(dict.fromkeys(counts)) + ".", ""]
    lines += slice_markdown(board)
    lines += ["## Runs", ""]
    for run in board.run_rows:
        args = ", ".join(f"{k}={v}" for k, v in run.model_args.items()) or "none"
        files = ", ".join(p.name for p in run.results_files)
        fingerprint = (run.fingerprint or "none")[:12]
        lines.append(
            f"- **{_escape(run.label)}**: `{run.model}` with {_escape(args)}; "
            f"fingerprint {fingerprint}; results {_escape(files)}"
        )
    if board.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {_escape(note)}" for note in board.notes]
    if board.references:
        lines += ["", "## Reported, not reproduced", ""]
        for ref in board.references:
            url = f" <{ref.url}>" if ref.url else ""
            note = f" {ref.note}" if ref.note else ""
            lines.append(f"{numbers[ref.id]}. {_escape(ref.citation)}.{url}{_escape(note)}")
    if board.missing_references:
        lines += ["", "## Not entered yet", ""]
        lines += [f"- {_escape(text)}" for text in board.missing_references]
    return "\n".join(lines) + "\n"
