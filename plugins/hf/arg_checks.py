"""The hf backend's model args and device, checked before anything heavy is imported or loaded.

Runs after the tasks are built and before the model loads (see `BackendSpec.check_args`), so
`dtype=float7`, `max_length=abc`, a `pretrained` folder that does not exist or `--device cuda`
on a machine without CUDA fail in the first second with one line, not after a minute of loading
(or, for `max_length`, after the weights are in memory).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from moralbench.backend import BackendOptions
from moralbench.errors import OptionError
from moralbench.run_options import reject_unknown

from .threads import parse_threads

KNOWN_ARGS = {
    "pretrained",
    "dtype",
    "revision",
    "trust_remote_code",
    "gguf_file",
    "peft",
    "chat_template",
    "prefill",
    "max_length",
    "device_map",
    "max_batch_tokens",
    "download",
    "threads",
}
DTYPE_NAMES = ("auto", "float32", "float16", "bfloat16")
FLAG_VALUES = ("1", "true", "yes", "on", "0", "false", "no", "off")
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


def _looks_like_path(value: str) -> bool:
    """A hub id is `name` or `org/name`; anything else (absolute, ./, ~, a/b/c) is a path."""
    return (
        value.startswith(("/", "./", "../", "~", "\\"))
        or value.count("/") >= 2
        or Path(value).expanduser().exists()
    )


def _positive(args: Mapping[str, str], key: str) -> None:
    value = args.get(key)
    if value in (None, ""):
        return
    if not str(value).isdigit() or int(value) < 1:
        raise OptionError(f"model arg {key} must be a whole number >= 1, got {value!r}")


def _check_pretrained(args: Mapping[str, str]) -> None:
    pretrained = args.get("pretrained") or ""
    if not pretrained:
        raise OptionError("hf backend needs model arg pretrained=ID_OR_DIR")
    if pretrained.startswith("package:"):
        return  # resolved (and reported) by the loader; finding it imports nothing heavy
    if _looks_like_path(pretrained):
        folder = Path(pretrained).expanduser()
        if not folder.exists():
            raise OptionError(
                f"model arg pretrained={pretrained}: no such folder (give a model folder, a "
                "hub id such as org/name, or package:NAME)"
            )
        gguf = args.get("gguf_file")
        if gguf and not (folder / gguf).is_file():
            raise OptionError(f"model arg gguf_file={gguf}: not found in {folder}")
    peft = args.get("peft")
    if peft and _looks_like_path(peft) and not Path(peft).expanduser().is_dir():
        raise OptionError(f"model arg peft={peft}: no such adapter folder")


def _check_device(device: str | None) -> None:
    if not device:
        return
    if not _DEVICE.match(device):
        raise OptionError(f"--device {device!r}: expected cpu, cuda, cuda:N or mps")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise OptionError(f"--device {device}: CUDA is not available on this machine; use cpu")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise OptionError(
                f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    if device == "mps":
        import torch

        if not torch.backends.mps.is_available():
            raise OptionError("--device mps: MPS is not available on this machine; use cpu")


def check_hf_args(args: Mapping[str, str], options: BackendOptions) -> None:
    """Raise `OptionError` for the first invalid hf model arg or device."""
    reject_unknown(args, KNOWN_ARGS, "hf backend has no model arg(s)")
    dtype = args.get("dtype") or "auto"
    if dtype not in DTYPE_NAMES:
        raise OptionError(f"model arg dtype={dtype}: expected one of {', '.join(DTYPE_NAMES)}")
    for key in ("max_length", "max_batch_tokens"):
        _positive(args, key)
    parse_threads(args)
    for key in ("trust_remote_code", "chat_template", "download"):
        value = args.get(key)
        if value not in (None, "") and value.lower() not in FLAG_VALUES:
            raise OptionError(f"model arg {key} must be true or false, got {value!r}")
    _check_pretrained(args)
    if not args.get("device_map"):
        _check_device(options.device)
