"""The rich consoles the commands print to.

On a terminal rich fits tables to the window. When output is piped or logged there is no
window: rich would assume 80 columns and break paths and task names mid-word, so a file or a
pipe gets a console wide enough that no line is ever wrapped or cut.
"""

from __future__ import annotations

from rich.console import Console

#: width used when the output is not a terminal: wide enough for any path
UNWRAPPED_WIDTH = 100_000


def make_console(*, stderr: bool = False) -> Console:
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console = Console(stderr=stderr, soft_wrap=True, width=UNWRAPPED_WIDTH)
    return console
