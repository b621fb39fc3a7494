"""What a new user trips over (#18): each item through `moralbench.evaluate` or the console script.

Runs use the deterministic counting backend (a real plugin from `tests/plugins/`) through the
public API, and the real CLI in a subprocess for what a person types and reads. Errors that
must come before the model loads are checked with a `pretrained` folder that does not exist:
reaching the model would fail with a different message.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import mb_counting_backend
import pytest
from conftest import TOY_TASKS, run_cli

from moralbench import evaluate
from moralbench.errors import OptionError, TaskDefinitionError
from moralbench.yaml_task import load_yaml_tasks

NO_MODEL = ["--model", "hf", "--model-args", "pretrained=/nonexistent/model-folder"]


def _run(tmp_path: Path, tasks: str = "toy_votes", **options: Any) -> dict[str, Any]:
    mb_counting_backend.CALLS.clear()
    defaults: dict[str, Any] = dict(
        include_path=[TOY_TASKS],
        extra_plugins=[mb_counting_backend],
        output_path=tmp_path,
        show_progress=False,
        n_bootstrap=50,
        log=lambda m: None,
    )
    return evaluate("counting", tasks, **{**defaults, **options})


def _samples(payload: dict[str, Any], task: str) -> list[dict[str, Any]]:
    path = Path(payload["samples_files"][task])
    return [json.loads(line) for line in path.read_text().splitlines()]


def _toy_copy(tmp_path: Path, **extra: str) -> Path:
    """The toy task in a folder of its own, with extra top-level YAML lines."""
    folder = tmp_path / "tasks"
    shutil.copytree(TOY_TASKS, folder)
    text = (folder / "toy.yaml").read_text()
    text += "".join(f"{key}: {value}\n" for key, value in extra.items())
    (folder / "toy.yaml").write_text(text)
    return folder


# -- --num-fewshot: applied, or refused; never recorded when ignored ---------------------------


def test_num_fewshot_is_refused_by_a_zero_shot_task_before_the_model_loads() -> None:
    proc = run_cli(
        "run", *NO_MODEL, "--tasks", "scruples_dilemmas", "--sample-data", "--num-fewshot", "2",
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "task 'scruples_dilemmas' is zero-shot only" in proc.stderr
    assert "--num-fewshot" in proc.stderr
    assert "nonexistent" not in proc.stderr  # refused before the model was looked for


def test_num_fewshot_is_refused_by_a_yaml_task_without_fewshot_split(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="'toy_votes' is zero-shot only"):
        _run(tmp_path, num_fewshot=2)
    with pytest.raises(OptionError, match="0 or more"):
        _run(tmp_path, num_fewshot=-1)


def test_yaml_fewshot_is_applied_to_plain_and_chat_templates(tmp_path: Path) -> None:
    tasks = _toy_copy(tmp_path, fewshot_split="dev")
    zero = _run(tmp_path / "zero", include_path=[tasks], limit=3)
    two = _run(tmp_path / "two", include_path=[tasks], limit=3, num_fewshot=2)
    assert two["config"]["num_fewshot"] == 2
    assert two["timing"]["requests_sent_to_backend"] > 0  # new prompts, not cache hits
    dev = [json.loads(x) for x in (tasks / "toy_dev.jsonl").read_text().splitlines()]
    for before, after in zip(_samples(zero, "toy_votes"), _samples(two, "toy_votes"), strict=True):
        examples = after["prompt"].split("\n\n")
        assert len(examples) == 3 and examples[-1] == before["prompt"]
        for example in examples[:2]:
            answers = {
                [" yes", " no"][d["label"]]
                for d in dev
                if f"Situation: {d['situation']}\n" in example
            }  # the toy data repeats a situation with another label
            assert any(example.endswith(f"Reply yes or no.\nAnswer:{a}") for a in answers)

    chat = _run(
        tmp_path / "chat", include_path=[tasks], limit=1, num_fewshot=2,
        task_args={"template": "chat"},
    )  # fmt: skip
    prompt = _samples(chat, "toy_votes")[0]["prompt"]
    roles = [line for line in prompt.splitlines() if line.startswith("<")]
    assert roles == ["<system>", "<user>", "<assistant>", "<user>", "<assistant>", "<user>"]
    assert prompt.count("\nAnswer: yes") + prompt.count("\nAnswer: no") == 2


# -- a YAML task definition is checked against its schema --------------------------------------


def test_misspelt_yaml_key_names_file_line_and_closest_key(tmp_path: Path) -> None:
    folder = _toy_copy(tmp_path)
    path = folder / "toy.yaml"
    lines = path.read_text().splitlines()
    index = lines.index("human_counts: votes")
    lines[index] = "human_count: votes"
    path.write_text("\n".join(lines) + "\n")
    proc = run_cli("tasks", "--include-path", str(folder), check=False)
    assert proc.returncode == 2
    expected = f"{path}:{index + 1}: unknown key 'human_count'; did you mean 'human_counts'?"
    assert expected in proc.stderr


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  base: task", "  bsae: task", "unknown key in dataset: 'bsae'; did you mean 'base'?"),
        (
            '  default: {file: toy.jinja, answer_prefix: "Answer:"}',
            '  default: {file: toy.jinja, answer_prefx: "Answer:"}',
            "unknown key in template 'default': 'answer_prefx'; did you mean 'answer_prefix'?",
        ),
        (
            '      - {role: system, content: "You judge everyday situations."}',
            '      - {role: system, contnet: "You judge everyday situations."}',
            "template 'chat': message 'contnet'; did you mean 'content'?",
        ),
    ],
)
def test_nested_yaml_keys_are_checked(tmp_path: Path, old: str, new: str, message: str) -> None:
    folder = _toy_copy(tmp_path)
    path = folder / "toy.yaml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(TaskDefinitionError, match=message) as caught:
        load_yaml_tasks(folder)
    assert str(caught.value).startswith(f"{path}:")


# -- --sample-data is recorded, and kept out of the leaderboard unless asked -------------------


def test_sample_data_is_recorded_and_left_out_of_the_leaderboard(tmp_path: Path) -> None:
    full = _run(tmp_path / "runs")
    # the toy task's data ships beside it, so it joins a --sample-data run as it is
    smoke = _run(tmp_path / "runs", sample_data=True)
    assert full["config"]["sample_data"] is False
    assert smoke["config"]["sample_data"] is True
    on_disk = json.loads(Path(smoke["results_file"]).read_text())
    assert on_disk["config"]["sample_data"] is True

    board = run_cli("leaderboard", str(tmp_path / "runs"), "--format", "json")
    assert "1 run(s) scored only the few bundled --sample-data items" in board.stderr
    columns = json.loads(board.stdout)["columns"]
    labels = {c["variant"]["sample_data"]: c["variant"]["label"] for c in columns}
    assert labels[True].startswith("sample data") and "sample data" not in labels[False]

    alone = run_cli("leaderboard", smoke["results_file"], "--no-references")
    header = next(line for line in alone.stdout.splitlines() if line.startswith("| "))
    assert "toy_votes [sample data] accuracy" in header

    left_out = run_cli("leaderboard", str(tmp_path / "runs"), "--no-sample-data", "-f", "json")
    assert "1 --sample-data run(s) left out" in left_out.stderr
    kept = json.loads(left_out.stdout)["columns"]
    assert kept and all(c["variant"]["sample_data"] is False for c in kept)


# -- the calibration split stays whole under --limit ------------------------------------------


def test_limit_cuts_the_reported_split_only(tmp_path: Path) -> None:
    dev_lines = (TOY_TASKS / "toy_dev.jsonl").read_text().splitlines()
    dev_prompts = {json.loads(x)["situation"] for x in dev_lines}
    whole = _run(tmp_path / "a", limit=2, use_cache=False)
    test_prompts = {s["prompt"] for s in _samples(whole, "toy_votes")}
    assert whole["results"]["toy_votes"]["n"] == 2
    assert whole["timing"]["requests"] == len(test_prompts) + len(dev_prompts)

    cut = _run(tmp_path / "b", limit=2, calibration_limit=2, use_cache=False)
    assert cut["timing"]["requests"] == len(test_prompts) + 2
    assert cut["config"]["calibration_limit"] == 2
    assert (
        cut["results"]["toy_votes"]["temperature"] != whole["results"]["toy_votes"]["temperature"]
    )


def test_reporting_the_calibration_split_says_so(tmp_path: Path) -> None:
    notes = _run(tmp_path, split="dev")["results"]["toy_votes"]["notes"]
    assert any("reported split 'dev' is the calibration split" in n for n in notes)
    assert not any("missing" in n for n in notes)
    assert "temperature" not in _run(tmp_path, split="dev")["results"]["toy_votes"]


# -- the Python API takes what the CLI takes ---------------------------------------------------


def test_evaluate_accepts_lm_eval_model_args_text_and_typed_values(tmp_path: Path) -> None:
    text = _run(tmp_path, model_args="version=7,fail_on=,extra=a=b")
    assert text["config"]["model_args"] == {"version": "7", "fail_on": "", "extra": "a=b"}
    typed = _run(
        tmp_path, model_args={"version": 7, "flag": False, "where": tmp_path / "x"},
        task_args={"template": "chat"},
    )  # fmt: skip
    assert typed["config"]["model_args"] == {
        "version": "7",
        "flag": "false",
        "where": str(tmp_path / "x"),
    }
    assert text["model"]["fingerprint"] == typed["model"]["fingerprint"] == "counting:7"
    with pytest.raises(OptionError, match="not a single value"):
        _run(tmp_path, model_args={"version": [1, 2]})
    one_folder = _run(tmp_path, include_path=str(TOY_TASKS), model_args="version=7")
    assert one_folder["results"] == text["results"]


# -- output a person reads ---------------------------------------------------------------------


def test_samples_files_are_in_document_order(tmp_path: Path) -> None:
    _run(tmp_path / "warm", limit=4)  # caches docs 0-3: a full run completes them first
    payload = _run(tmp_path / "full")
    ids = [json.loads(x)["id"] for x in (TOY_TASKS / "toy_test.jsonl").read_text().splitlines()]
    assert payload["cache"]["hits"] > 0
    samples = _samples(payload, "toy_votes")
    assert [s["doc_id"] for s in samples] == ids
    assert [s["_index"] for s in samples] == list(range(len(ids)))


def test_per_task_options_and_a_hint_for_shared_ones(tmp_path: Path) -> None:
    payload = _run(
        tmp_path, "scruples_*", sample_data=True,
        task_args="scruples_dilemmas:template=yesno,scruples_anecdotes_binary:template=yesno,"
        "scruples_dilemmas:order=original",
    )  # fmt: skip
    options = {t: v["options"] for t, v in payload["versions"]["tasks"].items()}
    assert options == {
        "scruples_anecdotes": {},
        "scruples_anecdotes_binary": {"template": "yesno"},
        "scruples_dilemmas": {"template": "yesno", "order": "original"},
    }
    proc = run_cli(
        "run", *NO_MODEL, "--tasks", "scruples_*", "--sample-data", "--task-args",
        "template=yesno", check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "has no template 'yesno'" in proc.stderr
    assert "scruples_anecdotes:KEY=VALUE" in proc.stderr
    with pytest.raises(OptionError, match="no task of this run matches 'dfar_\\*'"):
        _run(tmp_path, "scruples_dilemmas", sample_data=True, task_args="dfar_*:template=chat")


def test_tasks_lists_each_tasks_options() -> None:
    proc = run_cli("tasks", "--options", "scruples_dilemmas", "dfar_classification")
    lines = proc.stdout.splitlines()
    assert lines[0] == "scruples_dilemmas"
    assert any(
        line.startswith("  scruples_dilemmas:template=...") and "yesno" in line for line in lines
    )
    assert any(line.startswith("  scruples_dilemmas:order=...") for line in lines)
    assert "  --num-fewshot: no (zero-shot only)" in lines
    assert "  --num-fewshot: yes, drawn from 'train'" in lines
    assert "scruples_anecdotes\n" not in proc.stdout


def test_output_path_ending_in_json_is_the_results_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "x.json"
    payload = _run(tmp_path, output_path=target)
    assert Path(payload["results_file"]) == target
    assert target.is_file() and json.loads(target.read_text())["results"]["toy_votes"]["n"] == 16
    assert Path(payload["samples_files"]["toy_votes"]).parent == target.parent


def test_template_typo_is_reported_before_the_model_loads(tmp_path: Path) -> None:
    folder = _toy_copy(tmp_path)
    (folder / "toy.jinja").write_text("Situation: {{ situaton }}\nIs this acceptable?\n")
    proc = run_cli(
        "run", *NO_MODEL, "--tasks", "toy_votes", "--include-path", str(folder), check=False
    )
    assert proc.returncode == 2
    assert "task 'toy_votes', template 'default': missing field" in proc.stderr
    assert "situaton" in proc.stderr
    assert "nonexistent" not in proc.stderr


def test_long_paths_are_not_wrapped_when_piped(tmp_path: Path) -> None:
    folder = _toy_copy(tmp_path / ("a-rather-long-folder-name-" * 4))
    (folder / "toy_test.jsonl").unlink()
    proc = run_cli(
        "run", *NO_MODEL, "--tasks", "toy_votes", "--include-path", str(folder), check=False
    )
    assert proc.returncode == 2
    missing = folder / "toy_test.jsonl"
    assert len(str(missing)) > 120
    assert str(missing) in proc.stderr  # one line: not broken at 80 columns


def test_shared_option_hint_for_yaml_tasks_too(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="give one task its own with toy_votes:KEY=VALUE"):
        _run(tmp_path, task_args={"template": "yesno"})
    scoped = _run(tmp_path, task_args={"toy_votes:template": "chat"})
    assert scoped["versions"]["tasks"]["toy_votes"]["options"] == {"template": "chat"}
