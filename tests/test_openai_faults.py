"""The openai backend through faults: retries, failure records, the cache, cancellation.

All traffic goes to `tests/fault_server.py` on 127.0.0.1; its fake model answers each request
deterministically, so a run through faults must reproduce a fault-free run exactly.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fault_server import FaultPlan, FaultServer
from moralbench.plugins.openai.backend import OpenAIBackend
from openai_fixtures import read_outputs, run_task

from moralbench.backend import BackendOptions
from moralbench.requests import ChoiceRequest

N_DOCS = 24
FAST = "timeout=0.5,backoff=0.01,max_backoff=0.2"

ESTIMATOR_CASES = [
    ("api=completions,estimator=exact", "default"),
    ("api=chat,estimator=top_logprobs", "chat"),
    ("api=chat,estimator=sampled,n_samples=6", "chat"),
]


def _metrics(results: dict) -> dict:
    return results["results"]["api_yesno"]


@pytest.mark.parametrize(("model_args", "template"), ESTIMATOR_CASES)
def test_run_through_30_percent_faults_matches_a_clean_run(
    tmp_path: Path, model_args: str, template: str
) -> None:
    task_args = ("--task-args", f"template={template}")
    with FaultServer() as clean:
        assert (
            run_task(clean.url, tmp_path / "clean", *task_args, model_args=f"{model_args},{FAST}")
            == 0
        )
    plan = FaultPlan(fault_rate=0.3, seed=3, slow_seconds=1.0)
    with FaultServer(plan) as faulty:
        assert (
            run_task(
                faulty.url,
                tmp_path / "faulty",
                *task_args,
                model_args=f"{model_args},{FAST},max_retries=12",
            )
            == 0
        )
    clean_results, clean_samples = read_outputs(tmp_path / "clean")
    faulty_results, faulty_samples = read_outputs(tmp_path / "faulty")

    assert sum(faulty.counts.faults.values()) >= 5, faulty.counts.faults
    assert faulty.counts.received > clean.counts.received
    # Every distinct request was answered exactly once, despite the retries.
    assert set(faulty.counts.answered_bodies.values()) == {1}
    assert len(faulty.counts.answered_bodies) == clean.counts.answered

    # Each injected fault cost exactly one retry; results report the final counts.
    assert faulty_results["model"]["requests"] == {
        "http_attempts": faulty.counts.received,
        "retries": sum(faulty.counts.faults.values()),
        "failed": 0,
    }
    assert _metrics(faulty_results) == _metrics(clean_results)
    assert _metrics(faulty_results)["n"] == N_DOCS
    assert faulty_results["failures"] == {"api_yesno": 0}
    ids = [s["doc_id"] for s in faulty_samples]
    assert len(ids) == N_DOCS and len(set(ids)) == N_DOCS
    by_id = {s["doc_id"]: s["probs"] for s in clean_samples}
    assert {s["doc_id"]: s["probs"] for s in faulty_samples} == by_id


def test_all_five_fault_kinds_are_injected_and_survived(tmp_path: Path) -> None:
    plan = FaultPlan(fault_rate=0.5, seed=11, slow_seconds=0.8)
    with FaultServer(plan) as faulty:
        code = run_task(
            faulty.url,
            tmp_path,
            model_args=f"api=completions,estimator=top_logprobs,{FAST},max_retries=20",
        )
    assert code == 0
    assert set(faulty.counts.faults) == {"429", "500", "truncated", "slow", "drop"}
    results, samples = read_outputs(tmp_path)
    assert results["failures"] == {"api_yesno": 0}
    assert all(s.get("error") is None for s in samples)


def test_faults_that_never_clear_are_recorded_per_sample(tmp_path: Path) -> None:
    plan = FaultPlan(fault_rate=1.0, faults=("429", "500", "truncated", "drop"))
    args = f"api=completions,estimator=top_logprobs,{FAST},max_retries=2"
    with FaultServer(plan) as server:
        code = run_task(server.url, tmp_path / "strict", model_args=args)
        received_strict = server.counts.received
        allowed = run_task(server.url, tmp_path / "allowed", model_args=args, allow_failures=True)
    assert code != 0
    assert allowed == 0
    assert received_strict == N_DOCS * 3  # one try and two retries each, none dropped
    for out in ("strict", "allowed"):
        results, samples = read_outputs(tmp_path / out)
        assert results["failures"] == {"api_yesno": N_DOCS}
        assert _metrics(results)["n"] == 0
        assert _metrics(results)["n_failed"] == N_DOCS
        assert sorted(s["doc_id"] for s in samples) == sorted({s["doc_id"] for s in samples})
        assert len(samples) == N_DOCS
        for sample in samples:
            assert sample["error"].startswith("gave up after 3 attempt(s): ")
            assert sample["probs"] is None


def test_interrupted_run_resumes_from_the_cache_without_resending(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    args = f"api=completions,estimator=top_logprobs,{FAST},max_retries=0"
    with FaultServer(FaultPlan(fail_after=10)) as server:
        # The server dies after 10 answers: those are cached, the rest recorded as failed.
        assert run_task(server.url, tmp_path / "first", model_args=args, cache=cache) != 0
        assert server.counts.answered == 10
        server.plan = FaultPlan()
        server.counts.received = 0
        assert run_task(server.url, tmp_path / "second", model_args=args, cache=cache) == 0
        assert server.counts.received == N_DOCS - 10
        server.counts.received = 0
        assert run_task(server.url, tmp_path / "third", model_args=args, cache=cache) == 0
        assert server.counts.received == 0
    second, _ = read_outputs(tmp_path / "second")
    third, _ = read_outputs(tmp_path / "third")
    assert second["cache"]["hits"] == 10
    assert third["cache"]["hits"] == N_DOCS
    assert _metrics(third) == _metrics(second)


def _backend(url: str, **args: str) -> OpenAIBackend:
    return OpenAIBackend({"model": "fake", "base_url": url, **args}, BackendOptions())


def test_retry_after_is_honoured() -> None:
    plan = FaultPlan(fault_rate=1.0, faults=("429",), retry_after="0.3")
    with FaultServer(plan) as server:
        backend = _backend(
            server.url,
            api="completions",
            estimator="top_logprobs",
            backoff="0.001",
            max_retries="2",
        )
        started = time.perf_counter()
        [(_, response)] = list(backend.score_choices([ChoiceRequest("Q:", (" yes", " no"))]))
        elapsed = time.perf_counter() - started
        backend.close()
    assert response.error is not None and "HTTP 429" in response.error
    assert elapsed >= 0.6  # two waits of Retry-After: 0.3 s
    assert server.counts.received == 3


def test_client_errors_are_not_retried() -> None:
    with FaultServer(FaultPlan(logprobs=False)) as server:
        backend = _backend(server.url, api="chat", estimator="top_logprobs", max_retries="5")
        responses = dict(backend.score_choices([ChoiceRequest("Q:", (" yes", " no"))] * 3))
        stats = backend.describe()["requests"]
        backend.close()
    assert all(r.error and r.error.startswith("HTTP 400") for r in responses.values())
    assert server.counts.received == 3
    assert stats == {"http_attempts": 3, "retries": 0, "failed": 3}


@pytest.mark.parametrize(
    ("plan", "api", "expected"),
    [
        (FaultPlan(), "completions", "exact"),
        (FaultPlan(echo=False), "completions", "top_logprobs"),
        (FaultPlan(shifted_echo=True), "completions", "top_logprobs"),
        (FaultPlan(), "chat", "top_logprobs"),
        (FaultPlan(logprobs=False), "chat", "sampled"),
    ],
)
def test_auto_estimator_probes_the_server(plan: FaultPlan, api: str, expected: str) -> None:
    with FaultServer(plan) as server:
        backend = _backend(server.url, api=api)
        facts = backend.describe()
        backend.close()
    assert backend.estimator == expected
    assert facts["estimator"] == expected
    assert facts["estimator_requested"] == "auto"
    assert facts["estimator_probe"][expected] in ("supported", "chosen (needs only text replies)")
    if plan.shifted_echo:
        assert facts["estimator_probe"]["exact"].startswith("unreliable: the echoed log-prob")


def _top_k_asked(server: FaultServer) -> list[int]:
    return sorted(server.counts.top_logprobs_asked)


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_a_choice_missing_from_the_list_is_asked_for_in_a_longer_one(api: str) -> None:
    """top_logprobs=2 lists two of the fake model's 16 first tokens, so most items miss a
    choice; the longer list then has every candidate and nothing stays floored."""
    choices = ("A", "B") if api == "chat" else (" A", " B")
    requests = [ChoiceRequest(f"Question {i}:", choices) for i in range(6)]
    with FaultServer() as server:
        backend = _backend(
            server.url, api=api, estimator="top_logprobs", top_logprobs="2", max_top_logprobs="50"
        )
        responses = dict(backend.score_choices(requests))
        facts = backend.describe()
        backend.close()
    widened = [r for r in responses.values() if "widened_to" in r.details]
    assert widened, "no item missed a choice in the first list: the test proves nothing"
    assert all(r.details["widened_to"] == 50 and r.details["floored"] == [] for r in widened)
    assert all(r.details["floored"] == [] for r in responses.values())
    assert _top_k_asked(server) == [2] * len(requests) + [50] * len(widened)
    assert facts["max_top_logprobs"] == 50 and "max_top_logprobs_refused" not in facts


def test_a_server_that_refuses_the_longer_list_is_not_asked_again() -> None:
    requests = [ChoiceRequest(f"Question {i}:", ("A", "B")) for i in range(6)]
    with FaultServer(FaultPlan(max_top_logprobs=20)) as server:
        backend = _backend(
            server.url, api="chat", estimator="top_logprobs", top_logprobs="2", num_concurrent="1"
        )
        responses = dict(backend.score_choices(requests))
        facts = backend.describe()
        backend.close()
    # The one refusal costs one request; every item keeps its bound, none fails.
    assert all(r.error is None for r in responses.values())
    assert any(r.details["floored"] for r in responses.values())
    assert all("widened_to" not in r.details for r in responses.values())
    assert _top_k_asked(server) == [2] * len(requests) + [1000]
    assert facts["max_top_logprobs_refused"].startswith("HTTP 400")


def test_a_consumer_that_stops_early_cancels_the_rest() -> None:
    with FaultServer(FaultPlan(latency=0.3)) as server:
        # One request per item (no second, longer top-logprobs list), so requests count jobs.
        backend = _backend(
            server.url,
            api="chat",
            estimator="top_logprobs",
            num_concurrent="2",
            max_top_logprobs="0",
        )
        requests = [ChoiceRequest(f"Q{i}:", (" yes", " no")) for i in range(20)]
        stream = backend.score_choices(requests)
        next(stream)
        stream.close()
        time.sleep(0.4)  # long enough for uncancelled requests to reach the server
        backend.close()
    # Without cancellation all 20 would arrive (2 at a time, 0.3 s each); the clock is not
    # asserted, since a loaded CI machine may be slow.
    assert server.counts.received <= 4


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_a_reply_that_ends_at_once_is_asked_again_with_min_tokens(api: str) -> None:
    request = ChoiceRequest("Q:", (" yes", " no"))
    answers = {}
    for name, plan in [
        ("normal", FaultPlan()),
        ("stops", FaultPlan(stops_at_once=True)),
        ("refuses", FaultPlan(stops_at_once=True, min_tokens=False)),
    ]:
        with FaultServer(plan) as server:
            # max_top_logprobs=0: no second, longer list, so the count shows the retry alone
            backend = _backend(server.url, api=api, estimator="top_logprobs", max_top_logprobs="0")
            [(_, answers[name])] = list(backend.score_choices([request]))
            backend.close()
        answers[name + " requests"] = server.counts.received
    assert answers["stops"].logprobs == answers["normal"].logprobs
    assert answers["stops"].details["min_tokens_retry"] is True
    assert "min_tokens_retry" not in answers["normal"].details
    assert (answers["normal requests"], answers["stops requests"]) == (1, 2)
    refused = answers["refuses"].error
    assert refused is not None and "end-of-text" in refused and "HTTP 400" in refused


def test_requests_in_flight_never_exceed_num_concurrent() -> None:
    # 12 spans two pooled clients (8 + 4 connections); all 12 must be used, and no more.
    with FaultServer(FaultPlan(latency=0.1)) as server:
        backend = _backend(server.url, api="chat", estimator="top_logprobs", num_concurrent="12")
        requests = [ChoiceRequest(f"Q{i}:", (" yes", " no")) for i in range(48)]
        responses = dict(backend.score_choices(requests))
        backend.close()
    assert sorted(responses) == list(range(48))
    assert all(r.error is None for r in responses.values())
    assert server.counts.most_in_flight == 12
