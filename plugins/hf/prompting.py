"""The hf backend's side of the prompt protocol (`moralbench.chat_protocol`): token ids.

Text that came from a task or its data is always encoded with special-token parsing off, so
an anecdote that contains "<|im_end|>" is scored as those characters, not as the end of a
turn. Only the chat template's own text is encoded with special tokens parsed. To tell the
two apart, the template is rendered with a placeholder for each message content, and the
pieces between placeholders are encoded as template text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moralbench.chat_protocol import (
    COMPLETION,
    Conversation,
    PromptMode,
    answer_spellings,
    completion_text,
    request_conversation,
)
from moralbench.errors import OptionError
from moralbench.requests import ChoiceRequest, Message, Request

from .model_args import flag

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


@dataclass(frozen=True)
class HFPrompter:
    """How the hf backend turns a request into token ids: needs the tokenizer only, so
    `moralbench run --dry-run` shows the exact prompt without loading any weights."""

    tokenizer: Any
    use_chat_template: bool
    prefill: bool

    @classmethod
    def for_args(cls, tokenizer: Any, args: Mapping[str, str]) -> HFPrompter:
        """`chat_template` (default: on when the tokenizer has one) and `prefill`, checked."""
        has_template = bool(getattr(tokenizer, "chat_template", None))
        use_chat_template = flag(args, "chat_template", has_template)
        if use_chat_template and not has_template:
            raise OptionError("chat_template=true but the tokenizer has no chat template")
        prefill = flag(args, "prefill", False)
        if prefill and not use_chat_template:
            raise OptionError("prefill=true needs the chat template (chat_template=true)")
        return cls(tokenizer, use_chat_template, prefill)

    def prompt_mode(self) -> PromptMode:
        return PromptMode("chat", self.prefill) if self.use_chat_template else COMPLETION

    def bos(self) -> list[int]:
        add_bos = getattr(self.tokenizer, "add_bos_token", False)
        bos = self.tokenizer.bos_token_id
        if add_bos and bos is not None and not self.use_chat_template:
            return [int(bos)]
        return []

    def prompt_ids(self, request: Request) -> tuple[str, list[int]]:
        """The exact text the model sees before the answer, and its token ids."""
        if self.use_chat_template:
            chat = request_conversation(request, prefill=self.prefill)
            rendered = render_chat(self.tokenizer, chat)
            return rendered.text, list(rendered.ids)
        text = completion_text(request.context, request.answer_prefix)
        return text, self.bos() + encode_text(self.tokenizer, text)

    def spellings(self, request: ChoiceRequest) -> tuple[tuple[str, ...], ...]:
        return answer_spellings(request.choices, request.variants, self.prompt_mode())

    def shown_prompt(self, request: Request) -> dict[str, Any]:
        shown: dict[str, Any] = {"text": self.prompt_ids(request)[0]}
        if isinstance(request, ChoiceRequest):
            shown["answers"] = [list(s) for s in self.spellings(request)]
        return shown
