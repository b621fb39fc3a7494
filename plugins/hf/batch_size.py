"""Batch sizes: the CPU default, a fixed `--batch-size N`, or probed on a GPU.

`--batch-size auto` on a GPU, and no `--batch-size` at all on CUDA: the most rows of the real
worst-case item that fit, with margin. (The CPU default of 16 rows and 8,192 padded tokens
would leave a large GPU mostly idle.)

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


def batching_mode(batch_size: int | str | None, device_type: str) -> str:
    """How batches are sized: "fixed" (`--batch-size N`), "probe" (on CUDA, for `auto` or
    when no size is given), else "cpu-default" (on CPU or MPS, where `auto` has nothing to
    probe: the fixed default is at the ceiling there, see docs/performance.md)."""
    if isinstance(batch_size, int):
        return "fixed"
    if device_type == "cuda" and batch_size in (None, "auto"):
        return "probe"
    return "cpu-default"


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
