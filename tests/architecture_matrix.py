"""Tiny random-weight models of every family the hf backend verifies, built locally.

Shared by `tests/test_hf_architectures.py` (float32 on CPU) and `benchmarks/gpu_check.sh`
(bfloat16 on a GPU). Each model has 2 layers, hidden size 32, a 96-token vocabulary and, for
sliding-window families, a window of 8 tokens, so prompts of up to 40 tokens are longer than
any window. Weights are drawn wider than the default init so log-probs spread over several
nats and a skipped logit transform shows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import torch
import transformers

VOCAB = 96
WINDOW = 8
COMMON: dict[str, Any] = {
    "vocab_size": VOCAB,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 8,
    "max_position_embeddings": 128,
    "pad_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
}
HYBRID = ["sliding_attention", "full_attention"]


def _config(name: str, **extra: Any) -> Callable[[], Any]:
    def build() -> Any:
        return getattr(transformers, name)(**{**COMMON, **extra})

    return build


FAMILIES: dict[str, Callable[[], Any]] = {
    "llama": _config("LlamaConfig"),
    "mistral": _config("MistralConfig", sliding_window=None),
    "mistral-sliding": _config("MistralConfig", sliding_window=WINDOW),
    "mixtral": _config(
        "MixtralConfig", num_local_experts=4, num_experts_per_tok=2, sliding_window=WINDOW
    ),
    "qwen2": _config("Qwen2Config"),
    "qwen3": _config("Qwen3Config"),
    "qwen3-moe": _config(
        "Qwen3MoeConfig", num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32
    ),
    "gemma": _config("GemmaConfig"),
    "gemma2": _config(
        "Gemma2Config",
        sliding_window=WINDOW,
        layer_types=HYBRID,
        final_logit_softcapping=4.0,
        attn_logit_softcapping=8.0,
    ),
    "gemma3": _config(
        "Gemma3TextConfig",
        sliding_window=WINDOW,
        layer_types=HYBRID,
        final_logit_softcapping=4.0,
    ),
    "phi3": _config("Phi3Config", pad_token_id=0),
    "granite": _config(
        "GraniteConfig",
        logits_scaling=4.0,
        embedding_multiplier=2.0,
        residual_multiplier=0.5,
        attention_multiplier=0.25,
    ),
    "cohere": _config("CohereConfig", logit_scale=2.0),
    "cohere2": _config("Cohere2Config", logit_scale=2.0, sliding_window=WINDOW, layer_types=HYBRID),
    "olmo2": _config("Olmo2Config"),
}


def build_model(family: str, dtype: torch.dtype = torch.float32, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    config = FAMILIES[family]()
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0.0, 0.35)
    return model.to(dtype).eval()


def scoring_items(seed: int = 0) -> list[Any]:
    """Contexts from 3 to 40 tokens (most longer than the window); 1- to 4-token choices."""
    from moralbench.plugins.hf.choice_scoring import ScoringItem

    rng = random.Random(seed)

    def tokens(n: int) -> tuple[int, ...]:
        return tuple(rng.randrange(3, VOCAB) for _ in range(n))

    shapes = [
        (3, [1, 1, 1]),
        (40, [1, 1]),
        (7, [2, 1, 3]),
        (WINDOW, [1, 4]),
        (WINDOW + 1, [3, 3]),
        (23, [1, 2, 1, 2]),
        (31, [4, 1]),
        (12, [1, 1, 1, 1, 1]),
        (17, [2, 2]),
        (36, [1, 3, 2]),
        (5, [1, 1]),
    ]
    return [ScoringItem(tokens(n), tuple(tokens(k) for k in choices)) for n, choices in shapes]


@torch.inference_mode()
def reference_logprobs(model: Any, item: Any) -> list[float]:
    """The model's own full forward, one unpadded sequence per choice, no cache."""
    device = model.get_input_embeddings().weight.device
    scores = []
    for choice in item.continuations:
        sequence = torch.tensor([item.context + choice], device=device)
        logprobs = torch.log_softmax(model(sequence).logits[0].float(), dim=-1)
        start = len(item.context) - 1
        scores.append(sum(logprobs[start + k, tok].item() for k, tok in enumerate(choice)))
    return scores


def worst_difference(model: Any, batch_size: int, items: list[Any] | None = None) -> float:
    """Largest |scored - reference| over every choice of every item, at this batch size."""
    from moralbench.plugins.hf.choice_scoring import score_items

    items = items or scoring_items()
    got = dict(score_items(model, items, pad_id=0, max_rows=batch_size, max_tokens=1 << 20))
    worst = 0.0
    for index, item in enumerate(items):
        for a, b in zip(got[index], reference_logprobs(model, item), strict=True):
            worst = max(worst, abs(a - b))
    return worst
