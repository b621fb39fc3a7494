"""`--batch-size auto` on a GPU: the most rows of the real worst-case item that fit, with margin.

The probe runs the longest item actually queued (padded to its bucket, with its multi-token
choices, so the cached continuation passes are included) at a row count 25% above the one it
will use, halving from 512 rows. OOMs that surface as a plain RuntimeError count as OOMs. If a
real batch still runs out of memory, it is halved at run time (`memory.run_with_halving`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from moralbench.errors import MoralbenchError

from .memory import is_out_of_memory, release_memory

START_ROWS = 512
MARGIN = 1.25


def find_max_rows(try_rows: Callable[[int], None], *, start: int = START_ROWS) -> int:
    """Largest row count r (from `start`, halving) whose batch of r x MARGIN rows fits."""
    rows = start
    while rows >= 1:
        probe = rows if rows == 1 else math.ceil(rows * MARGIN)
        try:
            try_rows(probe)
        except RuntimeError as error:
            if not is_out_of_memory(error):
                raise
            fitted = False
        else:
            fitted = True
        release_memory()
        if fitted:
            return rows
        rows //= 2
    raise MoralbenchError(
        "even one sequence of the longest item does not fit in GPU memory; "
        "lower max_length or use device_map=auto to spread the model over several GPUs"
    )
