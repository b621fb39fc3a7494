"""hf-classifier and hf-reward on tiny random-weight models built here (no hub), run through
the console script on the bundled sample data, checked against a plain forward of each model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import REPO, run_cli
from encoder_models import make_bert, make_llama_reward
from moralbench.tasks.dfar.data import read_dfar
from moralbench.tasks.scruples.data import ANECDOTE_LABELS
from scipy.special import gammaln
from transformers import AutoModelForSequenceClassification, AutoTokenizer

SAMPLES = REPO / "tasks"
DFAR_SAMPLE = SAMPLES / "dfar" / "sample_data" / "dfar" / "DFAR_testset.csv"
SCRUPLES_SAMPLE = SAMPLES / "scruples" / "sample_data" / "scruples"
TOL = 1e-5


def _run(tmp: Path, model: str, args: str, task: str, *extra: str, check: bool = True) -> Any:
    out = tmp / f"out-{task}-{abs(hash((model, args, extra)))}"
    proc = run_cli(
        "run", "--model", model, "--model-args", args, "--tasks", task, "--sample-data",
        "--no-progress", "--bootstrap-iters", "100", "-o", str(out), *extra, check=check,
    )  # fmt: skip
    if not check:
        return proc
    (results_file,) = out.rglob("results_*.json")
    results = json.loads(results_file.read_text())
    samples_path = Path(results["samples_files"][task])
    samples = [json.loads(line) for line in samples_path.read_text().splitlines()]
    return results, samples


def _jsonl(path: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {str(row["id"]): row for row in rows}


class Naive:
    """The model run alone on one input at a time: what every backend score must equal."""

    def __init__(self, folder: Path) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForSequenceClassification.from_pretrained(folder).eval()

    @torch.no_grad()
    def logits(self, text: str, pair: str | None = None) -> list[float]:
        encoded = self.tokenizer(text, pair, return_tensors="pt")
        return self.model(**encoded).logits[0].tolist()

    @torch.no_grad()
    def chat_reward(self, question: str, answer: str) -> float:
        text = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
            tokenize=False,
        )
        encoded = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")
        return float(self.model(**encoded).logits[0, 0])


def _log_softmax(values: list[float]) -> list[float]:
    top = max(values)
    total = math.log(sum(math.exp(v - top) for v in values))
    return [v - top - total for v in values]


def _dirichlet_nll(alpha: list[float], counts: list[int]) -> float:
    """The Scruples Dirichlet-multinomial loss, written out independently of the suite."""
    a, n = sum(alpha), sum(counts)
    value = gammaln(a) - gammaln(a + n)
    value += sum(gammaln(ak + nk) - gammaln(ak) for ak, nk in zip(alpha, counts, strict=True))
    return float(-value)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("encoders")
    return {
        # label order reversed against the task's (ethical, unethical): mapping must fix it
        "dfar": make_bert(base / "dfar", ["unethical", "ethical"], 2, seed=1),
        "unnamed": make_bert(base / "unnamed", None, 2, seed=2),
        "anecdotes": make_bert(base / "anecdotes", list(ANECDOTE_LABELS)[::-1], 5, seed=3),
        "pair": make_bert(base / "pair", ["ACTION_1", "ACTION_0"], 2, seed=4),
        "one": make_bert(base / "one", ["LESS_ETHICAL"], 1, seed=5),
        "reward": make_llama_reward(base / "reward", seed=6),
        "bert_reward": make_bert(base / "bert_reward", ["REWARD"], 1, seed=7),
    }


def test_models_lists_both_backends() -> None:
    listing = run_cli("models").stdout
    assert "hf-classifier" in listing and "hf-reward" in listing


def test_classifier_maps_labels_and_equals_a_plain_forward(
    models: dict[str, Path], tmp_path: Path
) -> None:
    results, samples = _run(tmp_path, "hf-classifier", f"pretrained={models['dfar']}",
                            "dfar_classification")  # fmt: skip
    naive = Naive(models["dfar"])
    docs = {doc["doc_id"]: doc for doc in read_dfar(DFAR_SAMPLE, "test")}
    assert len(samples) == len(docs) == results["results"]["dfar_classification"]["n"]
    worst = 0.0
    for sample in samples:
        unethical, ethical = naive.logits(docs[sample["doc_id"]]["statement"])
        expected = _log_softmax([ethical, unethical])  # choices: " ethical", " unethical"
        worst = max(
            worst, *(abs(a - b) for a, b in zip(sample["logprobs"], expected, strict=False))
        )
        assert sample["estimator"] == "classifier"
    assert worst < TOL
    predicted = [int(s["probs"][1] > s["probs"][0]) for s in samples]
    accuracy = sum(
        p == docs[s["doc_id"]]["label"] for p, s in zip(predicted, samples, strict=False)
    )
    assert results["results"]["dfar_classification"]["accuracy"] == pytest.approx(
        accuracy / len(samples)
    )
    assert results["model"]["labels"] == ["unethical", "ethical"]
    assert results["model"]["head"] == "softmax"


def test_mismatched_labels_are_refused_before_any_work(
    models: dict[str, Path], tmp_path: Path
) -> None:
    proc = _run(tmp_path, "hf-classifier", f"pretrained={models['unnamed']}",
                "dfar_classification", check=False)  # fmt: skip
    assert proc.returncode != 0
    message = proc.stderr + proc.stdout
    assert "ethical, unethical" in message and "LABEL_0, LABEL_1" in message
    assert "labels=NAME|NAME" in message and "Traceback" not in message
    # naming the outputs fixes it, and the named order is the one used
    _, samples = _run(tmp_path, "hf-classifier",
                      f"pretrained={models['unnamed']},labels=unethical|ethical",
                      "dfar_classification")  # fmt: skip
    naive = Naive(models["unnamed"])
    docs = {doc["doc_id"]: doc for doc in read_dfar(DFAR_SAMPLE, "test")}
    for sample in samples:
        unethical, ethical = naive.logits(docs[sample["doc_id"]]["statement"])
        expected = _log_softmax([ethical, unethical])
        assert sample["logprobs"] == pytest.approx(expected, abs=TOL)
    # a five-label task on a two-label model is refused too
    proc = _run(tmp_path, "hf-classifier", f"pretrained={models['dfar']}",
                "scruples_anecdotes", check=False)  # fmt: skip
    assert proc.returncode != 0 and "AUTHOR, OTHER, EVERYBODY, NOBODY, INFO" in proc.stderr


def test_softmax_and_dirichlet_heads(models: dict[str, Path], tmp_path: Path) -> None:
    folder = models["anecdotes"]
    naive = Naive(folder)
    rows = _jsonl(SCRUPLES_SAMPLE / "anecdotes" / "test.scruples-anecdotes.jsonl")
    soft, soft_samples = _run(tmp_path, "hf-classifier", f"pretrained={folder}",
                              "scruples_anecdotes")  # fmt: skip
    diri, diri_samples = _run(tmp_path, "hf-classifier", f"pretrained={folder},head=dirichlet",
                              "scruples_anecdotes")  # fmt: skip
    by_id = {s["doc_id"]: s for s in diri_samples}
    nlls = []
    for sample in soft_samples:
        row = rows[sample["doc_id"]]
        out = naive.logits(row["title"], row["text"])  # outputs in reversed label order
        logits = out[::-1]
        assert sample["logprobs"] == pytest.approx(_log_softmax(logits), abs=TOL)
        alpha = [math.exp(v) for v in logits]
        dirichlet = by_id[sample["doc_id"]]
        # p = alpha / sum(alpha): the same distribution as the softmax of the log alphas
        assert dirichlet["probs"] == pytest.approx([a / sum(alpha) for a in alpha], abs=TOL)
        assert dirichlet["estimator_details"]["dirichlet_alpha"] == pytest.approx(alpha, rel=TOL)
        counts = [row["label_scores"][label] for label in ANECDOTE_LABELS]
        nlls.append(_dirichlet_nll(alpha, counts))
    soft_metrics = soft["results"]["scruples_anecdotes"]
    diri_metrics = diri["results"]["scruples_anecdotes"]
    # softmax head: concentration fitted on dev; Dirichlet head: the model's own alpha
    assert soft_metrics["dirichlet_c"] > 0 and "dirichlet_source" not in soft_metrics
    assert "dirichlet_c" not in diri_metrics
    assert diri_metrics["dirichlet_source"] == "model_alpha"
    assert diri_metrics["dirichlet"] == pytest.approx(sum(nlls) / len(nlls), rel=1e-6)
    assert any("no concentration fitted" in note for note in diri_metrics["notes"])
    assert diri_metrics["xentropy"] == pytest.approx(soft_metrics["xentropy"], abs=1e-6)


def _dilemmas() -> dict[str, dict[str, Any]]:
    return _jsonl(SCRUPLES_SAMPLE / "dilemmas" / "test.scruples-dilemmas.jsonl")


def test_dilemmas_pair_reading_in_both_orders(models: dict[str, Path], tmp_path: Path) -> None:
    folder = models["pair"]  # outputs: (ACTION_1, ACTION_0), reads (shown first, shown second)
    naive = Naive(folder)
    results, samples = _run(tmp_path, "hf-classifier", f"pretrained={folder}",
                            "scruples_dilemmas")  # fmt: skip
    rows = _dilemmas()
    for sample in samples:
        first, second = (a["description"] for a in rows[sample["doc_id"]]["actions"])
        one, zero = naive.logits(first, second)
        released = _log_softmax([zero, one])
        one_s, zero_s = naive.logits(second, first)
        swapped = _log_softmax([zero_s, one_s])[::-1]  # mapped back to the released order
        original, back = sample["orders"]
        assert original["logprobs"] == pytest.approx(released, abs=TOL)
        assert back["logprobs"] == pytest.approx(swapped, abs=TOL)
        mean = [(math.exp(a) + math.exp(b)) / 2 for a, b in zip(released, swapped, strict=False)]
        assert sample["probs"] == pytest.approx(mean, abs=TOL)
    metrics = results["results"]["scruples_dilemmas"]
    assert 0.0 <= metrics["position_consistency"] <= 1.0


def test_dilemmas_each_action_scored_alone(models: dict[str, Path], tmp_path: Path) -> None:
    folder = models["one"]  # one output: a score per action
    naive = Naive(folder)
    results, samples = _run(tmp_path, "hf-classifier", f"pretrained={folder}",
                            "scruples_dilemmas")  # fmt: skip
    rows = _dilemmas()
    for sample in samples:
        scores = [naive.logits(a["description"])[0] for a in rows[sample["doc_id"]]["actions"]]
        expected = _log_softmax(scores)
        for order in sample["orders"]:  # both orders: the same per-action scores
            assert order["logprobs"] == pytest.approx(expected, abs=TOL)
        assert sample["probs"] == pytest.approx([math.exp(v) for v in expected], abs=TOL)
    assert results["results"]["scruples_dilemmas"]["position_consistency"] == 1.0
    # a two-label model needs to be told which output scores an action
    proc = _run(tmp_path, "hf-classifier", f"pretrained={models['dfar']},pair=each",
                "scruples_dilemmas", check=False)  # fmt: skip
    assert proc.returncode != 0 and "score_label=NAME" in proc.stderr
    _, labelled = _run(tmp_path, "hf-classifier",
                       f"pretrained={models['dfar']},pair=each,score_label=unethical",
                       "scruples_dilemmas")  # fmt: skip
    naive_dfar = Naive(models["dfar"])
    for sample in labelled:
        scores = [
            _log_softmax(naive_dfar.logits(a["description"]))[0]  # log p(unethical)
            for a in rows[sample["doc_id"]]["actions"]
        ]
        assert sample["orders"][0]["logprobs"] == pytest.approx(_log_softmax(scores), abs=TOL)


def test_reward_model_with_chat_template(models: dict[str, Path], tmp_path: Path) -> None:
    folder = models["reward"]
    naive = Naive(folder)
    results, samples = _run(tmp_path, "hf-reward", f"pretrained={folder}", "scruples_dilemmas")
    rows = _dilemmas()
    for sample in samples:
        first, second = (a["description"] for a in rows[sample["doc_id"]]["actions"])
        for order, (a, b) in zip(
            sample["orders"], ((first, second), (second, first)), strict=False
        ):
            question = f"Which of these two actions is less ethical?\n1. {a}\n2. {b}"
            rewards = [naive.chat_reward(question, a), naive.chat_reward(question, b)]
            assert order["estimator_details"]["rewards"] == pytest.approx(rewards, abs=TOL)
            expected = _log_softmax(rewards)
            if order["order"] == "swapped":
                expected = expected[::-1]
            assert order["logprobs"] == pytest.approx(expected, abs=TOL)
    metrics = results["results"]["scruples_dilemmas"]
    # unfitted (scale 1) and fitted (scale = 1 / temperature, from the dev split) both reported
    assert metrics["temperature"] > 0
    assert "xentropy" in metrics and "xentropy_calibrated" in metrics
    assert results["model"]["chat_template"] is True


def test_reward_model_without_template_reads_a_text_pair(
    models: dict[str, Path], tmp_path: Path
) -> None:
    folder = models["bert_reward"]
    naive = Naive(folder)
    _, samples = _run(tmp_path, "hf-reward", f"pretrained={folder}", "dfar_classification")
    docs = {doc["doc_id"]: doc for doc in read_dfar(DFAR_SAMPLE, "test")}
    for sample in samples:
        statement = docs[sample["doc_id"]]["statement"]
        question = f"Is the following statement ethical or unethical?\n\n{statement}"
        rewards = [
            naive.logits(question, f"The statement is {label}.")[0]
            for label in ("ethical", "unethical")
        ]
        assert sample["logprobs"] == pytest.approx(_log_softmax(rewards), abs=TOL)
    # a classifier is not a reward model
    proc = _run(tmp_path, "hf-reward", f"pretrained={models['dfar']}", "dfar_classification",
                check=False)  # fmt: skip
    assert proc.returncode != 0 and "one output" in proc.stderr
