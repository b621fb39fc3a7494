"""#18 on the real demo model: what a person reads from `moralbench run`, and the Python API
taking lm-eval's `model_args` text and typed values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO_GGUF, model_args_text, run_cli

from moralbench import evaluate


@pytest.mark.slow
def test_run_output_when_piped(tmp_path: Path, demo_model_args: dict[str, str]) -> None:
    """Notes under the table, long paths on one line, `-o FILE.json`, samples in order."""
    results_file = tmp_path / ("a-long-folder-name-for-the-results-" * 3) / "smoke.json"
    proc = run_cli(
        "run", "--model", "hf", "--model-args", model_args_text(demo_model_args),
        "--tasks", "scruples_dilemmas", "--sample-data", "--split", "dev", "--limit", "3",
        "--output-path", str(results_file), "--bootstrap-iters", "50",
    )  # fmt: skip
    out = proc.stdout
    assert "note: scruples_dilemmas: the reported split 'dev' is the calibration split" in out
    assert f"results: {results_file}\n" in out  # the whole path on one line
    assert len(str(results_file)) > 120
    assert any(line.count("xentropy") == 1 and "[" in line for line in out.splitlines())
    payload = json.loads(results_file.read_text())
    assert payload["config"]["sample_data"] is True
    assert payload["config"]["split"] == "dev"
    assert "temperature" not in payload["results"]["scruples_dilemmas"]
    samples = Path(payload["samples_files"]["scruples_dilemmas"])
    assert samples.parent == results_file.parent
    dev = Path(__file__).resolve().parents[1] / "tasks/scruples/sample_data/scruples/dilemmas"
    first_ids = [json.loads(x)["id"] for x in (dev / "dev.scruples-dilemmas.jsonl").open()][:3]
    assert [json.loads(x)["doc_id"] for x in samples.open()] == first_ids


@pytest.mark.slow
def test_evaluate_takes_model_args_text_and_typed_values(
    tmp_path: Path, demo_model_args: dict[str, str]
) -> None:
    common: dict[str, Any] = dict(
        sample_data=True, limit=2, n_bootstrap=20, show_progress=False, log=lambda m: None
    )
    folder = demo_model_args["pretrained"]
    typed = evaluate(
        "hf",
        "scruples_anecdotes_binary",
        model_args={"pretrained": Path(folder), "gguf_file": DEMO_GGUF, "chat_template": False},
        output_path=tmp_path / "typed",
        **common,
    )
    assert typed["model"]["chat_template"] is False
    assert typed["config"]["model_args"]["chat_template"] == "false"
    text = evaluate(
        "hf",
        "scruples_anecdotes_binary",
        model_args=f"pretrained={folder},gguf_file={DEMO_GGUF},chat_template=false",
        output_path=tmp_path / "text",
        **common,
    )
    assert text["model"]["fingerprint"] == typed["model"]["fingerprint"]
    assert text["cache"]["hits"] == typed["cache"]["misses"] > 0  # the same requests
    assert text["results"] == typed["results"]
    default = evaluate(
        "hf",
        "scruples_anecdotes_binary",
        model_args=f"pretrained={folder},gguf_file={DEMO_GGUF}",
        output_path=tmp_path / "default",
        **common,
    )
    assert default["model"]["chat_template"] is True  # the instruct model's own template
