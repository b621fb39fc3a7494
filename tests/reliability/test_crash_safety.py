"""SIGKILL a real run (the demo model, default arguments) at 11 points and resume each time:
the finished run's metrics equal an uninterrupted run's within `RESUME_TOLERANCE`, every sample
line written before a kill had its answer in the cache, and no partial files are left."""

from __future__ import annotations

import json
import math
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import model_args_text, run_cli

N_DOCS = 24
#: resumed requests are batched differently, and float32 logits of a padded batch differ in
#: the last bits with the batch's make-up (docs/reliability.md)
RESUME_TOLERANCE = 1e-6
#: kill offsets after the run has started scoring, as fractions of an uninterrupted run's time
KILL_FRACTIONS = [0.0, 0.02, 0.04, 0.06, 0.08, 0.0, 0.03, 0.05, 0.07, 0.09]


def _write_task(folder: Path) -> None:
    folder.mkdir()
    (folder / "crash.yaml").write_text(
        "task: crash_toy\nversion: '1'\n"
        "dataset: {base: task, splits: {test: crash.jsonl}}\ndoc_id: id\n"
        "choices: [' yes', ' no']\ntarget: label\nhuman_counts: votes\n"
        "templates: {default: {text: 'Story: {{ story }}\\nWas this okay?', "
        "answer_prefix: 'Answer:'}}\n"
    )
    acts = ["kept a promise", "broke a promise", "told a lie", "helped a stranger"]
    lines = []
    for i in range(N_DOCS):
        votes = [1 + i % 3, 1 + (i * 5) % 4]
        story = f"My friend {acts[i % len(acts)]} on day {i}" + " again" * (i % 6)
        lines.append(
            json.dumps(
                {"id": f"d{i}", "story": story, "votes": votes, "label": votes.index(max(votes))}
            )
        )
    (folder / "crash.jsonl").write_text("\n".join(lines) + "\n")


def _close(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two result trees differ beyond the tolerance (numbers) or at all (the rest)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in _close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _close(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) or isinstance(b, float):
        ok = math.isclose(a, b, rel_tol=RESUME_TOLERANCE, abs_tol=RESUME_TOLERANCE)
        return [] if ok else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _cache_rows(path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:  # killed before the table was created
        return 0
    finally:
        db.close()


@pytest.mark.slow
def test_sigkill_at_eleven_points_then_resume_matches_an_uninterrupted_run(
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
        "crash_toy",
        "--include-path",
        str(tasks),
    ]

    run_cli(*common, "-o", str(tmp_path / "fresh"), "--cache-path", str(tmp_path / "fresh.sqlite"))
    [fresh_file] = (tmp_path / "fresh").glob("*/results_*.json")
    fresh = json.loads(fresh_file.read_text())
    scoring_seconds = fresh["timing"]["per_task_seconds"]["crash_toy"]

    out, cache = tmp_path / "resumed", tmp_path / "resumed.sqlite"
    argv = [sys.executable, "-m", "moralbench", *common, "-o", str(out), "--cache-path", str(cache)]
    kills = []
    for attempt, fraction in enumerate([None, *KILL_FRACTIONS]):
        known = set(out.glob("*/.run_*.lock"))
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if fraction is None:
            time.sleep(0.5)  # the first kill lands while the process is starting up
        else:
            deadline = time.monotonic() + 300
            while not set(out.glob("*/.run_*.lock")) - known and proc.poll() is None:
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.05)
            time.sleep(scoring_seconds * fraction)
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, f"attempt {attempt} was not killed: {stderr!r}"
        logged = sum(len(p.read_text().splitlines()) for p in out.glob("*/samples_*.jsonl"))
        committed = _cache_rows(cache)
        assert logged <= committed, f"attempt {attempt}: {logged} samples, {committed} answers"
        kills.append((logged, committed))
    assert len(kills) == 11
    assert any(logged > 0 for logged, _ in kills), f"no kill landed after a sample: {kills}"

    run_cli(*argv[3:])
    [results_file] = out.glob("*/results_*.json")
    resumed = json.loads(results_file.read_text())
    assert resumed["cache"]["hits"] >= max(logged for logged, _ in kills)
    assert resumed["cache"]["hits"] + resumed["timing"]["requests_sent_to_backend"] == N_DOCS
    assert _close(resumed["results"], fresh["results"]) == []
    left = sorted(p.name for p in results_file.parent.iterdir())
    assert [n for n in left if n.startswith("samples_")] == [
        Path(resumed["samples_files"]["crash_toy"]).name
    ]
    assert not [n for n in left if n.endswith((".tmp", ".lock"))], left
