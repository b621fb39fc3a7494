"""A test plugin: a deterministic backend that counts what it is asked.

Its log-probs are a fixed function of the text, so runs are reproducible and the runner's
dedupe, cache and resume logic can be checked by counting calls. Real-model behaviour is
tested with the demo model elsewhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence

from moralbench import (
    Backend,
    BackendOptions,
    BackendSpec,
    ChoiceRequest,
    ChoiceResponse,
    GenerateRequest,
    GenerateResponse,
    hookimpl,
)
from moralbench.requests import context_text

CALLS: list[str] = []


def _value(text: str) -> float:
    return -(int(hashlib.sha256(text.encode()).hexdigest()[:6], 16) % 1000) / 250.0


class CountingBackend(Backend):
    estimators = ("exact",)

    def __init__(self, args: Mapping[str, str], options: BackendOptions) -> None:
        self.args = dict(args)
        self.fail_marker = args.get("fail_on")

    def fingerprint(self) -> str:
        return "counting:" + self.args.get("version", "1")

    def score_choices(
        self, requests: Sequence[ChoiceRequest]
    ) -> Iterator[tuple[int, ChoiceResponse]]:
        for index, request in enumerate(requests):
            text = context_text(request.context) + request.answer_prefix
            CALLS.append(request.key)
            if self.fail_marker and self.fail_marker in text:
                yield index, ChoiceResponse((), "exact", error="injected failure")
                continue
            yield index, ChoiceResponse(tuple(_value(text + c) for c in request.choices), "exact")

    def generate(
        self, requests: Sequence[GenerateRequest]
    ) -> Iterator[tuple[int, GenerateResponse]]:
        for index, request in enumerate(requests):
            CALLS.append(request.key)
            yield index, GenerateResponse(context_text(request.context)[::-1][:20])


@hookimpl
def moralbench_register_models() -> list[BackendSpec]:
    return [
        BackendSpec(
            "counting",
            "mb_counting_backend:CountingBackend",
            ("exact",),
            "deterministic test backend",
            secret_args=("token",),
        )
    ]
