"""The `openai` backend: an OpenAI-compatible server answering choice and generate requests.

Model args: model=NAME, base_url=URL (default https://api.openai.com/v1), api=chat|completions,
api_key_env=VAR (default OPENAI_API_KEY), num_concurrent=8, max_retries=5, timeout=60,
estimator=auto|exact|top_logprobs|sampled, n_samples=20, temperature=1.0 (sampled only),
seed= (default: the run seed), top_logprobs=20, max_top_logprobs=1000,
alpha=1.0 (sampled smoothing), prefill=false|true (chat only), backoff=1.0, max_backoff=60,
sample_max_tokens=16.
See docs/openai-backend.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from moralbench.backend import Backend, BackendOptions
from moralbench.chat_protocol import PromptMode, answer_spellings
from moralbench.errors import OptionError
from moralbench.redaction import redact_url
from moralbench.requests import (
    ChoiceRequest,
    ChoiceResponse,
    GenerateRequest,
    GenerateResponse,
    Request,
)

from .credentials import load_credentials
from .echo_scoring import continuation_logprob, split_prompt
from .event_loop import LoopThread
from .http_client import ApiClient, ApiError
from .payloads import (
    cut_at_stop,
    echo_payload,
    endpoint,
    generate_payload,
    sampling_payload,
    strip_echoed_prefix,
    top_logprobs_payload,
)
from .preview import OpenAIPromptPreview, base_payload, prompt_mode
from .probe import probe_estimator
from .replies import (
    echoed_tokens,
    ended_at_once,
    finish_reason,
    first_token_top_logprobs,
    reply_texts,
)
from .sampled import smoothed_logprobs
from .settings import parse_settings
from .top_logprobs import AmbiguousChoices, choice_logprobs_from_top

#: the first answer token's (token, log-prob) list, and whether min_tokens=1 was needed
TopList = tuple[list[tuple[str, float]], bool]
#: a server's answer to a longer top-logprobs list than it allows (OpenAI, vLLM: 400)
REFUSED_STATUSES = (400, 422)
#: bumped whenever the prompt a request turns into changes, so old cached answers are not reused
PROMPT_PROTOCOL = 2


class OpenAIBackend(Backend):
    estimators = ("exact", "top_logprobs", "sampled")

    def __init__(self, args: Mapping[str, str], options: BackendOptions) -> None:
        self.settings = parse_settings(args, options.seed)
        credentials = load_credentials(self.settings)
        self.client = ApiClient(self.settings, credentials)
        self.loop = LoopThread()
        self.probe_notes: dict[str, str] = {}
        #: why the server would not list `max_top_logprobs` tokens (None: not refused yet)
        self.widening_refused: str | None = None
        try:
            self.estimator = self._choose_estimator()
        except BaseException:
            self.close()
            raise

    def _choose_estimator(self) -> str:
        requested = self.settings.estimator
        if requested == "exact" and self.settings.api != "completions":
            raise OptionError(
                "estimator=exact needs api=completions: the chat endpoint cannot return the "
                "log-probs of a given answer"
            )
        if requested != "auto":
            return requested
        estimator, self.probe_notes = self.loop.run(probe_estimator(self.client, self.settings))
        return estimator

    # -- identity -----------------------------------------------------------------------
    def _answer_settings(self) -> dict[str, Any]:
        """Everything besides the request itself that changes an answer."""
        s = self.settings
        facts: dict[str, Any] = {
            "base_url": redact_url(s.base_url),
            "model": s.model,
            "api": s.api,
            "estimator": self.estimator,
        }
        facts["prompt_mode"] = self.prompt_mode().as_dict()
        if self.estimator == "top_logprobs":
            facts["top_logprobs"] = s.top_logprobs
            facts["max_top_logprobs"] = s.max_top_logprobs
        if self.estimator == "sampled":
            facts.update(
                n_samples=s.n_samples,
                temperature=s.temperature,
                seed=s.seed,
                alpha=s.alpha,
                sample_max_tokens=s.sample_max_tokens,
            )
        return facts

    def fingerprint(self) -> str:
        payload = {
            "backend": "openai",
            "prompt_protocol": PROMPT_PROTOCOL,
            **self._answer_settings(),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        s = self.settings
        facts: dict[str, Any] = {
            "backend": "openai",
            **self._answer_settings(),
            "estimator_requested": s.estimator,
            "num_concurrent": s.num_concurrent,
            "max_retries": s.max_retries,
            "timeout": s.timeout,
            "requests": self.client.stats.as_dict(),
        }
        if self.probe_notes:
            facts["estimator_probe"] = dict(self.probe_notes)
        if self.widening_refused:
            facts["max_top_logprobs_refused"] = self.widening_refused
        return facts

    # -- prompts (moralbench.chat_protocol, through .preview) ---------------------------
    def prompt_mode(self) -> PromptMode:
        return prompt_mode(self.settings)

    def spellings(self, request: ChoiceRequest) -> tuple[tuple[str, ...], ...]:
        return answer_spellings(request.choices, request.variants, self.prompt_mode())

    def shown_prompt(self, request: Request) -> dict[str, Any]:
        """The endpoint and the prompt part of the body as sent (no key, no base URL)."""
        return OpenAIPromptPreview(self.settings).shown_prompt(request)

    # -- choice scoring -----------------------------------------------------------------
    def score_choices(
        self, requests: Sequence[ChoiceRequest]
    ) -> Iterator[tuple[int, ChoiceResponse]]:
        scorers = {
            "exact": self._score_exact,
            "top_logprobs": self._score_top_logprobs,
            "sampled": self._score_sampled,
        }
        scorer = scorers[self.estimator]

        async def job(index: int) -> ChoiceResponse:
            try:
                logprobs, details = await scorer(requests[index])
            except (ApiError, AmbiguousChoices, ValueError) as exc:
                return ChoiceResponse((), self.estimator, {}, error=str(exc))
            return ChoiceResponse(logprobs, self.estimator, details)

        yield from self.loop.stream(len(requests), job, self.settings.num_concurrent)

    def _base_payload(self, request: ChoiceRequest | GenerateRequest) -> dict[str, Any]:
        return base_payload(self.settings, request)

    async def _score_exact(
        self, request: ChoiceRequest
    ) -> tuple[tuple[float, ...], dict[str, Any]]:
        async def one(choice: str) -> tuple[float, dict[str, Any]]:
            prompt, boundary = split_prompt(request.context, request.answer_prefix, choice)
            data = await self.client.post("completions", echo_payload(self.settings.model, prompt))
            return continuation_logprob(echoed_tokens(data), boundary, len(prompt))

        spellings = self.spellings(request)
        flat = [text for group in spellings for text in group]
        outcomes = await asyncio.gather(*(one(c) for c in flat), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        scored: list[tuple[float, dict[str, Any]]] = outcomes  # type: ignore[assignment]
        details: dict[str, Any] = {
            "choice_tokens": [d["tokens"] for _, d in scored],
            "boundary_merged": any(d["boundary_merged"] for _, d in scored),
        }
        logprobs, start = [], 0
        for group in spellings:
            values = [lp for lp, _ in scored[start : start + len(group)]]
            start += len(group)
            top = max(values)
            logprobs.append(top + math.log(sum(math.exp(v - top) for v in values)))
        if len(flat) > len(spellings):
            details["spelling_logprobs"] = [lp for lp, _ in scored]
        return tuple(logprobs), details

    async def _score_top_logprobs(
        self, request: ChoiceRequest
    ) -> tuple[tuple[float, ...], dict[str, Any]]:
        spellings = self.spellings(request)
        listed, retried = await self._first_token_list(request, self.settings.top_logprobs)
        logprobs, details = choice_logprobs_from_top(spellings, listed)
        if details["floored"] and self._may_widen():
            wider = await self._wider_list(request)
            if wider is not None:
                listed, retried_wider = wider
                retried = retried or retried_wider
                logprobs, details = choice_logprobs_from_top(spellings, listed)
                details["widened_to"] = self.settings.max_top_logprobs
        if retried:
            details["min_tokens_retry"] = True
        return logprobs, details

    def _may_widen(self) -> bool:
        s = self.settings
        return s.max_top_logprobs > s.top_logprobs and self.widening_refused is None

    async def _wider_list(self, request: ChoiceRequest) -> TopList | None:
        """A choice was missing from the top-k list, so its probability could only be
        bounded: ask once more for `max_top_logprobs` tokens. A server that refuses so long a
        list (OpenAI allows 20) is not asked again, and the bound stands."""
        try:
            return await self._first_token_list(request, self.settings.max_top_logprobs)
        except ApiError as exc:
            if exc.status not in REFUSED_STATUSES:
                raise
            self.widening_refused = str(exc)
            return None

    async def _first_token_list(self, request: ChoiceRequest, k: int) -> TopList:
        """The first answer token's top-k (token, log-prob) list, and whether the server had
        to be asked again with `min_tokens=1`."""
        api = self.settings.api
        payload = top_logprobs_payload(self._base_payload(request), api, k)
        data = await self.client.post(endpoint(api), payload)
        retried = ended_at_once(data, api)
        if retried:
            data = await self._post_at_least_one_token(api, payload)
        return list(first_token_top_logprobs(data, api)), retried

    async def _post_at_least_one_token(self, api: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Ask again with `min_tokens=1` (vLLM, llama-cpp-python): the server then lists the
        first token's top log-probs, end-of-text among them, instead of stopping at once."""
        try:
            return await self.client.post(endpoint(api), {**payload, "min_tokens": 1})
        except ApiError as exc:
            raise ApiError(
                "the model's most likely first token is end-of-text and the server listed no "
                f"log-probs; asking with min_tokens=1 failed: {exc}",
                exc.status,
            ) from None

    async def _score_sampled(
        self, request: ChoiceRequest
    ) -> tuple[tuple[float, ...], dict[str, Any]]:
        s = self.settings
        base = self._base_payload(request)
        replies: list[str] = []
        # Servers that ignore `n` return one reply; ask again with a new seed for the rest.
        for round_number in range(s.n_samples):
            wanted = s.n_samples - len(replies)
            if wanted <= 0:
                break
            payload = sampling_payload(
                base,
                n=wanted,
                temperature=s.temperature,
                max_tokens=s.sample_max_tokens,
                seed=s.seed + round_number,
            )
            data = await self.client.post(endpoint(s.api), payload)
            replies += reply_texts(data, s.api)[:wanted]
        if s.api == "chat" and not s.prefill:
            replies = [strip_echoed_prefix(r, request.answer_prefix) for r in replies]
        return smoothed_logprobs(replies, self.spellings(request), s.alpha)

    # -- generation ---------------------------------------------------------------------
    def generate(
        self, requests: Sequence[GenerateRequest]
    ) -> Iterator[tuple[int, GenerateResponse]]:
        async def job(index: int) -> GenerateResponse:
            request = requests[index]
            payload = generate_payload(
                self._base_payload(request),
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                seed=request.seed,
                stop=request.stop,
            )
            try:
                data = await self.client.post(endpoint(self.settings.api), payload)
                text = reply_texts(data, self.settings.api)[0]
                details: dict[str, Any] = {"finish_reason": finish_reason(data)}
            except ApiError as exc:
                return GenerateResponse("", {}, error=str(exc))
            if self.settings.api == "chat" and not self.settings.prefill:
                text = strip_echoed_prefix(text, request.answer_prefix)
            return GenerateResponse(cut_at_stop(text, request.stop), details)

        yield from self.loop.stream(len(requests), job, self.settings.num_concurrent)

    def close(self) -> None:
        if self.loop.loop.is_closed():
            return
        try:
            self.loop.run(self.client.aclose())
        finally:
            self.loop.close()
