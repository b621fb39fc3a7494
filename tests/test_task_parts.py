"""The parts every task shares: declared templates, the few-shot sampler and layout, and the
choice-task aggregate, used alike by YAML tasks and the built-in Python tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import TOY_TASKS
from moralbench.tasks.dfar import DfarClassification, DfarReasons
from moralbench.tasks.dfar.base import SAMPLE_DATA as DFAR_SAMPLES
from moralbench.tasks.scruples import ScruplesAnecdotes, ScruplesAnecdotesBinary, ScruplesDilemmas
from moralbench.tasks.scruples.base import SAMPLE_DATA_DIR as SCRUPLES_SAMPLES

from moralbench.choice_task import ChoiceTask, before_ceiling
from moralbench.errors import TaskDefinitionError
from moralbench.fewshot import ShotPool, pick_shots, prompt_context
from moralbench.prompts import PromptTemplate, load_templates
from moralbench.requests import Message
from moralbench.task import TaskContext
from moralbench.yaml_task import load_yaml_tasks

# The template hashes results already carry (results.json `templates`): declaring the
# built-in templates through `load_templates` must not change them, or earlier results would
# stop comparing with new ones on the leaderboard. A template whose text changes gets a new
# hash here and a new task version. (The first 16 hex digits of each sha256.)
BUILTIN_TEMPLATE_SHA256 = {
    ("dfar_classification", "alpaca"): "0371015b463f11cd",
    ("dfar_classification", "chat"): "03492d36b45c648b",
    ("dfar_classification", "default"): "a38728f74f0ba7b6",
    ("scruples_anecdotes", "aita"): "7245d20898421fdb",
    ("scruples_anecdotes", "chat"): "201c0b53ac169d21",
    ("scruples_anecdotes", "default"): "83f13ecc0d4e3622",
    ("scruples_anecdotes_binary", "chat"): "602702c97ed6acd1",
    ("scruples_anecdotes_binary", "default"): "b38a1b6e37ce67f9",
    ("scruples_anecdotes_binary", "maity2024"): "37dfb915b98bfd2b",
    ("scruples_anecdotes_binary", "yesno"): "76dc58043fcc2ced",
    ("scruples_dilemmas", "chat"): "c22ee9334def8a17",
    ("scruples_dilemmas", "default"): "c5195f03f5514602",
    ("scruples_dilemmas", "maity2024"): "96f0fb48d32420e0",
    ("scruples_dilemmas", "maity2024_both_orders"): "a07ff8b5f2b61706",
    ("scruples_dilemmas", "yesno"): "5db0b47682d7657c",
}


def _task(task_class: type, data: Path, **options: str) -> Any:
    return task_class(TaskContext(data_dir=data, options=options))


def test_builtin_template_hashes_are_those_earlier_results_carry() -> None:
    found = {}
    for task_class in (ScruplesAnecdotes, ScruplesAnecdotesBinary, ScruplesDilemmas):
        for name in task_class.variants:
            (template,) = _task(task_class, SCRUPLES_SAMPLES, template=name).templates().values()
            found[(task_class.name, name)] = template.sha256[:16]
    for name in ("default", "alpaca", "chat"):
        (template,) = _task(DfarClassification, DFAR_SAMPLES, template=name).templates().values()
        found[(DfarClassification.name, name)] = template.sha256[:16]
    assert found == BUILTIN_TEMPLATE_SHA256


# -- declared templates ------------------------------------------------------------------------


def test_load_templates_reads_the_yaml_template_syntax(tmp_path: Path) -> None:
    (tmp_path / "q.jinja").write_text("Q: {{ q }}", encoding="utf-8")
    (tmp_path / "sys.jinja").write_text("Be fair.", encoding="utf-8")
    templates = load_templates(
        "t",
        {
            "plain": {"file": "q.jinja", "answer_prefix": "A:"},
            "inline": "Q? {{ q }}",
            "chat": {
                "messages": [
                    {"role": "system", "file": "sys.jinja"},
                    {"role": "user", "content": "{{ q }}"},
                ],
                "answer_prefix": "A:",
            },
        },
        tmp_path,
    )
    assert templates["plain"].render({"q": "x"}) == "Q: x"
    assert templates["plain"].answer_prefix == "A:"
    assert templates["inline"].render({"q": "x"}) == "Q? x"
    assert templates["chat"].render({"q": "x"}) == (
        Message("system", "Be fair."),
        Message("user", "x"),
    )


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"file": "q.jinja", "answer_prefx": "A:"}, "template 'd': unknown key.s. answer_prefx"),
        ({"messages": [{"role": "user", "text": "x"}]}, "unknown message key.s. text"),
    ],
)
def test_load_templates_refuses_unknown_keys(
    tmp_path: Path, declared: dict[str, Any], message: str
) -> None:
    with pytest.raises(TaskDefinitionError, match=message):
        load_templates("t", {"d": declared}, tmp_path)
    with pytest.raises(TaskDefinitionError, match="non-empty map"):
        load_templates("t", {}, tmp_path)


# -- few-shot examples -------------------------------------------------------------------------


def test_shots_exclude_the_document_and_are_fixed_by_seed_and_id() -> None:
    pool = [{"doc_id": f"d{i}"} for i in range(6)]
    doc = {"doc_id": "d2"}
    shots = pick_shots(pool, doc, 3, seed=7)
    assert len(shots) == 3 and doc not in shots
    assert shots == pick_shots(pool, doc, 3, seed=7)
    assert {d["doc_id"] for d in pick_shots(pool, doc, 99, seed=7)} == {
        "d0",
        "d1",
        "d3",
        "d4",
        "d5",
    }
    other_seeds = {tuple(d["doc_id"] for d in pick_shots(pool, doc, 3, seed=s)) for s in range(8)}
    assert len(other_seeds) > 1


def test_the_shot_pool_reads_its_split_once_and_only_when_needed() -> None:
    reads = []

    def read() -> list[dict[str, str]]:
        reads.append(1)
        return [{"doc_id": "a"}, {"doc_id": "b"}]

    pool = ShotPool(read)
    assert pool.pick({"doc_id": "a"}, 0, seed=0) == [] and reads == []
    assert pool.pick({"doc_id": "a"}, 1, seed=0) == [{"doc_id": "b"}]
    pool.pick({"doc_id": "b"}, 1, seed=0)
    assert reads == [1]


def test_plain_examples_precede_the_prompt_a_blank_line_apart() -> None:
    template = PromptTemplate("t", "p", text="Q: {{ q }}\n", answer_prefix="Answer:")
    context = prompt_context(template, {"q": "3?"}, [({"q": "1?"}, " yes"), ({"q": "2?"}, " no")])
    assert context == "Q: 1?\nAnswer: yes\n\nQ: 2?\nAnswer: no\n\nQ: 3?\n"
    assert prompt_context(template, {"q": "3?"}) == "Q: 3?\n"


def test_chat_examples_are_user_and_assistant_turns_after_the_system_message() -> None:
    template = PromptTemplate(
        "t", "c", messages=(("system", "Be fair."), ("user", "{{ q }}")), answer_prefix="Answer:"
    )
    context = prompt_context(template, {"q": "3?"}, [({"q": "1?"}, " yes")])
    assert context == (
        Message("system", "Be fair."),
        Message("user", "1?"),
        Message("assistant", "Answer: yes"),
        Message("user", "3?"),
    )


# -- the choice-task base ----------------------------------------------------------------------


def test_choice_tasks_share_one_aggregate() -> None:
    (toy,) = [f for f in load_yaml_tasks(TOY_TASKS) if f.name == "toy_votes"]
    yaml_task = toy(TaskContext(data_dir=TOY_TASKS))
    for task_class in (ScruplesAnecdotes, DfarClassification, type(yaml_task)):
        assert issubclass(task_class, ChoiceTask)
    assert DfarClassification.aggregate is ChoiceTask.aggregate
    assert type(yaml_task).aggregate is ChoiceTask.aggregate
    assert not issubclass(DfarReasons, ChoiceTask)
    assert DfarClassification.metric_names == ("accuracy", "f1_macro", "ece", "brier")
    assert ScruplesDilemmas.slice_flags == ("controversial",)


def test_extra_metrics_go_before_the_ceiling() -> None:
    metrics = {"accuracy": 1.0, "ceiling": {}, "n": 3, "notes": []}
    placed = before_ceiling(metrics, {"extra": 0.5})
    assert list(placed) == ["accuracy", "extra", "ceiling", "n", "notes"]
    assert list(before_ceiling({"accuracy": 1.0, "n": 3}, {"extra": 0.5})) == [
        "accuracy",
        "n",
        "extra",
    ]
