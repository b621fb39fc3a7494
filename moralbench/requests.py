"""The values that cross the task / runner / backend boundary.

Tasks build requests, the runner deduplicates and caches them by `key`, backends answer them.
All are frozen dataclasses so they can be hashed, deduplicated and shared between threads,
with slots: a run holds a request and a response per prompt, and a per-instance `__dict__`
would be most of their memory.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    """One chat turn."""

    role: str
    content: str


Context = str | tuple[Message, ...]


def _context_json(context: Context) -> Any:
    if isinstance(context, str):
        return context
    return [[m.role, m.content] for m in context]


def context_text(context: Context) -> str:
    """A readable rendering of a context, for sample logs and prompt hashes."""
    if isinstance(context, str):
        return context
    return "\n".join(f"<{m.role}>\n{m.content}" for m in context)


def _sha256(payload: Any) -> str:
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ItemView:
    """The item as a model that reads no prompt sees it (classifiers, reward models).

    `texts`: the item's own text, one string or a text pair (title and body); for a pairwise
    item (`per_text`, e.g. a dilemma) one text per choice, in the order shown. `labels`: the
    semantic label of each choice, in choice order (e.g. "ethical", "unethical"; for a
    pairwise item the position label of each text). `question` and `answers`: the question
    in plain words with the item in it, and each choice written out as a whole answer, for
    models that score an answer to a question (reward models).
    """

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    question: str = ""
    answers: tuple[str, ...] = ()
    per_text: bool = False

    def __post_init__(self) -> None:
        for name in ("texts", "labels", "answers"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        if not self.texts:
            raise ValueError("ItemView needs at least one text")
        if self.answers and len(self.answers) != len(self.labels):
            raise ValueError("ItemView needs one answer per label")
        if self.per_text and len(self.texts) != len(self.labels):
            raise ValueError("a per_text ItemView needs one text per label")

    def to_json(self) -> dict[str, Any]:
        return {
            "texts": list(self.texts),
            "labels": list(self.labels),
            "question": self.question,
            "answers": list(self.answers),
            "per_text": self.per_text,
        }


@dataclass(frozen=True, slots=True)
class ChoiceRequest:
    """Ask for the log-probability of each choice continuation given the context.

    `context` is plain text, or chat messages (the backend applies its chat template and then
    the answer prefix as `moralbench.chat_protocol` says). Each choice is written as it
    follows the answer prefix in plain text, with its leading space where the natural text has
    one (" A", " yes"); in chat mode the backend drops that space at the start of the
    assistant message. `variants` optionally lists, per choice, further strings that count as
    the same answer (used verbatim in every mode; default: the choice alone).
    `answer_instruction` tells a chat model how to start its reply; it ends the user message
    in chat mode in place of the answer prefix (see `moralbench.chat_protocol`).

    `item` is optional: what backends that read no prompt need (see `ItemView`). The
    built-in tasks fill it; a backend such as `hf-classifier` refuses requests without it.
    """

    context: Context
    choices: tuple[str, ...]
    answer_prefix: str = ""
    variants: tuple[tuple[str, ...], ...] = ()
    answer_instruction: str = ""
    item: ItemView | None = None

    def __post_init__(self) -> None:
        if not self.choices:
            raise ValueError("ChoiceRequest needs at least one choice")
        if isinstance(self.context, list):
            object.__setattr__(self, "context", tuple(self.context))
        if isinstance(self.choices, list):
            object.__setattr__(self, "choices", tuple(self.choices))
        if self.variants:
            object.__setattr__(self, "variants", tuple(tuple(v) for v in self.variants))
            if len(self.variants) != len(self.choices):
                raise ValueError(
                    f"ChoiceRequest has {len(self.choices)} choices but "
                    f"{len(self.variants)} variant lists"
                )
        if self.item is not None and len(self.item.labels) != len(self.choices):
            raise ValueError(
                f"ChoiceRequest has {len(self.choices)} choices but its item view "
                f"{len(self.item.labels)} labels"
            )

    @property
    def is_chat(self) -> bool:
        return not isinstance(self.context, str)

    @property
    def key(self) -> str:
        """Content hash: identical requests share one key (dedupe and cache)."""
        return _sha256(
            {
                "type": "choice",
                "context": _context_json(self.context),
                "choices": list(self.choices),
                "answer_prefix": self.answer_prefix,
                # only when declared, so requests without variants keep their cache keys
                **({"variants": [list(v) for v in self.variants]} if self.variants else {}),
                **(
                    {"answer_instruction": self.answer_instruction}
                    if self.answer_instruction
                    else {}
                ),
                # only when set, so requests without an item view keep their cache keys
                **({"item": self.item.to_json()} if self.item is not None else {}),
            }
        )


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    """Ask for a continuation of the context, up to `max_tokens` or the first stop sequence."""

    context: Context
    stop: tuple[str, ...] = ()
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = None
    answer_prefix: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.context, list):
            object.__setattr__(self, "context", tuple(self.context))
        if isinstance(self.stop, list):
            object.__setattr__(self, "stop", tuple(self.stop))

    @property
    def is_chat(self) -> bool:
        return not isinstance(self.context, str)

    @property
    def key(self) -> str:
        return _sha256(
            {
                "type": "generate",
                "context": _context_json(self.context),
                "stop": list(self.stop),
                "max_tokens": self.max_tokens,
                "temperature": self.temperature,
                "seed": self.seed,
                "answer_prefix": self.answer_prefix,
            }
        )


Request = ChoiceRequest | GenerateRequest


@dataclass(frozen=True, slots=True)
class ChoiceResponse:
    """Per-choice log-probabilities and how they were estimated.

    `details` carries estimator-specific facts (covered probability mass for `top_logprobs`,
    unparseable answer count for `sampled`, token counts). `error` is set, and `logprobs` is
    empty, when the backend gave up on the request; failed responses are never cached.
    """

    logprobs: tuple[float, ...]
    estimator: str
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        # built by hand: `asdict` deep-copies `details`, a third of a cache write's time
        return {
            "kind": "choice",
            "logprobs": list(self.logprobs),
            "estimator": self.estimator,
            "details": self.details,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class GenerateResponse:
    """Generated text (stop sequence excluded)."""

    text: str
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": "generate", "text": self.text, "details": self.details, "error": self.error}


Response = ChoiceResponse | GenerateResponse


def response_from_json(payload: dict[str, Any]) -> Response:
    """Inverse of `to_json`, used by the request cache."""
    data = dict(payload)
    kind = data.pop("kind")
    if kind == "choice":
        data["logprobs"] = tuple(data["logprobs"])
        return ChoiceResponse(**data)
    if kind == "generate":
        return GenerateResponse(**data)
    raise ValueError(f"unknown response kind {kind!r}")
