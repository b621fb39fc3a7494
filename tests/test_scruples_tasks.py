"""The Scruples tasks: templates, requests, the dilemma order swap, aggregation from records,
and end-to-end runs of the real CLI on the demo model over the bundled sample files."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import mb_slot_backend
import numpy as np
import pytest
from conftest import model_args_text, run_cli
from moralbench.tasks.scruples import (
    SCRUPLES_DATASET,
    ScruplesAnecdotes,
    ScruplesAnecdotesBinary,
    ScruplesDilemmas,
)

from moralbench import evaluate
from moralbench.errors import OptionError
from moralbench.metrics import METRICS, bootstrap_mean_ci, compute_metrics
from moralbench.plugin_manager import get_plugin_manager
from moralbench.registry import build_registry
from moralbench.requests import ChoiceRequest, ChoiceResponse
from moralbench.task import TaskContext

TASKS = (ScruplesAnecdotes, ScruplesAnecdotesBinary, ScruplesDilemmas)
NAMES = ",".join(t.name for t in TASKS)
SAMPLES = ScruplesAnecdotes.sample_data_dir
ANECDOTE_DOC = {
    "doc_id": "a1",
    "title": "AITA for keeping the umbrella?",
    "text": "A story about an umbrella left at my flat.",
    "counts": [1, 3, 0, 1, 0],
    "target": 1,
}
DILEMMA_DOC = {
    "doc_id": "d1",
    "actions": ["borrowing a pen without asking", "reading a friend's diary"],
    "counts": [1, 4],
    "target": 1,
    "controversial": True,
}
#: every key the issue asks for, each with its interval (dilemmas add position_consistency)
ISSUE_KEYS = [
    "accuracy", "f1_macro", "xentropy", "xentropy_calibrated", "dirichlet", "ece", "ece_soft",
    "brier", "js_divergence", "welfare_utilitarian", "welfare_nash", "welfare_rawlsian",
]  # fmt: skip


def make(task_class: type, **options: str) -> Any:
    return task_class(TaskContext(data_dir=Path("."), options=options, n_bootstrap=200))


def response(*probs: float) -> ChoiceResponse:
    return ChoiceResponse(tuple(math.log(p) for p in probs), "exact")


def doc_for(task_class: type) -> dict[str, Any]:
    if task_class is ScruplesDilemmas:
        return DILEMMA_DOC
    if task_class is ScruplesAnecdotesBinary:
        return {**ANECDOTE_DOC, "counts": [4, 1], "target": 0}
    return ANECDOTE_DOC


# -- registration ------------------------------------------------------------------------------


def test_the_plugin_registers_three_tasks_and_the_dataset() -> None:
    plugins = get_plugin_manager()
    registry = build_registry(plugins)
    for task_class in TASKS:
        assert registry.tasks[task_class.name] is task_class
        assert registry.task_plugin[task_class.name] == "scruples"
        assert task_class.calibration_split == "dev"
        assert task_class.sample_data_dir is not None
    sources = [s for group in plugins.pm.hook.moralbench_register_datasets() for s in group]
    assert SCRUPLES_DATASET in sources
    names = [Path(f.url).name for f in SCRUPLES_DATASET.files]
    assert names == ["anecdotes.tar.gz", "dilemmas.tar.gz"]
    assert all(f.extract_to == "scruples" for f in SCRUPLES_DATASET.files)


# -- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_class", "template"),
    # the studies' verbatim prompts are pinned word for word in test_maity2024.py
    [(t, name) for t in TASKS for name, v in t.variants.items() if not v.verbatim],
)
def test_every_template_renders_its_answers_in_label_order(task_class: type, template: str) -> None:
    task = make(task_class, template=template)
    variant = task_class.variants[template]
    requests = task.requests(doc_for(task_class))
    assert len(requests) == (2 if task_class is ScruplesDilemmas else 1)
    request = requests[0]
    assert isinstance(request, ChoiceRequest)
    assert request.choices == tuple(f" {key}" for key in variant.keys)
    assert len(request.choices) == len(task_class.labels)
    assert request.answer_prefix == variant.answer_prefix
    if variant.chat:
        assert [m.role for m in request.context] == ["system", "user"]
        body = request.context[1].content
        assert body == body.strip()
    else:
        assert isinstance(request.context, str)
        body = request.context
        assert body.endswith("\n") and not body.endswith("\n\n")
    assert variant.answer_prefix not in body  # the prefix is never baked into the text
    if task_class is ScruplesDilemmas:
        first, second = DILEMMA_DOC["actions"]
        assert body.index(first) < body.index(second)
    else:
        assert ANECDOTE_DOC["text"] in body
    if template != "yesno":  # answer keys are listed in label order
        lines = body.splitlines()
        listed = [n for key in variant.keys for n, line in enumerate(lines)
                  if re.match(rf"{key}(\.| =) ", line)]  # fmt: skip
        assert len(listed) == len(variant.keys) and listed == sorted(listed)


def test_template_hashes_are_reported_and_differ() -> None:
    for task_class in TASKS:
        hashes = set()
        for name in task_class.variants:
            templates = make(task_class, template=name).templates()
            assert list(templates) == [name]
            digest = templates[name].sha256
            assert len(digest) == 64
            hashes.add(digest)
        assert len(hashes) == len(task_class.variants)


def test_yesno_answers_map_to_the_right_labels() -> None:
    binary = ScruplesAnecdotesBinary.variants["yesno"]
    assert dict(zip(ScruplesAnecdotesBinary.labels, binary.choices, strict=True)) == {
        "RIGHT": " No",
        "WRONG": " Yes",
    }
    dilemmas = ScruplesDilemmas.variants["yesno"]
    # label 0: the first action listed is the less ethical one
    assert dilemmas.choices == (" Yes", " No")
    text = make(ScruplesDilemmas, template="yesno").requests(DILEMMA_DOC)[0].context
    assert "Say Yes if the first action is less ethical" in text
    assert text.startswith(f"First action: {DILEMMA_DOC['actions'][0]}")


def test_the_aita_template_uses_the_community_verdict_codes() -> None:
    task = make(ScruplesAnecdotes, template="aita")
    (request,) = task.requests(ANECDOTE_DOC)
    assert request.choices == (" YTA", " NTA", " ESH", " NAH", " INFO")
    assert "YTA = The author is in the wrong." in request.context
    assert request.answer_prefix == "Verdict:"


def test_unknown_templates_and_options_are_errors_naming_the_choices() -> None:
    with pytest.raises(
        OptionError, match="has no template 'yesno'; templates: default, aita, chat"
    ):
        make(ScruplesAnecdotes, template="yesno")
    with pytest.raises(OptionError, match="order must be one of both, original"):
        make(ScruplesDilemmas, order="reversed")
    with pytest.raises(OptionError, match="has no option"):
        make(ScruplesAnecdotes, order="both")
    for task_class in TASKS:
        assert "template" in task_class.options_help
        for name in task_class.variants:
            assert name in task_class.options_help["template"]
    assert "original" in ScruplesDilemmas.options_help["order"]


# -- records -----------------------------------------------------------------------------------


def test_anecdote_record_carries_the_standard_fields() -> None:
    task = make(ScruplesAnecdotes)
    record = task.process(ANECDOTE_DOC, [response(0.1, 0.5, 0.1, 0.2, 0.1)])
    assert record["choices"] == [" A", " B", " C", " D", " E"]
    assert record["labels"] == ["AUTHOR", "OTHER", "EVERYBODY", "NOBODY", "INFO"]
    assert record["human_counts"] == [1, 3, 0, 1, 0]
    assert record["target"] == 1 and record["estimator"] == "exact"
    assert record["probs"] == pytest.approx([0.1, 0.5, 0.1, 0.2, 0.1])
    assert record["template"] == "default"
    # y = (.2, .6, 0, .2, 0): xentropy = -(.2 ln .1 + .6 ln .5 + .2 ln .2)
    expected = -(0.2 * math.log(0.1) + 0.6 * math.log(0.5) + 0.2 * math.log(0.2))
    assert record["metrics"]["xentropy"] == pytest.approx(expected, abs=1e-12)
    assert record["metrics"]["correct"] == 1.0


def test_dilemma_requests_swap_the_actions() -> None:
    both = make(ScruplesDilemmas).requests(DILEMMA_DOC)
    first, second = DILEMMA_DOC["actions"]
    assert len(both) == 2
    assert both[0].context.index(first) < both[0].context.index(second)
    assert both[1].context.index(second) < both[1].context.index(first)
    assert both[0].choices == both[1].choices == (" A", " B")
    only = make(ScruplesDilemmas, order="original").requests(DILEMMA_DOC)
    assert [r.key for r in only] == [both[0].key]


def test_dilemma_swap_is_mapped_back_and_averaged() -> None:
    task = make(ScruplesDilemmas)
    # released order: (.8, .2); swapped order as presented (actions[1], actions[0]): (.3, .7),
    # i.e. (.7, .3) over (actions[0], actions[1]); mean (.75, .25); both prefer actions[0]
    record = task.process(DILEMMA_DOC, [response(0.8, 0.2), response(0.3, 0.7)])
    assert record["probs"] == pytest.approx([0.75, 0.25], abs=1e-12)
    assert record["logprobs"] == pytest.approx([math.log(0.75), math.log(0.25)], abs=1e-12)
    original, swapped = record["orders"]
    assert original["order"] == "original" and swapped["order"] == "swapped"
    assert original["probs"] == pytest.approx([0.8, 0.2], abs=1e-12)
    assert swapped["probs"] == pytest.approx([0.7, 0.3], abs=1e-12)
    assert swapped["logprobs"] == pytest.approx([math.log(0.7), math.log(0.3)], abs=1e-12)
    assert record["metrics"]["position_consistent"] == 1.0
    assert record["human_counts"] == [1, 4] and record["target"] == 1
    # y = (.2, .8): xentropy = -(.2 ln .75 + .8 ln .25)
    expected = -(0.2 * math.log(0.75) + 0.8 * math.log(0.25))
    assert record["metrics"]["xentropy"] == pytest.approx(expected, abs=1e-12)

    flipped = task.process(DILEMMA_DOC, [response(0.6, 0.4), response(0.9, 0.1)])
    assert flipped["probs"] == pytest.approx([0.35, 0.65], abs=1e-12)
    assert flipped["metrics"]["position_consistent"] == 0.0


def test_one_order_record_has_no_consistency() -> None:
    task = make(ScruplesDilemmas, order="original")
    record = task.process(DILEMMA_DOC, [response(0.8, 0.2)])
    assert record["probs"] == pytest.approx([0.8, 0.2], abs=1e-12)
    assert [o["order"] for o in record["orders"]] == ["original"]
    assert "position_consistent" not in record["metrics"]


def test_a_failed_order_fails_the_record() -> None:
    task = make(ScruplesDilemmas)
    failed = ChoiceResponse((), "exact", error="timeout")
    record = task.process(DILEMMA_DOC, [response(0.8, 0.2), failed])
    assert record["error"] == "timeout" and record["probs"] is None


def _dilemma_records(task: Any) -> list[dict[str, Any]]:
    """Four dilemmas with hand-made answers; the records as JSON round-trips them."""
    answers = [
        ([1, 4], 1, (0.8, 0.2), (0.3, 0.7)),  # consistent, mean (.75, .25)
        ([5, 0], 0, (0.6, 0.4), (0.9, 0.1)),  # inconsistent, mean (.35, .65)
        ([2, 3], 1, (0.3, 0.7), (0.8, 0.2)),  # consistent, mean (.25, .75)
        ([4, 1], 0, (0.5, 0.5), (0.5, 0.5)),  # tie both times -> argmax 0 both: consistent
    ]
    records = []
    for i, (counts, target, original, swapped) in enumerate(answers):
        doc = {**DILEMMA_DOC, "doc_id": f"d{i}", "counts": counts, "target": target}
        record = task.process(doc, [response(*original), response(*swapped)])
        records.append(json.loads(json.dumps({"doc_id": doc["doc_id"], **record})))
    return records


def test_dilemma_aggregate_works_from_json_records_alone() -> None:
    task = make(ScruplesDilemmas)
    records = _dilemma_records(task)
    metrics = task.aggregate(records, calibration=records)
    assert metrics["position_consistency"] == 0.75
    flags = np.array([1.0, 0.0, 1.0, 1.0])
    assert metrics["position_consistency_ci"] == list(bootstrap_mean_ci(flags, n_resamples=200))
    probs = np.array([[0.75, 0.25], [0.35, 0.65], [0.25, 0.75], [0.5, 0.5]])
    counts = np.array([[1, 4], [5, 0], [2, 3], [4, 1]])
    # predictions 0, 1, 1, 0 against targets 1, 0, 1, 0
    assert metrics["accuracy"] == 0.5
    direct = compute_metrics(
        probs, [1, 0, 1, 0], counts, calibration=(probs, [1, 0, 1, 0], counts), n_bootstrap=200
    )
    for key in ISSUE_KEYS:
        # the records hold log(mean) re-normalised: equal up to float noise in the fits
        assert metrics[key] == pytest.approx(direct[key], abs=1e-6), key
        assert metrics[f"{key}_ci"] == pytest.approx(direct[f"{key}_ci"], abs=1e-6), key
    assert metrics["ceiling"] == pytest.approx(direct["ceiling"], abs=1e-9)
    keys = list(metrics)
    assert keys.index("position_consistency") < keys.index("ceiling")


def test_dilemma_aggregate_without_the_swap_notes_the_missing_consistency() -> None:
    task = make(ScruplesDilemmas, order="original")
    records = [task.process(DILEMMA_DOC, [response(0.8, 0.2)])]
    metrics = task.aggregate(records)
    assert "position_consistency" not in metrics
    assert any("only one action order" in note for note in metrics["notes"])


# -- the runner with a position-biased backend ----------------------------------------------------


def _slot_run(tmp_path: Path, **task_args: str) -> dict[str, Any]:
    return evaluate(
        "slot_biased",
        "scruples_dilemmas",
        extra_plugins=[mb_slot_backend],
        sample_data=True,
        task_args=task_args,
        output_path=tmp_path,
        use_cache=False,
        show_progress=False,
        n_bootstrap=200,
        log=lambda message: None,
    )


def test_both_orders_cancel_pure_position_bias(tmp_path: Path) -> None:
    both = _slot_run(tmp_path / "both")["results"]["scruples_dilemmas"]
    original = _slot_run(tmp_path / "original", order="original")["results"]["scruples_dilemmas"]
    # Test split gold votes for action 0 sum to 29 of 60 (y0 total 5.8 over 12 items) and five
    # items have gold label 0. The backend always says (.8, .2) for the slot listed first.
    assert original["xentropy"] == pytest.approx(
        -(5.8 * math.log(0.8) + 6.2 * math.log(0.2)) / 12, abs=1e-12
    )
    assert original["accuracy"] == pytest.approx(5 / 12)
    assert "position_consistency" not in original
    # Both orders: (.8, .2) and, mapped back, (.2, .8): the mean is uniform on every item.
    assert both["xentropy"] == pytest.approx(math.log(2), abs=1e-12)
    assert both["position_consistency"] == 0.0
    assert both["position_consistency_ci"] == [0.0, 0.0]
    assert both["n"] == original["n"] == 12


# -- end to end on the demo model through the real CLI ---------------------------------------------


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory, demo_model_args: dict[str, str]
) -> dict[str, Any]:
    """One CLI run of all three tasks on the bundled samples (shared by the tests below)."""
    base = tmp_path_factory.mktemp("scruples_e2e")
    cache = base / "cache.sqlite"
    common = ["--model", "hf", "--model-args", model_args_text(demo_model_args),
              "--sample-data", "--cache-path", str(cache), "--no-progress",
              "--bootstrap-iters", "200"]  # fmt: skip
    proc = run_cli("run", *common, "--tasks", NAMES, "-o", str(base / "both"))
    (results_file,) = (base / "both").rglob("results_*.json")
    # the same dilemmas in the released order only: its requests are cache hits
    run_cli("run", *common, "--tasks", "scruples_dilemmas", "--task-args", "order=original",
            "-o", str(base / "original"))  # fmt: skip
    (original_file,) = (base / "original").rglob("results_*.json")
    return {
        "base": base,
        "stdout": proc.stdout,
        "results": json.loads(results_file.read_text()),
        "original": json.loads(original_file.read_text()),
    }


def _samples(payload: dict[str, Any], task: str) -> list[dict[str, Any]]:
    path = Path(payload["samples_files"][task])
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_demo_run_reports_every_metric_for_all_three_tasks(demo_run: dict[str, Any]) -> None:
    results = demo_run["results"]
    assert results["config"]["tasks"] == [t.name for t in TASKS]
    for task_class in TASKS:
        metrics = results["results"][task_class.name]
        assert metrics["n"] == 12 and metrics["n_failed"] == 0
        for key in ISSUE_KEYS:
            assert isinstance(metrics[key], float), (task_class.name, key)
            lo, hi = metrics[f"{key}_ci"]
            assert lo <= metrics[key] + 1e-12 and metrics[key] <= hi + 1e-12, key
        assert metrics["temperature"] > 0 and metrics["dirichlet_c"] > 0
        assert set(metrics["ceiling"]) >= {"accuracy", "xentropy", "dirichlet"}
        version = results["versions"]["tasks"][task_class.name]
        assert list(version["templates"]) == ["default"]
        expected = make(task_class).templates()["default"].sha256
        assert version["templates"]["default"] == expected
        files = results["summary"][task_class.name]["files"]
        assert files["test"]["loaded"] == 12 and files["dev"]["loaded"] == 12
        assert {d["split"] for d in results["data"][task_class.name]} == {"test", "dev"}
        for record in _samples(results, task_class.name):
            for field in ("doc_id", "task", "prompt_sha256", "choices", "logprobs", "probs",
                          "estimator", "target", "metrics", "human_counts"):  # fmt: skip
                assert field in record, field
            assert record["estimator"] == "exact"
            assert sum(record["probs"]) == pytest.approx(1.0)
    assert set(METRICS) >= set(results["results"]["scruples_dilemmas"]) - {
        "temperature", "dirichlet_c", "ceiling", "clipped_items", "notes", "n", "n_failed",
        "slices", *(f"{k}_ci" for k in METRICS),
    }  # fmt: skip
    for task_class in TASKS:  # every Scruples task has vote counts, so every one is sliced
        groups = results["results"][task_class.name]["slices"]["groups"]
        assert groups["clear"]["n"] + groups["contested"]["n"] == 12
    assert "scruples_dilemmas" in demo_run["stdout"]


@pytest.mark.slow
def test_demo_position_bias_both_orders_differ_from_one(demo_run: dict[str, Any]) -> None:
    """The acceptance test: the both-order average differs from a single order when the model
    has position bias, and position_consistency is computed from both orders."""
    both = demo_run["results"]
    original = demo_run["original"]
    records = _samples(both, "scruples_dilemmas")
    single = {r["doc_id"]: r for r in _samples(original, "scruples_dilemmas")}
    assert original["cache"]["misses"] == 0  # the released-order requests were reused

    # The 135M model has position bias: the probability it gives the slot listed first,
    # averaged over both orders, is far from one half.
    first_slot = [(r["orders"][0]["probs"][0] + r["orders"][1]["probs"][1]) / 2 for r in records]
    bias = abs(float(np.mean(first_slot)) - 0.5)
    assert bias > 0.05, first_slot

    gaps = []
    for record in records:
        one = single[record["doc_id"]]
        released, swapped = record["orders"]
        assert one["probs"] == pytest.approx(released["probs"], abs=1e-6)
        mean = (np.array(released["probs"]) + np.array(swapped["probs"])) / 2
        assert record["probs"] == pytest.approx(mean.tolist(), abs=1e-12)
        gaps.append(abs(record["probs"][0] - one["probs"][0]))
    assert max(gaps) > 0.05

    flags = [
        float(np.argmax(r["orders"][0]["probs"]) == np.argmax(r["orders"][1]["probs"]))
        for r in records
    ]
    metrics = both["results"]["scruples_dilemmas"]
    assert metrics["position_consistency"] == pytest.approx(float(np.mean(flags)), abs=1e-12)
    assert metrics["position_consistency_ci"] == list(
        bootstrap_mean_ci(np.array(flags), n_resamples=200)
    )
    single_metrics = original["results"]["scruples_dilemmas"]
    assert "position_consistency" not in single_metrics
    assert single_metrics["xentropy"] != pytest.approx(metrics["xentropy"], abs=1e-6)


@pytest.mark.slow
def test_demo_samples_rescore_to_the_same_metrics(demo_run: dict[str, Any]) -> None:
    for task in ("scruples_anecdotes", "scruples_dilemmas"):
        out = demo_run["base"] / f"score_{task}.json"
        run_cli("score", "--task", task, "--sample-data", "--predictions",
                demo_run["results"]["samples_files"][task], "--bootstrap-iters", "200",
                "-o", str(out))  # fmt: skip
        scored = json.loads(out.read_text())["metrics"]
        ran = demo_run["results"]["results"][task]
        # without --calibration the fitted metrics are absent; the rest match exactly
        for key in ["accuracy", "xentropy", "brier", "ece", "welfare_nash", "js_divergence"]:
            assert scored[key] == pytest.approx(ran[key], abs=1e-12), (task, key)
            assert scored[f"{key}_ci"] == pytest.approx(ran[f"{key}_ci"], abs=1e-12)
        assert "xentropy_calibrated" not in scored
    assert scored["position_consistency"] == ran["position_consistency"]
