"""`moralbench tasks` and `models` through the console script: whole names when piped,
`--json` for scripts, groups and tags in `--tasks`-style selections."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_script import moralbench

from moralbench.plugin_manager import get_plugin_manager
from moralbench.registry import build_registry

LONGEST = "scruples_anecdotes_binary"
TOY_YAML = Path(__file__).parent / "plugins" / "yaml_tasks" / "toy.yaml"


def test_tasks_piped_prints_every_name_whole_one_per_line() -> None:
    # a narrow terminal width must not matter: nothing is a terminal here
    proc = moralbench("tasks", env={"COLUMNS": "40"})
    lines = proc.stdout.splitlines()
    assert lines[0].split("\t")[0] == "name"
    names = [line.split("\t")[0] for line in lines[1:]]
    assert names == sorted(build_registry(get_plugin_manager()).tasks)
    assert LONGEST in names  # what `moralbench tasks | grep binary` finds
    assert "…" not in proc.stdout and "┃" not in proc.stdout


def test_tasks_json_lists_every_task_with_its_groups() -> None:
    listed = json.loads(moralbench("tasks", "--json").stdout)
    by_name = {row["name"]: row for row in listed}
    assert set(by_name) == set(build_registry(get_plugin_manager()).tasks)
    assert by_name[LONGEST]["request type"] == "choice"
    assert "scruples" in by_name[LONGEST]["groups"]
    assert by_name["dfar_reasons"]["groups"] == ["dfar"]
    assert all(isinstance(row["data files"], list) for row in listed)


def test_groups_select_their_tasks() -> None:
    scruples = json.loads(moralbench("tasks", "scruples", "--json").stdout)
    assert [r["name"] for r in scruples] == [
        "scruples_anecdotes",
        "scruples_anecdotes_binary",
        "scruples_dilemmas",
    ]
    dfar = moralbench("tasks", "dfar").stdout.splitlines()[1:]
    assert [line.split("\t")[0] for line in dfar] == ["dfar_classification", "dfar_reasons"]
    unknown = moralbench("tasks", "no_such_group", check=False)
    assert unknown.returncode == 2 and "unknown task 'no_such_group'" in unknown.stderr


def test_models_piped_and_json() -> None:
    registry = build_registry(get_plugin_manager())
    text = moralbench("models", env={"COLUMNS": "40"}).stdout.splitlines()
    assert text[0] == "name\testimators\tdescription\tplugin"
    rows = [line.split("\t") for line in text[1:]]
    assert [r[0] for r in rows] == sorted(registry.models)
    hf = next(r for r in rows if r[0] == "hf")
    assert hf[2] == registry.models["hf"].description  # whole, however long
    listed = json.loads(moralbench("models", "--json").stdout)
    assert {r["name"]: r["estimators"] for r in listed}["openai"] == [
        "exact",
        "top_logprobs",
        "sampled",
    ]


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    # `moralbench tasks --json | head`: the reader has gone before the listing is written
    script = Path(sys.executable).with_name("moralbench")
    assert script.exists()
    proc = subprocess.run(
        f"'{script}' tasks --json | true; echo ${{PIPESTATUS[0]}} >&2",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] in {"0", "141"}


def test_a_yaml_task_declares_tags_that_select_it(tmp_path: Path) -> None:
    folder = tmp_path / "tasks"
    folder.mkdir()
    text = (TOY_YAML.read_text()).replace("task: toy_votes", "task: my_votes\ntags: [my_suite]")
    (folder / "my.yaml").write_text(text)
    for name in ("toy_test.jsonl", "toy_dev.jsonl", "toy.jinja"):
        (folder / name).write_text((TOY_YAML.parent / name).read_text())
    listed = json.loads(
        moralbench("tasks", "my_suite", "--json", "--include-path", str(folder)).stdout
    )
    assert [(r["name"], r["groups"]) for r in listed] == [("my_votes", ["my_suite"])]

    (folder / "my.yaml").write_text(text.replace("tags: [my_suite]", "tags: {a: 1}"))
    bad = moralbench("tasks", "--include-path", str(folder), check=False)
    assert "tags must be a list of names" in bad.stderr
