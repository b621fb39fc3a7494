"""Sharding documents across processes started by `accelerate launch` (or torchrun).

Without a launcher this is a single process and imports nothing heavy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


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


def current_process_group() -> ProcessGroup:
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return ProcessGroup()
    from accelerate import PartialState

    state = PartialState()
    return ProcessGroup(state.process_index, state.num_processes, state)
