"""Template evaluation is bounded: huge powers, ranges, repetition, recursion and slow loops are
a template error naming the task, within seconds, never a hang or a raw traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from reliability_helpers import run_echo, write_task

from moralbench import template_limits
from moralbench.errors import PromptRenderError
from moralbench.prompts import PromptTemplate

HOSTILE = {
    "huge power": ("{{ 10**10000000 }}", "10 ** 10000000 is too large"),
    "huge range": ("{{ range(10**9)|list|length }}", "range longer than 100,000 items"),
    "recursion": ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion too deep"),
    "huge repeat": ("{{ 'ab' * 10**9 }}", "times is too large"),
    "huge output": (
        "{% for i in range(100000) %}{{ story * 50 }}{% endfor %}",
        "output longer than 4,000,000 characters",
    ),
    "division by zero": ("{{ 1 / 0 }}", "ZeroDivisionError"),
    "deep nesting": ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "too deeply nested"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_template_is_a_render_error_naming_the_task(name: str) -> None:
    source, reason = HOSTILE[name]
    # bounded in the rendering thread's CPU time (what the limit measures), not wall time,
    # so a loaded machine cannot make this flaky
    started = time.thread_time()
    with pytest.raises(PromptRenderError) as info:
        PromptTemplate("evil_task", "default", text=source).render({"story": "once upon"})
    assert time.thread_time() - started < template_limits.MAX_SECONDS + 2
    assert str(info.value).startswith("task 'evil_task', template 'default': ")
    assert reason in str(info.value)


def test_slow_loops_stop_at_the_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_limits, "MAX_SECONDS", 0.5)
    nested = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.thread_time()
    with pytest.raises(PromptRenderError, match="rendering took longer than 0.5 s of CPU time"):
        PromptTemplate("slow_task", "default", text=nested).render({})
    assert time.thread_time() - started < 3


def test_ordinary_arithmetic_ranges_and_repeats_still_work() -> None:
    text = "{{ 2**10 }} {{ range(3)|list }} {{ range(4)|length }} {{ '-' * 3 }} {{ 7 * 6 }}"
    assert PromptTemplate("t", "d", text=text).render({}) == "1024 [0, 1, 2] 4 --- 42"


def test_a_run_reports_the_template_error_before_asking_the_model(tmp_path: Path) -> None:
    tasks = write_task(tmp_path / "tasks", templates="{default: '{{ 10**10000000 }}'}")
    with pytest.raises(PromptRenderError, match="task 'rel_toy', template 'default'"):
        run_echo(tasks, tmp_path / "out")
