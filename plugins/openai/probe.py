"""`estimator=auto`: ask the server once which estimator it supports, best first.

exact (completions with `echo` returning prompt log-probs; api=completions only, since the
chat endpoint cannot score a prompt), else top_logprobs, else sampled. A server that cannot
be reached, or refuses the key, stops the run here rather than silently picking `sampled`.
"""

from __future__ import annotations

from moralbench.errors import MoralbenchError
from moralbench.redaction import redact_url

from .echo_scoring import continuation_logprob, split_prompt
from .http_client import ApiClient, ApiError
from .payloads import echo_payload, endpoint, prompt_payload, top_logprobs_payload
from .replies import ReplyFormatError, echoed_tokens, first_token_top_logprobs
from .settings import ApiSettings

PROBE_CONTEXT = "The capital of France is"
#: how far an echoed log-prob may sit from the same token's generation log-prob (nats); kernel
#: and batching differences are far smaller, an off-by-one echo is off by whole nats
ECHO_TOLERANCE = 0.5
AUTH_STATUSES = (401, 403)


async def probe_estimator(client: ApiClient, settings: ApiSettings) -> tuple[str, dict[str, str]]:
    """The best supported estimator and, per estimator tried, what the server said."""
    notes: dict[str, str] = {}
    if settings.api == "completions":
        try:
            verdict = await _echo_verdict(client, settings)
        except ApiError as exc:
            _stop_unless_unsupported(exc, settings)
            verdict = f"unsupported: {exc}"
        notes["exact"] = verdict
        if verdict == "supported":
            return "exact", notes
    base = prompt_payload(settings.api, settings.model, PROBE_CONTEXT, "", "user")
    try:
        data = await client.post(
            endpoint(settings.api),
            top_logprobs_payload(base, settings.api, min(5, settings.top_logprobs)),
        )
        first_token_top_logprobs(data, settings.api)
        notes["top_logprobs"] = "supported"
        return "top_logprobs", notes
    except ApiError as exc:
        _stop_unless_unsupported(exc, settings)
        notes["top_logprobs"] = f"unsupported: {exc}"
    notes["sampled"] = "chosen (needs only text replies)"
    return "sampled", notes


async def _echo_verdict(client: ApiClient, settings: ApiSettings) -> str:
    """'supported' when the server's echoed prompt log-probs are the log-probs of each token
    given the tokens before it.

    The server's most likely next token after the probe context is asked for first, then
    the context plus that token is echoed: both must give the token the same log-prob.
    llama-cpp-python 0.3.x echoes each token's log-prob one position late (the distribution
    after the token), which this catches; `exact` would score garbage on such a server.
    """
    base = prompt_payload("completions", settings.model, PROBE_CONTEXT, "", "user")
    listed = first_token_top_logprobs(
        await client.post("completions", top_logprobs_payload(base, "completions", 1)),
        "completions",
    )
    token, expected = max(listed, key=lambda pair: pair[1])
    prompt, boundary = split_prompt(PROBE_CONTEXT, "", token)
    data = await client.post("completions", echo_payload(settings.model, prompt))
    echoed, facts = continuation_logprob(echoed_tokens(data), boundary, len(prompt))
    if facts["tokens"] != 1 or facts["boundary_merged"]:
        return "supported"  # the token did not come back alone: nothing to compare
    if abs(echoed - expected) > ECHO_TOLERANCE:
        return (
            f"unreliable: the echoed log-prob of {token!r} is {echoed:.3f} but generating it "
            f"gives {expected:.3f} (echo log-probs are not conditional on the prefix)"
        )
    return "supported"


def _stop_unless_unsupported(exc: ApiError, settings: ApiSettings) -> None:
    where = redact_url(settings.base_url)
    if exc.status in AUTH_STATUSES:
        raise MoralbenchError(
            f"{where} refused the request (HTTP {exc.status}): check the key in "
            f"${settings.api_key_env}"
        ) from None
    if exc.status is None and not isinstance(exc, ReplyFormatError):
        raise MoralbenchError(f"could not probe {where} for estimator=auto: {exc}") from None
