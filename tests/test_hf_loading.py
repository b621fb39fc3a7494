"""Loading and run-time details of the hf backend that a GPU user would hit first."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from moralbench.plugins.hf import loading
from moralbench.plugins.hf.generation import generated_tokens

from moralbench.backend import BackendOptions
from moralbench.distributed import collective_timeout
from moralbench.errors import OptionError


def test_generated_tokens_end_at_the_first_eos_and_drop_padding() -> None:
    eos, pad = {2}, 0
    assert generated_tokens([5, 6, 2, 2, 2], eos, 2) == [5, 6, 2]  # pad is the EOS id
    assert generated_tokens([5, 6, 2, 0, 0], eos, pad) == [5, 6, 2]
    assert generated_tokens([5, 6, 7, 0, 0], eos, pad) == [5, 6, 7]  # stopped by a stop string
    assert generated_tokens([5, 6, 7, 8], eos, pad) == [5, 6, 7, 8]  # ran to max_tokens


def test_dtype_auto_on_cpu_and_with_a_device_map_without_gpus() -> None:
    assert loading.resolve_dtype("auto", "cpu") == torch.float32
    if not torch.cuda.is_available():
        assert loading.resolve_dtype("auto", "auto") == torch.float32
    with pytest.raises(OptionError, match="float7"):
        loading.resolve_dtype("float7", "cpu")


def test_dtype_auto_follows_native_bf16_under_a_device_map(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No GPU here: torch.cuda's answers are stood in for to check the decision itself."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    emulated = {"native": False}

    def is_bf16_supported(including_emulation: bool = True) -> bool:
        return emulated["native"] or including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    # A T4/V100: bf16 only emulated, so float16.
    assert loading.resolve_dtype("auto", "cuda:0") == torch.float16
    assert loading.resolve_dtype("auto", "auto") == torch.float16  # device_map=auto
    emulated["native"] = True  # Ampere or later
    assert loading.resolve_dtype("auto", "cuda:0") == torch.bfloat16
    assert loading.resolve_dtype("auto", "auto") == torch.bfloat16


def test_collective_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MORALBENCH_DIST_TIMEOUT", raising=False)
    assert collective_timeout().total_seconds() == 24 * 3600
    monkeypatch.setenv("MORALBENCH_DIST_TIMEOUT", "90")
    assert collective_timeout().total_seconds() == 90
    monkeypatch.setenv("MORALBENCH_DIST_TIMEOUT", "soon")
    with pytest.raises(OptionError, match="MORALBENCH_DIST_TIMEOUT"):
        collective_timeout()


def test_lora_in_bf16_stays_unmerged_and_keeps_its_effect(
    random_llama_dir: Path, tmp_path: Path
) -> None:
    from moralbench.plugins.hf.backend import HFBackend
    from peft import LoraConfig, PeftModel, get_peft_model
    from test_hf_scoring import REQUESTS
    from transformers import AutoModelForCausalLM

    torch.manual_seed(7)
    base = AutoModelForCausalLM.from_pretrained(random_llama_dir, dtype=torch.float32)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(base, config).save_pretrained(tmp_path / "lora")
    args = {"pretrained": str(random_llama_dir), "chat_template": "false"}
    bf16 = HFBackend(
        {**args, "dtype": "bfloat16", "peft": str(tmp_path / "lora")}, BackendOptions(batch_size=8)
    )
    assert isinstance(bf16.model, PeftModel), "a bf16 model must keep the adapter unmerged"
    f32 = HFBackend(
        {**args, "dtype": "float32", "peft": str(tmp_path / "lora")}, BackendOptions(batch_size=8)
    )
    assert not isinstance(f32.model, PeftModel), "float32 merges (exact, faster)"
    plain = HFBackend({**args, "dtype": "float32"}, BackendOptions(batch_size=8))
    requests = [r for r in REQUESTS if isinstance(r.context, str)]
    got = dict(bf16.score_choices(requests))
    exact = dict(f32.score_choices(requests))
    without = dict(plain.score_choices(requests))
    noise = max(
        abs(a - b) for i in got for a, b in zip(got[i].logprobs, exact[i].logprobs, strict=True)
    )
    effect = max(
        abs(a - b) for i in got for a, b in zip(exact[i].logprobs, without[i].logprobs, strict=True)
    )
    assert noise < 0.25 < effect, (noise, effect)


def test_hf_option_typos_are_option_errors_before_anything_loads(tmp_path: Path) -> None:
    from moralbench.plugins.hf.arg_checks import check_hf_args

    with pytest.raises(OptionError, match="no model arg\\(s\\) dtpye"):
        check_hf_args({"pretrained": str(tmp_path), "dtpye": "float32"}, BackendOptions())
    with pytest.raises(OptionError, match="no installed package 'no_such_model_pkg'"):
        loading.resolve_pretrained("package:no_such_model_pkg")


def test_a_gguf_tokenizer_adds_a_bos_only_where_the_file_says_so(demo_backend) -> None:  # type: ignore[no-untyped-def]
    """transformers 4.57 makes SmolLM2's GGUF vocabulary add a BOS that the file (and
    llama.cpp) do not add; converted or read in place, the tokenizer follows the file."""
    from conftest import DEMO_GGUF, demo_model_dir

    folder = demo_model_dir()
    assert loading.gguf_adds_bos(folder / DEMO_GGUF) is False
    in_place = loading.load_tokenizer(
        str(folder),
        revision=None,
        trust_remote_code=False,
        gguf_file=DEMO_GGUF,
        local_files_only=True,
    )
    for tokenizer in (demo_backend.tokenizer, in_place):
        ids = tokenizer("Is it wrong?")["input_ids"]
        assert tokenizer.bos_token_id is not None and tokenizer.bos_token_id not in ids
    assert demo_backend.prompter.bos() == []
