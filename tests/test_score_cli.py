"""`moralbench score`: metrics from a user's predictions file, joined with the task's docs."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from moralbench.tasks.scruples import ScruplesAnecdotesBinary, ScruplesDilemmas

from moralbench.cli import main

SAMPLES = ScruplesAnecdotesBinary.sample_data_dir
#: RIGHT / WRONG votes of the bundled binary test items, in file order
BINARY_TEST_COUNTS = [
    (8, 0), (1, 6), (8, 1), (1, 6), (2, 1), (1, 0),
    (2, 3), (14, 1), (3, 4), (3, 1), (0, 8), (5, 1),
]  # fmt: skip


def doc_ids(task_class: type, split: str = "test") -> list[str]:
    assert SAMPLES is not None
    (path,) = task_class.data_files(SAMPLES, split)
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def score(tmp_path: Path, task: str, predictions: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "scored.json"
    code = main(["score", "--task", task, "--predictions", str(predictions), "--sample-data",
                 "--bootstrap-iters", "200", "-o", str(out), *extra])  # fmt: skip
    assert code == 0
    return json.loads(out.read_text())


def fails(task: str, predictions: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main(["score", "--task", task, "--predictions", str(predictions), "--sample-data",
                 "--bootstrap-iters", "50", *extra])  # fmt: skip
    assert code == 2
    return squeeze(capsys.readouterr().err)


def squeeze(text: str) -> str:
    """The text without whitespace: the CLI's console wraps long lines anywhere."""
    return "".join(text.split())


def test_the_bundled_counts_are_the_ones_pinned_here() -> None:
    assert SAMPLES is not None
    (path,) = ScruplesAnecdotesBinary.data_files(SAMPLES, "test")
    scores = [json.loads(line)["binarized_label_scores"] for line in path.read_text().splitlines()]
    assert [(s["RIGHT"], s["WRONG"]) for s in scores] == BINARY_TEST_COUNTS


def test_predicting_the_human_distribution_scores_the_hand_computed_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = doc_ids(ScruplesAnecdotesBinary)
    lines = [
        {"doc_id": i, "probs": [r / (r + w), w / (r + w)]}
        for i, (r, w) in zip(ids, BINARY_TEST_COUNTS, strict=True)
    ]
    path = write(tmp_path / "preds.jsonl", lines)
    result = score(tmp_path, "scruples_anecdotes_binary", path)
    metrics = result["metrics"]
    entropy = []
    agreement = []
    for r, w in BINARY_TEST_COUNTS:
        y = [r / (r + w), w / (r + w)]
        entropy.append(-sum(v * math.log(v) for v in y if v > 0))
        agreement.append(sum(v * v for v in y))
    assert metrics["accuracy"] == 1.0 and metrics["f1_macro"] == 1.0
    assert metrics["xentropy"] == pytest.approx(sum(entropy) / 12, abs=1e-9)
    assert metrics["brier"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["js_divergence"] == pytest.approx(0.0, abs=1e-9)
    assert metrics["welfare_utilitarian"] == pytest.approx(sum(agreement) / 12, abs=1e-9)
    assert metrics["n"] == 12 and metrics["clipped_items"] == 3  # three unanimous items
    assert result["label_order"] == ["RIGHT", "WRONG"]
    assert result["predictions"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(result["records"]) == 12
    assert result["records"][0]["estimator"] == "external"
    assert any("calibration split missing" in note for note in metrics["notes"])
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "label order: RIGHT, WRONG" in printed


def test_uniform_logprobs_score_ln2_and_the_tie_rule(tmp_path: Path) -> None:
    path = write(tmp_path / "p.jsonl", [{"doc_id": i, "logprobs": [-3.0, -3.0]}
                                        for i in doc_ids(ScruplesAnecdotesBinary)])  # fmt: skip
    metrics = score(tmp_path, "scruples_anecdotes_binary", path)["metrics"]
    assert metrics["xentropy"] == pytest.approx(math.log(2), abs=1e-12)
    # ties go to index 0 (RIGHT), the majority on 7 of the 12 items
    assert metrics["accuracy"] == pytest.approx(7 / 12)
    brier = sum((0.5 - r / (r + w)) ** 2 + (0.5 - w / (r + w)) ** 2 for r, w in BINARY_TEST_COUNTS)
    assert metrics["brier"] == pytest.approx(brier / 12, abs=1e-12)


def test_a_calibration_file_fits_the_temperature_and_concentration(tmp_path: Path) -> None:
    def lines(split: str, sharp: float) -> list[dict[str, Any]]:
        return [{"doc_id": i, "probs": [sharp, 1 - sharp]}
                for i in doc_ids(ScruplesAnecdotesBinary, split)]  # fmt: skip

    test = write(tmp_path / "test.jsonl", lines("test", 0.9))
    dev = write(tmp_path / "dev.jsonl", lines("dev", 0.9))
    result = score(tmp_path, "scruples_anecdotes_binary", test, "--calibration", str(dev))
    metrics = result["metrics"]
    assert metrics["temperature"] > 0 and metrics["dirichlet_c"] > 0
    assert metrics["xentropy_calibrated"] < metrics["xentropy"]
    assert "xentropy_calibrated_ci" in metrics and "dirichlet_ci" in metrics
    assert not any("calibration split missing" in n for n in metrics["notes"])
    assert result["calibration"]["split"] == "dev"
    assert {d["split"] for d in result["data"]} == {"test", "dev"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"doc_id": "nope", "probs": [0.5, 0.5]},
         "unknown doc_id 'nope': not in the 'test' split of 'scruples_anecdotes_binary'"),
        ({"doc_id": "ID", "probs": [0.2, 0.3, 0.5]},
         "'probs' must be a list of 2 numbers (one per choice), got 3"),
        ({"doc_id": "ID", "probs": [0.5, -0.1]}, "'probs' holds a negative probability"),
        ({"doc_id": "ID", "probs": [0.0, 0.0]}, "'probs' sums to 0"),
        ({"doc_id": "ID", "logprobs": ["a", 0.0]}, "'logprobs' must hold numbers only"),
        ('{"doc_id": "ID", "logprobs": [NaN, 0.0]}', "'logprobs' holds a NaN or infinite value"),
        ({"doc_id": "ID", "p": [0.5, 0.5]}, "give 'probs' or 'logprobs'"),
        ({"probs": [0.5, 0.5]}, "each prediction needs a string 'doc_id'"),
        ('{"doc_id": "ID", ', "bad JSON"),
    ],
)  # fmt: skip
def test_bad_prediction_lines_are_errors_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: Any, expected: str
) -> None:
    ids = doc_ids(ScruplesAnecdotesBinary)
    if isinstance(line, dict) and line.get("doc_id") == "ID":
        line = dict(line, doc_id=ids[1])
    elif isinstance(line, str):
        line = line.replace("ID", ids[1])
    rest = [{"doc_id": i, "probs": [0.5, 0.5]} for i in ids if i != ids[1]]
    path = write(tmp_path / "p.jsonl", [rest[0], line, *rest[1:]])
    err = fails("scruples_anecdotes_binary", path, capsys)
    assert squeeze(f"{path}:2: {expected}") in err


