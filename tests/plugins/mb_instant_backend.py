"""A test plugin: a backend that answers choice requests instantly, for measuring the harness.

Its log-probs are a cheap fixed function of the request text (CRC-32), so runs are
reproducible and everything the benchmark times is the harness's own work: rendering, dedupe,
the cache, sample streaming and metrics. `benchmarks/harness_cost.py` uses it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence

from moralbench import Backend, BackendOptions, BackendSpec, ChoiceRequest, ChoiceResponse, hookimpl
from moralbench.requests import context_text


def choice_logprobs(text: str, choices: Sequence[str]) -> tuple[float, ...]:
    """A log-prob per choice in (-4, 0], fixed by the text and the choice."""
    seed = zlib.crc32(text.encode("utf-8"))
    return tuple(-(zlib.crc32(c.encode("utf-8"), seed) % 1000) / 250.0 for c in choices)


class InstantBackend(Backend):
    estimators = ("exact",)

    def __init__(self, args: Mapping[str, str], options: BackendOptions) -> None:
        self.version = args.get("version", "1")

    def fingerprint(self) -> str:
        return "instant:" + self.version

    def score_choices(
        self, requests: Sequence[ChoiceRequest]
    ) -> Iterator[tuple[int, ChoiceResponse]]:
        for index, request in enumerate(requests):
            text = context_text(request.context) + request.answer_prefix
            yield index, ChoiceResponse(choice_logprobs(text, request.choices), "exact")


@hookimpl
def moralbench_register_models() -> list[BackendSpec]:
    return [
        BackendSpec(
            "instant",
            "mb_instant_backend:InstantBackend",
            ("exact",),
            "test backend that answers choice requests instantly (harness cost benchmark)",
        )
    ]
