"""No full garbage collections while a run builds its own objects.

A run keeps a few objects per request alive until its metrics are computed (documents,
rendered prompts, responses, sample records): millions at 100,000 documents. They form no
reference cycles (a run of 5,000 dilemmas leaves about 130 objects to the cycle collector, all
from set-up), so reference counting frees them; yet each full collection walks every live
object. At 20,000 dilemmas that was 8% of a cached run's CPU, and at 100,000 single pauses long
enough, on a loaded machine, to trip the 5 s template time limit in the middle of rendering.

`full_collections_paused` leaves the young generations collected as usual (short-lived cycles,
say a backend's, are still freed within milliseconds) and defers collection of the oldest
generation to the end of the block.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: a full collection only after this many collections of the middle generation: never, in a run
NO_FULL_COLLECTION = 1 << 30


@contextmanager
def full_collections_paused() -> Iterator[None]:
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, NO_FULL_COLLECTION)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)
