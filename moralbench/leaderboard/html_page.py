"""The static HTML page: one self-contained file, no network requests.

Tables are rendered here (they read without JavaScript); a small inline script sorts them,
switches between the overview and the per-task views, and drives the item explorer from JSON
embedded in the page. Figures are matplotlib SVGs inlined as data URIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from .._version import __version__
from .board import Column, Leaderboard, Row
from .explorer import explorer_data
from .formatting import column_title, direction, interval, legend, number, rank_text
from .plots import ModelItems, model_colour, reliability_figure, scatter_figure
from .slice_html import agreement_view
from .variants import TaskVariant

ASSETS = Path(__file__).with_name("assets")


@dataclass(frozen=True)
class HtmlOptions:
    explorer_items: int | None = None  # cap on items per task in the explorer; None: all
    plots: bool = True


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ASSETS)),
        autoescape=jinja2.select_autoescape(["html.jinja"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _view_id(variant: TaskVariant) -> str:
    return f"task-{variant.task}-{variant.digest}"


def _column_view(column: Column) -> dict[str, Any]:
    return {
        "key": column.key,
        "task": column.task_title,
        "metric": column.metric,
        "arrow": column.arrow,
        "lower": {True: "true", False: "false", None: ""}[column.lower_is_better],
        "title": f"{column_title(column)}: "
        + (column.info.description if column.info else "no description")
        + f" ({direction(column)})",
    }


def _table(
    board: Leaderboard, columns: Sequence[Column], sort_key: str, table_id: str
) -> dict[str, Any]:
    index = {id(row): i for i, row in enumerate(board.rows)}
    rows = []
    for row, group in board.ordered_rows(sort_key):
        if not any(c.key in row.cells for c in columns):
            continue
        cells = []
        for column in columns:
            cell = row.cells.get(column.key)
            cells.append(
                None
                if cell is None
                else {
                    "value": repr(cell.value),
                    "text": number(cell.value),
                    "ci": interval(cell),
                    "n": cell.n,
                }
            )
        run = row.run
        rows.append(
            {
                "id": index[id(row)],
                "kind": row.kind,
                "label": row.label,
                "detail": ", ".join(
                    f"{k}={v}"
                    for k, v in run.model_args.items()
                    if k not in ("pretrained", "gguf_file")
                )
                if run
                else "",
                "reference": row.reference.id if row.reference else "",
                "status": (
                    row.reference.status.removesuffix(", not reproduced") if row.reference else ""
                ),
                "rank": rank_text(row, group),
                "cells": cells,
            }
        )
    groups: list[dict[str, Any]] = []
    for column in columns:
        if groups and groups[-1]["variant"] == column.variant:
            groups[-1]["span"] += 1
        else:
            groups.append({"variant": column.variant, "title": column.task_title, "span": 1})
    return {
        "id": table_id,
        "groups": groups,
        "columns": [_column_view(c) for c in columns],
        "sort": sort_key,
        "rows": rows,
    }


def _rank_data(board: Leaderboard) -> dict[str, dict[int, dict[str, str]]]:
    """For every column: each row's rank text and the test behind it (for the sort script)."""
    out: dict[str, dict[int, dict[str, str]]] = {}
    for key, ranking in board.rankings.items():
        column: dict[int, dict[str, str]] = {}
        for i in ranking.order:
            row = board.rows[i]
            group = ranking.groups.get(i)
            why = ""
            if group is not None and group.p_vs_above is not None:
                why = (
                    f"paired bootstrap vs the row above: p = {group.p_vs_above:.3g} "
                    f"on {group.shared_items} shared items"
                )
            elif group is not None and group.reason:
                why = group.reason
            column[i] = {"rank": rank_text(row, group), "why": why}
        out[key] = column
    return out


def _model_items(
    entries: Sequence[tuple[int, Row, Any]], colours: dict[int, str]
) -> tuple[list[ModelItems], list[str] | None]:
    models: list[ModelItems] = []
    choices: list[str] | None = None
    for i, row, result in entries:
        records = [r for r in result.samples or [] if not r.error and r.probs is not None]
        if not records or len({len(r.probs or []) for r in records}) != 1:
            continue
        choices = choices or [str(c) for c in records[0].fields.get("choices") or []]
        probs = np.array([r.probs for r in records], dtype=np.float64)
        probs = probs / probs.sum(axis=1, keepdims=True)
        targets = np.array([r.target or 0 for r in records], dtype=np.int64)
        human = None
        if all(r.human_counts and sum(r.human_counts) > 0 for r in records):
            counts = np.array([r.human_counts for r in records], dtype=np.float64)
            human = counts / counts.sum(axis=1, keepdims=True)
        models.append(ModelItems(row.label, colours[i], probs, targets, human))
    return models, choices


