"""What the commands print: the consoles, metric tables, listings and plain lines.

On a terminal rich fits tables to the window. When output is piped or redirected there is no
window: rich would assume 80 columns and cut names mid-word, so a pipe or a file gets plain
tab-separated lines (`moralbench tasks | grep` sees every name whole) and a console wide
enough that no line is ever wrapped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

#: width used when the output is not a terminal: wide enough for any path
UNWRAPPED_WIDTH = 100_000


def make_console(*, stderr: bool = False) -> Console:
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console = Console(stderr=stderr, soft_wrap=True, width=UNWRAPPED_WIDTH)
    return console


out = make_console()
err = make_console(stderr=True)


def say(text: str) -> None:
    """One plain line on standard output (no markup, never wrapped)."""
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def warn(text: str) -> None:
    """One plain line on standard error (no markup, never wrapped)."""
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def format_value(value: Any, ci: Any) -> str:
    """A metric value, with its 95% interval when it has one."""
    if isinstance(value, float):
        text = f"{value:.4f}"
        if isinstance(ci, list | tuple) and len(ci) == 2 and None not in ci:
            text += f" [{ci[0]:.4f}, {ci[1]:.4f}]"
        return text
    return str(value)


def metric_rows(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(metric, value [CI]) for each scalar metric, in the task's order."""
    return [
        (key, format_value(value, metrics.get(f"{key}_ci")))
        for key, value in metrics.items()
        if not key.endswith("_ci") and not isinstance(value, dict | list)
    ]


def print_metrics(title: str, results: Mapping[str, Mapping[str, Any]]) -> None:
    """One table of every task's metrics, then each task's notes."""
    table = Table(title=title)
    for column in ("task", "metric", "value [95% CI]"):
        table.add_column(column)
    for task, metrics in results.items():
        for position, (key, value) in enumerate(metric_rows(metrics)):
            table.add_row(task if position == 0 else "", key, value)
    out.print(table)
    for task, metrics in results.items():
        for note in metrics.get("notes") or []:
            say(f"note: {task}: {note}")


def _cell(value: Any, joiner: str) -> str:
    if isinstance(value, list | tuple):
        return joiner.join(str(v) for v in value) or "-"
    return str(value)


def print_listing(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, as_json: bool
) -> None:
    """A listing: JSON objects with `--json`, a table on a terminal, else tab-separated lines
    with a header (every value whole, one row per line; a list's items joined by "; ")."""
    if as_json:
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        sys.stdout.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
        return
    if not out.is_terminal:
        for row in (columns, *rows):
            sys.stdout.write("\t".join(_cell(v, "; ") for v in row) + "\n")
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(v, "\n") for v in row))
    out.print(table)
