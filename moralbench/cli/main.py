"""The top-level parser and `main`: picks the command, prints a user error once."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import MoralbenchError
from . import cache, data, leaderboard, models, run, score, tasks
from .output import err

#: every command module, in the order `moralbench --help` lists them
COMMANDS = (run, tasks, models, score, data, leaderboard, cache)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moralbench",
        description="Measure how well a model's moral judgements match the spread of human ones.",
    )
    parser.add_argument("--version", action="version", version=f"moralbench {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.reparse = lambda: parser.parse_args(argv)  # after a command changed its defaults
    try:
        return int(args.handler(args) or 0)
    except MoralbenchError as exc:
        if args.verbose:
            raise
        # soft_wrap: one line however long, so the message can be grepped and read whole
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted: finished requests are cached; run again to resume")
        return 130
    except BrokenPipeError:
        # `moralbench tasks | head`: the reader left; exit quietly as other Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