def _figures(
    entries: Sequence[tuple[int, Row, Any]], colours: dict[int, str], title: str
) -> tuple[list[dict[str, str]], list[str]]:
    """The task's plots (reliability diagrams, model against human), and notes on missing ones."""
    models, choices = _model_items(entries, colours)
    if not models:
        return [], ["No choice probabilities in the samples: no plots for this task."]
    figures = [
        {
            "uri": reliability_figure(models, title),
            "alt": f"Reliability diagrams for {title}",
            "caption": "Confidence of the top choice against how often it is the majority "
            "label (left) and against the share of annotators who chose it "
            "(right). Points on the diagonal are calibrated.",
        }
    ]
    with_votes = [m for m in models if m.human is not None]
    if not (with_votes and choices):
        return figures, ["No human vote counts: the model-vs-human scatter is not drawn."]
    figures.append(
        {
            "uri": scatter_figure(with_votes, choices, title),
            "alt": f"Model against human probability for {title}",
            "caption": "Each point is one item and one choice: the share of annotators "
            "who chose it against the model's probability for it.",
        }
    )
    return figures, []


def _task_view(
    board: Leaderboard, variant: TaskVariant, colours: dict[int, str], options: HtmlOptions
) -> dict[str, Any]:
    columns = [c for c in board.all_columns if c.variant == variant]
    overview_sort = board.column(board.sort_key)
    sort_key = (
        overview_sort.key
        if overview_sort.variant == variant
        else next((c.key for c in columns if c.lower_is_better is not None), columns[0].key)
    )
    view_id = _view_id(variant)
    entries = [
        (i, row, row.run.tasks[variant])
        for i, row in enumerate(board.rows)
        if row.run is not None and variant in row.run.tasks
    ]
    title = columns[0].task_title
    figures, figure_notes = _figures(entries, colours, title) if options.plots else ([], [])
    params = sorted({k for _, _, r in entries for k in r.params})
    explorer = explorer_data(entries, colours, limit=options.explorer_items)
    return {
        "id": view_id,
        "title": title,
        "variant": variant.describe(),
        "table": _table(board, columns, sort_key, f"table-{view_id}"),
        "params": params,
        "param_rows": [
            {
                "label": row.label,
                "values": [number(r.params[p]) if p in r.params else "" for p in params],
                "n": r.n,
                "n_failed": r.n_failed,
                "notes": r.notes,
            }
            for _, row, r in entries
        ],
        "figures": figures,
        "figure_notes": figure_notes,
        "explorer": explorer,
    }


def render_html(board: Leaderboard, options: HtmlOptions | None = None) -> str:
    options = options or HtmlOptions()
    run_indices = [i for i, row in enumerate(board.rows) if row.kind == "run"]
    colours = {i: model_colour(k) for k, i in enumerate(run_indices)}
    tasks = [_task_view(board, v, colours, options) for v in board.variants()]
    context = {
        "agreement": agreement_view(board, colours, plots=options.plots),
        "version": __version__,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "legend": legend(board),
        "overview": _table(board, board.columns, board.sort_key, "table-overview"),
        "tasks": tasks,
        "ranks": _rank_data(board),
        "explorers": {t["id"]: t["explorer"] for t in tasks},
        "colours": {str(i): c for i, c in colours.items()},
        "notes": board.notes,
        "runs": [
            {
                "label": run.label,
                "colour": colours[i],
                "model": run.model,
                "args": run.model_args,
                "fingerprint": run.fingerprint or "",
                "files": [str(p) for p in run.results_files],
                "description": {k: v for k, v in run.description.items() if k != "fingerprint"},
            }
            for i, run in ((i, board.rows[i].run) for i in run_indices)
            if run is not None
        ],
        "references": board.references,
        "missing_references": board.missing_references,
        "n_files": len(board.results_files),
    }
    return _environment().get_template("page.html.jinja").render(**context)
