"""`moralbench models`: the model backends the installed plugins provide."""

from __future__ import annotations

import argparse

from ..session import Session
from .common import add_json
from .output import print_listing, warn

COLUMNS = ("name", "estimators", "description", "plugin")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the model backends")
    add_json(p)
    p.set_defaults(handler=run_models)


def run_models(args: argparse.Namespace) -> int:
    registry = Session.open(warn=warn).registry
    rows = [
        [name, list(spec.estimators), spec.description, registry.model_plugin[name]]
        for name, spec in sorted(registry.models.items())
    ]
    print_listing("moralbench model backends", COLUMNS, rows, as_json=args.json)
    return 0
