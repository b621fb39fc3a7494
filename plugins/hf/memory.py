"""Out-of-memory handling: recognise an OOM however it surfaces, halve the batch, go on.

Batch plans are deterministic, so a batch that ran out of memory once would do so again on a
re-run: instead of ending the run, the batch is split in two and each half is retried, down to
a single row (an OOM there is a real limit and is raised).
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import torch

# Messages of OOMs that some kernels raise as a plain RuntimeError (cuBLAS/cuDNN workspace
# allocation, ROCm, Apple MPS, the CPU allocator).
OOM_MESSAGES = (
    "out of memory",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_ALLOC_FAILED",
    "can't allocate memory",
    "MPS backend out of memory",
)

Result = TypeVar("Result")


def is_out_of_memory(error: BaseException) -> bool:
    # torch.OutOfMemoryError (also torch.cuda's) is a RuntimeError subclass.
    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and any(m in str(error) for m in OOM_MESSAGES)


def release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_with_halving(
    batches: Sequence[list[int]],
    run: Callable[[list[int]], list[Result]],
    *,
    on_split: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[int, Result]]:
    """Yield (index, result) for every index of every batch, splitting batches that hit OOM.

    After a split, later batches are capped at the size that last fitted, so one OOM does not
    repeat on every following batch. `on_split(old_rows, new_rows)` is told of each split.
    """
    queue = deque(batches)
    cap: int | None = None
    while queue:
        batch = queue.popleft()
        if cap is not None and len(batch) > cap:
            queue.extendleft([batch[cap:], batch[:cap]])
            continue
        try:
            results = run(batch)
        except RuntimeError as error:
            if not is_out_of_memory(error) or len(batch) == 1:
                raise
            failed = True
        else:
            failed = False
        if failed:
            # Outside the except block, so the traceback's references to tensors are gone.
            release_memory()
            half = len(batch) // 2
            cap = half
            if on_split is not None:
                on_split(len(batch), half)
            queue.extendleft([batch[half:], batch[:half]])
            continue
        yield from zip(batch, results, strict=True)
