"""Model args both backends share, checked before anything is loaded."""

from __future__ import annotations

from collections.abc import Mapping

from moralbench.plugins.hf.model_args import flag
from moralbench.plugins.hf.threads import parse_threads

from moralbench.errors import OptionError

__all__ = ["COMMON_ARGS", "check_args", "flag"]

COMMON_ARGS = {
    "pretrained",
    "revision",
    "download",
    "trust_remote_code",
    "dtype",
    "peft",
    "max_length",
    "max_batch_tokens",
    "threads",
}


def check_args(backend: str, args: Mapping[str, str], known: set[str]) -> None:
    unknown = set(args) - known
    if unknown:
        raise OptionError(
            f"{backend} backend has no model arg(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )
    if not args.get("pretrained"):
        raise OptionError(f"{backend} backend needs model arg pretrained=ID_OR_DIR")
    for key in ("max_length", "max_batch_tokens"):
        value = args.get(key)
        if value and (not value.isdigit() or int(value) < 1):
            raise OptionError(f"model arg {key} must be a positive integer, got {value!r}")
    parse_threads(args)


def choice_of(args: Mapping[str, str], key: str, allowed: tuple[str, ...]) -> str:
    value = args.get(key) or allowed[0]
    if value not in allowed:
        raise OptionError(f"model arg {key} must be one of {', '.join(allowed)}, got {value!r}")
    return value
