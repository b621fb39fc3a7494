"""SIGKILL a real run (the demo model, default arguments) at 11 points and resume each time:
the finished run's metrics equal an uninterrupted run's within `RESUME_TOLERANCE`, every sample
line written before a kill had its answer in the cache, and no partial files are left.

The kills form one chain (each attempt resumes what the killed ones cached) and land at
different stages: while the process starts, when the model has loaded, in the middle of a
batch, and just after a newly scored sample was written (each of those makes progress: the
answers the samples writer flushed). On CPU the
hf backend scores 16 documents per batch by default, so 48 documents are three batches.
"""

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

N_DOCS = 48
#: resumed requests are batched differently, and float32 logits of a padded batch differ in
#: the last bits with the batch's make-up (docs/reliability.md)
RESUME_TOLERANCE = 1e-6
#: where each attempt is killed: "startup" (0.5 s after the start), "loaded" (its run marker
#: appeared: model loaded, nothing scored), "mid-batch" (30% of a batch later), "after-sample"
#: (a newly scored sample is on disk)
KILL_POINTS = [
    "startup",
    "loaded",
    "mid-batch",
    "after-sample",
    "loaded",
    "mid-batch",
    "after-sample",
    "startup",
    "mid-batch",
    "loaded",
    "mid-batch",
]


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


def _max_delta(a: Any, b: Any) -> float:
    if isinstance(a, dict):
        return max([_max_delta(a[k], b[k]) for k in a] or [0.0])
    if isinstance(a, list):
        return max([_max_delta(x, y) for x, y in zip(a, b, strict=True)] or [0.0])
    if isinstance(a, float):
        return abs(a - b)
    return 0.0


def _logged(out: Path) -> int:
    """Sample lines on disk (earlier attempts' files are removed by the next attempt)."""
    return sum(len(p.read_text().splitlines()) for p in out.glob("*/samples_*.jsonl"))


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
    batch_seconds = scoring_seconds / 3
    kills = []
    for attempt, point in enumerate(KILL_POINTS):
        known = set(out.glob("*/.run_*.lock"))
        cached_before = _cache_rows(cache)
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if point == "startup":
            time.sleep(0.5)
        else:
            deadline = time.monotonic() + 300
            while not set(out.glob("*/.run_*.lock")) - known and proc.poll() is None:
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.02)
            if point == "mid-batch":
                time.sleep(batch_seconds * 0.3)
            while point == "after-sample" and proc.poll() is None:
                assert time.monotonic() < deadline, "no new sample was written"
                if _logged(out) > cached_before:
                    break
                time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, f"attempt {attempt} was not killed: {stderr!r}"
        logged, committed = _logged(out), _cache_rows(cache)
        assert logged <= committed, f"attempt {attempt}: {logged} samples, {committed} answers"
        kills.append((point, logged, committed))
    assert len(kills) == 11
    progress = [committed for point, _, committed in kills if point == "after-sample"]
    assert all(0 < n < N_DOCS for n in progress) and progress == sorted(set(progress)), kills

    run_cli(*argv[3:])
    [results_file] = out.glob("*/results_*.json")
    resumed = json.loads(results_file.read_text())
    assert resumed["cache"]["hits"] >= max(logged for _, logged, _ in kills)
    assert resumed["cache"]["hits"] + resumed["timing"]["requests_sent_to_backend"] == N_DOCS
    assert _close(resumed["results"], fresh["results"]) == []
    print(f"kills (point, samples on disk, answers cached): {kills}")
    delta = _max_delta(resumed["results"], fresh["results"])
    print(f"max |resumed - fresh| over all metrics: {delta}")
    left = sorted(p.name for p in results_file.parent.iterdir())
    assert [n for n in left if n.startswith("samples_")] == [
        Path(resumed["samples_files"]["crash_toy"]).name
    ]
    assert not [n for n in left if n.endswith((".tmp", ".lock"))], left
