"""Every verified model family is scored exactly; a family that cannot be is refused.

Tiny random-weight models of each family (built in `architecture_matrix.py`, no hub) are scored
by the hf backend's batched, cached path and compared with the model's own full forward, one
unpadded sequence per choice: contexts from 3 to 40 tokens against sliding windows of 8, single-
and multi-token choices, batch sizes 1 and 8, within 1e-4 in float32.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers
from architecture_matrix import (
    FAMILIES,
    WINDOW,
    build_model,
    reference_logprobs,
    scoring_items,
)
from conftest import run_cli
from moralbench.plugins.hf.choice_scoring import score_items
from moralbench.plugins.hf.exactness import VERIFIED_MODEL_TYPES, UnsupportedModel, check_family

TRANSFORMED = {"gemma2": 4.0, "gemma3": 4.0, "granite": 4.0, "cohere": 2.0, "cohere2": 2.0}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_scores_equal_the_models_own_forward(family: str) -> None:
    model = build_model(family)
    assert check_family(model, 0, custom_code=False)["scoring_check"] == "verified family"
    items = scoring_items()
    assert max(len(i.context) for i in items) > 4 * WINDOW
    expected = [reference_logprobs(model, item) for item in items]
    spread = max(max(e) - min(e) for e in expected)
    assert spread > 1.0, f"{family}: log-probs too flat ({spread:.3f}) to show a wrong score"
    for batch_size in (1, 8):
        got = dict(score_items(model, items, pad_id=0, max_rows=batch_size, max_tokens=1 << 20))
        assert sorted(got) == list(range(len(items)))
        for index, want in enumerate(expected):
            for a, b in zip(got[index], want, strict=True):
                assert abs(a - b) < 1e-4, (family, batch_size, index, got[index], want)


def test_every_verified_type_is_in_the_matrix() -> None:
    built = {factory().model_type for factory in FAMILIES.values()}
    assert built == VERIFIED_MODEL_TYPES


@pytest.mark.parametrize("family", sorted(TRANSFORMED))
def test_matrix_models_have_a_transform_that_a_bare_head_would_miss(family: str) -> None:
    """The old path (decoder, then the output head) is off by whole nats on these models."""
    model = build_model(family)
    item = scoring_items()[1]
    ids = torch.tensor([item.context])
    with torch.inference_mode():
        hidden = model.get_decoder()(input_ids=ids).last_hidden_state[:, -1]
        bare = torch.log_softmax(model.get_output_embeddings()(hidden).float(), dim=-1)[0]
        own = torch.log_softmax(model(ids).logits[0, -1].float(), dim=-1)
    assert (bare - own).abs().max().item() > 0.5


def test_the_sliding_window_changes_scores_in_the_matrix() -> None:
    """Mistral with and without its window of 8: long contexts score differently."""
    sliding = build_model("mistral-sliding")
    full = build_model("mistral-sliding")
    full.config.sliding_window = None
    item = scoring_items()[1]  # 40 tokens
    assert abs(reference_logprobs(sliding, item)[0] - reference_logprobs(full, item)[0]) > 1e-3


def _mamba() -> transformers.PreTrainedModel:
    torch.manual_seed(0)
    config = transformers.MambaConfig(vocab_size=96, hidden_size=32, num_hidden_layers=2)
    return transformers.AutoModelForCausalLM.from_config(config).eval()


class CacheIgnoringLlama(transformers.LlamaForCausalLM):
    """A custom family whose forward silently drops the KV cache it is given."""

    def forward(self, *args, cache=None, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.pop("past_key_values", None)
        return super().forward(*args, **kwargs)


def test_a_family_that_cannot_use_the_cache_is_refused() -> None:
    with pytest.raises(UnsupportedModel, match=r"model type 'mamba'.*Verified model types: "):
        check_family(_mamba(), 0, custom_code=False)


def test_a_family_with_wrong_cached_scores_is_refused() -> None:
    torch.manual_seed(0)
    config = FAMILIES["llama"]()
    config.model_type = "unverified_llama"
    model = CacheIgnoringLlama(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.35)
    with pytest.raises(UnsupportedModel, match=r"differ from the model's own full forward by"):
        check_family(model, 0, custom_code=False)
    # The same weights with custom code marked but an honest forward pass the self-check.
    honest = transformers.LlamaForCausalLM(config).eval()
    honest.load_state_dict(model.state_dict())
    assert check_family(honest, 0, custom_code=True)["scoring_check"].startswith("self-check")


def test_refusal_reaches_the_user_as_one_clear_line(tmp_path: Path, demo_backend) -> None:  # type: ignore[no-untyped-def]
    from conftest import TOY_TASKS

    folder = tmp_path / "tiny-mamba"
    torch.manual_seed(0)
    config = transformers.MambaConfig(
        vocab_size=len(demo_backend.tokenizer), hidden_size=16, num_hidden_layers=1
    )
    transformers.AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    demo_backend.tokenizer.save_pretrained(folder)
    proc = run_cli(
        "run",
        "--model",
        "hf",
        "--model-args",
        f"pretrained={folder}",
        "--tasks",
        "toy_votes",
        "--include-path",
        str(TOY_TASKS),
        "--output-path",
        str(tmp_path / "out"),
        check=False,
    )
    assert proc.returncode != 0
    assert "cannot score model type 'mamba'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("family", ["gemma2", "granite"])
def test_backend_scores_transformed_families_exactly(
    family: str, tmp_path: Path, demo_backend
) -> None:  # type: ignore[no-untyped-def]
    """Through HFBackend (folder load, tokenizer, dedupe), as `moralbench run` scores them."""
    from moralbench.plugins.hf.backend import HFBackend
    from test_hf_scoring import REQUESTS, naive_logprobs

    from moralbench.backend import BackendOptions

    config = FAMILIES[family]()
    config.vocab_size = len(demo_backend.tokenizer)
    torch.manual_seed(3)
    model = transformers.AutoModelForCausalLM.from_config(config)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0.0, 0.35)
    model.save_pretrained(tmp_path / family)
    demo_backend.tokenizer.save_pretrained(tmp_path / family)
    backend = HFBackend(
        {"pretrained": str(tmp_path / family), "chat_template": "false", "max_length": "96"},
        BackendOptions(batch_size=8),
    )
    assert backend.describe()["scoring_check"] == "verified family"
    requests = [r for r in REQUESTS if isinstance(r.context, str)]
    got = dict(backend.score_choices(requests))
    for index, request in enumerate(requests):
        expected = naive_logprobs(
            backend.model,
            backend.tokenizer,
            request.context + request.answer_prefix,
            request.choices,
            backend.max_length,
        )
        for a, b in zip(got[index].logprobs, expected, strict=True):
            assert abs(a - b) < 1e-4, (family, index, got[index].logprobs, expected)
