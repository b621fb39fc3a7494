"""Runs the installed `moralbench` console script (the venv's entry point) as a user would,
stdout and stderr captured, so neither is a terminal."""

from __future__ import annotations

import functools

from conftest import run_cli

moralbench = functools.partial(run_cli, console_script=True, timeout=900)
