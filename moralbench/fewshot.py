"""Few-shot prompts: which worked examples a document gets, and where they stand.

One sampler and one layout serve every task, YAML or Python:

- the examples are drawn from the task's few-shot split, never the document itself, by a
  generator seeded with `--seed` and the document id (the same examples for a document in
  every run, whatever the order the documents are read in);
- a plain template puts each example (its prompt, the answer prefix, the answer) before the
  document's prompt, a blank line apart; a chat template turns each example into its user
  turn(s) and an assistant turn with the answer, after the system message(s).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .prompts import PromptTemplate, plain_context
from .requests import Context, Message

Doc = dict[str, Any]
#: one worked example: the fields its prompt is rendered from, and the answer after the prefix
Example = tuple[Mapping[str, Any], str]


def pick_shots(pool: Sequence[Doc], doc: Doc, k: int, seed: int) -> list[Doc]:
    """`k` examples from the pool (fewer if it is smaller), never `doc` itself."""
    candidates = [d for d in pool if d["doc_id"] != doc["doc_id"]]
    rng = random.Random(f"{seed}:{doc['doc_id']}")
    return rng.sample(candidates, min(k, len(candidates)))


class ShotPool:
    """The documents of a few-shot split, read once, on the first document that needs them."""

    def __init__(self, read: Callable[[], Iterable[Doc]]) -> None:
        self._read = read
        self._docs: list[Doc] | None = None

    def pick(self, doc: Doc, k: int, seed: int) -> list[Doc]:
        if k <= 0:
            return []
        if self._docs is None:
            self._docs = list(self._read())
        return pick_shots(self._docs, doc, k, seed)


def prompt_context(
    template: PromptTemplate, fields: Mapping[str, Any], examples: Sequence[Example] = ()
) -> Context:
    """The context of one request: the document's prompt after its worked examples.

    Plain text is laid out by `plain_context`, so the answer prefix the backend appends
    starts where the template says; chat messages are returned as rendered.
    """
    rendered = template.render(fields)
    prefix = template.answer_prefix
    if isinstance(rendered, str):
        shown = []
        for shot_fields, answer in examples:
            text = template.render(shot_fields)
            assert isinstance(text, str)
            shown.append(plain_context(text, prefix) + prefix + answer)
        return "\n\n".join([*shown, plain_context(rendered, prefix)])
    turns: list[Message] = []
    for shot_fields, answer in examples:
        shot = template.render(shot_fields)
        assert not isinstance(shot, str)
        turns += [m for m in shot if m.role != "system"]
        turns.append(Message("assistant", (prefix + answer).strip()))
    system = [m for m in rendered if m.role == "system"]
    return tuple([*system, *turns, *(m for m in rendered if m.role != "system")])
