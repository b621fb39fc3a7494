"""The metrics' matrix products run on one BLAS thread.

The bootstrap's products are tall and thin (how often each resample drew each item, times a
few columns of per-item values): bound by memory, so a second thread hardly shortens them,
while OpenBLAS's idle workers spin as they wait for the next product. On the shared 2-core
machine that spinning was a fifth of a fully cached run's CPU (docs/performance.md, "Harness
cost"). One thread also makes the numbers independent of the core count: OpenBLAS splits a
product differently for different thread counts, and the last bit of a sum follows the split.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from threadpoolctl import ThreadpoolController

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def _controller() -> ThreadpoolController:
    # created on first use, when numpy's and scipy's BLAS libraries are loaded
    return ThreadpoolController()


def one_blas_thread(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` with BLAS limited to one thread (the previous limit is restored after)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _controller().limit(limits=1, user_api="blas"):
            return func(*args, **kwargs)

    return wrapper
