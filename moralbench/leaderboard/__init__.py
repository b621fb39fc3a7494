"""Leaderboard: results files of many runs -> publishable tables and a static HTML page.

    board = build_leaderboard(["results/"], LeaderboardOptions(sort="xentropy"))
    text = render(board, "md")

Modules, in the order data flows: `sources` (find and read results/samples files),
`task_results` and `variants` (one task's numbers and what makes them comparable),
`merging` (one row per model: shards merged, duplicates detected), `item_scores`,
`rescoring` and `significance` (per-item values, recomputed metrics, rank groups),
`references` (rows reported in papers), `table` (the `Leaderboard`), then one renderer per
format (`markdown`, `csv_table`, `latex`, `json_export`, `html_page` with `plots` and
`explorer`).
"""

from __future__ import annotations

from .board import Leaderboard, LeaderboardOptions
from .errors import LeaderboardOptionError, ResultsFileError
from .html_page import HtmlOptions
from .table import build_leaderboard

FORMATS = ("md", "csv", "latex", "html", "json")

__all__ = [
    "FORMATS",
    "HtmlOptions",
    "Leaderboard",
    "LeaderboardOptionError",
    "LeaderboardOptions",
    "ResultsFileError",
    "build_leaderboard",
    "render",
]


def render(board: Leaderboard, fmt: str, html: HtmlOptions | None = None) -> str:
    """The leaderboard as text in one of `FORMATS`."""
    if fmt == "md":
        from .markdown import render_markdown

        return render_markdown(board)
    if fmt == "csv":
        from .csv_table import render_csv

        return render_csv(board)
    if fmt == "latex":
        from .latex import render_latex

        return render_latex(board)
    if fmt == "json":
        from .json_export import render_json

        return render_json(board)
    if fmt == "html":
        from .html_page import render_html

        return render_html(board, html)
    raise LeaderboardOptionError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
