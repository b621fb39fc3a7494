"""`moralbench run --dry-run` for the hf backend: prompts exactly as the model would see them,
from the tokenizer alone (no weights are loaded)."""

from __future__ import annotations

from collections.abc import Mapping

from moralbench.backend import BackendOptions

from .arg_checks import check_hf_args
from .loading import load_tokenizer
from .model_args import flag
from .prompting import HFPrompter


def hf_prompt_preview(args: Mapping[str, str], options: BackendOptions) -> HFPrompter:
    check_hf_args(args, options)
    tokenizer = load_tokenizer(
        args["pretrained"],
        revision=args.get("revision") or None,
        trust_remote_code=flag(args, "trust_remote_code", False),
        gguf_file=args.get("gguf_file") or None,
        local_files_only=not flag(args, "download", False),
    )
    return HFPrompter.for_args(tokenizer, args)
