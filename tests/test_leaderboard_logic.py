"""Leaderboard rules on constructed results: rank groups, sort directions, references, errors.

These files are written by hand so each expected value can be worked out on paper; the
tests on real demo-model runs are in test_leaderboard_real.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moralbench.leaderboard import (
    LeaderboardOptionError,
    LeaderboardOptions,
    ResultsFileError,
    build_leaderboard,
    render,
)
from moralbench.leaderboard.item_scores import ItemScores
from moralbench.leaderboard.references import BUILTIN_REFERENCES, load_references
from moralbench.leaderboard.significance import paired_test, rank_groups
from moralbench.metrics import METRICS

N_ITEMS = 40


def scores(values: list[float], metric: str = "accuracy") -> ItemScores:
    ids = tuple(f"d{i:02d}" for i in range(len(values)))
    return ItemScores(metric, ids, np.array(values, dtype=np.float64)[:, None])


# ---- rank groups -------------------------------------------------------------------------


def test_a_clear_winner_gets_its_own_group() -> None:
    best, worst = scores([1.0] * N_ITEMS), scores([0.0] * N_ITEMS)
    groups = rank_groups([best, worst], seed=0, n_resamples=1000)
    assert [g.group for g in groups] == [1, 2]
    # every resample keeps the difference at +1, so none lands on the other side: p = 0
    assert groups[1].p_vs_above == 0.0 and groups[1].shared_items == N_ITEMS


def test_identical_rows_tie() -> None:
    values = [float(i % 3 == 0) for i in range(N_ITEMS)]
    groups = rank_groups([scores(values), scores(values)])
    assert [g.group for g in groups] == [1, 1]
    assert groups[1].p_vs_above == 1.0


def test_one_item_apart_is_a_tie_with_the_hand_computed_p_value() -> None:
    a = [float(i % 2) for i in range(N_ITEMS)]
    b = list(a)
    b[1] = 0.0  # a is better on exactly one item
    test = paired_test(scores(a), scores(b), seed=0, n_resamples=4000)
    # the resampled difference is <= 0 only when item 1 is never drawn: (39/40)^40, two-sided
    expected = 2 * (39 / 40) ** 40
    assert test.p_value == pytest.approx(expected, abs=0.04)
    groups = rank_groups([scores(a), scores(b)])
    assert [g.group for g in groups] == [1, 1]


def test_groups_chain_and_skip_rows_without_items() -> None:
    top = scores([1.0] * N_ITEMS)
    near = scores([1.0] * (N_ITEMS - 1) + [0.0])
    low = scores([0.0] * N_ITEMS)
    groups = rank_groups([top, near, "no samples file", low])
    assert [g.group for g in groups] == [1, 1, None, 2]
    assert groups[2].reason == "no samples file"
    assert groups[3].p_vs_above == 0.0  # compared with `near`, the nearest row with items


def test_only_shared_items_are_compared() -> None:
    a = scores([1.0] * 10)
    b = ItemScores("accuracy", tuple(f"x{i}" for i in range(10)), np.zeros((10, 1)))
    assert paired_test(a, b).shared_items == 0
    assert [g.group for g in rank_groups([a, b])] == [1, None]


# ---- constructed results files -----------------------------------------------------------


def write_run(
    folder: Path,
    name: str,
    task: str,
    correct: list[float],
    *,
    extra: dict[str, float] | None = None,
    stamp: str = "2030-01-01T00-00-00",
) -> Path:
    """A minimal results file plus samples for one model on one task (values by hand)."""
    out = folder / name
    out.mkdir(parents=True, exist_ok=True)
    samples = out / f"samples_{task}_{stamp}.jsonl"
    records = [
        {"doc_id": f"d{i:02d}", "_index": i, "metrics": {"correct": c, **(extra or {})}}
        for i, c in enumerate(correct)
    ]
    samples.write_text("".join(json.dumps(r) + "\n" for r in records))
    accuracy = sum(correct) / len(correct)
    metrics: dict[str, Any] = {"accuracy": accuracy, "accuracy_ci": [accuracy, accuracy]}
    for key, value in (extra or {}).items():
        metrics[key] = value
        metrics[f"{key}_ci"] = [value, value]
    metrics["n"] = len(correct)
    payload = {
        "config": {"model": "toy", "model_args": {"model": name}, "seed": 0, "split": "test"},
        "model": {"fingerprint": f"fp-{name}"},
        "versions": {"tasks": {task: {"version": "1", "templates": {"default": "ab" * 32}}}},
        "data": {task: [{"split": "test", "sha256": "cd" * 32}]},
        "results": {task: metrics},
        "samples_files": {task: samples.name},
    }
    path = out / f"results_{stamp}.json"
    path.write_text(json.dumps(payload))
    return path


def run_labels(board: Any, key: str) -> list[str]:
    return [row.label for row, _ in board.ordered_rows(key) if row.kind == "run"]


@pytest.mark.parametrize(
    ("metric", "lower"),
    [
        ("xentropy", True),
        ("dirichlet", True),
        ("ece", True),
        ("brier", True),
        ("misalignment_rate", True),
        ("accuracy", False),
        ("welfare_utilitarian", False),
    ],
)
def test_sort_direction_per_metric(tmp_path: Path, metric: str, lower: bool) -> None:
    assert METRICS[metric].lower_is_better is lower
    for name, value in (("small", 0.1), ("large", 0.3)):
        write_run(tmp_path, name, "toy_task", [1.0, 0.0], extra={metric: value})
    board = build_leaderboard([tmp_path], LeaderboardOptions(metrics=(metric,), sort=metric))
    best_first = ["toy · small", "toy · large"] if lower else ["toy · large", "toy · small"]
    assert run_labels(board, board.sort_key) == best_first
    arrow = "↓" if lower else "↑"
    assert f"toy_task {metric} {arrow}" in render(board, "md")


def test_rank_groups_in_the_table(tmp_path: Path) -> None:
    write_run(tmp_path, "always", "toy_task", [1.0] * N_ITEMS)
    write_run(tmp_path, "almost", "toy_task", [1.0] * (N_ITEMS - 1) + [0.0])
    write_run(tmp_path, "never", "toy_task", [0.0] * N_ITEMS)
    board = build_leaderboard([tmp_path], LeaderboardOptions(sort="accuracy"))
    ranked = [(row.label, group.group) for row, group in board.ordered_rows() if group]
    assert ranked == [("toy · always", 1), ("toy · almost", 1), ("toy · never", 2)]
    table = json.loads(render(board, "json"))
    assert table["rankings"]["toy_task:accuracy"][2]["rank"]["p_vs_above"] == 0.0
    assert "| 2 | toy · never |" in render(board, "md")


def test_rows_without_samples_are_ranked_without_a_group(tmp_path: Path) -> None:
    write_run(tmp_path, "a", "toy_task", [1.0, 1.0, 0.0])
    path = write_run(tmp_path, "b", "toy_task", [1.0, 0.0, 0.0])
    (path.parent / "samples_toy_task_2030-01-01T00-00-00.jsonl").unlink()
    board = build_leaderboard([tmp_path])
    groups = {row.label: group for row, group in board.ordered_rows()}
    assert groups["toy · a"].group == 1
    assert groups["toy · b"].group is None and groups["toy · b"].reason == "no samples file"
    assert "| – | toy · b |" in render(board, "md")


def test_duplicate_without_samples_is_detected_by_values(tmp_path: Path) -> None:
    first = write_run(tmp_path / "x", "m", "toy_task", [1.0, 0.0])
    second = write_run(tmp_path / "y", "m", "toy_task", [1.0, 0.0], stamp="2030-02-01T00-00-00")
    for path in (first, second):
        for samples in path.parent.glob("samples_*"):
            samples.unlink()
    board = build_leaderboard([tmp_path])
    assert len(board.run_rows) == 1
    assert any("duplicate runs" in n and "report the same values" in n for n in board.notes)


# ---- reference rows ----------------------------------------------------------------------


def test_builtin_reference_rows_carry_citations_and_fractions() -> None:
    rows = load_references(BUILTIN_REFERENCES)
    assert rows
    for row in rows:
        assert row.reference.citation and row.reference.url.startswith("https://arxiv.org/")
        assert all(k in METRICS for k in row.values)
        # shares are stored as fractions; the study's Dirichlet losses are not shares
        shares = {k: v for k, v in row.values.items() if k != "maity2024_dirichlet_fixed_c1"}
        assert all(0 <= v <= 1 for v in shares.values())
    dfar = {(r.model, r.task): r.values for r in rows if r.reference.id == "kabir2024dfar"}
    # DFAR paper table (percent): Llama-2-7B fine-tuned on labels + reasons, 89.4 / 9.4
    llama = dfar[("Llama-2-7B, fine-tuned on labels + reasons", "dfar_reasons")]
    assert llama == {"label_accuracy": pytest.approx(0.894), "misalignment_rate": 0.094}


def test_builtin_references_join_a_matching_task(tmp_path: Path) -> None:
    write_run(tmp_path, "m", "dfar_classification", [1.0, 0.0, 1.0, 1.0])
    board = build_leaderboard([tmp_path])
    reported = [row for row in board.rows if row.kind == "reported"]
    assert {row.label for row in reported} >= {"BERT (classifier)", "SVM"}
    bert = next(row for row in reported if row.label == "BERT (classifier)")
    assert bert.cells["dfar_classification:accuracy"].value == pytest.approx(0.786)
    assert bert.reference is not None and "Kabir et al." in bert.reference.citation
    assert "*(reported [1])*" in render(board, "md")
    without = build_leaderboard([tmp_path], LeaderboardOptions(reference_files=()))
    assert [row.kind for row in without.rows] == ["run"]


def test_reference_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "refs.yaml"
    bad.write_text(
        "references:\n"
        "  - id: x\n"
        "    citation: Someone, 2030\n"
        "    rows:\n"
        "      - {model: M, task: t, values: {accuracy: high}}\n"
    )
    with pytest.raises(ResultsFileError) as info:
        load_references(bad)
    assert str(info.value) == f"{bad}:5: value of 'accuracy' must be a number"


# ---- bad input ---------------------------------------------------------------------------


def test_bad_results_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "results_2030.json"
    path.write_text('{\n  "config": {},\n  "results": oops\n}\n')
    with pytest.raises(ResultsFileError) as info:
        build_leaderboard([tmp_path])
    assert str(info.value).startswith(f"{path}:3: bad JSON")


def test_duplicate_doc_in_samples_names_the_line(tmp_path: Path) -> None:
    path = write_run(tmp_path, "m", "toy_task", [1.0, 0.0])
    samples = path.parent / "samples_toy_task_2030-01-01T00-00-00.jsonl"
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join([*lines, lines[0]]) + "\n")
    with pytest.raises(ResultsFileError) as info:
        build_leaderboard([tmp_path])
    assert str(info.value) == f"{samples}:3: doc_id 'd00' appears twice"


def test_unknown_sort_and_task_options_are_errors(tmp_path: Path) -> None:
    write_run(tmp_path, "m", "toy_task", [1.0, 0.0])
    with pytest.raises(LeaderboardOptionError, match="--sort 'brier' is not a shown column"):
        build_leaderboard([tmp_path], LeaderboardOptions(sort="brier"))
    with pytest.raises(LeaderboardOptionError, match="--tasks 'nope' matches no task"):
        build_leaderboard([tmp_path], LeaderboardOptions(tasks=("nope",)))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ResultsFileError, match="no results_\\*.json files"):
        build_leaderboard([empty])


def test_cli_prints_errors_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from moralbench.cli import main

    code = main(["leaderboard", str(tmp_path / "missing")])
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert code != 0
    assert "no such file or folder" in err and "Traceback" not in err


def test_docs_cover_every_leaderboard_option_and_show_the_page() -> None:
    from conftest import REPO

    from moralbench.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    options = [
        option
        for action in commands["leaderboard"]._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ]
    text = (REPO / "docs" / "leaderboard.md").read_text()
    assert [o for o in options if f"`{o}" not in text and f" {o}" not in text] == []
    images = re.findall(r"\]\((img/[^)]+\.png)\)", text)
    assert "img/leaderboard.png" in images
    for image in images:
        assert (REPO / "docs" / image).read_bytes()[:4] == b"\x89PNG"


def test_chat_and_completion_runs_of_one_model_are_never_one_row(tmp_path: Path) -> None:
    """Same model and fingerprint, scored in two prompt modes: two rows, labelled, noted."""
    for name, mode, stamp in (
        ("chat", "chat", "2030-01-01T00-00-00"),
        ("completion", "completion", "2030-01-02T00-00-00"),
    ):
        path = write_run(tmp_path, name, "toy_task", [1, 0, 1, 1], stamp=stamp)
        payload = json.loads(path.read_text())
        payload["config"]["model_args"] = {"model": "same"}
        payload["model"]["fingerprint"] = "fp-same"
        payload["prompt_modes"] = {"toy_task": {"mode": mode, "prefill": False, "variants": False}}
        path.write_text(json.dumps(payload))
    board = build_leaderboard([tmp_path])
    runs = [row.run for row in board.rows if row.kind == "run"]
    assert sorted(r.prompt_mode for r in runs) == ["chat", "completion"]
    assert sorted(r.label for r in runs) == ["toy · same [chat]", "toy · same [completion]"]
    assert any(
        "mixes prompt modes (chat: 1 row(s), completion: 1 row(s))" in n for n in board.notes
    )
    # One mode only: no note.
    (tmp_path / "completion").rename(tmp_path.parent / "completion_elsewhere")
    assert not any("mixes prompt modes" in n for n in build_leaderboard([tmp_path]).notes)
