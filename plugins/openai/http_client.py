"""POST JSON to an OpenAI-compatible server, with bounded concurrency and retries.

One `ApiClient` per backend, used only from the backend's event loop. At most
`num_concurrent` requests are in flight; a request waiting to retry does not hold a slot.
Every message this module produces is scrubbed of the key and URL secrets.

The HTTP itself is `http_transport` (keep-alive connections, reused newest first so a lightly
used backend keeps its warm ones): at 64 and 256 requests in flight httpx's own CPU, not the
server, was the limit (see docs/performance.md, "API client").
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from typing import Any

from moralbench import __version__
from moralbench.errors import OptionError

from .credentials import Credentials
from .http_transport import (
    ConnectionPool,
    ConnectTimeout,
    ReplyTimeout,
    TransportError,
    make_endpoint,
)
from .retry import backoff_delay, is_retryable_status, parse_retry_after
from .settings import ApiSettings

log = logging.getLogger("moralbench.openai")
BODY_EXCERPT = 300


class ApiError(Exception):
    """A request that failed for good. The message is scrubbed and goes into the samples file."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _RetryableFailure(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class RequestStats:
    attempts: int = 0
    retries: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"http_attempts": self.attempts, "retries": self.retries, "failed": self.failed}


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


class ApiClient:
    def __init__(self, settings: ApiSettings, credentials: Credentials) -> None:
        self.settings = settings
        self.credentials = credentials
        self.stats = RequestStats()
        self._rng = random.Random(settings.seed)
        try:
            endpoint = make_endpoint(
                settings.base_url,
                credentials.headers(),
                user_agent=f"moralbench/{__version__}",
            )
        except ValueError as exc:
            raise OptionError(f"openai backend: {credentials.scrub(str(exc))}") from None
        self._pool = ConnectionPool(endpoint)
        self._slots: asyncio.Semaphore | None = None

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The decoded JSON reply; raises `ApiError` once retries are used up."""
        attempts = self.settings.max_retries + 1
        body = _encode(payload)
        last: _RetryableFailure | None = None
        for attempt in range(attempts):
            try:
                return await self._send_once(path, body)
            except _RetryableFailure as failure:
                last = failure
            if attempt + 1 == attempts:
                break
            delay = backoff_delay(
                attempt,
                base=self.settings.backoff,
                cap=self.settings.max_backoff,
                rng=self._rng,
                retry_after=last.retry_after,
            )
            self.stats.retries += 1
            log.info(
                "%s: %s; retry %d/%d in %.2fs",
                path,
                last,
                attempt + 1,
                self.settings.max_retries,
                delay,
            )
            await asyncio.sleep(delay)
        self.stats.failed += 1
        message = f"gave up after {attempts} attempt(s): {last}"
        log.warning("%s: %s", path, message)
        raise ApiError(message)

    async def _send_once(self, path: str, body: bytes) -> dict[str, Any]:
        if self._slots is None:  # created on first use, inside the loop that uses it
            self._slots = asyncio.Semaphore(self.settings.num_concurrent)
        timeout = self.settings.timeout
        async with self._slots:
            self.stats.attempts += 1
            try:
                reply = await self._pool.post(path, body, timeout)
            except ConnectTimeout:
                raise _RetryableFailure(f"timed out after {timeout:g}s (connecting)") from None
            except ReplyTimeout:
                raise _RetryableFailure(
                    f"timed out after {timeout:g}s (waiting for the reply)"
                ) from None
            except TransportError as exc:
                raise _RetryableFailure(
                    f"connection error ({self.credentials.scrub(str(exc))})"
                ) from None
        status = reply.status
        if not 200 <= status < 300:
            # Scrubbed whole, then cut: a cut first could leave part of an echoed key.
            text = self.credentials.scrub(reply.body.decode("utf-8", "replace"))
            message = f"HTTP {status}: {text[:BODY_EXCERPT]}"
            if is_retryable_status(status):
                raise _RetryableFailure(message, parse_retry_after(reply.headers))
            self.stats.failed += 1
            log.warning("%s: %s (not retried)", path, message)
            raise ApiError(message, status)
        try:
            data = json.loads(reply.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _RetryableFailure(
                f"reply is not complete JSON ({len(reply.body)} bytes; truncated?)"
            ) from None
        if not isinstance(data, dict):
            raise _RetryableFailure("reply is JSON but not an object")
        return data

    async def aclose(self) -> None:
        self._pool.close()
