"""A YAML task may read only its own files: no secrets, devices or paths outside its folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_cli
from reliability_helpers import run_echo, write_task

from moralbench.errors import TaskDefinitionError
from moralbench.task_files import MAX_TEMPLATE_BYTES

SECRET = "sk-reliability-test-0123456789"


@pytest.mark.parametrize(
    "template_file",
    ["/proc/self/environ", "/etc/passwd", "../../../../../../etc/passwd", "../outside.jinja"],
)
def test_template_file_outside_the_task_folder_is_refused(
    tmp_path: Path, template_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    (tmp_path / "outside.jinja").write_text("secret {{ story }}")
    tasks = write_task(tmp_path / "tasks", templates=f"{{default: {{file: '{template_file}'}}}}")
    result = run_cli(
        "run",
        "--model",
        "hf",
        "--tasks",
        "rel_toy",
        "--include-path",
        str(tasks),
        "-o",
        str(tmp_path / "out"),
        check=False,
    )
    assert result.returncode == 2
    assert "task 'rel_toy': template file" in result.stderr
    assert template_file in result.stderr
    assert "lies outside the task's folder" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists()


def test_symlink_inside_the_folder_pointing_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("token=abc")
    tasks = write_task(tmp_path / "tasks", templates="{default: {file: prompt.jinja}}")
    os.symlink(tmp_path / "secret.txt", tasks / "prompt.jinja")
    with pytest.raises(TaskDefinitionError, match=r"task 'rel_toy': template file .*prompt.jinja"):
        run_echo(tasks, tmp_path / "out")


def test_device_files_and_huge_templates_are_refused(tmp_path: Path) -> None:
    tasks = write_task(tmp_path / "tasks", templates="{default: {file: zero.jinja}}")
    os.symlink("/dev/zero", tasks / "zero.jinja")
    with pytest.raises(TaskDefinitionError, match="outside the task's folder"):
        run_echo(tasks, tmp_path / "out")
    (tasks / "zero.jinja").unlink()
    os.mkfifo(tasks / "zero.jinja")  # inside the folder, but not a regular file: no hang
    with pytest.raises(TaskDefinitionError, match="zero.jinja is not a regular file"):
        run_echo(tasks, tmp_path / "out")
    (tasks / "zero.jinja").unlink()
    (tasks / "zero.jinja").write_text("x" * (MAX_TEMPLATE_BYTES + 1))
    with pytest.raises(TaskDefinitionError, match=r"zero.jinja is 1,048,577 bytes \(limit"):
        run_echo(tasks, tmp_path / "out")


def test_template_messages_files_are_confined_too(tmp_path: Path) -> None:
    tasks = write_task(
        tmp_path / "tasks",
        templates="{default: {messages: [{role: user, file: /etc/hostname}]}}",
    )
    with pytest.raises(TaskDefinitionError, match="template file /etc/hostname lies outside"):
        run_echo(tasks, tmp_path / "out")


@pytest.mark.parametrize("base", ["task", "data"])
def test_data_paths_outside_task_folder_and_data_dir_are_refused(tmp_path: Path, base: str) -> None:
    tasks = write_task(tmp_path / "tasks")
    yaml_path = tasks / "rel_toy.yaml"
    yaml_path.write_text(
        yaml_path.read_text().replace(
            "{base: task, splits: {test: items.jsonl}}",
            f"{{base: {base}, splits: {{test: /etc/passwd}}}}",
        )
    )
    with pytest.raises(TaskDefinitionError) as info:
        run_echo(tasks, tmp_path / "out", data_dir=tmp_path / "data")
    assert str(info.value).startswith("task 'rel_toy': data file /etc/passwd lies outside")


def test_data_file_in_the_data_dir_and_own_files_still_work(tmp_path: Path) -> None:
    tasks = write_task(tmp_path / "tasks", templates="{default: {file: prompt.jinja}}")
    (tasks / "prompt.jinja").write_text("Story: {{ story }}")
    data = tmp_path / "data"
    data.mkdir()
    (data / "mine.jsonl").write_text((tasks / "items.jsonl").read_text())
    yaml_path = tasks / "rel_toy.yaml"
    yaml_path.write_text(
        yaml_path.read_text().replace(
            "{base: task, splits: {test: items.jsonl}}", "{base: data, splits: {test: mine.jsonl}}"
        )
    )
    payload = run_echo(tasks, tmp_path / "out", data_dir=data)
    assert payload["results"]["rel_toy"]["n"] == 4
