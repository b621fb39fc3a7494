"""Loading a sequence-classification model (classifier or reward model) and its tokenizer.

Shared by both backends: the same sources as the `hf` backend (a folder, the HF cache, or
`package:NAME`), the same dtype rule, PEFT adapters merged, one device per process under
`accelerate launch`, and a fingerprint of everything that changes the outputs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import transformers
from moralbench.plugins.hf.loading import apply_peft, resolve_dtype, resolve_pretrained
from moralbench.plugins.hf.model_args import default_device, flag
from moralbench.plugins.hf.model_args import folder_hash as _folder_hash
from moralbench.plugins.hf.threads import apply_threads
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from moralbench.backend import BackendOptions
from moralbench.data_files import sha256_file
from moralbench.errors import OptionError

#: rows per batch and padded tokens per batch when --batch-size is not given
DEFAULT_ROWS = 32
DEFAULT_TOKENS = 16384


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    device: torch.device
    dtype: torch.dtype
    max_length: int
    max_rows: int
    max_tokens: int
    threads: int
    identity: dict[str, Any] = field(default_factory=dict)

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.pad_token_id)


def _source_identity(pretrained: str, revision: str | None) -> dict[str, Any]:
    """What names the weights: for a folder its config's hash and each weight file's stamp."""
    folder = Path(pretrained)
    if not folder.is_dir():
        return {"pretrained": pretrained, "revision": revision}
    weights = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
    config = folder / "config.json"
    return {
        "pretrained": str(folder.resolve()),
        "config_sha256": sha256_file(config) if config.is_file() else None,
        "weights": [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in weights],
    }


def _model_max_length(model: Any, tokenizer: Any) -> int:
    limits = [
        value
        for name in ("max_position_embeddings", "n_positions", "max_seq_len")
        if isinstance(value := getattr(model.config, name, None), int) and value > 0
    ]
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < 1_000_000:
        limits.append(tok_limit)
    return min(limits) if limits else 512


def load_sequence_model(
    backend: str, args: Mapping[str, str], options: BackendOptions
) -> LoadedModel:
    device_name = default_device(options)
    try:
        dtype = resolve_dtype(args.get("dtype", "auto") or "auto", device_name)
        pretrained = resolve_pretrained(args["pretrained"])
    except (ValueError, FileNotFoundError) as exc:
        raise OptionError(f"{backend}: {exc}") from exc
    revision = args.get("revision") or None
    common: dict[str, Any] = {
        "revision": revision,
        "trust_remote_code": flag(args, "trust_remote_code", False),
        "local_files_only": not flag(args, "download", False),
    }
    threads = apply_threads(args)
    torch.manual_seed(options.seed)
    try:
        tokenizer = AutoTokenizer.from_pretrained(pretrained, **common)
        model = AutoModelForSequenceClassification.from_pretrained(
            pretrained, dtype=dtype, **common
        )
    except OSError as exc:
        raise OptionError(f"{backend}: cannot load pretrained={pretrained}: {exc}") from exc
    identity = _source_identity(pretrained, revision)
    if args.get("peft"):
        model = apply_peft(model, args["peft"])
        identity["peft_sha256"] = _folder_hash(Path(args["peft"]))
    if tokenizer.pad_token_id is None:
        # decoder models (most reward models) ship without a pad token; any id works because
        # padded positions are masked and the head reads the last real token.
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    model.requires_grad_(False)
    model.to(device_name)
    max_length = int(args.get("max_length") or _model_max_length(model, tokenizer))
    budget = int(args.get("max_batch_tokens") or 0)
    if isinstance(options.batch_size, int):
        rows, tokens = options.batch_size, budget or options.batch_size * max_length
    else:
        rows, tokens = DEFAULT_ROWS, budget or max(DEFAULT_TOKENS, max_length)
    identity.update(dtype=str(dtype), max_length=max_length)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=next(model.parameters()).device,
        dtype=dtype,
        max_length=max_length,
        max_rows=rows,
        max_tokens=tokens,
        threads=threads,
        identity=identity,
    )


def fingerprint(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def describe_model(loaded: LoadedModel, backend: str) -> dict[str, Any]:
    return {
        "backend": backend,
        "device": str(loaded.device),
        "dtype": str(loaded.dtype).replace("torch.", ""),
        "max_length": loaded.max_length,
        "threads": loaded.threads,
        "parameters": sum(p.numel() for p in loaded.model.parameters()),
        "model_class": type(loaded.model).__name__,
        "num_labels": int(loaded.model.config.num_labels),
        "transformers": transformers.__version__,
        **{k: v for k, v in loaded.identity.items() if k in ("pretrained", "peft_sha256")},
    }
