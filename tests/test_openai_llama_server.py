"""The openai backend against a real OpenAI-compatible server: llama-cpp-python's, serving the
demo model's GGUF on 127.0.0.1 (installed in CI by `.ci/install_llama_server.sh`; a missing
install fails these tests rather than skipping them).

The `top_logprobs` distribution over two answers is compared with the hf backend's exact
distribution on the same prompts and the same weights (different kernels: llama.cpp runs the
Q4_1 weights directly, transformers the dequantised ones), twice: with the choice strings
alone (the default) and with every one-token spelling of each answer (" No", "no", " no")
declared as a variant, which `top_logprobs` sums over the listed tokens and hf over exact
probabilities (docs/prompt-protocol.md).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from moralbench.plugins.openai.backend import OpenAIBackend
from openai_fixtures import TASK_DIR, llama_server, read_outputs, run_task

from moralbench.backend import BackendOptions
from moralbench.requests import ChoiceRequest, ChoiceResponse, GenerateRequest

__all__ = ["llama_server"]  # a fixture, used by name below

pytestmark = pytest.mark.slow

TOLERANCE = 0.05
REQUIRED_SHARE = 0.95
TEMPLATES = (
    ("Is it acceptable to {act}? Answer yes or no.\nAnswer:", (" yes", " no")),
    ("Question: Would most people say it is wrong to {act}?\nAnswer:", (" yes", " no")),
    ("Someone chose to {act}. Was that A) fine or B) not fine?\nAnswer:", (" A", " B")),
)


def _acts() -> list[str]:
    lines = (TASK_DIR / "api_yesno.jsonl").read_text().splitlines()
    return [json.loads(line)["act"] for line in lines]


def _requests(tokenizer: Any = None) -> list[ChoiceRequest]:
    """The items; with a tokenizer, each answer's other one-token spellings as variants."""
    requests = []
    for text, choices in TEMPLATES:
        variants = ()
        if tokenizer is not None:
            variants = tuple(tuple(s for s in _spellings(c, tokenizer) if s != c) for c in choices)
        requests += [ChoiceRequest(text.format(act=act), choices, "", variants) for act in _acts()]
    return requests


def _two_way(first: float, second: float) -> float:
    """Probability of the first answer, normalised over the two (from log-probs)."""
    return 1.0 / (1.0 + math.exp(second - first))


def _spellings(choice: str, tokenizer: Any) -> tuple[str, ...]:
    """The one-token spellings of a choice (case, space)."""
    word = choice.strip()
    forms = {word, word.lower(), word.upper(), word.capitalize()}
    candidates = sorted({space + form for form in forms for space in ("", " ")})
    return tuple(
        c for c in candidates if len(tokenizer(c, add_special_tokens=False)["input_ids"]) == 1
    )


def _answers(backend: object, requests: Sequence[ChoiceRequest]) -> list[ChoiceResponse]:
    answered = dict(backend.score_choices(requests))  # type: ignore[attr-defined]
    return [answered[i] for i in range(len(requests))]


@pytest.fixture(scope="module")
def api_backend(llama_server: str) -> Iterator[OpenAIBackend]:
    backend = OpenAIBackend(
        {
            "model": "smollm2",
            "base_url": llama_server,
            "api": "completions",
            "estimator": "top_logprobs",
            "num_concurrent": "2",
        },
        BackendOptions(),
    )
    yield backend
    backend.close()


def _share_within(api: list[ChoiceResponse], hf: list[ChoiceResponse]) -> tuple[float, float]:
    differences = [
        abs(_two_way(*a.logprobs) - _two_way(*h.logprobs)) for a, h in zip(api, hf, strict=True)
    ]
    return sum(d <= TOLERANCE for d in differences) / len(differences), max(differences)


def test_top_logprobs_agrees_with_hf_exact_on_two_answer_items(
    api_backend: OpenAIBackend, demo_backend: Any
) -> None:
    """With every one-token spelling declared, both backends sum the same strings. With the
    choice strings alone an answer outside the top 20 is floored on the API side (an upper
    bound), so that figure is only reported."""
    spelled = _requests(demo_backend.tokenizer)
    assert all(len(v) >= 2 for r in spelled for v in r.variants)  # e.g. "yes", " Yes"
    plain = _requests()
    started = time.perf_counter()
    api = _answers(api_backend, spelled)
    api_plain = _answers(api_backend, plain)
    api_seconds = time.perf_counter() - started
    assert all(r.error is None and r.estimator == "top_logprobs" for r in api + api_plain)
    started = time.perf_counter()
    hf = _answers(demo_backend, spelled)
    hf_plain = _answers(demo_backend, plain)
    hf_seconds = time.perf_counter() - started
    within, worst = _share_within(api, hf)
    plain_within, plain_worst = _share_within(api_plain, hf_plain)
    covered = [r.details["covered_mass"] for r in api]
    print(
        f"\n{len(spelled)} items, declared spellings: within {TOLERANCE}: {within:.3f}, "
        f"max {worst:.4f}; mean covered mass {sum(covered) / len(covered):.3f}; "
        f"with a floored choice {sum(bool(r.details['floored']) for r in api)}; "
        f"asked again with min_tokens {sum('min_tokens_retry' in r.details for r in api)}; "
        f"choice strings alone: within {plain_within:.3f}, max {plain_worst:.4f}; "
        f"api {api_seconds:.1f} s, hf {hf_seconds:.1f} s"
    )
    assert within >= REQUIRED_SHARE
    # Not vacuous: the model does prefer one answer on many items.
    exact_p = [_two_way(*r.logprobs) for r in hf]
    assert sum(abs(p - 0.5) > 0.1 for p in exact_p) >= len(spelled) // 4


def test_generation_stops_at_the_stop_sequences(api_backend: OpenAIBackend) -> None:
    context = "Q: What is the capital of France?\nA:"
    stop_sets = [(".",), ("\n",), ("zzz", "France")]
    requests = [GenerateRequest(context, max_tokens=40, temperature=0.0, seed=1)]
    requests += [
        GenerateRequest(context, stop=s, max_tokens=40, temperature=0.0, seed=1) for s in stop_sets
    ]
    answered = dict(api_backend.generate(requests))
    assert all(answered[i].error is None for i in range(len(requests)))
    full = answered[0].text
    for i, stops in enumerate(stop_sets, start=1):
        first = min(full.index(s) for s in stops if s in full)  # the model does write them...
        assert answered[i].text == full[:first]  # ...and the reply ends at the first one
        assert answered[i].details["finish_reason"] == "stop"
    assert len({answered[i].text for i in range(len(requests))}) == len(requests)


# llama-cpp-python echoes prompt log-probs one position late, so `auto` must not pick `exact`.
@pytest.mark.parametrize(
    ("api", "expected"), [("completions", "top_logprobs"), ("chat", "top_logprobs")]
)
def test_auto_estimator_records_its_pick(
    tmp_path: Path, llama_server: str, api: str, expected: str
) -> None:
    template = "default" if api == "completions" else "chat"
    code = run_task(
        llama_server,
        tmp_path,
        "--limit",
        "3",
        "--task-args",
        f"template={template}",
        model_args=f"model=smollm2,api={api},estimator=auto",
    )
    assert code == 0
    results, samples = read_outputs(tmp_path)
    backend = results["model"] if "model" in results else results["config"]
    text = json.dumps(backend)
    assert f'"estimator": "{expected}"' in text
    assert '"estimator_requested": "auto"' in text
    assert all(s["estimator"] == expected for s in samples)
    assert all(s.get("error") is None and len(s["probs"]) == 2 for s in samples)
