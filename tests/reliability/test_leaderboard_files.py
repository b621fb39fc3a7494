"""The leaderboard skips a broken results or samples file with a warning naming it (`--strict`
aborts), refuses NaN probabilities and samples files cut short."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from reliability_helpers import EchoPlugin, write_task

import moralbench
from moralbench.leaderboard import LeaderboardOptions, build_leaderboard
from moralbench.leaderboard.errors import ResultsFileError


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    items = [{"id": f"d{i}", "story": "s" * (i + 1), "label": i % 2} for i in range(12)]
    tasks = write_task(tmp_path / "tasks", items=items)
    files = []
    for name in ("alpha", "beta"):
        payload = moralbench.evaluate(
            "echo",
            "rel_toy",
            model_args={"model": name},
            include_path=[tasks],
            output_path=tmp_path / "out",
            extra_plugins=[EchoPlugin()],
            show_progress=False,
            log=lambda _m: None,
            n_bootstrap=50,
        )
        files.append(Path(payload["results_file"]))
    return files[0], files[1]


def _samples(results: Path) -> Path:
    return next(results.parent.glob("samples_rel_toy_*.jsonl"))


def _board(tmp_path: Path, *extra: str, check: bool = True):  # type: ignore[no-untyped-def]
    return run_cli(
        "leaderboard",
        str(tmp_path / "out"),
        "--format",
        "csv",
        "--no-references",
        *extra,
        check=check,
    )


def test_a_broken_results_file_is_skipped_with_a_warning(
    tmp_path: Path, two_runs: tuple[Path, Path]
) -> None:
    good, bad = two_runs
    bad.write_text(bad.read_text()[:200])
    result = _board(tmp_path)
    assert f"warning: skipped {bad}: {bad}:" in result.stderr
    assert "(--strict aborts instead)" in result.stderr
    assert "echo__alpha" in result.stdout or "alpha" in result.stdout
    assert "beta" not in result.stdout
    strict = _board(tmp_path, "--strict", check=False)
    assert strict.returncode == 2
    assert strict.stderr.startswith(f"error: {bad}:")


def test_nan_probabilities_name_the_samples_file_and_line(
    tmp_path: Path, two_runs: tuple[Path, Path]
) -> None:
    _, bad = two_runs
    samples = _samples(bad)
    lines = samples.read_text().splitlines()
    record = json.loads(lines[3])
    record["probs"] = [float("nan"), 0.5]
    lines[3] = json.dumps(record)  # Python writes NaN, which JSON does not have
    samples.write_text("\n".join(lines) + "\n")
    result = _board(tmp_path)
    assert f"skipped {bad}: {samples}:4: 'probs' must be a list of finite numbers" in result.stderr
    with pytest.raises(ResultsFileError, match=f"^{samples}:4: "):
        build_leaderboard([tmp_path / "out"], LeaderboardOptions(strict=True))


def test_samples_file_shorter_than_the_results_claim_is_refused(
    tmp_path: Path, two_runs: tuple[Path, Path]
) -> None:
    _, bad = two_runs
    samples = _samples(bad)
    samples.write_text("".join(samples.read_text().splitlines(keepends=True)[:7]))
    with pytest.raises(ResultsFileError) as info:
        build_leaderboard([bad])
    assert str(info.value) == (
        f"{samples}: 7 sample line(s), but {bad.name} reports 12 for 'rel_toy': "
        "the file was cut short"
    )
    board = build_leaderboard([tmp_path / "out"])
    assert len(board.run_rows) == 1
    assert any(note.startswith(f"skipped {bad}") for note in board.notes)
