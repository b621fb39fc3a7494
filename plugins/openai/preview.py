"""What the openai backend sends for a request, from its settings alone: the backend's
`shown_prompt` and `moralbench run --dry-run` (which contacts no server) share it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moralbench.backend import BackendOptions
from moralbench.chat_protocol import COMPLETION, PromptMode, answer_spellings
from moralbench.requests import ChoiceRequest, Request

from .payloads import endpoint, prompt_payload
from .settings import ApiSettings, parse_settings


def prompt_mode(settings: ApiSettings) -> PromptMode:
    return PromptMode("chat", settings.prefill) if settings.api == "chat" else COMPLETION


def base_payload(settings: ApiSettings, request: Request) -> dict[str, Any]:
    """The prompt part of a request's body (messages or prompt text)."""
    mode = "prefill" if settings.prefill else "user"
    instruction = getattr(request, "answer_instruction", "")
    return prompt_payload(
        settings.api, settings.model, request.context, request.answer_prefix, mode, instruction
    )


@dataclass(frozen=True)
class OpenAIPromptPreview:
    settings: ApiSettings

    def shown_prompt(self, request: Request) -> dict[str, Any]:
        """The endpoint and the prompt part of the body as sent (no key, no base URL)."""
        payload = base_payload(self.settings, request)
        shown: dict[str, Any] = {"endpoint": endpoint(self.settings.api)}
        if "messages" in payload:
            shown["messages"] = payload["messages"]
        else:
            shown["text"] = payload["prompt"]
        if isinstance(request, ChoiceRequest):
            mode = prompt_mode(self.settings)
            shown["answers"] = [
                list(s) for s in answer_spellings(request.choices, request.variants, mode)
            ]
        return shown


def openai_prompt_preview(args: Mapping[str, str], options: BackendOptions) -> OpenAIPromptPreview:
    return OpenAIPromptPreview(parse_settings(args, options.seed))
