"""The clear-versus-contested figure: per model and metric, the two slices' values with their
95% intervals joined by a line (a dumbbell), and the human ceiling per slice as a dashed mark.
"""

from __future__ import annotations

from typing import Any

from .board import Column
from .plots import _data_uri, _pyplot
from .slice_view import GAP, SliceRow, SliceTable, slice_title

FIRST_MARKER = "o"  # filled: the first slice (clear)
SECOND_MARKER = "s"  # open: the second slice (contested)
CEILING_COLOUR = "#2f8a4c"
NEUTRAL_COLOUR = "#333333"


def _dumbbell(
    ax: Any, table: SliceTable, column: Column, row: SliceRow, y: int, colour: str
) -> None:
    """One model's two slice values on one metric, joined by a line when both are there."""
    points = []
    for part, marker, face in (
        (table.first, FIRST_MARKER, colour),
        (table.second, SECOND_MARKER, "white"),
    ):
        cell = row.cells.get((column.metric, part))
        if cell is None:
            continue
        points.append(cell.value)
        xerr = None
        if cell.ci:
            xerr = [[cell.value - cell.ci[0]], [cell.ci[1] - cell.value]]
        ax.errorbar(
            [cell.value],
            [y + (-0.12 if part == table.first else 0.12)],
            xerr=xerr,
            fmt=marker,
            color=colour,
            mfc=face,
            mec=colour,
            ms=7,
            capsize=3,
            lw=1.2,
            zorder=3,
        )
    if len(points) == 2:
        ax.plot(points, [y - 0.12, y + 0.12], color=colour, lw=1, alpha=0.6)


def _ceiling_marks(ax: Any, table: SliceTable, column: Column, ceiling: SliceRow | None) -> None:
    if ceiling is None:
        return
    for part, style in ((table.first, "-"), (table.second, "--")):
        cell = ceiling.cells.get((column.metric, part))
        if cell is not None:
            ax.axvline(cell.value, color=CEILING_COLOUR, ls=style, lw=1, alpha=0.8)


def _label_panel(ax: Any, column: Column, runs: list[SliceRow], first_panel: bool) -> None:
    """Model names on the first panel only, the metric's direction, and each model's gap."""
    ax.set_yticks(range(len(runs)))
    labels = [r.label for r in runs] if first_panel else [""] * len(runs)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylim(len(runs) - 0.5, -0.5)
    ax.set_xlabel(f"{column.metric} ({'lower' if column.lower_is_better else 'higher'} is better)")
    gaps = [r.cells.get((column.metric, GAP)) for r in runs]
    shown = ", ".join(f"{g.value:+.3f}" for g in gaps if g is not None)
    ax.set_title(f"{column.metric}: gap {shown}" if shown else column.metric, fontsize=9)
    ax.grid(axis="x", alpha=0.25)


def _legend_handles(plt: Any, table: SliceTable) -> list[Any]:
    first, second = slice_title(table.first), slice_title(table.second)
    line = plt.Line2D
    return [
        line([], [], marker=FIRST_MARKER, color=NEUTRAL_COLOUR, ls="", label=first),
        line([], [], marker=SECOND_MARKER, color=NEUTRAL_COLOUR, mfc="white", ls="", label=second),
        line([], [], color=CEILING_COLOUR, ls="-", label=f"human ceiling, {first}"),
        line([], [], color=CEILING_COLOUR, ls="--", label=f"human ceiling, {second}"),
    ]


def slice_figure(table: SliceTable, colours: dict[int, str]) -> str:
    """An SVG data URI: one panel per metric, one line per model."""
    plt = _pyplot()
    runs = [r for r in table.rows if r.kind == "run"]
    ceiling = next((r for r in table.rows if r.kind == "ceiling"), None)
    n = len(table.metrics)
    fig, axes = plt.subplots(
        1, n, figsize=(4.2 * n + 0.8, 0.9 + 0.55 * max(2, len(runs))), squeeze=False
    )
    for ax, column in zip(axes[0], table.metrics, strict=True):
        for y, row in enumerate(runs):
            _dumbbell(ax, table, column, row, y, colours.get(row.row_index or 0, NEUTRAL_COLOUR))
        _ceiling_marks(ax, table, column, ceiling)
        _label_panel(ax, column, runs, first_panel=ax is axes[0][0])
    fig.legend(
        handles=_legend_handles(plt, table),
        loc="lower center",
        ncol=4,
        frameon=False,
        bbox_to_anchor=(0.5, -0.12),
    )
    fig.suptitle(
        f"{table.title}: {slice_title(table.first)} vs {slice_title(table.second)} items "
        "(95% intervals)",
        fontsize=10,
    )
    fig.tight_layout()
    return _data_uri(fig)
