"""Sharding documents across processes started by `accelerate launch` (or torchrun).

Without a launcher this is a single process and imports nothing heavy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .errors import OptionError


@dataclass
class ProcessGroup:
    index: int = 0
    count: int = 1
    _state: Any = None

    @property
    def is_main(self) -> bool:
        return self.index == 0

    def barrier(self) -> None:
        if self._state is not None:
            self._state.wait_for_everyone()

    def broadcast(self, value: Any) -> Any:
        """The main process's value, on every process."""
        if self._state is None:
            return value
        from accelerate.utils import broadcast_object_list

        box = [value]
        broadcast_object_list(box, from_process=0)
        return box[0]


DEFAULT_TIMEOUT_S = 24 * 3600


def collective_timeout() -> timedelta:
    """How long a process waits for the others at a gather or barrier.

    A process whose shard was mostly cached reaches the final gather long before the others;
    NCCL's default (10 minutes) would kill the job then. `MORALBENCH_DIST_TIMEOUT` (seconds)
    overrides the default of 24 hours.
    """
    text = os.environ.get("MORALBENCH_DIST_TIMEOUT", "")
    try:
        seconds = float(text) if text else DEFAULT_TIMEOUT_S
    except ValueError:
        raise OptionError(
            f"MORALBENCH_DIST_TIMEOUT must be a number of seconds, got {text!r}"
        ) from None
    if seconds <= 0:
        raise OptionError(f"MORALBENCH_DIST_TIMEOUT must be positive, got {text!r}")
    return timedelta(seconds=seconds)


def current_process_group() -> ProcessGroup:
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return ProcessGroup()
    from accelerate import PartialState

    state = PartialState(timeout=collective_timeout())
    return ProcessGroup(state.process_index, state.num_processes, state)
