"""Options several commands share, defined once so they cannot drift apart, and the
argparse types that check numbers with the library's own validators."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import OptionError
from ..run_options import number_between, parse_kv, whole_number

DATA_DIR_HELP = "data folder (default: $MORALBENCH_DATA, else the user data dir)"


def checked(validate: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse `type` from a validator that raises `OptionError`."""

    def convert(text: str) -> Any:
        try:
            return validate(text)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(validate, "__name__", "value")
    return convert


def at_least(minimum: int) -> Callable[[str], int]:
    """argparse type: a whole number >= minimum."""
    return checked(lambda text: whole_number(text, "value", minimum=minimum))


positive = at_least(1)
non_negative = at_least(0)
key_values = checked(lambda text: parse_kv(text, "value"))


def fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    return checked(lambda t: number_between(t, "value", 0.0, 1.0))(text)


def batch_size(text: str) -> int | str:
    """argparse type: a whole number >= 1, or 'auto'."""
    return "auto" if text == "auto" else positive(text)


def add_data_dir(parser: argparse.ArgumentParser, help: str | None = DATA_DIR_HELP) -> None:
    parser.add_argument("--data-dir", "--data_dir", dest="data_dir", type=Path, help=help)


def add_sample_data(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument(
        "--sample-data", "--sample_data", dest="sample_data", action="store_true", help=help
    )


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


def add_task_args(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument(
        "--task-args", "--task_args", dest="task_args", type=key_values, default="", help=help
    )


def add_scoring_options(parser: argparse.ArgumentParser) -> None:
    """--seed, --bootstrap-iters, --agreement-cuts and --strict (run and score)."""
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the bootstrap, few-shot draws and sampling (default: %(default)s)",
    )
    parser.add_argument(
        "--bootstrap-iters",
        "--bootstrap_iters",
        dest="n_bootstrap",
        type=int,  # checked by the library, for the Python API alike
        default=1000,
        help="bootstrap resamples of each confidence interval (default: %(default)s)",
    )
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
    parser.add_argument("--strict", action="store_true", help="data warnings become errors")


def _agreement_cuts(text: str) -> tuple[float, float]:
    from ..metrics.slices import AgreementCuts

    try:
        cuts = AgreementCuts.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return cuts.contested_below, cuts.clear_at


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print JSON (for scripts) instead of a table"
    )
