"""LaTeX: a booktabs table (needs `\\usepackage{booktabs}`), intervals in small type."""

from __future__ import annotations

from .board import Column, Leaderboard
from .formatting import interval, legend, number, rank_text, reference_numbers
from .slice_render import latex_lines as slice_latex

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "·": r"$\cdot$",
    "–": "--",
    "−": "$-$",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "<": r"$<$",
    ">": r"$>$",
    "|": r"\textbar{}",
    "Δ": r"$\Delta$",
}


def escape(text: str) -> str:
    return "".join(_SPECIAL.get(ch, ch) for ch in text)


def _header(column: Column) -> str:
    arrow = {True: r" $\downarrow$", False: r" $\uparrow$", None: ""}[column.lower_is_better]
    task = escape(column.task_title)
    return rf"\shortstack{{{task}\\{escape(column.metric)}{arrow}}}"


def render_latex(board: Leaderboard) -> str:
    numbers = reference_numbers(board)
    columns = board.columns
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        r"\begin{tabular}{rl" + "c" * len(columns) + "}",
        r"\toprule",
        " & ".join(["Rank", "Model", *(_header(c) for c in columns)]) + r" \\",
        r"\midrule",
    ]
    for row, group in board.ordered_rows():
        label = escape(row.label)
        if row.kind == "reported" and row.reference is not None:
            label = rf"\textit{{{label}}}$^{{{numbers[row.reference.id]}}}$"
        elif row.kind == "ceiling":
            label = rf"\textit{{{label}}}"
        cells = []
        for column in columns:
            cell = row.cells.get(column.key)
            if cell is None:
                cells.append("--")
                continue
            value = number(cell.value)
            if (
                column.key == board.sort_key
                and row.kind == "run"
                and group is not None
                and group.group == 1
            ):
                value = rf"\textbf{{{value}}}"
            ci = rf" {{\scriptsize {interval(cell)}}}" if cell.ci else ""
            cells.append(value + ci)
        lines.append(" & ".join([escape(rank_text(row, group)), label, *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    caption = " ".join(escape(sentence) for sentence in legend(board))
    citations = " ".join(
        f"$^{{{numbers[ref.id]}}}$ {escape(ref.citation)}." for ref in board.references
    )
    missing = " ".join(f"Not entered yet: {escape(text)}" for text in board.missing_references)
    lines.append(
        rf"\caption{{{caption}{' ' + citations if citations else ''}"
        rf"{' ' + missing if missing else ''}}}"
    )
    lines.append(r"\end{table}")
    lines += slice_latex(board, escape)
    return "\n".join(lines) + "\n"
