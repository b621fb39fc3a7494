"""The runner: dedupe, cache hits and misses, results and samples files, failures."""

from __future__ import annotations

import json
from pathlib import Path

import mb_counting_backend
import pytest
from conftest import TOY_TASKS

from moralbench import evaluate
from moralbench.errors import DataNotFound, OptionError, RunFailures, UnknownTask


def _run(tmp_path: Path, **options):  # type: ignore[no-untyped-def]
    mb_counting_backend.CALLS.clear()
    defaults = dict(
        include_path=[TOY_TASKS],
        extra_plugins=[mb_counting_backend],
        output_path=tmp_path,
        show_progress=False,
        n_bootstrap=200,
        log=lambda m: None,
    )
    return evaluate("counting", "toy_votes", **{**defaults, **options})


def test_identical_requests_are_sent_once(tmp_path: Path) -> None:
    lines = (TOY_TASKS / "toy_test.jsonl").read_text().splitlines()
    distinct_prompts = {json.loads(line)["situation"] for line in lines}
    assert len(distinct_prompts) < len(lines), "the toy data must contain repeated prompts"
    payload = _run(tmp_path, use_cache=False)
    test_calls = [k for k in mb_counting_backend.CALLS]
    # test split + dev (calibration) split, each deduplicated on its own
    dev = {
        json.loads(x)["situation"] for x in (TOY_TASKS / "toy_dev.jsonl").read_text().splitlines()
    }
    assert len(test_calls) == len(distinct_prompts) + len(dev)
    assert payload["results"]["toy_votes"]["n"] == len(lines)


def test_second_run_is_served_from_cache(tmp_path: Path) -> None:
    first = _run(tmp_path / "a")
    sent = len(mb_counting_backend.CALLS)
    assert sent > 0 and first["cache"]["misses"] == sent
    second = _run(tmp_path / "b")
    assert mb_counting_backend.CALLS == []
    assert second["cache"]["hits"] == first["cache"]["hits"] + sent
    assert second["timing"]["requests_sent_to_backend"] == 0
    assert second["results"] == first["results"]


def test_cache_is_keyed_by_backend_fingerprint(tmp_path: Path) -> None:
    _run(tmp_path / "a")
    _run(tmp_path / "b", model_args={"version": "2"})
    assert len(mb_counting_backend.CALLS) > 0


def test_results_and_samples_files(tmp_path: Path) -> None:
    payload = _run(tmp_path, model_args={"token": "hunter2-secret", "version": "1"})
    results_file = Path(payload["results_file"])
    assert results_file.parent == tmp_path / "counting"
    assert results_file.name.startswith("results_")
    on_disk = json.loads(results_file.read_text())
    for key in ("results", "config", "versions", "data", "timing", "environment"):
        assert key in on_disk
    assert on_disk["config"]["model_args"]["token"] == "***"
    assert "hunter2-secret" not in results_file.read_text()
    metrics = on_disk["results"]["toy_votes"]
    assert 0.0 <= metrics["accuracy"] <= 1.0
    lo, hi = metrics["accuracy_ci"]
    assert lo <= metrics["accuracy"] <= hi
    assert "temperature" in metrics and "dirichlet_c" in metrics
    task_versions = on_disk["versions"]["tasks"]["toy_votes"]
    assert task_versions["version"] == "2"
    assert len(task_versions["templates"]["default"]) == 64
    data = on_disk["data"]["toy_votes"]
    assert {d["split"] for d in data} == {"test", "dev"}
    assert all(len(d["sha256"]) == 64 for d in data)
    samples_path = Path(on_disk["samples_files"]["toy_votes"])
    samples = [json.loads(x) for x in samples_path.read_text().splitlines()]
    assert len(samples) == 16
    first = samples[0]
    for key in (
        "doc_id",
        "task",
        "prompt_sha256",
        "choices",
        "logprobs",
        "probs",
        "estimator",
        "target",
        "metrics",
        "human_counts",
        "prompt",
    ):
        assert key in first, key
    assert first["choices"] == [" yes", " no"]
    assert abs(sum(first["probs"]) - 1) < 1e-9
    assert first["prompt"].endswith("Reply yes or no.\nAnswer:")  # #18: explicit join


def test_no_log_samples_and_no_prompts(tmp_path: Path) -> None:
    payload = _run(tmp_path / "a", log_samples=False)
    assert payload["samples_files"] == {}
    assert not list((tmp_path / "a").rglob("samples_*"))
    payload = _run(tmp_path / "b", log_prompts=False)
    samples = Path(payload["samples_files"]["toy_votes"]).read_text().splitlines()
    assert "prompt" not in json.loads(samples[0]) and "prompt_sha256" in json.loads(samples[0])


def test_failed_requests_are_recorded_not_dropped(tmp_path: Path) -> None:
    with pytest.raises(RunFailures) as info:
        _run(tmp_path / "a", model_args={"fail_on": "nurses"})
    assert info.value.count >= 1
    [results_file] = (tmp_path / "a" / "counting").glob("results_*.json")
    payload = json.loads(results_file.read_text())
    samples = Path(payload["samples_files"]["toy_votes"]).read_text().splitlines()
    failed = [json.loads(x) for x in samples if "nurses" in x and json.loads(x).get("error")]
    assert failed and all(r["error"] == "injected failure" for r in failed)
    assert len(samples) == 16
    assert payload["failures"]["toy_votes"] == info.value.count
    ok = _run(tmp_path / "b", model_args={"fail_on": "nurses"}, allow_failures=True)
    assert ok["results"]["toy_votes"]["n"] == 16 - ok["failures"]["toy_votes"]


def test_unknown_task_bad_option_missing_data(tmp_path: Path) -> None:
    with pytest.raises(UnknownTask, match="toy_votes"):
        evaluate(
            "counting",
            "nope_*",
            include_path=[TOY_TASKS],
            extra_plugins=[mb_counting_backend],
            output_path=tmp_path,
        )
    with pytest.raises(OptionError, match="template"):
        _run(tmp_path, task_args={"colour": "blue"})
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "m.yaml").write_text(
        "task: toy_missing\nversion: '1'\ndataset: {splits: {test: toy_missing.jsonl}}\n"
        "choices: [' a', ' b']\ntarget: label\ntemplates: {default: 'Q: {{ q }}'}\n"
    )
    with pytest.raises(DataNotFound, match="toy_missing.jsonl"):
        evaluate(
            "counting",
            "toy_missing",
            include_path=[folder],
            extra_plugins=[mb_counting_backend],
            output_path=tmp_path,
            data_dir=tmp_path,
        )


def test_limit_and_template_choice(tmp_path: Path) -> None:
    payload = _run(tmp_path, limit=5, task_args={"template": "chat"})
    assert payload["results"]["toy_votes"]["n"] == 5
    templates = payload["versions"]["tasks"]["toy_votes"]["templates"]
    assert list(templates) == ["chat"]
