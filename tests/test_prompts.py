"""Jinja rendering: sandboxed, strict, and dataset text is never evaluated."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from moralbench.errors import PromptRenderError
from moralbench.prompts import PromptTemplate
from moralbench.requests import Message


def test_renders_fields_and_letter_filter() -> None:
    template = PromptTemplate(
        "t",
        "default",
        text="{{ q }} {% for c in opts %}{{ loop.index0 | letter }}){{ c }} {% endfor %}",
    )
    assert template.render({"q": "Why?", "opts": ["x", "y"]}) == "Why? A)x B)y "


def test_missing_field_names_task_template_and_field() -> None:
    template = PromptTemplate("my_task", "fancy", text="Hello {{ statement }}")
    with pytest.raises(PromptRenderError) as info:
        template.render({"other": 1})
    message = str(info.value)
    assert "my_task" in message and "fancy" in message and "statement" in message


def test_dataset_text_with_jinja_syntax_is_inserted_verbatim() -> None:
    template = PromptTemplate("t", "d", text="Story: {{ text }}")
    evil = "{{ 7 * 7 }} {% for x in range(3) %}loop{% endfor %} {{ ''.__class__ }}"
    assert template.render({"text": evil}) == f"Story: {evil}"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ x.__dict__ }}",
    ],
)
def test_sandbox_escape_attempts_fail_safely(source: str) -> None:
    template = PromptTemplate("t", "evil", text=source)
    with pytest.raises(PromptRenderError, match="unsafe"):
        template.render({"x": SimpleNamespace(secret=1)})


def test_syntax_error_is_reported_at_definition() -> None:
    with pytest.raises(PromptRenderError, match="syntax error"):
        PromptTemplate("t", "broken", text="{{ oops ")


def test_chat_template_renders_messages_and_hash_changes_with_content() -> None:
    chat = PromptTemplate(
        "t",
        "chat",
        messages=(("system", "Be fair."), ("user", "Judge: {{ s }}")),
        answer_prefix="Answer:",
    )
    rendered = chat.render({"s": "lying"})
    assert rendered == (Message("system", "Be fair."), Message("user", "Judge: lying"))
    other = PromptTemplate(
        "t",
        "chat",
        messages=(("system", "Be fair."), ("user", "Judge: {{ s }}!")),
        answer_prefix="Answer:",
    )
    assert chat.sha256 != other.sha256 and len(chat.sha256) == 64


def test_text_or_messages_not_both() -> None:
    from moralbench.errors import TaskDefinitionError

    with pytest.raises(TaskDefinitionError):
        PromptTemplate("t", "x", text="a", messages=(("user", "b"),))
