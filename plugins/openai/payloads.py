"""The JSON bodies sent to the chat and completions endpoints.

The prompt follows `moralbench.chat_protocol`, as in every backend: on the chat endpoint the
answer prefix ends the last user message after a blank line (the server applies the chat
template and the model's answer is the start of its reply); with `prefill=true` it is sent as
a final assistant message instead, for servers that continue a final assistant message. On the
completions endpoint the context is sent as is, followed by the prefix; chat messages are
joined by blank lines (the server applies no chat template to a completions prompt).
"""

from __future__ import annotations

from typing import Any

from moralbench.chat_protocol import completion_text, conversation
from moralbench.chat_protocol import strip_echoed_prefix as strip_echoed_prefix
from moralbench.requests import Context

# OpenAI accepts at most four stop sequences; further ones are applied on our side.
MAX_SERVER_STOPS = 4


def endpoint(api: str) -> str:
    """Path of the endpoint, relative to base_url."""
    return "chat/completions" if api == "chat" else "completions"


def chat_messages(
    context: Context, answer_prefix: str, mode: str, instruction: str = ""
) -> list[dict[str, str]]:
    """The messages as sent; `mode` is "prefill" or "user" (the prefix in the user message)."""
    chat = conversation(context, answer_prefix, prefill=mode == "prefill", instruction=instruction)
    messages = chat.as_json()
    if chat.assistant_start:
        messages.append({"role": "assistant", "content": chat.assistant_start})
    return messages


def completion_prompt(context: Context, answer_prefix: str) -> str:
    return completion_text(context, answer_prefix)


def prompt_payload(
    api: str,
    model: str,
    context: Context,
    answer_prefix: str,
    chat_mode: str,
    instruction: str = "",
) -> dict[str, Any]:
    """The model name and the prompt, in the shape the chosen endpoint wants."""
    if api == "chat":
        messages = chat_messages(context, answer_prefix, chat_mode, instruction)
        return {"model": model, "messages": messages}
    return {"model": model, "prompt": completion_prompt(context, answer_prefix)}


def top_logprobs_payload(base: dict[str, Any], api: str, k: int) -> dict[str, Any]:
    """One greedy token with the k most likely first tokens and their log-probs."""
    payload = {**base, "max_tokens": 1, "temperature": 0.0}
    if api == "chat":
        return {**payload, "logprobs": True, "top_logprobs": k}
    return {**payload, "logprobs": k}


def echo_payload(model: str, prompt: str) -> dict[str, Any]:
    """Log-probs of the prompt's own tokens (completions endpoint, `echo`).

    One generated token is asked for (some servers refuse `max_tokens=0`); it lies past the
    prompt's end and is ignored.
    """
    return {
        "model": model,
        "prompt": prompt,
        "echo": True,
        "logprobs": 1,
        "max_tokens": 1,
        "temperature": 0.0,
    }


def sampling_payload(
    base: dict[str, Any], *, n: int, temperature: float, max_tokens: int, seed: int
) -> dict[str, Any]:
    return {**base, "n": n, "temperature": temperature, "max_tokens": max_tokens, "seed": seed}


def generate_payload(
    base: dict[str, Any],
    *,
    max_tokens: int,
    temperature: float,
    seed: int | None,
    stop: tuple[str, ...],
) -> dict[str, Any]:
    payload: dict[str, Any] = {**base, "max_tokens": max_tokens, "temperature": temperature}
    if seed is not None:
        payload["seed"] = seed
    if stop:
        payload["stop"] = list(stop[:MAX_SERVER_STOPS])
    return payload


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """Text before the first stop sequence (servers differ on which stops they apply)."""
    cut = len(text)
    for stop in stops:
        at = text.find(stop)
        if 0 <= at < cut:
            cut = at
    return text[:cut]
