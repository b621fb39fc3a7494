"""`threads=` for the local backends, its default from the CPUs the process may use, and the
default batching on each device (decided without a GPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import TOY_TASKS, model_args_text, run_cli
from moralbench.plugins.encoders.settings import COMMON_ARGS
from moralbench.plugins.encoders.settings import check_args as check_encoder_args
from moralbench.plugins.hf.arg_checks import check_hf_args
from moralbench.plugins.hf.batch_size import batching_mode
from moralbench.plugins.hf.threads import (
    available_cpus,
    cgroup_cpu_quota,
    default_threads,
    parse_threads,
)

from moralbench.backend import BackendOptions
from moralbench.errors import OptionError


@pytest.mark.parametrize(("text", "expected"), [("", None), ("auto", None), ("1", 1), ("12", 12)])
def test_threads_option_parses(text: str, expected: int | None) -> None:
    assert parse_threads({"threads": text}) == expected
    assert parse_threads({}) is None


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5", "4 threads"])
def test_bad_threads_values_are_option_errors_in_both_local_backends(
    bad: str, demo_model_args: dict[str, str]
) -> None:
    with pytest.raises(OptionError, match="threads"):
        check_hf_args({**demo_model_args, "threads": bad}, BackendOptions())
    with pytest.raises(OptionError, match="threads"):
        check_encoder_args("hf-classifier", {"pretrained": "x", "threads": bad}, COMMON_ARGS)
    check_encoder_args("hf-classifier", {"pretrained": "x", "threads": "3"}, COMMON_ARGS)


def _cgroup_v2(tmp_path: Path, cpu_max: str, nested: str = "") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    folder = root / nested if nested else root
    folder.mkdir(parents=True)
    (folder / "cpu.max").write_text(cpu_max + "\n")
    proc = tmp_path / "proc-cgroup"
    proc.write_text(f"0::/{nested}\n")
    return root, proc


def test_cgroup_quota_v2_v1_and_unlimited(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(*_cgroup_v2(tmp_path / "a", "150000 100000", "job/step")) == 1.5
    assert cgroup_cpu_quota(*_cgroup_v2(tmp_path / "b", "max 100000")) is None
    # a limit on a parent cgroup binds the child too
    root, proc = _cgroup_v2(tmp_path / "c", "max 100000", "job/step")
    (root / "job" / "cpu.max").write_text("300000 100000\n")
    assert cgroup_cpu_quota(root, proc) == 3.0

    v1 = tmp_path / "v1"
    (v1 / "cpu" / "job").mkdir(parents=True)
    (v1 / "cpu" / "job" / "cpu.cfs_quota_us").write_text("50000\n")
    (v1 / "cpu" / "job" / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "proc-v1"
    proc.write_text("2:cpuacct:/job\n1:cpu:/job\n")
    assert cgroup_cpu_quota(v1, proc) == 0.5
    (v1 / "cpu" / "job" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(v1, proc) is None
    assert cgroup_cpu_quota(tmp_path / "missing", tmp_path / "missing-proc") is None


def test_default_threads_count_affinity_quota_and_local_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import moralbench.plugins.hf.threads as threads

    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: None)
    assert available_cpus() == 8
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: 2.5)
    assert available_cpus() == 3  # a quota of 2.5 CPUs keeps 3 threads busy
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: 0.2)
    assert available_cpus() == 1
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: None)
    assert default_threads({"LOCAL_WORLD_SIZE": "4"}) == 2
    assert default_threads({"LOCAL_WORLD_SIZE": "16"}) == 1
    assert default_threads({}) == 8


@pytest.mark.parametrize(
    ("batch_size", "device", "mode"),
    [
        (None, "cuda", "probe"),  # no --batch-size on a GPU: sized to the GPU
        ("auto", "cuda", "probe"),
        (32, "cuda", "fixed"),
        (None, "cpu", "cpu-default"),  # 16 rows / 8192 tokens: at the ceiling on CPU
        ("auto", "cpu", "cpu-default"),
        (8, "cpu", "fixed"),
        (None, "mps", "cpu-default"),
    ],
)
def test_default_batching_fits_the_device(
    batch_size: int | str | None, device: str, mode: str
) -> None:
    assert batching_mode(batch_size, device) == mode


@pytest.mark.slow
def test_threads_are_applied_and_recorded_in_a_demo_model_run(
    tmp_path: Path, demo_model_args: dict[str, str]
) -> None:
    before = torch.get_num_threads()
    for threads, out in (("1", tmp_path / "one"), ("", tmp_path / "default")):
        args = {**demo_model_args, "chat_template": "false", "threads": threads}
        run_cli(
            "run",
            "--model",
            "hf",
            "--model-args",
            model_args_text(args),
            "--tasks",
            "toy_votes",
            "--include-path",
            str(TOY_TASKS),
            "--limit",
            "2",
            "--no-cache",
            "--no-progress",
            "-o",
            str(out),
        )
        [results_file] = out.rglob("results_*.json")
        model = json.loads(results_file.read_text())["model"]
        expected = 1 if threads else default_threads()
        assert model["threads"] == expected
        assert model["batching"] == "cpu-default"
    assert torch.get_num_threads() == before  # the CLI ran in its own process
