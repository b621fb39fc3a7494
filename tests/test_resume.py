"""An interrupted run resumes from the request cache without redoing finished work.

The test starts a real `moralbench run` on the demo model, kills it (SIGKILL, no chance to
clean up) once some samples are on disk, runs it again, and compares the final metrics with
an uninterrupted run that shares nothing with the first two.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import model_args_text, run_cli

N_DOCS = 60
SUBJECTS = [
    "my brother",
    "a coworker",
    "the landlord",
    "my best friend",
    "a stranger",
    "my neighbour",
    "our teacher",
    "my roommate",
    "a cousin",
    "the coach",
]
ACTS = [
    "borrowed my car without asking",
    "forgot my birthday",
    "lied about being sick",
    "returned my lost keys",
    "took the last parking spot",
    "paid for my lunch",
]


def _write_task(folder: Path) -> None:
    folder.mkdir()
    (folder / "resume.yaml").write_text(
        "task: resume_toy\nversion: '1'\n"
        "dataset: {base: task, splits: {test: resume.jsonl}}\ndoc_id: id\n"
        "choices: [' yes', ' no', ' not sure']\ntarget: label\nhuman_counts: votes\n"
        "templates: {default: {text: 'Story: {{ story }}\\nWas this okay?', "
        "answer_prefix: 'Answer:'}}\n"
    )
    lines = []
    for i in range(N_DOCS):
        story = (
            f"{SUBJECTS[i % len(SUBJECTS)].capitalize()} {ACTS[i % len(ACTS)]} "
            f"on day {i} of the trip, and then " + "explained why at length. " * (1 + i % 4)
        )
        votes = [1 + i % 3, 1 + (i * 7) % 4, i % 2]
        lines.append(
            json.dumps(
                {"id": f"d{i}", "story": story, "votes": votes, "label": votes.index(max(votes))}
            )
        )
    (folder / "resume.jsonl").write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_killed_run_resumes_and_matches_uninterrupted(
    tmp_path: Path, demo_model_args: dict[str, str]
) -> None:
    tasks = tmp_path / "tasks"
    _write_task(tasks)
    common = [
        "run",
        "--model",
        "hf",
        "--model-args",
        model_args_text(demo_model_args),
        "--tasks",
        "resume_toy",
        "--include-path",
        str(tasks),
        "--batch-size",
        "1",
        "--bootstrap-iters",
        "200",
    ]
    cache_env = {**os.environ, "MORALBENCH_CACHE": str(tmp_path / "shared-cache.sqlite")}

    first = subprocess.Popen(
        [sys.executable, "-m", "moralbench", *common, "--output-path", str(tmp_path / "first")],
        env=cache_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    written = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        found = list((tmp_path / "first").glob("*/samples_resume_toy_*.jsonl"))
        written = len(found[0].read_text().splitlines()) if found else 0
        if written >= 15:
            break
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL, "the first run must be killed mid-way"
    [samples] = (tmp_path / "first").glob("*/samples_resume_toy_*.jsonl")
    on_disk = len(samples.read_text().splitlines())
    assert 15 <= written <= on_disk < N_DOCS
    assert not list((tmp_path / "first").glob("*/results_*.json"))

    run_cli(
        *common,
        "--output-path",
        str(tmp_path / "second"),
        env={"MORALBENCH_CACHE": cache_env["MORALBENCH_CACHE"]},
    )
    [second_file] = (tmp_path / "second").glob("*/results_*.json")
    second = json.loads(second_file.read_text())
    sent = second["timing"]["requests_sent_to_backend"]
    # The invariant, whatever the load: an answer is in the cache before its sample line is
    # written, so every line on disk at the kill is a cache hit now.
    assert second["cache"]["hits"] >= on_disk
    assert 0 < sent <= N_DOCS - second["cache"]["hits"]
    assert second["cache"]["hits"] + sent == N_DOCS

    run_cli(
        *common,
        "--output-path",
        str(tmp_path / "fresh"),
        env={"MORALBENCH_CACHE": str(tmp_path / "fresh-cache.sqlite")},
    )
    [fresh_file] = (tmp_path / "fresh").glob("*/results_*.json")
    fresh = json.loads(fresh_file.read_text())
    assert fresh["timing"]["requests_sent_to_backend"] == N_DOCS
    assert second["results"] == fresh["results"]
