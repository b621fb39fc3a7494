"""The API key: read from the environment only, and kept out of every text we produce.

The key lives in one `Credentials` object whose repr hides it. Everything the backend writes
(error messages, log lines) goes through `scrub`, which also hides a password or secret query
value in `base_url`, in case a server echoes them back in an error body.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlsplit

from moralbench.errors import OptionError
from moralbench.redaction import REDACTED, redact_url

from .settings import ApiSettings

MIN_SECRET_LENGTH = 4  # shorter "secrets" would blank out ordinary words


class Credentials:
    """Request headers with the key, and a scrubber for every secret we know of."""

    def __init__(self, api_key: str | None, url_secrets: list[str]) -> None:
        self._api_key = api_key
        secrets = [api_key, *url_secrets] if api_key else list(url_secrets)
        self._secrets = sorted(
            {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
        )

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def __repr__(self) -> str:
        return f"Credentials(api_key={REDACTED if self._api_key else None})"


def _url_secrets(url: str) -> list[str]:
    """Userinfo, and the query values that `redact_url` hides (one rule for what is secret)."""
    parts = urlsplit(url)
    found = [p for p in (parts.username, parts.password) if p]
    original = parse_qsl(parts.query)
    redacted = parse_qsl(urlsplit(redact_url(url)).query)
    if len(original) == len(redacted):
        found += [v for (_, v), (_, r) in zip(original, redacted, strict=True) if r != v]
    return found


def load_credentials(settings: ApiSettings) -> Credentials:
    """The key from the environment variable `settings.api_key_env`.

    A missing key is fine for local servers (no Authorization header is sent), unless the
    user named the variable explicitly, which says they expect one.
    """
    api_key = os.environ.get(settings.api_key_env) or None
    if api_key is None and settings.api_key_env_given:
        raise OptionError(
            f"environment variable {settings.api_key_env} (api_key_env) is not set or empty"
        )
    return Credentials(api_key, _url_secrets(settings.base_url))
