"""The harness's fast paths give what the plain computations give: to the last bit, except
where a path adds the same terms in another order (ECE's resample sums, one product per block;
one item's metrics in plain floats), which are held equal to 1e-12.

`benchmarks/harness_cost.py` measures these paths; this file pins that they change nothing:
the resample draws, the shared resample counts behind means, macro-F1 and ECE, the one-pass
slice gaps, one item's metrics, the compiled-template cache, and a whole run (cold, cached and
without cache) with the instant backend on Scruples-shaped data.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import mb_instant_backend
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from moralbench import evaluate, split_runner
from moralbench.item_limits import bound_document
from moralbench.metrics import (
    agreement_groups,
    compute_metrics,
    iter_resamples,
    normalise,
    slice_gap,
    slice_metrics,
)
from moralbench.metrics.bootstrap import bootstrap_ci_rows, resample_counts
from moralbench.metrics.classification import (
    _bin_index,
    _ece_counts,
    _ece_rows,
    _ece_weights,
    _f1_macro_rows,
)
from moralbench.metrics.one_item import _plain_item, item_metrics
from moralbench.metrics.slices import _slice_gaps
from moralbench.prompts import PromptTemplate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import harness_cost  # noqa: E402


@pytest.mark.parametrize("n_items", [1, 2, 7, 1000, 4099])
def test_resample_draws_are_the_64_bit_draws(n_items: int) -> None:
    rng = np.random.default_rng(3)
    rows = max(1, (1 << 22) // n_items)
    expected = [
        rng.integers(0, n_items, size=(min(rows, 50 - done), n_items))
        for done in range(0, 50, rows)
    ]
    got = list(iter_resamples(n_items, seed=3, n_resamples=50))
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert np.array_equal(a, b)


def _plain_gap(values, first, second, seed, n_resamples):  # type: ignore[no-untyped-def]
    """slice_gap as it was written before the shared pass: one pass per metric and pair."""
    diffs = []
    for block in iter_resamples(values.size, seed=seed, n_resamples=n_resamples):
        rows, n = block.shape
        keys = (np.arange(rows)[:, None] * n + block.astype(np.int64)).ravel()
        weights = np.bincount(keys, minlength=rows * n).reshape(rows, n).astype(np.float64)
        wa, wb = weights[:, first], weights[:, second]
        na, nb = wa.sum(axis=1), wb.sum(axis=1)
        ok = (na > 0) & (nb > 0)
        diffs.append((wa[ok] @ values[first]) / na[ok] - (wb[ok] @ values[second]) / nb[ok])
    used = np.concatenate(diffs)
    lo, hi = np.quantile(used, [0.025, 0.975])
    return float(values[first].mean() - values[second].mean()), (float(lo), float(hi)), used.size


def test_one_pass_slice_gaps_equal_one_pass_per_metric_and_pair() -> None:
    rng = np.random.default_rng(8)
    n = 3000
    columns = [rng.random(n), rng.normal(size=n), rng.integers(0, 2, n).astype(float)]
    first = rng.random(n) < 0.4
    flag = rng.random(n) < 0.02  # small: some resamples draw none of it
    pairs = [(first, ~first), (flag, ~flag)]
    found = _slice_gaps(columns, pairs, seed=4, n_resamples=300)
    for (a, b), per_column in zip(pairs, found, strict=True):
        for values, got in zip(columns, per_column, strict=True):
            assert got == _plain_gap(values, a, b, 4, 300)
    assert slice_gap(columns[1], flag, ~flag, seed=4, n_resamples=300) == found[1][1]


@pytest.mark.parametrize("k", [2, 5])
def test_f1_and_ece_intervals_equal_the_per_resample_kernels(k: int) -> None:
    rng = np.random.default_rng(k)
    n = 2500
    probs = rng.dirichlet(np.ones(k), size=n)
    targets = rng.integers(0, k, n)
    out = compute_metrics(
        probs, targets, metrics=["f1_macro", "ece", "accuracy"], seed=2, n_bootstrap=300
    )
    p, _ = normalise(probs)  # what compute_metrics scores
    pred = p.argmax(axis=1)
    conf = p[np.arange(n), pred]
    bins = _bin_index(conf, 10)
    gap = conf - (pred == targets).astype(np.float64)
    f1 = bootstrap_ci_rows(
        lambda idx: _f1_macro_rows(pred[idx], targets[idx], k), n, seed=2, n_resamples=300
    )
    ece = bootstrap_ci_rows(
        lambda idx: _ece_rows(bins[idx], gap[idx], 10), n, seed=2, n_resamples=300
    )
    assert out["f1_macro_ci"] == list(f1)
    # ECE's resample sums come from one product per block: the same terms in another order
    assert out["ece_ci"] == pytest.approx(list(ece), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("n", [1, 9, 5000])
def test_ece_from_resample_counts_equals_the_indexed_kernel(n: int) -> None:
    rng = np.random.default_rng(n)
    idx = rng.integers(0, n, size=(64, n))
    conf = rng.random(n)
    gap = conf - rng.random(n)  # a soft ECE gap: not whole numbers
    bins = _bin_index(conf, 10)
    got = _ece_counts(resample_counts(idx), _ece_weights(bins, gap, 10))
    expected = _ece_rows(bins[idx], gap[idx], 10)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_metrics_do_not_depend_on_the_callers_blas_threads() -> None:
    # OpenBLAS splits a product by thread count and the last bit of a sum follows the split;
    # the metrics pin one thread, so a caller's setting (or the core count) changes nothing
    rng = np.random.default_rng(11)
    counts = rng.integers(0, 5, size=(10_000, 2)) + np.eye(2, dtype=int)[rng.integers(0, 2, 10_000)]
    probs = rng.dirichlet([1.0, 1.0], size=10_000)
    targets = counts.argmax(axis=1)
    calibration = (probs[:500], targets[:500], counts[:500])
    found = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            overall = compute_metrics(probs, targets, counts, calibration=calibration, seed=3)
            groups = agreement_groups(counts)
            found.append((overall, slice_metrics(probs, targets, counts, groups, overall, seed=3)))
    assert found[0] == found[1]
    assert found[0][1]["gaps"]["clear-contested"]["xentropy_ci"] is not None


def test_compiled_templates_are_kept_per_source() -> None:
    a = PromptTemplate("t", "a", text="A: {{ x }}")
    b = PromptTemplate("t", "b", text="B: {{ x }}")
    assert [a.render({"x": 1}), b.render({"x": 2}), a.render({"x": 3})] == ["A: 1", "B: 2", "A: 3"]


def test_bound_document_copies_only_what_it_cuts() -> None:
    doc = {"doc_id": "d", "actions": ["short", "also short"], "counts": [1, 2]}
    same, cut = bound_document(doc, limit=20)
    assert same is doc and not cut
    long = {"doc_id": "d", "actions": ["x" * 30, "short"], "meta": {"note": "y" * 25}}
    bounded, cut = bound_document(long, limit=20)
    assert cut and bounded["actions"] == ["x" * 20, "short"] and bounded["meta"]["note"] == "y" * 20
    assert long["actions"][0] == "x" * 30  # the original is left as it was


def _run(data: Path, out: Path, cache: Path, task: str, **options) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    results = evaluate(
        "instant",
        task,
        data_dir=data,
        output_path=out,
        cache_path=cache,
        extra_plugins=[mb_instant_backend],
        show_progress=False,
        n_bootstrap=200,
        log=lambda m: None,
        **options,
    )
    samples = Path(results["samples_files"][task]).read_text(encoding="utf-8")
    return json.dumps(results["results"], sort_keys=True), samples


@pytest.mark.parametrize("task", ["scruples_dilemmas", "scruples_anecdotes"])
def test_cold_cached_and_uncached_runs_write_the_same_results(tmp_path: Path, task: str) -> None:
    harness_cost.write_data(tmp_path / "data", task, 120)
    cache = tmp_path / "cache.sqlite"
    cold = _run(tmp_path / "data", tmp_path / "cold", cache, task)
    cached = _run(tmp_path / "data", tmp_path / "cached", cache, task)
    plain = _run(tmp_path / "data", tmp_path / "plain", cache, task, use_cache=False)
    assert cold == cached == plain
    metrics = json.loads(cold[0])[task]
    assert metrics["n"] == 120 and "slices" in metrics and "f1_macro_ci" in metrics


@pytest.mark.parametrize("k", [2, 3, 5])
def test_one_item_in_plain_floats_equals_the_vectorised_kernels(k: int) -> None:
    rng = np.random.default_rng(10 + k)
    for case in range(400):
        p = rng.dirichlet(np.ones(k) * 0.3)
        if case % 5 == 0:
            p[rng.integers(k)] = 0.0  # the 1e-12 clip fires
        if case % 7 == 0:
            p = np.full(k, 1.0 / k)  # a tie: the lowest index wins
        counts = rng.multinomial(6, rng.dirichlet(np.ones(k))).tolist()
        target = int(rng.integers(k))
        for votes in (counts, None):
            plain = _plain_item(p.tolist(), target, votes)
            assert plain is not None  # lists of floats take the plain path
            kernels = item_metrics(p, target, None if votes is None else np.array(votes))
            assert plain.keys() == kernels.keys()
            for key, value in kernels.items():
                assert plain[key] == pytest.approx(value, rel=1e-12, abs=1e-15), (key, p)


def test_unusual_items_take_the_kernels_and_their_errors() -> None:
    assert _plain_item([0.5, float("nan")], 0, None) is None
    assert _plain_item([0.0, 0.0], 0, None) is None  # no mass: the kernels make it uniform
    assert _plain_item([0.5, 0.5], True, None) is None
    assert _plain_item([0.5, 0.5], 0, [0, 0]) is None
    assert item_metrics([0.0, 0.0], 1, [1, 1])["correct"] == 0.0  # uniform: ties to 0
    with pytest.raises(ValueError, match="counts"):
        item_metrics([0.5, 0.5], 0, [1, -1])
    with pytest.raises(ValueError, match="NaN"):
        item_metrics([0.5, float("nan")], 0, None)


def test_block_by_block_cache_pass_with_duplicates_and_half_cached_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = "scruples_dilemmas"
    data = tmp_path / "data"
    harness_cost.write_data(data, task, 40)
    test_file = data / "scruples" / "dilemmas" / "test.scruples-dilemmas.jsonl"
    lines = [json.loads(line) for line in test_file.read_text(encoding="utf-8").splitlines()]
    for copy, original in zip(lines[20:], lines[:20], strict=True):
        copy["actions"] = original["actions"]  # the same two prompts in a later block
    test_file.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    cache = tmp_path / "cache.sqlite"
    plain = _run(data, tmp_path / "plain", cache, task, use_cache=False)
    _run(data, tmp_path / "fill", cache, task)
    with sqlite3.connect(cache) as db:  # forget every third answer: documents half cached
        db.execute("DELETE FROM responses WHERE rowid % 3 = 0")
        forgotten = db.total_changes
    monkeypatch.setattr(split_runner, "DOCS_PER_BLOCK", 3)
    results = evaluate(
        "instant", task, data_dir=data, output_path=tmp_path / "blocks", cache_path=cache,
        extra_plugins=[mb_instant_backend], show_progress=False, n_bootstrap=200,
        log=lambda m: None,
    )  # fmt: skip
    samples = Path(results["samples_files"][task]).read_text(encoding="utf-8")
    assert (json.dumps(results["results"], sort_keys=True), samples) == plain
    timing = results["timing"]
    assert timing["requests"] == 2 * 20 + 2 * 4  # duplicates asked once (dev split: 4 docs)
    assert timing["requests_sent_to_backend"] == forgotten > 0


def test_responses_encode_for_the_cache_exactly_as_their_dataclass_fields() -> None:
    from dataclasses import asdict

    from moralbench.requests import ChoiceResponse, GenerateResponse, response_from_json

    choice = ChoiceResponse((-0.5, -1.25), "top_logprobs", {"covered": [0.9, {"n": 2}]})
    generated = GenerateResponse("yes", {"tokens": 1}, None)
    expected = [
        {"kind": "choice", **asdict(choice), "logprobs": [-0.5, -1.25]},
        {"kind": "generate", **asdict(generated)},
    ]
    for response, fields in zip((choice, generated), expected, strict=True):
        assert json.dumps(response.to_json()) == json.dumps(fields)
        assert response_from_json(json.loads(json.dumps(response.to_json()))) == response