def test_a_repeated_doc_id_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = doc_ids(ScruplesAnecdotesBinary)
    lines = [{"doc_id": i, "probs": [0.5, 0.5]} for i in ids] + [
        {"doc_id": ids[0], "probs": [1, 0]}
    ]
    path = write(tmp_path / "p.jsonl", lines)
    err = fails("scruples_anecdotes_binary", path, capsys)
    assert squeeze(f"{path}:13: duplicate doc_id '{ids[0]}' (first on line 1)") in err


def test_missing_predictions_are_an_error_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = doc_ids(ScruplesAnecdotesBinary)
    path = write(tmp_path / "p.jsonl", [{"doc_id": i, "probs": [0.5, 0.5]} for i in ids[1:]])
    err = fails("scruples_anecdotes_binary", path, capsys)
    assert (
        squeeze(f"no prediction for 1 of 12 document(s) of the 'test' split (first: '{ids[0]}')")
        in err
    )
    metrics = score(tmp_path, "scruples_anecdotes_binary", path, "--allow-missing")["metrics"]
    assert metrics["n"] == 11 and metrics["n_missing"] == 1


def test_dilemmas_need_both_orders_unless_told_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = doc_ids(ScruplesDilemmas)
    one = write(tmp_path / "one.jsonl", [{"doc_id": i, "probs": [0.7, 0.3]} for i in ids])
    err = fails("scruples_dilemmas", one, capsys)
    assert squeeze(f"{one}:1: order=both needs 'probs_swapped' or 'logprobs_swapped'") in err
    assert squeeze("--task-args order=original") in err
    single = score(tmp_path, "scruples_dilemmas", one, "--task-args", "order=original")
    assert "position_consistency" not in single["metrics"]
    # the per-task form `run` accepts (#18) means the same here
    scoped = score(tmp_path, "scruples_dilemmas", one, "--task-args", "scruples_*:order=original")
    assert scoped["options"] == {"order": "original"}
    assert scoped["metrics"] == single["metrics"]

    # first half of the items: the swap keeps the preference; second half: it flips
    both = write(tmp_path / "both.jsonl", [
        {"doc_id": i, "probs": [0.7, 0.3], "probs_swapped": [0.6, 0.4] if n < 6 else [0.1, 0.9]}
        for n, i in enumerate(ids)
    ])  # fmt: skip
    result = score(tmp_path, "scruples_dilemmas", both)
    assert result["metrics"]["position_consistency"] == 0.5
    first = result["records"][0]
    assert first["probs"] == pytest.approx([0.65, 0.35], abs=1e-12)
    assert first["orders"][1]["probs"] == pytest.approx([0.6, 0.4], abs=1e-12)
    assert result["records"][11]["probs"] == pytest.approx([0.4, 0.6], abs=1e-12)


def test_task_names_must_be_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "p.jsonl", [])
    assert squeeze("give one task name, not a pattern") in fails("scruples_*", path, capsys)
    assert squeeze("unknown task 'nosuch'") in fails("nosuch", path, capsys)
    missing = tmp_path / "absent.jsonl"
    assert squeeze("predictions file not found") in fails("scruples_dilemmas", missing, capsys)


def test_calibrating_on_the_reported_split_is_flagged(tmp_path: Path) -> None:
    ids = doc_ids(ScruplesAnecdotesBinary, "dev")
    dev = write(tmp_path / "dev.jsonl", [{"doc_id": i, "probs": [0.8, 0.2]} for i in ids])
    result = score(tmp_path, "scruples_anecdotes_binary", dev, "--split", "dev",
                   "--calibration", str(dev))  # fmt: skip
    notes = result["metrics"]["notes"]
    assert (
        "calibration fitted on the reported split itself: calibrated metrics are optimistic"
        in notes
    )
