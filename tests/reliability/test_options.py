"""Bad options fail before any work, with one line that says what is wrong and what works."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest
from conftest import model_args_text, run_cli
from reliability_helpers import write_task

from moralbench.cli import main


def _fails_fast(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    # "before any work": no weights were loaded (their progress bar never appeared)
    assert "Traceback" not in err and "Loading weights" not in err
    return lines[0]


@pytest.fixture
def toy(tmp_path: Path) -> list[str]:
    tasks = write_task(tmp_path / "tasks")
    return ["run", "--tasks", "rel_toy", "--include-path", str(tasks)]


@pytest.fixture
def hf_toy(toy: list[str], demo_model_args: dict[str, str]) -> list[str]:
    """The toy run on the hf backend with the demo model."""
    return [*toy, "--model", "hf", "--model-args", model_args_text(demo_model_args)]


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (["--limit", "-1"], "--limit must be a whole number of at least 1, got -1"),
        (["--limit", "0"], "--limit must be a whole number of at least 1, got 0"),
        (["--bootstrap-iters", "0"], "--bootstrap-iters must be a whole number of at least 1"),
    ],
)
def test_bad_counts(
    capsys: pytest.CaptureFixture[str],
    hf_toy: list[str],
    option: list[str],
    expected: str,
) -> None:
    line = _fails_fast(capsys, *hf_toy, *option)
    assert expected in line


def test_output_path_that_is_a_file(
    capsys: pytest.CaptureFixture[str],
    hf_toy: list[str],
    tmp_path: Path,
) -> None:
    (tmp_path / "taken").write_text("a file")
    line = _fails_fast(capsys, *hf_toy, "-o", str(tmp_path / "taken"))
    assert "is a file; it takes a folder" in line
    line = _fails_fast(capsys, *hf_toy, "-o", str(tmp_path / "taken" / "below"))
    assert "is a file, not a folder" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_output_path_not_writable(
    capsys: pytest.CaptureFixture[str],
    hf_toy: list[str],
    tmp_path: Path,
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = _fails_fast(capsys, *hf_toy, "-o", str(locked / "out"))
    assert "is not writable" in line


def test_cache_path_that_is_a_folder(
    capsys: pytest.CaptureFixture[str],
    hf_toy: list[str],
    tmp_path: Path,
) -> None:
    line = _fails_fast(capsys, *hf_toy, "--cache-path", str(tmp_path))
    assert "this is a folder; --cache-path takes a file name" in line


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("dtype=float7", "dtype=float7: expected one of auto, float32, float16, bfloat16"),
        ("max_length=abc", "max_length must be a whole number >= 1, got 'abc'"),
        ("max_length=-5", "max_length must be a whole number >= 1"),
        ("chat_template=maybe", "chat_template must be true or false"),
    ],
)
def test_bad_hf_model_args(
    capsys: pytest.CaptureFixture[str],
    toy: list[str],
    demo_model_args: dict[str, str],
    extra: str,
    expected: str,
) -> None:
    args = f"{model_args_text(demo_model_args)},{extra}"
    assert expected in _fails_fast(capsys, *toy, "--model", "hf", "--model-args", args)


def test_pretrained_folder_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], toy: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "such-model"
    line = _fails_fast(capsys, *toy, "--model", "hf", "--model-args", f"pretrained={missing}")
    assert f"pretrained={missing}: no such folder" in line
    assert "hub id" in line


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="the hf backend needs torch")
def test_device_without_the_hardware(capsys: pytest.CaptureFixture[str], hf_toy: list[str]) -> None:
    import torch

    assert "expected cpu, cuda, cuda:N or mps" in _fails_fast(capsys, *hf_toy, "--device", "gpu0")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    line = _fails_fast(capsys, *hf_toy, "--device", f"cuda:{count}")
    expected = "CUDA is not available on this machine" if count == 0 else "CUDA device(s)"
    assert expected in line


def test_the_console_script_fails_in_seconds(
    tmp_path: Path, demo_model_args: dict[str, str]
) -> None:
    tasks = write_task(tmp_path / "tasks")
    started = time.monotonic()
    result = run_cli(
        "run",
        "--model",
        "hf",
        "--tasks",
        "rel_toy",
        "--include-path",
        str(tasks),
        "--model-args",
        f"{model_args_text(demo_model_args)},dtype=float7",
        "--no-cache",
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: model arg dtype=float7: expected one of auto, float32, float16, bfloat16"
    ]
    assert time.monotonic() - started < 60
