"""Which model families the exact scoring path is known to score exactly, and a self-check.

Choice scoring calls the model's own forward (so logit transforms are the model's business),
but it also relies on the model honouring a left-padded attention mask, explicit position ids
and a cropped `DynamicCache`. `VERIFIED_MODEL_TYPES` are the families whose scores
`tests/test_hf_architectures.py` checks against the model's own full forward (within 1e-4 in
float32, sliding windows included). Any other family, and any model with custom code, is
checked at load time on a few short random sequences; if the scores differ from the model's own
full forward, or the model cannot run the cached path at all, it is refused.
"""

from __future__ import annotations

import random
from typing import Any

import torch

from moralbench.errors import MoralbenchError

from .choice_scoring import ScoringItem, input_device, score_items

VERIFIED_MODEL_TYPES = frozenset(
    {
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen3",
        "qwen3_moe",
        "gemma",
        "gemma2",
        "gemma3_text",
        "phi3",
        "granite",
        "cohere",
        "cohere2",
        "olmo2",
    }
)
# Largest |self-check - full forward| accepted, by dtype: float32 differences are rounding
# (1e-5 in the matrix test); half-precision ones are the dtype's noise (measured up to 0.05
# nats on the matrix), while a structural error (cache or mask ignored) costs whole nats.
TOLERANCE = {torch.float32: 1e-3, torch.bfloat16: 0.5, torch.float16: 0.5}


class UnsupportedModel(MoralbenchError):
    """The hf backend cannot score this model's choices exactly."""


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def model_type(model: Any) -> str:
    return str(getattr(model.config, "model_type", type(model).__name__))


def _probe_items(vocab: int) -> list[ScoringItem]:
    rng = random.Random(0)
    low, high = min(10, vocab - 1), min(vocab, 5000)

    def tokens(n: int) -> tuple[int, ...]:
        return tuple(rng.randrange(low, high) for _ in range(n))

    return [
        ScoringItem(tokens(n), tuple(tokens(k) for k in choice_lengths))
        for n, choice_lengths in ((5, (1, 3)), (13, (2, 1)), (21, (3, 2, 1)))
    ]


@torch.inference_mode()
def _full_forward(model: Any, item: ScoringItem) -> list[float]:
    device = input_device(model)
    scores = []
    for choice in item.continuations:
        logits = model(torch.tensor([item.context + choice], device=device)).logits[0]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        start = len(item.context) - 1
        scores.append(sum(logprobs[start + k, tok].item() for k, tok in enumerate(choice)))
    return scores


def self_check(model: Any, pad_id: int) -> float:
    """Largest |batched cached scoring - the model's own full forward| on short random items."""
    vocab = int(model.get_output_embeddings().weight.shape[0])
    items = _probe_items(vocab)
    got = dict(score_items(model, items, pad_id=pad_id, max_rows=len(items), max_tokens=1 << 16))
    return max(
        abs(a - b)
        for index, item in enumerate(items)
        for a, b in zip(got[index], _full_forward(model, item), strict=True)
    )


def check_family(model: Any, pad_id: int, *, custom_code: bool) -> dict[str, Any]:
    """Facts for results; raises UnsupportedModel when scores would not be exact."""
    kind = model_type(model)
    if kind in VERIFIED_MODEL_TYPES and not custom_code:
        return {"model_type": kind, "scoring_check": "verified family"}
    dtype = next(model.parameters()).dtype
    tolerance = TOLERANCE.get(dtype, 0.5)
    known = ", ".join(sorted(VERIFIED_MODEL_TYPES))
    try:
        difference = self_check(model, pad_id)
    except Exception as error:  # noqa: BLE001 - any failure of the cached path means "refuse"
        from .memory import is_out_of_memory

        if is_out_of_memory(error):
            raise
        raise UnsupportedModel(
            f"the hf backend cannot score model type {kind!r} ({type(model).__name__}): its "
            f"forward pass fails on a padded batch with a KV cache ({type(error).__name__}: "
            f"{str(error)[:200]}). Verified model types: {known}"
        ) from error
    if not difference <= tolerance:  # also catches NaN
        raise UnsupportedModel(
            f"the hf backend cannot score model type {kind!r} ({type(model).__name__}) "
            f"exactly: its batched, cached scores differ from the model's own full forward by "
            f"{difference:.3g} nats (tolerance {tolerance:g} in {_name(dtype)}). "
            f"Verified model types: {known}"
        )
    return {"model_type": kind, "scoring_check": f"self-check max diff {difference:.2g}"}
