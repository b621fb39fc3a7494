"""Agreement slices: values worked out by hand on four items, empty and one-item slices,
calibration fitted once, the ceiling's draws shared with the whole split, the gap's paired
bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from moralbench.choice_records import aggregate_choices
from moralbench.metrics import (
    CEILING_METRICS,
    AgreementCuts,
    agreement_groups,
    compute_metrics,
    fit_dirichlet_prior,
    human_ceiling,
    human_ceilings,
    slice_gap,
    slice_metrics,
    top_share,
)

COUNTS = np.array([[4, 1], [1, 4], [3, 2], [5, 0]], dtype=float)  # top share .8 .8 .6 1
PROBS = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5], [0.2, 0.8]])
TARGETS = np.array([0, 1, 0, 0])


def test_top_share_and_default_cut() -> None:
    assert top_share(COUNTS).tolist() == pytest.approx([0.8, 0.8, 0.6, 1.0])
    groups = agreement_groups(COUNTS)  # one cut at 0.75
    assert groups["clear"].tolist() == [True, True, False, True]
    assert groups["contested"].tolist() == [False, False, True, False]
    assert "moderate" not in groups


def test_two_cuts_make_a_moderate_slice_and_a_share_on_the_cut_is_clear() -> None:
    groups = agreement_groups(COUNTS, AgreementCuts(0.7, 0.8))
    assert groups["contested"].tolist() == [False, False, True, False]
    assert groups["moderate"].tolist() == [False, False, False, False]
    assert groups["clear"].tolist() == [True, True, False, True]  # 0.8 sits on the cut
    groups = agreement_groups(COUNTS, AgreementCuts(0.7, 0.9))
    assert groups["moderate"].tolist() == [True, True, False, False]
    assert groups["clear"].tolist() == [False, False, False, True]


def test_cuts_are_checked_and_parsed() -> None:
    assert AgreementCuts.parse("0.6,0.8") == AgreementCuts(0.6, 0.8)
    assert AgreementCuts.parse("0.7") == AgreementCuts(0.7, 0.7)
    for bad in ("0.9,0.6", "0", "1.5", "a,b", "0.1,0.2,0.3"):
        with pytest.raises(ValueError):
            AgreementCuts.parse(bad)


def _overall() -> dict[str, object]:
    calibration = (PROBS[[0, 1]], TARGETS[[0, 1]], COUNTS[[0, 1]] + 1)
    return compute_metrics(PROBS, TARGETS, COUNTS, calibration=calibration, n_bootstrap=200)


def test_clear_slice_by_hand_and_one_item_slice_without_interval() -> None:
    overall = _overall()
    out = slice_metrics(
        PROBS, TARGETS, COUNTS, agreement_groups(COUNTS), overall, n_bootstrap=200, min_items=3
    )
    clear = out["groups"]["clear"]
    assert clear["n"] == 3
    assert clear["accuracy"] == pytest.approx(2 / 3)  # items 0 and 1 right, item 3 wrong
    by_hand = (
        -(0.8 * math.log(0.9) + 0.2 * math.log(0.1))
        - (0.2 * math.log(0.4) + 0.8 * math.log(0.6))
        - math.log(0.2)
    ) / 3
    assert clear["xentropy"] == pytest.approx(by_hand, rel=1e-12)
    assert "xentropy_ci" in clear and clear["xentropy_ci"][0] <= by_hand <= clear["xentropy_ci"][1]

    contested = out["groups"]["contested"]
    assert contested["n"] == 1
    assert contested["accuracy"] == 1.0  # a tie predicts choice 0, the target
    assert contested["xentropy"] == pytest.approx(math.log(2))
    assert not [k for k in contested if k.endswith("_ci")]
    assert any("fewer than 3" in note for note in contested["notes"])

    gap = out["gaps"]["clear-contested"]
    assert gap["accuracy"] == pytest.approx(2 / 3 - 1)
    assert gap["xentropy"] == pytest.approx(by_hand - math.log(2))
    assert gap["accuracy_ci"] is None  # the contested slice is too small for an interval


def test_empty_slice_says_so() -> None:
    groups = agreement_groups(COUNTS, AgreementCuts(0.55, 0.55))
    assert not groups["contested"].any()
    out = slice_metrics(PROBS, TARGETS, COUNTS, groups, _overall(), n_bootstrap=100)
    assert out["groups"]["contested"] == {"n": 0, "notes": ["no items in this slice"]}
    assert out["groups"]["clear"]["n"] == 4
    assert out["gaps"]["clear-contested"] == {
        "notes": ["no gap: the clear or contested slice is empty"]
    }


def test_calibration_is_not_refitted_per_slice() -> None:
    overall = _overall()
    temperature = overall["temperature"]
    concentration = overall["dirichlet_c"]
    out = slice_metrics(PROBS, TARGETS, COUNTS, agreement_groups(COUNTS), overall, min_items=1)
    clear = out["groups"]["clear"]
    assert "temperature" in clear and clear["temperature"] == temperature
    items = [0, 1, 3]
    scaled = np.log(PROBS[items]) / temperature
    scaled = np.exp(scaled) / np.exp(scaled).sum(axis=1, keepdims=True)
    y = COUNTS[items] / COUNTS[items].sum(axis=1, keepdims=True)
    assert clear["xentropy_calibrated"] == pytest.approx(float(-(y * np.log(scaled)).sum(1).mean()))
    # Dirichlet-multinomial NLL with alpha = c p, by hand with lgamma
    total = 0.0
    for i in items:
        alpha = concentration * PROBS[i]
        n = COUNTS[i]
        total -= (
            math.lgamma(alpha.sum())
            - math.lgamma(alpha.sum() + n.sum())
            + sum(math.lgamma(a + v) - math.lgamma(a) for a, v in zip(alpha, n, strict=True))
        )
    assert clear["dirichlet"] == pytest.approx(total / 3, rel=1e-9)


def test_slice_ceiling_is_the_whole_splits_ceiling_on_the_slices_items() -> None:
    overall = _overall()
    groups = agreement_groups(COUNTS)
    out = slice_metrics(PROBS, TARGETS, COUNTS, groups, overall)
    drawn = human_ceilings(COUNTS, TARGETS, groups)[1]["clear"]
    ceiling = out["groups"]["clear"]["ceiling"]
    assert ceiling["accuracy"] == drawn["accuracy"]
    assert ceiling["xentropy"] == drawn["xentropy"]
    assert ceiling["xentropy_calibrated"] == ceiling["xentropy"]


def _votes(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    counts = np.stack([rng.multinomial(7, rng.dirichlet(np.ones(k))) for _ in range(n)])
    return counts.astype(float), counts.argmax(axis=1)


def test_slices_of_a_partition_average_back_to_the_whole_splits_ceiling() -> None:
    counts, targets = _votes(400, 3, 1)
    groups = agreement_groups(counts)
    whole, slices = human_ceilings(counts, targets, {**groups, "all": np.ones(400, bool)})
    assert whole == human_ceiling(counts, targets)  # the same draws, the same numbers
    sizes = {name: int(mask.sum()) for name, mask in groups.items()}
    for key in CEILING_METRICS:
        assert slices["all"][key] == pytest.approx(whole[key], rel=1e-12)
        if key == "f1_macro":  # not a mean over items
            continue
        averaged = sum(sizes[g] * slices[g][key] for g in groups) / 400
        assert averaged == pytest.approx(whole[key], rel=1e-12)


def test_slice_ceiling_estimates_the_slices_own_oracle_score() -> None:
    # same expectation as drawing the slice alone under the whole split's prior; only the
    # Monte Carlo draws differ
    counts, targets = _votes(400, 3, 2)
    mask = agreement_groups(counts)["contested"]
    got = human_ceilings(counts, targets, {"contested": mask})[1]["contested"]
    alone = human_ceiling(
        counts[mask], targets[mask], prior=fit_dirichlet_prior(counts), n_draws=2000, seed=9
    )
    for key in CEILING_METRICS:
        assert got[key] == pytest.approx(alone[key], abs=0.02), key


def test_an_empty_slice_has_no_ceiling() -> None:
    counts, targets = _votes(20, 2, 3)
    assert human_ceilings(counts, targets, {"none": np.zeros(20, bool)})[1] == {"none": {}}


def test_aggregate_draws_the_ceiling_once_and_the_split_keeps_its_own_numbers() -> None:
    counts, targets = _votes(300, 2, 4)
    probs = np.random.default_rng(5).dirichlet(np.ones(2), size=300)
    records = [
        {"probs": p.tolist(), "target": int(t), "human_counts": c.astype(int).tolist()}
        for p, t, c in zip(probs, targets, counts, strict=True)
    ]
    out = aggregate_choices(records, None, metric_names=None, seed=0, n_bootstrap=200)
    alone = compute_metrics(probs, targets, counts, seed=0, n_bootstrap=200)
    assert out["ceiling"] == alone["ceiling"]
    slices = human_ceilings(counts, targets, agreement_groups(counts))[1]
    for name in ("clear", "contested"):
        ceiling = out["slices"]["groups"][name]["ceiling"]
        assert ceiling == {key: slices[name][key] for key in ceiling if key in slices[name]} | {
            key: ceiling[key] for key in ceiling if key not in slices[name]
        }
        assert set(ceiling) - set(slices[name]) <= {"xentropy_calibrated"}


def test_gap_interval_matches_a_plain_loop_over_the_same_resamples() -> None:
    rng = np.random.default_rng(3)
    values = rng.random(30)
    first = np.arange(30) < 12
    second = ~first
    gap, ci, used = slice_gap(values, first, second, seed=5, n_resamples=300)
    assert gap == pytest.approx(values[first].mean() - values[second].mean())
    draws = np.random.default_rng(5).integers(0, 30, size=(300, 30))
    diffs = []
    for idx in draws:
        a = [values[i] for i in idx if first[i]]
        b = [values[i] for i in idx if second[i]]
        if a and b:
            diffs.append(sum(a) / len(a) - sum(b) / len(b))
    assert used == len(diffs)
    assert ci == pytest.approx(tuple(np.quantile(diffs, [0.025, 0.975])))


def test_aggregate_choices_adds_slices_only_with_counts_and_flags_from_records() -> None:
    records = [
        {
            "doc_id": str(i),
            "probs": PROBS[i].tolist(),
            "target": int(TARGETS[i]),
            "human_counts": COUNTS[i].astype(int).tolist(),
            "controversial": bool(COUNTS[i].min() > 0),
        }
        for i in range(4)
    ]
    out = aggregate_choices(
        records, None, metric_names=None, seed=0, n_bootstrap=100, flags=("controversial",)
    )
    slices = out["slices"]
    assert slices["cuts"] == {"contested_below": 0.75, "clear_at": 0.75}
    assert set(slices["groups"]) == {"clear", "contested", "controversial", "not_controversial"}
    assert slices["groups"]["controversial"]["n"] == 3
    assert slices["groups"]["not_controversial"]["accuracy"] == 0.0  # item 3 only, wrong
    assert set(slices["gaps"]) == {"clear-contested", "not_controversial-controversial"}
    assert "controversial" in slices["by"]

    without_counts = [{k: v for k, v in r.items() if k != "human_counts"} for r in records]
    plain = aggregate_choices(without_counts, None, metric_names=None, seed=0, n_bootstrap=100)
    assert "slices" not in plain


def test_score_cli_takes_agreement_cuts_and_the_api_gives_the_same(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from conftest import run_cli
    from moralbench.tasks.scruples.base import SAMPLE_DATA_DIR
    from moralbench.tasks.scruples.dilemmas import ScruplesDilemmas

    from moralbench.scoring import score
    from moralbench.task import TaskContext

    task = ScruplesDilemmas(TaskContext(data_dir=SAMPLE_DATA_DIR))
    docs = list(task.docs("test"))
    predictions = tmp_path / "preds.jsonl"
    with open(predictions, "w", encoding="utf-8") as handle:
        for i, doc in enumerate(docs):
            p = 0.2 + 0.05 * i
            handle.write(json.dumps({"doc_id": doc["doc_id"], "probs": [p, 1 - p],
                                     "probs_swapped": [p + 0.1, 0.9 - p]}) + "\n")  # fmt: skip
    out = tmp_path / "scored.json"
    run_cli("score", "--task", "scruples_dilemmas", "--predictions", str(predictions),
            "--sample-data", "--agreement-cuts", "0.7,0.9", "--output", str(out))  # fmt: skip
    slices = json.loads(out.read_text())["metrics"]["slices"]
    assert slices["cuts"] == {"contested_below": 0.7, "clear_at": 0.9}
    shares = [max(d["counts"]) / sum(d["counts"]) for d in docs]
    groups = slices["groups"]
    assert groups["contested"]["n"] == sum(s < 0.7 for s in shares)
    assert groups["moderate"]["n"] == sum(0.7 <= s < 0.9 for s in shares)
    assert groups["clear"]["n"] == sum(s >= 0.9 for s in shares)
    assert groups["controversial"]["n"] == sum(bool(d["controversial"]) for d in docs)

    api = score("scruples_dilemmas", predictions, sample_data=True, agreement_cuts=(0.7, 0.9))
    assert api["metrics"]["slices"] == slices

    bad = run_cli("score", "--task", "scruples_dilemmas", "--predictions", str(predictions),
                  "--sample-data", "--agreement-cuts", "0.9,0.6", check=False)  # fmt: skip
    assert bad.returncode == 2 and "contested_below <= clear_at" in bad.stderr
