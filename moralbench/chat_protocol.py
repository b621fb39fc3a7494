"""One prompt protocol for every backend: what a model is asked and which text is its answer.

A request is mode-neutral (a context, an answer prefix, choices and their spelling
variants); each backend scores it in one of two modes, built here and nowhere else:

* **completion**: one text, `context + answer_prefix` (chat messages joined by blank lines),
  and each answer is the choice string as the task wrote it (" A", with its leading space),
  appended directly to that text.
* **chat**: a conversation. The question, then a blank line and the answer prefix, form the
  last user message; the answer is the *start of the assistant message*, so each choice is
  written as a model writes the start of a message: no leading space ("A"). A task whose
  answer prefix only works as the start of the answer itself ("The statement is") gives an
  answer instruction ("Answer with one word: ethical or unethical."), which then ends the
  user message in place of the prefix. With `prefill=true` (only for backends that can write
  the start of the assistant turn) the answer prefix opens the assistant message instead,
  the instruction (if any) ends the user message, and the choices keep their spelling
  (" A" after "Answer:"). Completion prompts never show the instruction: there the answer
  prefix already places the answer.

Spelling variants: a choice may declare further strings that count as the same answer
(" A", "a"; "yes"). They are used verbatim in both modes. A backend that can score exact
probabilities sums them over all spellings; a `top_logprobs` backend sums the listed ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .requests import Context, Message, Request

ModeName = Literal["chat", "completion"]
MODES: tuple[str, ...] = ("chat", "completion")
MESSAGE_JOINER = "\n\n"


@dataclass(frozen=True)
class PromptMode:
    """How a backend puts a request to its model."""

    mode: ModeName
    prefill: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"prompt mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.prefill and self.mode != "chat":
            raise ValueError("prefill exists only in chat mode")

    @property
    def is_chat(self) -> bool:
        return self.mode == "chat"

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "prefill": self.prefill}


COMPLETION = PromptMode("completion")
CHAT = PromptMode("chat")


def completion_text(context: Context, answer_prefix: str) -> str:
    """The completion-mode prompt: the text before the answer."""
    if isinstance(context, str):
        return context + answer_prefix
    return MESSAGE_JOINER.join(m.content for m in context) + answer_prefix


@dataclass(frozen=True)
class Conversation:
    """The chat-mode prompt: the messages, and the text the assistant message starts with
    (the answer prefix when prefilled, else empty)."""

    messages: tuple[Message, ...]
    assistant_start: str = ""

    def as_json(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in self.messages]


def conversation(
    context: Context, answer_prefix: str, *, prefill: bool, instruction: str = ""
) -> Conversation:
    """The messages for one request: a plain-text context becomes one user message; the
    answer instruction, else the answer prefix, ends the last user message after a blank
    line; with prefill the prefix opens the assistant message."""
    if isinstance(context, str):
        messages: tuple[Message, ...] = (Message("user", context.strip()),)
    else:
        messages = tuple(context)
    prefix = answer_prefix.strip()
    tail = instruction.strip() or ("" if prefill else prefix)
    if tail:
        messages = _end_user_message(messages, tail)
    return Conversation(messages, prefix if prefill else "")


def request_conversation(request: Request, *, prefill: bool) -> Conversation:
    """`conversation` for a request (only choice requests carry an answer instruction)."""
    instruction = getattr(request, "answer_instruction", "")
    return conversation(
        request.context, request.answer_prefix, prefill=prefill, instruction=instruction
    )


def _end_user_message(messages: tuple[Message, ...], tail: str) -> tuple[Message, ...]:
    if messages and messages[-1].role == "user":
        question = messages[-1].content.rstrip()
        content = f"{question}{MESSAGE_JOINER}{tail}" if question else tail
        return (*messages[:-1], Message("user", content))
    return (*messages, Message("user", tail))


def answer_spellings(
    choices: Sequence[str], variants: Sequence[Sequence[str]], mode: PromptMode
) -> tuple[tuple[str, ...], ...]:
    """Per choice, every string that counts as that answer, in the given mode.

    The first is the choice itself (its leading whitespace dropped at the start of an
    assistant message); declared variants follow verbatim, duplicates removed.
    """
    if variants and len(variants) != len(choices):
        raise ValueError(f"{len(variants)} variant lists for {len(choices)} choices")
    out = []
    for k, choice in enumerate(choices):
        first = choice.lstrip() if mode.is_chat and not mode.prefill else choice
        extra = tuple(variants[k]) if variants else ()
        spellings = tuple(s for s in dict.fromkeys((first, *extra)) if s)
        if not spellings:
            raise ValueError(f"choice {choice!r} has no non-empty spelling")
        out.append(spellings)
    owner: dict[str, int] = {}
    for k, spellings in enumerate(out):
        for spelling in spellings:
            if owner.setdefault(spelling, k) != k:
                raise ValueError(
                    f"{spelling!r} is a spelling of two choices ({choices[owner[spelling]]!r} "
                    f"and {choices[k]!r})"
                )
    return tuple(out)


def readable_messages(messages: Sequence[Message]) -> str:
    """Messages as one readable text (for a sample's `prompt` when a server renders them)."""
    return "\n".join(f"<{m.role}>\n{m.content}" for m in messages)


def strip_echoed_prefix(text: str, answer_prefix: str) -> str:
    """A chat reply that starts by repeating the answer prefix ("Answer: yes") loses the
    repeat, so replies read the same whether or not the prefix was prefilled."""
    prefix = answer_prefix.strip()
    stripped = text.lstrip()
    if prefix and stripped.casefold().startswith(prefix.casefold()):
        return stripped[len(prefix) :]
    return text
