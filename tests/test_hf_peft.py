"""`peft=ADAPTER_DIR` applies a LoRA adapter: scores equal the merged model's naive reference."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from moralbench.plugins.hf.backend import HFBackend
from test_hf_scoring import REQUESTS, naive_logprobs

from moralbench.backend import BackendOptions


@pytest.fixture(scope="module")
def lora_dir(random_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(7)
    base = AutoModelForCausalLM.from_pretrained(random_llama_dir, dtype=torch.float32)
    # init_lora_weights=False: random A and B, so the adapter really changes the outputs.
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    folder = tmp_path_factory.mktemp("lora")
    with warnings.catch_warnings():
        # peft itself reads transformers' deprecated `is_gradient_checkpointing`
        warnings.filterwarnings("ignore", ".*is_gradient_checkpointing", FutureWarning)
        get_peft_model(base, config).save_pretrained(folder)
    return folder


def test_lora_adapter_scores_equal_the_merged_model(random_llama_dir: Path, lora_dir: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    args = {"pretrained": str(random_llama_dir), "chat_template": "false", "dtype": "float32"}
    plain = HFBackend(args, BackendOptions(batch_size=8))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # applying an adapter warns nothing
        adapted = HFBackend({**args, "peft": str(lora_dir)}, BackendOptions(batch_size=8))
    assert plain.fingerprint() != adapted.fingerprint(), "the adapter must change cache keys"

    base = AutoModelForCausalLM.from_pretrained(random_llama_dir, dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*is_gradient_checkpointing", FutureWarning)
        merged = PeftModel.from_pretrained(base, lora_dir).merge_and_unload().eval()

    with_adapter = dict(adapted.score_choices(REQUESTS))
    without = dict(plain.score_choices(REQUESTS))
    largest_effect = 0.0
    for index, request in enumerate(REQUESTS):
        text = request.context if isinstance(request.context, str) else None
        if text is None:
            continue  # message contexts without a chat template are covered in test_hf_scoring
        expected = naive_logprobs(merged, adapted.tokenizer, request, False, adapted.max_length)
        got = with_adapter[index].logprobs
        for a, b in zip(got, expected, strict=True):
            assert abs(a - b) < 1e-4, (index, got, expected)
        largest_effect = max(
            largest_effect,
            *(abs(a - b) for a, b in zip(got, without[index].logprobs, strict=True)),
        )
    assert largest_effect > 1e-2, "the adapter did not change any score"
