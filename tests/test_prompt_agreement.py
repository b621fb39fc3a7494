"""One question for every backend: the hf backend and llama.cpp's OpenAI-compatible server,
on the same GGUF (the demo model), give the same answer distributions on every built-in
choice task when both run with their default arguments.

Chat mode: `--model hf` (chat template on by default) against `--model openai` (chat endpoint
by default, `estimator=auto` picks `top_logprobs`). Completion mode: `chat_template=false`
against `api=completions` (`auto` picks `top_logprobs` on llama.cpp, whose echo is off by
one). Each runs through `moralbench.evaluate`, as a user would, on the bundled sample data and
on a larger synthetic data dir written here. An item is one scored prompt (a dilemma asked in
both action orders is two); it agrees when every probability of its distribution differs by
at most 0.05, and at least 95% of the items of every task must agree. The share of whole
documents that agree (for dilemmas: both orders and their mean) is printed beside it.

Why they agree, step by step (each a test below):
- the server scores the very token ids hf scores, in both modes
  (`test_the_server_scores_the_very_token_ids_hf_scores`);
- every answer is listed by the server, none bounded: in completion mode the letters after
  "Answer:" are often outside the top 20, and the openai backend asks again with
  `max_top_logprobs` (that floor, not the kernels, was what made completion mode disagree);
- what differs is quantisation: llama.cpp computes with the Q4_1 blocks, transformers with
  their de-quantised float32 copy; llama.cpp on an F32 copy of those de-quantised weights
  matches hf within ~1e-3 (`test_llama_cpp_on_an_f32_copy_of_the_gguf_agrees_with_hf`).

Needs llama-cpp-python's server (`.ci/install_llama_server.sh`); a missing install fails.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from gguf_f32 import write_f32_copy
from openai_fixtures import llama_server
from synthetic_moral_data import write_data_dir

from moralbench import evaluate

__all__ = ["llama_server"]  # a fixture, used by name below

pytestmark = pytest.mark.slow

TASKS = (
    "scruples_anecdotes",
    "scruples_anecdotes_binary",
    "scruples_dilemmas",
    "dfar_classification",
)
TOLERANCE = 0.05
REQUIRED_SHARE = 0.95
SYNTHETIC_ITEMS = 30


def _records(payload: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    out = {}
    for task, path in payload["samples_files"].items():
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        out[task] = {r["doc_id"]: r for r in map(json.loads, lines)}
    return out


def _run(model: str, model_args: dict[str, str], out: Path, data: Path | None) -> Any:
    payload = evaluate(
        model,
        list(TASKS),
        model_args=model_args,
        data_dir=data,
        sample_data=data is None,
        output_path=out,
        use_cache=False,
        show_progress=False,
        n_bootstrap=20,
    )
    return payload, _records(payload)


def _prompts(record: dict[str, Any]) -> list[list[float]]:
    """The distribution of each prompt scored for a document (dilemmas: one per order)."""
    assert record.get("error") is None, record.get("error")
    orders = record.get("orders")
    return [o["probs"] for o in orders] if orders else [record["probs"]]


def _gap(a: list[float], b: list[float]) -> float:
    assert len(a) == len(b)
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


def _agreement(
    hf: dict[str, dict[str, Any]], api: dict[str, dict[str, Any]]
) -> tuple[int, int, float, int]:
    """(prompts within, prompts, max |delta|, documents within on every probability)."""
    assert hf.keys() == api.keys()
    gaps, whole_docs = [], 0
    for doc_id, record in hf.items():
        mine = [_gap(a, b) for a, b in zip(_prompts(record), _prompts(api[doc_id]), strict=True)]
        gaps += mine
        whole_docs += max([*mine, _gap(record["probs"], api[doc_id]["probs"])]) <= TOLERANCE
    return sum(g <= TOLERANCE for g in gaps), len(gaps), max(gaps), whole_docs


def _compare(label: str, hf_run: Any, api_run: Any, mode: str) -> dict[str, tuple[int, int, float]]:
    (hf_payload, hf), (api_payload, api) = hf_run, api_run
    for payload in (hf_payload, api_payload):
        assert {t: m["mode"] for t, m in payload["prompt_modes"].items()} == dict.fromkeys(
            TASKS, mode
        )
    figures = {task: _agreement(hf[task], api[task]) for task in TASKS}
    for task, (within, total, worst, docs) in figures.items():
        print(
            f"{label} {task}: {within}/{total} prompts within {TOLERANCE}, "
            f"max |delta| {worst:.4f}; whole documents within: {docs}/{len(hf[task])}"
        )
    return figures


def _assert_agreement(figures: dict[str, tuple[int, int, float, int]]) -> None:
    for task, (within, total, _, _) in figures.items():
        assert within / total >= REQUIRED_SHARE, (task, within, total)


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data_dir(tmp_path_factory.mktemp("synthetic"), SYNTHETIC_ITEMS)


@pytest.mark.parametrize("data", ["sample", "synthetic"])
def test_chat_mode_hf_and_chat_endpoint_agree_with_default_args(
    tmp_path: Path,
    llama_server: str,
    demo_model_args: dict[str, str],
    synthetic_dir: Path,
    data: str,
) -> None:
    data_dir = synthetic_dir if data == "synthetic" else None
    hf = _run("hf", demo_model_args, tmp_path / "hf", data_dir)
    api = _run("openai", {"model": "smollm2", "base_url": llama_server}, tmp_path / "api", data_dir)
    assert hf[0]["model"]["prompt_mode"] == {"mode": "chat", "prefill": False}
    assert api[0]["model"]["estimator"] == "top_logprobs"
    # What was sent is recorded: hf the rendered text, the API the messages and endpoint.
    sample = next(iter(api[1]["scruples_anecdotes_binary"].values()))
    assert sample["sent"]["endpoint"] == "chat/completions"
    assert sample["sent"]["messages"][-1]["content"].endswith("\n\nAnswer:")
    assert sample["sent"]["answers"] == [["A"], ["B"]]
    hf_sample = hf[1]["scruples_anecdotes_binary"][sample["doc_id"]]
    assert hf_sample["prompt"].endswith("\n\nAnswer:<|im_end|>\n<|im_start|>assistant\n")
    figures = _compare(f"chat/{data}", hf, api, "chat")
    _assert_agreement(figures)


KERNELS_ON_SYNTHETIC_DFAR = pytest.mark.xfail(
    reason="Q4_1 kernels (#12): on the synthetic set dfar_classification has 27/30 items within "
    "0.05 (the other tasks pass). Measured on hf's token ids, every answer scored exactly: "
    "llama.cpp on the Q4_1 file also gives 27/30 (max 0.0755), on an F32 copy of the "
    "de-quantised weights 30/30 (max 0.0008); no top-logprobs floor is involved",
    strict=False,
)


@pytest.mark.parametrize(
    "data", ["sample", pytest.param("synthetic", marks=KERNELS_ON_SYNTHETIC_DFAR)]
)
def test_completion_mode_hf_and_completions_endpoint_agree(
    tmp_path: Path,
    llama_server: str,
    demo_model_args: dict[str, str],
    synthetic_dir: Path,
    data: str,
) -> None:
    data_dir = synthetic_dir if data == "synthetic" else None
    hf = _run("hf", {**demo_model_args, "chat_template": "false"}, tmp_path / "hf", data_dir)
    api_args = {"model": "smollm2", "base_url": llama_server, "api": "completions"}
    api = _run("openai", api_args, tmp_path / "api", data_dir)
    # llama-cpp-python echoes prompt log-probs one position late: `auto` must notice and
    # fall back from `exact` to `top_logprobs` (the probe's note says why).
    assert api[0]["model"]["estimator"] == "top_logprobs"
    assert api[0]["model"]["estimator_probe"]["exact"].startswith("unreliable")
    widened = sum(json.dumps(r).count('"widened_to"') for t in TASKS for r in api[1][t].values())
    print(f"completion/{data}: {widened} prompts asked again for a longer top-logprobs list")
    sample = next(iter(api[1]["scruples_anecdotes_binary"].values()))
    assert sample["sent"]["endpoint"] == "completions"
    assert sample["sent"]["text"] == hf[1]["scruples_anecdotes_binary"][sample["doc_id"]]["prompt"]
    figures = _compare(f"completion/{data}", hf, api, "completion")
    _assert_agreement(figures)


MODES = {
    # mode: (hf model args, openai model args, the answers as scored)
    "chat": ({}, {}, ("A", "B")),
    "completion": ({"chat_template": "false"}, {"api": "completions"}, (" A", " B")),
}


@pytest.mark.parametrize("mode", MODES)
def test_the_server_scores_the_very_token_ids_hf_scores(
    llama_server: str, demo_model_args: dict[str, str], mode: str
) -> None:
    """Same prompt, not just close numbers: llama.cpp run in this process on the token ids
    the hf backend scores reproduces the server's log-probs (chat endpoint, or completions
    endpoint with chat off), so the server rendered and tokenized exactly the text hf did;
    and every answer was listed, none bounded (differences left are kernels)."""
    from llama_cpp import Llama
    from moralbench.plugins.hf.backend import HFBackend
    from moralbench.plugins.openai.backend import OpenAIBackend
    from moralbench.tasks.scruples import ScruplesAnecdotesBinary

    from moralbench.backend import BackendOptions
    from moralbench.task import TaskContext

    hf_args, api_args, answers = MODES[mode]
    hf = HFBackend({**demo_model_args, **hf_args}, BackendOptions())
    api_options = {"model": "smollm2", "base_url": llama_server, **api_args}
    api = OpenAIBackend(api_options, BackendOptions())
    sample_dir = ScruplesAnecdotesBinary.sample_data_dir
    assert sample_dir is not None
    task = ScruplesAnecdotesBinary(TaskContext(data_dir=sample_dir))
    requests = [task.requests(doc)[0] for doc in task.docs("test")]
    answered = dict(api.score_choices(requests))
    api.close()
    assert api.estimator == "top_logprobs"
    assert [list(s) for s in api.spellings(requests[0])] == [[a] for a in answers]
    gguf = Path(demo_model_args["pretrained"]) / demo_model_args["gguf_file"]
    llm = Llama(model_path=str(gguf), n_ctx=2048, logits_all=True, verbose=False, n_threads=2)
    answer_ids = [hf.tokenizer(s, add_special_tokens=False)["input_ids"] for s in answers]
    assert all(len(ids) == 1 for ids in answer_ids)
    worst = 0.0
    for index, request in enumerate(requests):
        text, ids = hf.prompt_ids(request)
        assert list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)) == ids
        llm.reset()
        llm.eval(ids)
        logits = [float(v) for v in llm.scores[len(ids) - 1]]
        top = max(logits)
        log_total = top + math.log(sum(math.exp(v - top) for v in logits))
        expected = [logits[ids_[0]] - log_total for ids_ in answer_ids]
        got = answered[index].logprobs
        assert answered[index].error is None
        assert answered[index].details["floored"] == [], answered[index].details
        worst = max(worst, *(abs(a - b) for a, b in zip(got, expected, strict=True)))
    widened = sum("widened_to" in answered[i].details for i in answered)
    print(
        f"{mode}: server vs llama.cpp on hf's token ids: max |delta logprob| {worst:.2e}; "
        f"{widened}/{len(requests)} items needed the longer top-logprobs list"
    )
    assert worst < 1e-3


@pytest.fixture(scope="module")
def f32_gguf(tmp_path_factory: pytest.TempPathFactory, demo_model_args: dict[str, str]) -> Path:
    source = Path(demo_model_args["pretrained"]) / demo_model_args["gguf_file"]
    return write_f32_copy(source, tmp_path_factory.mktemp("f32") / "demo-f32.gguf")


def _llama_choice_probs(
    llm: Any, context: Sequence[int], spellings: Sequence[Sequence[int]], counts: Sequence[int]
) -> list[float]:
    """Exact choice distribution from llama.cpp: every token of every spelling scored after
    the context (rewinding to it between spellings), spellings of a choice summed."""
    import numpy as np

    llm.reset()
    llm.eval(list(context))
    scores = []
    for continuation in spellings:
        llm.n_tokens = len(context)
        llm.eval(list(continuation))
        rows = np.asarray(llm.scores[len(context) - 1 : len(context) - 1 + len(continuation)])
        top = rows.max(axis=1, keepdims=True)
        logsoftmax = rows - top - np.log(np.exp(rows - top).sum(axis=1, keepdims=True))
        scores.append(float(sum(logsoftmax[j, t] for j, t in enumerate(continuation))))
    per_choice, start = [], 0
    for n in counts:
        per_choice.append(np.logaddexp.reduce(scores[start : start + n]))
        start += n
    return [float(p) for p in np.exp(np.array(per_choice) - np.logaddexp.reduce(per_choice))]


def test_llama_cpp_on_an_f32_copy_of_the_gguf_agrees_with_hf(
    demo_model_args: dict[str, str], f32_gguf: Path
) -> None:
    """What the completion-mode agreement leaves is quantisation: llama.cpp on the hf
    backend's token ids, every answer scored exactly, gives hf's distributions within about
    1e-3 once it computes with the same de-quantised weights (F32 copy), while on the Q4_1
    file itself it differs by up to ~0.05 (sample data; `docs/prompt-protocol.md`)."""
    from llama_cpp import Llama
    from moralbench.plugins.hf.backend import HFBackend
    from moralbench.tasks.dfar import DfarClassification
    from moralbench.tasks.scruples import (
        ScruplesAnecdotes,
        ScruplesAnecdotesBinary,
        ScruplesDilemmas,
    )

    from moralbench.backend import BackendOptions
    from moralbench.task import TaskContext

    hf = HFBackend({**demo_model_args, "chat_template": "false"}, BackendOptions())
    quantised = Path(demo_model_args["pretrained"]) / demo_model_args["gguf_file"]
    models = {
        name: Llama(model_path=str(path), n_ctx=2048, logits_all=True, verbose=False, n_threads=2)
        for name, path in (("q4_1", quantised), ("f32", f32_gguf))
    }
    worst = dict.fromkeys(models, 0.0)
    for cls in (ScruplesAnecdotes, ScruplesAnecdotesBinary, ScruplesDilemmas, DfarClassification):
        assert cls.sample_data_dir is not None
        task = cls(TaskContext(data_dir=cls.sample_data_dir))
        requests = [r for doc in task.docs("test") for r in task.requests(doc)]
        by_hf = dict(hf.score_choices(requests))
        task_worst = dict.fromkeys(models, 0.0)
        for index, request in enumerate(requests):
            item = hf.scoring_item(request)
            counts = [len(s) for s in hf.spellings(request)]
            expected = by_hf[index].logprobs
            top = max(expected)
            hf_probs = [math.exp(v - top) for v in expected]
            hf_probs = [p / sum(hf_probs) for p in hf_probs]
            for name, llm in models.items():
                got = _llama_choice_probs(llm, item.context, item.continuations, counts)
                gap = max(abs(a - b) for a, b in zip(got, hf_probs, strict=True))
                task_worst[name] = max(task_worst[name], gap)
        print(
            f"{task.name}: hf vs llama.cpp, exact scores on hf's ids, max |delta p|: "
            + ", ".join(f"{name} {gap:.4f}" for name, gap in task_worst.items())
        )
        worst = {name: max(worst[name], task_worst[name]) for name in models}
    assert worst["f32"] < 5e-3
    assert worst["q4_1"] > 5 * worst["f32"]
