"""The openai backend's model args, parsed and checked once at load time.

Error messages name the argument and never repeat a value that could be a secret.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from moralbench.errors import OptionError
from moralbench.run_options import reject_unknown

DEFAULT_BASE_URL = "https://api.openai.com/v1"
APIS = ("chat", "completions")
ESTIMATOR_CHOICES = ("auto", "exact", "top_logprobs", "sampled")
CHAT_ANSWER_PREFIX = ("user", "prefill")

KNOWN_ARGS = frozenset(
    {
        "model",
        "base_url",
        "api",
        "api_key_env",
        "num_concurrent",
        "max_retries",
        "timeout",
        "estimator",
        "n_samples",
        "temperature",
        "seed",
        "top_logprobs",
        "max_top_logprobs",
        "alpha",
        "chat_answer_prefix",
        "prefill",
        "backoff",
        "max_backoff",
        "sample_max_tokens",
    }
)


@dataclass(frozen=True)
class ApiSettings:
    model: str
    base_url: str = DEFAULT_BASE_URL
    api: str = "chat"
    api_key_env: str = "OPENAI_API_KEY"
    api_key_env_given: bool = False
    num_concurrent: int = 8
    max_retries: int = 5
    timeout: float = 60.0
    estimator: str = "auto"
    n_samples: int = 20
    temperature: float = 1.0
    seed: int = 0
    top_logprobs: int = 20
    #: when a choice is missing from the first list, the longer list asked for once (0: never)
    max_top_logprobs: int = 1000
    alpha: float = 1.0
    prefill: bool = False
    backoff: float = 1.0
    max_backoff: float = 60.0
    sample_max_tokens: int = 16


def _int(args: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    text = args.get(name, "")
    if text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise OptionError(f"openai model arg {name} must be an integer") from None
    if value < minimum:
        raise OptionError(f"openai model arg {name} must be at least {minimum}")
    return value


def _float(args: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    text = args.get(name, "")
    if text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise OptionError(f"openai model arg {name} must be a number") from None
    if not math.isfinite(value) or value < minimum:
        raise OptionError(f"openai model arg {name} must be a number >= {minimum}")
    return value


def _choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = args.get(name) or allowed[0]
    if value not in allowed:
        raise OptionError(f"openai model arg {name} must be one of {', '.join(allowed)}")
    return value


def _prefill(args: Mapping[str, str], api: str) -> bool:
    """`prefill=true` (or its older spelling `chat_answer_prefix=prefill`)."""
    value = (args.get("prefill") or "false").lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise OptionError("openai model arg prefill must be true or false")
    legacy = _choice(args, "chat_answer_prefix", CHAT_ANSWER_PREFIX) == "prefill"
    prefill = value in ("true", "1", "yes") or legacy
    if prefill and api != "chat":
        raise OptionError("openai model arg prefill=true needs api=chat")
    return prefill


def parse_settings(args: Mapping[str, str], run_seed: int = 0) -> ApiSettings:
    """Check the model args and fill in defaults."""
    if "api_key" in args:
        raise OptionError(
            "the openai backend does not take the key as a model arg (it would be visible in "
            "the process list and shell history): put it in an environment variable and name "
            "that variable with api_key_env=NAME (default OPENAI_API_KEY)"
        )
    reject_unknown(args, KNOWN_ARGS, "openai backend has no model arg(s)")
    if not args.get("model"):
        raise OptionError("openai backend needs model arg model=NAME (the served model's name)")
    base_url = (args.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise OptionError("openai model arg base_url must start with http:// or https://")
    api_key_env = args.get("api_key_env") or "OPENAI_API_KEY"
    if not api_key_env.replace("_", "").isalnum():
        raise OptionError("openai model arg api_key_env must be an environment variable name")
    backoff = _float(args, "backoff", 1.0, 0.0)
    alpha = _float(args, "alpha", 1.0, 0.0)
    if alpha <= 0.0:
        raise OptionError("openai model arg alpha (sampled smoothing) must be greater than 0")
    api = _choice(args, "api", APIS)
    return ApiSettings(
        model=args["model"],
        base_url=base_url,
        api=api,
        api_key_env=api_key_env,
        api_key_env_given=bool(args.get("api_key_env")),
        num_concurrent=_int(args, "num_concurrent", 8, 1),
        max_retries=_int(args, "max_retries", 5, 0),
        timeout=_float(args, "timeout", 60.0, 0.001),
        estimator=_choice(args, "estimator", ESTIMATOR_CHOICES),
        n_samples=_int(args, "n_samples", 20, 1),
        temperature=_float(args, "temperature", 1.0, 0.0),
        seed=_int(args, "seed", run_seed, 0),
        top_logprobs=_int(args, "top_logprobs", 20, 1),
        max_top_logprobs=_int(args, "max_top_logprobs", 1000, 0),
        alpha=alpha,
        prefill=_prefill(args, api),
        backoff=backoff,
        max_backoff=_float(args, "max_backoff", max(60.0, backoff), backoff),
        sample_max_tokens=_int(args, "sample_max_tokens", 16, 1),
    )
