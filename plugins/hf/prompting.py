"""The hf backend's side of the prompt protocol (`moralbench.chat_protocol`): token ids.

Text that came from a task or its data is always encoded with special-token parsing off, so
an anecdote that contains "<|im_end|>" is scored as those characters, not as the end of a
turn. Only the chat template's own text is encoded with special tokens parsed. To tell the
two apart, the template is rendered with a placeholder for each message content, and the
pieces between placeholders are encoded as template text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from moralbench.chat_protocol import Conversation
from moralbench.requests import Message

_PLACEHOLDER = "\ue000moralbench-content-{}\ue001"  # private-use characters: never in a template


def encode_text(tokenizer: Any, text: str) -> list[int]:
    """Token ids of task or data text: special-token strings stay plain text."""
    if not text:
        return []
    return list(tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])


def encode_template_text(tokenizer: Any, text: str) -> list[int]:
    """Token ids of a chat template's own text: its special tokens are special."""
    if not text:
        return []
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _render(tokenizer: Any, messages: Sequence[Message]) -> str:
    return str(
        tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            tokenize=False,
            add_generation_prompt=True,
        )
    )


@dataclass(frozen=True)
class RenderedChat:
    """A conversation as the model sees it: the exact text and its token ids."""

    text: str
    ids: tuple[int, ...]
    #: False when the template rewrote message contents, so the whole text was encoded with
    #: special tokens parsed (data could not be told from template text)
    contents_kept_plain: bool


def render_chat(tokenizer: Any, chat: Conversation) -> RenderedChat:
    """The chat template applied (generation prompt added), then the prefilled answer start."""
    text = _render(tokenizer, chat.messages) + chat.assistant_start
    marked = _render(
        tokenizer,
        [Message(m.role, _PLACEHOLDER.format(i)) for i, m in enumerate(chat.messages)],
    )
    ids: list[int] = []
    rebuilt = ""
    position = 0
    for i, message in enumerate(chat.messages):
        placeholder = _PLACEHOLDER.format(i)
        at = marked.find(placeholder, position)
        if at < 0 or marked.count(placeholder) != 1:
            break
        ids += encode_template_text(tokenizer, marked[position:at])
        ids += encode_text(tokenizer, message.content)
        rebuilt += marked[position:at] + message.content
        position = at + len(placeholder)
    else:
        ids += encode_template_text(tokenizer, marked[position:])
        rebuilt += marked[position:]
        if rebuilt + chat.assistant_start == text:
            return RenderedChat(
                text, tuple(ids + encode_text(tokenizer, chat.assistant_start)), True
            )
    return RenderedChat(text, tuple(encode_template_text(tokenizer, text)), False)


def continuation_ids(tokenizer: Any, start: str, answer: str) -> tuple[int, ...]:
    """The tokens of `answer` written right after `start` (the prefilled text, or nothing at
    the start of an assistant message): those of encode(start + answer) past encode(start)."""
    whole = encode_text(tokenizer, start + answer)
    return tuple(whole[len(encode_text(tokenizer, start)) :])
