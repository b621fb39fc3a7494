"""Out of memory: a batch that fails is halved and retried; `--batch-size auto` has a margin.

The fault is injected by the `hf_oom` test plugin (the real hf backend with a `before_batch`
hook), through `moralbench.evaluate`, and the run must end with the same numbers as a run
that never ran out of memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import mb_oom_backend
import pytest
import torch
from conftest import TOY_TASKS
from moralbench.plugins.hf.batch_size import find_max_rows
from moralbench.plugins.hf.memory import is_out_of_memory, run_with_halving

from moralbench import evaluate
from moralbench.backend import BackendOptions


def _run(model: str, model_args: dict[str, str], out: Path) -> tuple[list[dict], dict]:
    """(samples of the test split, the results' model section)."""
    payload = evaluate(
        model,
        "toy_votes",
        model_args=model_args,
        include_path=[TOY_TASKS],
        extra_plugins=[mb_oom_backend],
        output_path=out,
        batch_size=8,
        use_cache=False,
        show_progress=False,
        n_bootstrap=50,
        log=lambda m: None,
    )
    results = json.loads(Path(payload["results_file"]).read_text())
    path = Path(results["samples_files"]["toy_votes"])
    return [json.loads(line) for line in path.read_text().splitlines()], results["model"]


@pytest.mark.parametrize("oom_as", ["cuda", "runtime"])
def test_oom_halves_the_batch_and_the_run_completes_identically(
    random_llama_dir: Path, tmp_path: Path, oom_as: str
) -> None:
    args = {"pretrained": str(random_llama_dir), "chat_template": "false"}
    plain, plain_model = _run("hf", args, tmp_path / "plain")
    mb_oom_backend.ATTEMPTS.clear()
    mb_oom_backend.INJECTED.clear()
    faulted, faulted_model = _run(
        "hf_oom", {**args, "oom_at_rows": "8", "oom_as": oom_as}, tmp_path / "faulted"
    )
    assert mb_oom_backend.INJECTED == [8]
    first_failure = mb_oom_backend.ATTEMPTS.index(8)
    after = mb_oom_backend.ATTEMPTS[first_failure + 1 :]
    assert after[:2] == [4, 4], mb_oom_backend.ATTEMPTS
    assert max(after) == 4, "later batches must stay at the size that fitted"
    assert len(faulted) == len(plain) == 16
    assert "oom_splits" not in plain_model
    assert faulted_model["oom_splits"][0] == [8, 4], "the results record the split"
    for a, b in zip(plain, faulted, strict=True):
        assert a["doc_id"] == b["doc_id"]
        assert a["logprobs"] == pytest.approx(b["logprobs"], abs=1e-5)
        assert a["metrics"] == pytest.approx(b["metrics"], abs=1e-5)


def test_errors_that_are_not_oom_are_raised() -> None:
    def run(batch: list[int]) -> list[int]:
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        list(run_with_halving([[0, 1, 2, 3]], run))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert is_out_of_memory(RuntimeError("HIP out of memory. Tried to allocate 20.00 MiB"))


def test_oom_on_a_single_row_is_raised() -> None:
    def run(batch: list[int]) -> list[int]:
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(torch.OutOfMemoryError):
        list(run_with_halving([[0, 1]], run))


def test_auto_probe_keeps_a_margin() -> None:
    tried: list[int] = []

    def try_rows(rows: int) -> None:
        tried.append(rows)
        if rows > 100:
            raise RuntimeError("CUDA error: out of memory")

    # 128 rows would need 160 with the margin (fails); 64 needs 80 (fits).
    assert find_max_rows(try_rows) == 64
    assert tried == [640, 320, 160, 80]


def test_auto_probe_uses_the_longest_real_item_padded(random_llama_dir: Path) -> None:
    from moralbench.plugins.hf.backend import HFBackend
    from moralbench.plugins.hf.choice_scoring import ScoringItem, item_cost

    backend = HFBackend(
        {"pretrained": str(random_llama_dir), "chat_template": "false"},
        BackendOptions(batch_size="auto"),
    )
    seen: list[tuple[int, int]] = []

    def hook(rows: int, width: int) -> None:
        seen.append((rows, width))
        if rows > 40:
            raise torch.OutOfMemoryError("CUDA out of memory")

    backend.before_batch = hook
    items = [ScoringItem(tuple(range(5, 5 + n)), ((7,), (8, 9, 10))) for n in (3, 90, 20)]
    backend.probe_batch_limits(items)
    worst_width = item_cost(items[1])  # 90 tokens padded to 96, plus a pass of 8
    assert worst_width == 104
    assert {width for _, width in seen} == {worst_width}
    assert backend.max_tokens == 32 * worst_width  # 32 rows: 40 with the margin
    seen.clear()
    backend.probe_batch_limits(items[:1])  # nothing longer than what was probed: no new probe
    assert seen == []
