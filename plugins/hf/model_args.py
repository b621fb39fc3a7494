"""Model-arg and set-up helpers shared by the local transformers backends (hf and encoders)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

import torch

from moralbench.backend import BackendOptions
from moralbench.data_files import sha256_file
from moralbench.errors import OptionError


def flag(args: Mapping[str, str], key: str, default: bool) -> bool:
    """A true/false model arg; empty or absent gives `default`."""
    value = args.get(key)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise OptionError(f"model arg {key} must be true or false, got {value!r}")


def default_device(options: BackendOptions) -> str:
    """The process's own GPU: by local rank (its index on this machine), not global rank."""
    if options.device:
        return options.device
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", options.process_index))
        return f"cuda:{local_rank % torch.cuda.device_count()}"
    return "cpu"


def folder_hash(folder: Path) -> str:
    """sha256 over a folder's file names and contents (an adapter's identity)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()
