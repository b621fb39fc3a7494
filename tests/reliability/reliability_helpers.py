"""Small builders shared by the reliability tests: YAML tasks and an answering backend."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import moralbench
from moralbench import Backend, BackendOptions, BackendSpec, ChoiceRequest, ChoiceResponse, hookimpl
from moralbench.requests import context_text

TASK_YAML = """task: {name}
version: '1'
dataset: {{base: task, splits: {{test: items.jsonl}}}}
doc_id: id
choices: [' yes', ' no']
target: label
templates: {templates}
"""


def write_task(
    folder: Path,
    name: str = "rel_toy",
    items: Sequence[Mapping[str, Any]] | None = None,
    templates: str = "{default: {text: 'Story: {{ story }}', answer_prefix: 'Answer:'}}",
) -> Path:
    """A YAML task in `folder` (created) with `items` (default: four short stories)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(TASK_YAML.format(name=name, templates=templates))
    if items is None:
        items = [{"id": f"d{i}", "story": f"story number {i}", "label": i % 2} for i in range(4)]
    (folder / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    return folder


class EchoBackend(Backend):
    """Answers instantly with log-probs derived from the prompt length; runs `on_answer` first."""

    estimators = ("exact",)
    on_answer: Callable[[], None] | None = None
    seen_chars: list[int] = []

    def __init__(self, args: Mapping[str, str], options: BackendOptions) -> None:
        self.args = dict(args)

    def fingerprint(self) -> str:
        return "echo:1"

    def score_choices(
        self, requests: Sequence[ChoiceRequest]
    ) -> Iterator[tuple[int, ChoiceResponse]]:
        for index, request in enumerate(requests):
            if EchoBackend.on_answer is not None:
                EchoBackend.on_answer()
            text = context_text(request.context)
            EchoBackend.seen_chars.append(len(text))
            first = -0.1 - (len(text) % 7) / 10
            yield (
                index,
                ChoiceResponse(tuple(first - i for i in range(len(request.choices))), "exact"),
            )


class EchoPlugin:
    @hookimpl
    def moralbench_register_models(self) -> list[BackendSpec]:
        return [BackendSpec("echo", f"{__name__}:EchoBackend", ("exact",), "instant test backend")]


def run_echo(
    tasks: Path, out: Path, *, task: str = "rel_toy", logs: list[str] | None = None, **options: Any
) -> dict:
    """`moralbench.evaluate` of the task in `tasks` on the instant echo backend, writing to
    `out`; log lines go to `logs` when given."""
    return moralbench.evaluate(
        "echo",
        task,
        include_path=[tasks],
        output_path=out,
        extra_plugins=[EchoPlugin()],
        show_progress=False,
        log=(logs.append if logs is not None else lambda _m: None),
        **options,
    )
