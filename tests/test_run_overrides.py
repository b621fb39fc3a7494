"""`RequestOverrides` and `chat_model_args`: what the run-wide lm-eval flags change."""

from __future__ import annotations

import re

import pytest

from moralbench.backend import BackendSpec
from moralbench.errors import OptionError
from moralbench.requests import ChoiceRequest, GenerateRequest, Message
from moralbench.run_overrides import RequestOverrides, chat_model_args, generation_settings


def test_system_instruction_opens_the_messages_or_joins_the_tasks_own() -> None:
    overrides = RequestOverrides.of("Be fair.", {})
    plain = ChoiceRequest("Is it wrong?", (" yes", " no"), answer_prefix="Answer:")
    chat = ChoiceRequest(
        (Message("system", "You judge."), Message("user", "Is it wrong?")), (" yes", " no")
    )
    first, second = overrides.apply([plain, chat])
    assert first.context == (Message("system", "Be fair."), Message("user", "Is it wrong?"))
    assert second.context[0] == Message("system", "Be fair.\n\nYou judge.")
    assert first.key != plain.key  # a different question is cached apart


def test_gen_kwargs_change_generate_requests_only() -> None:
    overrides = RequestOverrides.of(
        None, {"max_gen_toks": "7", "until": "END;STOP", "do_sample": "false"}
    )
    generate = GenerateRequest("Why?", max_tokens=160, temperature=0.7)
    choice = ChoiceRequest("Is it?", (" A", " B"))
    changed, same = overrides.apply([generate, choice])
    assert (changed.max_tokens, changed.stop, changed.temperature) == (7, ("END", "STOP"), 0.0)
    assert same is choice
    assert not RequestOverrides.of(None, {})  # nothing to change: tasks are not wrapped


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"top_p": "0.9"}, "has no key(s) top_p"),
        ({"temperature": "-1"}, "must be 0 or more"),
        ({"temperature": "0.5", "do_sample": "false"}, "contradicts"),
        ({"max_new_tokens": "many"}, "whole number"),
    ],
)
def test_bad_gen_kwargs(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(OptionError, match=re.escape(message)):
        generation_settings(kwargs)


def test_chat_flag_maps_onto_the_backends_own_arg() -> None:
    spec = BackendSpec("api", "x:y", ("exact",), chat_arg=("api", "chat", "completions"))
    assert chat_model_args(spec, {"model": "m"}, False) == {"model": "m", "api": "completions"}
    assert chat_model_args(spec, {"model": "m"}, None) == {"model": "m"}
    bare = BackendSpec("bare", "x:y", ("exact",))
    with pytest.raises(OptionError, match="has no chat option"):
        chat_model_args(bare, {}, True)
