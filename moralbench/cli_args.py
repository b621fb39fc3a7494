"""Options several `moralbench` subcommands share, defined once so they cannot drift apart."""

from __future__ import annotations

import argparse
from pathlib import Path

DATA_DIR_HELP = "data folder (default: $MORALBENCH_DATA, else the user data dir)"


def add_data_dir(parser: argparse.ArgumentParser, help: str | None = DATA_DIR_HELP) -> None:
    parser.add_argument("--data-dir", "--data_dir", dest="data_dir", type=Path, help=help)


def add_include_path(
    parser: argparse.ArgumentParser, help: str | None = "folder of YAML tasks (repeatable)"
) -> None:
    parser.add_argument(
        "--include-path",
        "--include_path",
        dest="include_path",
        type=Path,
        action="append",
        default=[],
        help=help,
    )


def _agreement_cuts(text: str) -> tuple[float, float]:
    from .metrics.slices import AgreementCuts

    try:
        cuts = AgreementCuts.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return cuts.contested_below, cuts.clear_at


def add_agreement_cuts(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--agreement-cuts",
        "--agreement_cuts",
        dest="agreement_cuts",
        type=_agreement_cuts,
        default=None,
        metavar="CUT[,CUT]",
        help="where tasks with vote counts cut their items by the top label's vote share: "
        "one number (contested below it, clear from it; default 0.75) or two, like 0.6,0.8 "
        "(contested below 0.6, clear from 0.8, moderate in between)",
    )
