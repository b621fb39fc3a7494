"""A third-party task package, built from docs/writing-a-task.md, installed, found and run.

The package is a real distribution installed with pip into a throwaway folder, and found
through its `moralbench` entry point, not registered by hand.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, model_args_text, run_cli

DOC = REPO / "docs" / "writing-a-task.md"


def files_from_doc() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```", re.DOTALL)
    return {path: body for path, body in pattern.findall(text)}


@pytest.fixture(scope="module")
def installed_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = files_from_doc()
    assert {"pyproject.toml", "mb_ethics_toy/__init__.py"} <= set(files)
    source = tmp_path_factory.mktemp("mb-ethics-toy")
    for relative, body in files.items():
        path = source / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert list(site.glob("mb_ethics_toy-*.dist-info"))
    return site


def _env(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_listed_by_moralbench_tasks(installed_package: Path) -> None:
    proc = run_cli("tasks", env=_env(installed_package))
    row = next(line for line in proc.stdout.splitlines() if "ethics_toy" in line)
    assert "choice" in row and "ethics_toy" in row
    without = run_cli("tasks")
    assert "ethics_toy" not in without.stdout


@pytest.mark.slow
def test_runs_end_to_end_on_the_demo_model(
    installed_package: Path, demo_model_args: dict[str, str], tmp_path: Path
) -> None:
    run_cli(
        "run",
        "--model",
        "hf",
        "--model-args",
        model_args_text(demo_model_args),
        "--tasks",
        "ethics_toy",
        "--output-path",
        str(tmp_path),
        "--bootstrap-iters",
        "100",
        env=_env(installed_package),
    )
    [results] = tmp_path.glob("*/results_*.json")
    payload = json.loads(results.read_text())
    metrics = payload["results"]["ethics_toy"]
    assert metrics["n"] == 4
    assert set(metrics) >= {"accuracy", "xentropy", "brier", "js_divergence", "accuracy_ci"}
    samples = Path(payload["samples_files"]["ethics_toy"]).read_text().splitlines()
    assert [json.loads(s)["doc_id"] for s in samples] == ["t1", "t2", "t3", "t4"]
    documented = re.search(
        r"<!-- prompt: ethics_toy t1 -->\n```text\n(.*?)\n```", DOC.read_text(), re.DOTALL
    )
    assert documented is not None
    assert json.loads(samples[0])["prompt"] == documented.group(1)
    assert payload["data"]["ethics_toy"][0]["path"].endswith("ethics_toy_test.jsonl")
