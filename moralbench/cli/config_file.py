"""`moralbench run --config FILE.yaml`: any run option in a file; flags on the command line
override it.

Keys are the option names without dashes, in either spelling (`model_args`, `model-args`);
lists and mappings are taken as they are (`tasks: [a, b]`, `model_args: {pretrained: DIR}`),
text goes through the same check as on the command line. An unknown key is an error that
lists the known ones.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from ..errors import OptionError
from ..run_options import reject_unknown


def _names(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Every accepted key: each action's dest and each of its long option names."""
    names: dict[str, argparse.Action] = {}
    for action in parser._actions:
        if action.dest in ("help", "config", argparse.SUPPRESS):
            continue
        names[action.dest] = action
        for option in action.option_strings:
            if option.startswith("--"):
                names[option[2:].replace("-", "_")] = action
    return names


def read_config(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OptionError(f"--config {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise OptionError(f"--config {path}: not valid YAML ({exc})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise OptionError(f"--config {path}: expected a mapping of option: value")
    return loaded


def _value(action: argparse.Action, key: str, value: Any, path: Path) -> Any:
    if isinstance(action, argparse._StoreFalseAction) and key != action.dest:
        return not value  # `no_cache: true` means use_cache False
    if isinstance(value, list | dict | bool) or value is None or action.type is None:
        return value
    try:
        return action.type(str(value))  # type: ignore[misc]
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise OptionError(f"--config {path}: {key}: {exc}") from None


def config_defaults(parser: argparse.ArgumentParser, path: Path) -> dict[str, Any]:
    """The file's options as parser defaults (by dest), each checked."""
    values = {str(k).replace("-", "_"): v for k, v in read_config(path).items()}
    names = _names(parser)
    reject_unknown(values, names, f"--config {path} has no option(s)")
    return {names[k].dest: _value(names[k], k, v, path) for k, v in values.items()}
