"""What a run guarantees about its own files: no empty results, bounded items, every logged
sample's answer durable in the cache, and no orphans left by killed runs."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reliability_helpers import EchoBackend, run_echo, write_task

from moralbench.errors import MoralbenchError
from moralbench.item_limits import MAX_FIELD_CHARS
from moralbench.results import SamplesWriter


def test_empty_split_is_an_error(tmp_path: Path) -> None:
    tasks = write_task(tmp_path / "tasks", items=[])
    with pytest.raises(MoralbenchError) as info:
        run_echo(tasks, tmp_path / "out")
    assert "task 'rel_toy': split 'test' has no documents" in str(info.value)
    assert str(tasks / "items.jsonl") in str(info.value)
    assert not list((tmp_path / "out").rglob("results_*.json"))


def test_huge_item_is_cut_before_tokenizing_counted_and_warned(tmp_path: Path) -> None:
    huge = "x" * (10 * 1024 * 1024)
    items = [
        {"id": "small", "story": "short", "label": 0},
        {"id": "huge", "story": huge, "label": 1},
        {"id": "nested", "story": "ok", "label": 0, "extra": [{"deep": huge}]},
    ]
    tasks = write_task(tmp_path / "tasks", items=items)
    logs: list[str] = []
    EchoBackend.seen_chars = []
    payload = run_echo(tasks, tmp_path / "out", logs=logs)
    assert payload["truncation"] == {"max_field_chars": MAX_FIELD_CHARS, "items": {"rel_toy": 2}}
    assert max(EchoBackend.seen_chars) < MAX_FIELD_CHARS + 100  # the template adds a few
    assert any("2 document(s) of 'rel_toy'" in m and "cut to that length" in m for m in logs)
    assert payload["results"]["rel_toy"]["n"] == 3
    saved = json.loads(Path(payload["results_file"]).read_text())
    assert saved["truncation"]["items"] == {"rel_toy": 2}


def test_every_logged_sample_has_its_answer_in_the_cache(tmp_path: Path) -> None:
    """Checked at every answer the backend gives: samples on disk <= answers committed."""
    items = [{"id": f"d{i}", "story": f"story {i}", "label": i % 2} for i in range(300)]
    tasks = write_task(tmp_path / "tasks", items=items)
    cache_path = tmp_path / "cache.sqlite"
    checks: list[tuple[int, int]] = []

    def check() -> None:
        files = list((tmp_path / "out").glob("*/samples_rel_toy_*.jsonl"))
        lines = len(files[0].read_text().splitlines()) if files else 0
        db = sqlite3.connect(cache_path)
        committed = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        db.close()
        assert lines <= committed, (lines, committed)
        checks.append((lines, committed))

    EchoBackend.on_answer = check
    old_lines = SamplesWriter.LINES_PER_WRITE
    SamplesWriter.LINES_PER_WRITE = 8  # many writes in a short run
    try:
        run_echo(tasks, tmp_path / "out", cache_path=cache_path)
    finally:
        EchoBackend.on_answer = None
        SamplesWriter.LINES_PER_WRITE = old_lines
    check()
    assert checks[-1] == (300, 300)
    assert sum(1 for lines, _ in checks if 0 < lines < 300) > 100  # checked mid-run, often


# -- orphan files of killed runs --------------------------------------------------------------
KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    sys.path[:0] = sys.argv[3:]
    import moralbench
    from reliability_helpers import EchoBackend, EchoPlugin
    from pathlib import Path
    tasks, out = Path(sys.argv[1]), Path(sys.argv[2])

    def die():
        if list(out.glob("*/samples_rel_toy_*.jsonl")):
            os.kill(os.getpid(), signal.SIGKILL)

    EchoBackend.on_answer = die
    moralbench.evaluate("echo", "rel_toy", include_path=[tasks], output_path=out,
                        extra_plugins=[EchoPlugin()], show_progress=False, log=print)
    """
)


def _killed_run(tasks: Path, out: Path) -> None:
    here = str(Path(__file__).parent)
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(tasks), str(out), here, str(Path(here).parent)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr


def test_next_run_of_the_same_configuration_removes_orphans(tmp_path: Path) -> None:
    items = [{"id": f"d{i}", "story": f"story {i}", "label": i % 2} for i in range(400)]
    tasks = write_task(tmp_path / "tasks", items=items)
    out = tmp_path / "out"
    _killed_run(tasks, out)
    [folder] = list(out.iterdir())
    [first] = folder.glob("samples_rel_toy_*.jsonl")
    assert len(list(folder.glob(".run_*.lock"))) == 1
    _killed_run(tasks, out)  # killed too, but it removed what the first one left
    [second] = folder.glob("samples_rel_toy_*.jsonl")
    assert second != first and not first.exists()
    assert len(list(folder.glob(".run_*.lock"))) == 1
    (folder / "results_2000-01-01T00-00-00.000000.tmp").write_text("{}")  # not ours: kept

    other = write_task(tmp_path / "other", name="other_toy")
    run_echo(other, out, task="other_toy")  # another configuration leaves them alone
    assert second.exists()

    logs: list[str] = []
    # the same configuration as the killed runs (a --limit would differ)
    payload = run_echo(tasks, tmp_path / "out", logs=logs)
    assert payload["results"]["rel_toy"]["n"] == 400
    assert any("removed 1 partial file(s)" in m for m in logs), logs
    assert not second.exists()
    left = sorted(p.name for p in folder.iterdir() if "rel_toy" in p.name or p.name.startswith("."))
    assert [n for n in left if n.startswith("samples_rel_toy")] == [
        Path(payload["samples_files"]["rel_toy"]).name
    ]
    assert not [n for n in left if n.startswith(".run_")]
    assert (folder / "results_2000-01-01T00-00-00.000000.tmp").exists()


def test_a_live_run_in_the_same_folder_is_never_touched(tmp_path: Path) -> None:
    from moralbench.run_folder import RunMarker

    out = tmp_path / "out" / "echo"
    live = RunMarker(out, "2030-01-01T00-00-00.000000", "samekey")
    live.start()
    partial = out / "samples_rel_toy_2030-01-01T00-00-00.000000.jsonl"
    partial.write_text('{"doc_id": "a"}\n')
    second = RunMarker(out, "2030-01-01T00-00-01.000000", "samekey")
    assert second.start() == []
    assert partial.exists() and live.path.exists()
    live.abandon()  # the live run dies: now the next run of that configuration cleans up
    third = RunMarker(out, "2030-01-01T00-00-02.000000", "samekey")
    assert third.start() == [partial]
    for marker in (second, third):
        marker.finish()
