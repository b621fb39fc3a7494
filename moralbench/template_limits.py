"""Bounds on what evaluating a Jinja template may cost, so a hostile template cannot hang a run.

The sandbox already blocks Python internals; this adds limits on work: powers and repetitions
whose result would be huge, ranges longer than `MAX_RANGE`, rendered output longer than
`MAX_OUTPUT_CHARS`, and `MAX_SECONDS` of the rendering thread's CPU time per render (checked
every `CHECK_EVERY` output chunks and every 1,024 range items). A breach is a
`TemplateLimitError`.

CPU time, not wall-clock time: a busy machine, other threads holding the GIL or a garbage
collection elsewhere do not count against a template (a wall-clock limit once fired on an
ordinary template in a loaded 100,000-document run), and reading the thread's clock every few
chunks instead of every chunk costs less.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

MAX_RANGE = 100_000
#: largest result of `*` on text or lists, and of `**` on numbers (in bits)
MAX_REPEAT_ITEMS = 1_000_000
MAX_POWER_BITS = 4_096
MAX_OUTPUT_CHARS = 4_000_000
MAX_SECONDS = 5.0
#: output chunks between two checks of the clock
CHECK_EVERY = 64


class TemplateLimitError(jinja2.exceptions.SecurityError):
    """A template exceeded one of the evaluation limits."""


_state = threading.local()


def _check_deadline() -> None:
    deadline = getattr(_state, "deadline", None)
    if deadline is not None and time.thread_time() > deadline:
        raise TemplateLimitError(f"rendering took longer than {MAX_SECONDS:g} s of CPU time")


class _BoundedRange:
    """`range` for templates: at most `MAX_RANGE` items, the deadline checked as it is iterated."""

    def __init__(self, *args: int) -> None:
        try:
            self._numbers = range(*args)
            size = len(self._numbers)
        except OverflowError:
            size = MAX_RANGE + 1
        if size > MAX_RANGE:
            raise TemplateLimitError(f"range longer than {MAX_RANGE:,} items")

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index: Any) -> Any:
        return self._numbers[index]

    def __contains__(self, value: object) -> bool:
        return value in self._numbers

    def __iter__(self) -> Iterator[int]:
        for position, value in enumerate(self._numbers):
            if position % 1024 == 0:
                _check_deadline()
            yield value


def _power(base: Any, exponent: Any) -> Any:
    ints = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1
    if ints and exponent > 0 and exponent * abs(base).bit_length() > MAX_POWER_BITS:
        raise TemplateLimitError(f"{base} ** {exponent} is too large")
    small_base = isinstance(base, int | float) and not isinstance(base, bool) and abs(base) <= 1
    if isinstance(exponent, int) and abs(exponent) > MAX_POWER_BITS and not small_base:
        raise TemplateLimitError(f"exponent {exponent} is too large")
    return base**exponent


def _repeat(left: Any, right: Any) -> Any:
    for sequence, count in ((left, right), (right, left)):
        repeated = isinstance(sequence, str | list | tuple) and isinstance(count, int)
        if repeated and len(sequence) * count > MAX_REPEAT_ITEMS:
            raise TemplateLimitError(
                f"repeating {len(sequence):,} items {count:,} times is too large"
            )
    huge = isinstance(left, int) and isinstance(right, int)
    if huge and left.bit_length() + right.bit_length() > MAX_POWER_BITS:
        raise TemplateLimitError("product of huge integers")
    return left * right


class BoundedEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset(["**", "*"])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _BoundedRange

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "**":
            return _power(left, right)
        if operator == "*":
            return _repeat(left, right)
        return super().call_binop(context, operator, left, right)


def bounded_render(template: jinja2.Template, fields: Mapping[str, Any]) -> str:
    """Render with the output and time limits; other errors propagate to the caller."""
    outer = getattr(_state, "deadline", None)
    _state.deadline = time.thread_time() + MAX_SECONDS if outer is None else outer
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(**fields):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateLimitError(f"output longer than {MAX_OUTPUT_CHARS:,} characters")
            parts.append(chunk)
            if len(parts) % CHECK_EVERY == 0:
                _check_deadline()
        _check_deadline()
        return "".join(parts)
    finally:
        _state.deadline = outer
