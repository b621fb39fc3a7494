"""The clear-versus-contested view as markdown, LaTeX and JSON (CSV adds columns instead)."""

from __future__ import annotations

from typing import Any

from .board import Cell, Leaderboard
from .formatting import cell_text, interval, number
from .slice_view import GAP, SliceTable, gap_sentence, slice_tables


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def gap_text(cell: Cell | None) -> str:
    if cell is None:
        return ""
    sign = "+" if cell.value > 0 else ""
    text = f"{sign}{number(cell.value)}"
    return f"{text} {interval(cell)}" if cell.ci else text


def _text(table: SliceTable, metric: str, part: str, cell: Cell | None) -> str:
    if part == GAP:
        return gap_text(cell)
    return cell_text(cell, with_n=True)


def markdown_lines(board: Leaderboard) -> list[str]:
    tables = slice_tables(board)
    if not tables:
        return []
    lines = ["## Clear versus contested", ""]
    for table in tables:
        lines += [f"### {_md_escape(table.title)}: {table.first} vs {table.second}", ""]
        header = ["Model"]
        for column in table.metrics:
            header += [
                f"{column.metric} {column.arrow} {table.part_title(part)}".strip()
                for part in table.parts
            ]
        lines.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
        lines.append("|" + "|".join(["---"] * len(header)) + "|")
        for row in table.rows:
            label = f"*{row.label}*" if row.kind == "ceiling" else _md_escape(row.label)
            cells = [
                _text(table, c.metric, part, row.cells.get((c.metric, part)))
                for c in table.metrics
                for part in table.parts
            ]
            lines.append("| " + " | ".join([label, *cells]) + " |")
        lines += ["", gap_sentence(table), ""]
        lines += [f"- {_md_escape(note)}" for note in table.notes]
        if table.notes:
            lines.append("")
    return lines


def latex_lines(board: Leaderboard, escape: Any) -> list[str]:
    out: list[str] = []
    for table in slice_tables(board):
        n_cols = 3 * len(table.metrics)
        parts = [p for _ in table.metrics for p in table.parts]
        out += [
            "",
            r"\begin{table}[t]",
            r"\centering",
            r"\small",
            r"\begin{tabular}{l" + "c" * n_cols + "}",
            r"\toprule",
            " & ".join(
                ["", *(rf"\multicolumn{{3}}{{c}}{{{escape(c.metric)}}}" for c in table.metrics)]
            )
            + r" \\",
            " & ".join(["Model", *(escape(table.part_title(p)) for p in parts)]) + r" \\",
            r"\midrule",
        ]
        for row in table.rows:
            label = escape(row.label)
            if row.kind == "ceiling":
                label = rf"\textit{{{label}}}"
            cells = []
            for column in table.metrics:
                for part in table.parts:
                    cell = row.cells.get((column.metric, part))
                    if cell is None:
                        cells.append("--")
                        continue
                    value = gap_text(cell).split(" [")[0] if part == GAP else number(cell.value)
                    ci = rf" {{\scriptsize {interval(cell)}}}" if cell.ci else ""
                    cells.append(escape(value) + ci)
            out.append(" & ".join([label, *cells]) + r" \\")
        out += [
            r"\bottomrule",
            r"\end{tabular}",
            rf"\caption{{{escape(table.title)}: {escape(gap_sentence(table))}}}",
            r"\end{table}",
        ]
    return out


def _cell(cell: Cell | None) -> dict[str, Any] | None:
    if cell is None:
        return None
    return {"value": cell.value, "ci": list(cell.ci) if cell.ci else None, "n": cell.n}


def json_section(board: Leaderboard) -> list[dict[str, Any]]:
    return [
        {
            "task": table.variant.task,
            "variant": table.variant.digest,
            "title": table.title,
            "slices": [table.first, table.second],
            "definition": table.by,
            "metrics": [c.metric for c in table.metrics],
            "rows": [
                {
                    "kind": row.kind,
                    "label": row.label,
                    "row": row.row_index,
                    "cells": {
                        c.metric: {
                            part: _cell(row.cells.get((c.metric, part))) for part in table.parts
                        }
                        for c in table.metrics
                    },
                }
                for row in table.rows
            ],
            "notes": table.notes,
        }
        for table in slice_tables(board)
    ]


def csv_columns(board: Leaderboard) -> list[tuple[str, SliceTable, str, str]]:
    """`(column name prefix, table, metric, part)` of every slice column of the CSV."""
    out = []
    for table in slice_tables(board):
        for column in table.metrics:
            for part in table.parts:
                out.append(
                    (
                        f"{column.key}@{part if part != GAP else table.first + '-' + table.second}",
                        table,
                        column.metric,
                        part,
                    )
                )
    return out
