"""The reproducible baseline path: train a small classifier with the example script, score it
with `moralbench run --model hf-classifier`, put it in `moralbench leaderboard` beside the
DFAR paper's rows; and a PEFT adapter on a classifier."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO, SHARED_DATA, run_cli
from encoder_models import make_bert
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from moralbench.backend import BackendOptions
from moralbench.requests import ChoiceRequest, ItemView


@pytest.mark.slow
def test_trained_dfar_classifier_runs_into_the_leaderboard(tmp_path: Path) -> None:
    if not (SHARED_DATA / "dfar" / "DFAR_trainset.csv").is_file():
        pytest.skip(f"the DFAR files are not at {SHARED_DATA / 'dfar'}")
    model = tmp_path / "dfar-minilm"
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "train_classifier.py"), "dfar",
         "--data-dir", str(SHARED_DATA), "--output", str(model), "--head-only",
         "--limit", "48", "--head-steps", "30", "--max-length", "32", "--threads", "1"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    config = json.loads((model / "config.json").read_text())
    assert config["id2label"] == {"0": "ethical", "1": "unethical"}
    assert json.loads((model / "training.json").read_text())["examples"] == 48
    board = tmp_path / "board"
    run_cli("run", "--model", "hf-classifier", "--model-args", f"pretrained={model}",
            "--tasks", "dfar_classification", "--data-dir", str(SHARED_DATA), "--split",
            "test", "--limit", "40", "--no-progress", "-o", str(board))  # fmt: skip
    (results_file,) = board.rglob("results_*.json")
    results = json.loads(results_file.read_text())
    assert results["results"]["dfar_classification"]["n"] == 40
    table = run_cli("leaderboard", str(board), "--tasks", "dfar_classification").stdout
    assert "hf-classifier · dfar-minilm" in table
    for reported in ("BERT (classifier)", "DistilBERT (classifier)", "Logistic Regression"):
        assert reported in table


def test_peft_adapter_on_a_classifier(tmp_path: Path) -> None:
    from moralbench.plugins.encoders.classifier import HFClassifierBackend
    from peft import LoraConfig, TaskType, get_peft_model

    base = make_bert(tmp_path / "base", ["ethical", "unethical"], 2, seed=11)
    model = AutoModelForSequenceClassification.from_pretrained(base)
    lora = get_peft_model(
        model, LoraConfig(task_type=TaskType.SEQ_CLS, r=4, target_modules=["query", "value"])
    )
    with torch.no_grad():  # a non-zero adapter, so it changes the outputs
        for name, parameter in lora.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    lora.save_pretrained(tmp_path / "adapter")
    merged = lora.merge_and_unload().eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    text = "Keeping a wallet found on the bus."
    with torch.no_grad():
        expected = torch.log_softmax(merged(**tokenizer(text, return_tensors="pt")).logits[0], -1)
        plain = AutoModelForSequenceClassification.from_pretrained(base).eval()
        unadapted = torch.log_softmax(plain(**tokenizer(text, return_tensors="pt")).logits[0], -1)
    assert (expected - unadapted).abs().max() > 1e-3
    request = ChoiceRequest("", (" ethical", " unethical"),
                            item=ItemView((text,), ("ethical", "unethical")))  # fmt: skip
    with_adapter = HFClassifierBackend(
        {"pretrained": str(base), "peft": str(tmp_path / "adapter")}, BackendOptions()
    )
    without = HFClassifierBackend({"pretrained": str(base)}, BackendOptions())
    ((_, response),) = list(with_adapter.score_choices([request]))
    assert list(response.logprobs) == pytest.approx(expected.tolist(), abs=1e-5)
    assert with_adapter.fingerprint() != without.fingerprint()
