"""`moralbench tasks`: the tasks the installed plugins provide (names whole when piped)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..session import Session, data_dir_or_default
from .common import add_data_dir, add_include_path, add_json
from .output import print_listing, say, warn

COLUMNS = ("name", "version", "request type", "groups", "data files", "plugin")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="list the tasks the installed plugins provide")
    p.add_argument(
        "names", nargs="*", metavar="TASK", help="task names, globs or groups (default: all)"
    )
    add_include_path(p, help=None)
    add_data_dir(p, help=None)
    p.add_argument("--split", default="test", help="split whose files are listed")
    p.add_argument(
        "--options",
        action="store_true",
        help="list each task's --task-args options (templates...) and few-shot support",
    )
    add_json(p)
    p.set_defaults(handler=run_tasks)


def run_tasks(args: argparse.Namespace) -> int:
    session = Session.open(args.include_path, warn=warn)
    registry = session.registry
    names = (
        [f.name for f in registry.resolve_tasks(args.names)]
        if args.names
        else sorted(registry.tasks)
    )
    factories = [registry.tasks[name] for name in names]
    if args.options:
        print_task_options(factories)
        return 0
    data_dir = data_dir_or_default(args.data_dir)
    rows = [_row(f, registry.task_plugin[f.name], data_dir, args.split) for f in factories]
    print_listing("moralbench tasks", COLUMNS, rows, as_json=args.json)
    return 0


def _row(factory: Any, plugin: str, data_dir: Any, split: str) -> list[Any]:
    files = [
        f"{p} {'✓' if p.is_file() else '(missing)'}" for p in factory.data_files(data_dir, split)
    ]
    groups = list(getattr(factory, "tags", ()) or ())
    return [factory.name, str(factory.version), factory.output_type, groups, files, plugin]


def print_task_options(factories: Sequence[Any]) -> None:
    """Each task's `--task-args` options with their help text, and its few-shot split."""
    for factory in factories:
        say(factory.name)
        options = getattr(factory, "options_help", None) or {}
        for key, text in options.items():
            say(f"  {factory.name}:{key}=...  {text}")
        if not options:
            say("  (no options)")
        fewshot = getattr(factory, "fewshot_split", None)
        shown = f"yes, drawn from {fewshot!r}" if fewshot else "no (zero-shot only)"
        say(f"  --num-fewshot: {shown}")
