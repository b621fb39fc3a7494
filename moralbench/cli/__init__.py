"""The `moralbench` command line, one module per command.

Each command module has `add_parser(sub)` and a handler that parses its arguments and calls
the library; the options several commands share are in `common.py`, what they print in
`output.py`. Errors a user can act on (`MoralbenchError`) are printed once, without a
traceback unless `--verbose`. Dashed options are canonical; lm-eval's underscore spellings
are accepted too.
"""

from __future__ import annotations

from .main import build_parser, main

__all__ = ["build_parser", "main"]
