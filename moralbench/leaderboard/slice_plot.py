"""The clear-versus-contested figure: per model and metric, the two slices' values with their
95% intervals joined by a line (a dumbbell), and the human ceiling per slice as a dashed mark.
"""

from __future__ import annotations

from .plots import _data_uri, _pyplot
from .slice_view import GAP, SliceTable, slice_title

FIRST_MARKER = "o"  # filled: the first slice (clear)
SECOND_MARKER = "s"  # open: the second slice (contested)


def slice_figure(table: SliceTable, colours: dict[int, str]) -> str:
    """An SVG data URI: one panel per metric, one line per model."""
    plt = _pyplot()
    runs = [r for r in table.rows if r.kind == "run"]
    ceiling = next((r for r in table.rows if r.kind == "ceiling"), None)
    n = len(table.metrics)
    fig, axes = plt.subplots(
        1, n, figsize=(4.2 * n + 0.8, 0.9 + 0.55 * max(2, len(runs))), squeeze=False
    )
    labels = [r.label for r in runs]
    for ax, column in zip(axes[0], table.metrics, strict=True):
        for y, row in enumerate(runs):
            colour = colours.get(row.row_index or 0, "#333333")
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
        if ceiling is not None:
            for part, style in ((table.first, "-"), (table.second, "--")):
                cell = ceiling.cells.get((column.metric, part))
                if cell is not None:
                    ax.axvline(cell.value, color="#2f8a4c", ls=style, lw=1, alpha=0.8)
        ax.set_yticks(range(len(runs)))
        ax.set_yticklabels(labels if ax is axes[0][0] else [""] * len(runs), fontsize=8)
        ax.set_ylim(len(runs) - 0.5, -0.5)
        ax.set_xlabel(
            f"{column.metric} ({'lower' if column.lower_is_better else 'higher'} is better)"
        )
        gaps = [r.cells.get((column.metric, GAP)) for r in runs]
        shown = ", ".join(f"{g.value:+.3f}" for g in gaps if g is not None)
        ax.set_title(f"{column.metric}: gap {shown}" if shown else column.metric, fontsize=9)
        ax.grid(axis="x", alpha=0.25)
    handles = [
        plt.Line2D(
            [], [], marker=FIRST_MARKER, color="#333333", ls="", label=slice_title(table.first)
        ),
        plt.Line2D(
            [],
            [],
            marker=SECOND_MARKER,
            color="#333333",
            mfc="white",
            ls="",
            label=slice_title(table.second),
        ),  # fmt: skip
        plt.Line2D(
            [], [], color="#2f8a4c", ls="-", label=f"human ceiling, {slice_title(table.first)}"
        ),
        plt.Line2D(
            [], [], color="#2f8a4c", ls="--", label=f"human ceiling, {slice_title(table.second)}"
        ),
    ]
    fig.legend(
        handles=handles, loc="lower center", ncol=4, frameon=False, bbox_to_anchor=(0.5, -0.12)
    )
    fig.suptitle(
        f"{table.title}: {slice_title(table.first)} vs {slice_title(table.second)} items "
        "(95% intervals)",
        fontsize=10,
    )
    fig.tight_layout()
    return _data_uri(fig)
