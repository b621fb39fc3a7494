"""`moralbench leaderboard`: results of many runs -> a table (md, csv, latex, json) or a page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import fraction, positive
from .output import warn


def _names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return names


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..leaderboard import FORMATS

    p = sub.add_parser(
        "leaderboard",
        help="tables and a static HTML page from results files",
        description="Aggregate results files (or folders of them) into one leaderboard: one "
        "row per model configuration, columns per task and metric with 95%% intervals, rank "
        "groups from a paired bootstrap, and rows reported in papers.",
    )
    p.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="RESULTS_DIR_OR_FILE",
        help="results_*.json files, or folders searched for them",
    )
    p.add_argument("--format", "-f", choices=FORMATS, default="md")
    p.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    p.add_argument(
        "--metrics",
        type=_names,
        help="metrics to show, comma-separated, or 'all' (default: accuracy, "
        "xentropy, dirichlet, ece, label_accuracy, misalignment_rate and the study "
        "columns maity2024_* where present)",
    )
    p.add_argument("--sort", help="METRIC or TASK:METRIC to sort by (default: first column)")
    p.add_argument("--tasks", type=_names, help="tasks to show: names or globs, comma-separated")
    _add_row_options(p)
    _add_ranking_options(p)
    _add_html_options(p)
    p.set_defaults(handler=run_leaderboard)


def _add_row_options(p: argparse.ArgumentParser) -> None:
    """Which rows the board holds."""
    p.add_argument(
        "--references",
        type=Path,
        action="append",
        default=[],
        help="extra YAML file of rows reported in papers (repeatable)",
    )
    p.add_argument(
        "--no-references",
        dest="builtin_references",
        action="store_false",
        help="leave out the built-in rows reported in papers",
    )
    p.add_argument(
        "--no-ceiling",
        dest="show_ceiling",
        action="store_false",
        help="leave out the human-ceiling row",
    )
    p.add_argument(
        "--no-sample-data",
        dest="include_sample_data",
        action="store_false",
        help="leave out runs made with --sample-data (shown by default, in columns labelled "
        "'sample data')",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="abort on a malformed results or samples file (default: skip it with a warning)",
    )


def _add_ranking_options(p: argparse.ArgumentParser) -> None:
    """The rank groups' paired bootstrap."""
    p.add_argument(
        "--alpha",
        type=fraction,
        default=0.05,
        help="significance level of the rank groups (default 0.05)",
    )
    p.add_argument(
        "--bootstrap-iters",
        dest="n_resamples",
        type=positive,
        default=1000,
        help="paired-bootstrap resamples for the rank groups (default 1000)",
    )
    p.add_argument("--seed", type=int, default=0)


def _add_html_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--explorer-items",
        type=positive,
        help="html: at most this many items per task in the item explorer",
    )
    p.add_argument(
        "--no-plots",
        dest="plots",
        action="store_false",
        help="html: leave out the figures (no matplotlib needed)",
    )


def run_leaderboard(args: argparse.Namespace) -> int:
    from ..leaderboard import HtmlOptions, LeaderboardOptions, build_leaderboard, render
    from ..leaderboard.references import BUILTIN_REFERENCES

    def warning(message: str) -> None:
        warn(f"warning: {message}")

    references = ([BUILTIN_REFERENCES] if args.builtin_references else []) + args.references
    options = LeaderboardOptions(
        tasks=args.tasks,
        metrics=args.metrics,
        sort=args.sort,
        alpha=args.alpha,
        n_resamples=args.n_resamples,
        seed=args.seed,
        reference_files=tuple(references),
        show_ceiling=args.show_ceiling,
        strict=args.strict,
        include_sample_data=args.include_sample_data,
    )
    board = build_leaderboard(args.paths, options, warn=warning)
    for note in board.notes:
        warning(note)
    text = render(board, args.format, HtmlOptions(args.explorer_items, args.plots))
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        warn(f"{args.format} leaderboard of {len(board.run_rows)} run(s) written to {args.output}")
    return 0
