"""Keeping secrets out of results, logs and errors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"
_SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|auth)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """Drop userinfo and hide query values that look like secrets."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username or parts.password:
        netloc = f"{REDACTED}@{netloc}"
    query = urlencode(
        [(k, REDACTED if _SECRET_NAME.search(k) else v) for k, v in parse_qsl(parts.query)]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_args(args: Mapping[str, str], secret_names: Iterable[str] = ()) -> dict[str, str]:
    """Model args safe to write: declared secrets and secret-looking names hidden, URLs cleaned.

    `*_env` args name an environment variable, not a value, so they are kept.
    """
    secret = set(secret_names)
    out: dict[str, str] = {}
    for name, value in args.items():
        if name in secret or (_SECRET_NAME.search(name) and not name.endswith("_env")):
            out[name] = REDACTED
        elif isinstance(value, str) and "://" in value:
            out[name] = redact_url(value)
        else:
            out[name] = value
    return out
