"""A loopback OpenAI-compatible server with a deterministic fake model and injected faults.

The fake model answers the chat and completions endpoints (top log-probs, echoed prompt
log-probs, sampling with `n` and `seed`, generation with `stop`) from hashes of the request,
so the same request always gets the same answer: a run through faults must end with the
same metrics as a run without them.

Faults, chosen per request at `fault_rate` from `faults`: "429" (with Retry-After), "500",
"truncated" (a 200 whose JSON is cut short), "slow" (sleeps `slow_seconds`, past the
client's timeout) and "drop" (closes the connection without a reply). Which attempts fail
is a function of (seed, request body, how often that body was seen), so it does not depend
on thread timing. `fail_after=N` answers the first N requests and fails every later one
with 500. `latency` delays every reply (for the throughput benchmark).

Run standalone (prints the base URL, serves until killed):
    python tests/fault_server.py --latency 0.2 [--port 0]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("429", "500", "truncated", "slow", "drop")
CANDIDATES = (
    " yes",
    " no",
    " Yes",
    " No",
    "Yes",
    "No",
    " A",
    " B",
    "A",
    "B",
    " maybe",
    " The",
    " I",
    " It",
    " wrong",
    " right",
)
LISTED_MASS = 0.9  # the fake vocabulary's top list covers 90% of the probability
WORDS = ("the", "act", "was", "kind", "unfair", "because", "people", "agree", "often", "so")


def _unit(*parts: Any) -> float:
    """A number in [0, 1) fixed by the parts."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# -- the fake model -------------------------------------------------------------------------
def _prompt_key(body: dict[str, Any]) -> str:
    if "messages" in body:
        return json.dumps(body["messages"], sort_keys=True)
    return str(body.get("prompt", ""))


def next_token_distribution(prompt_key: str) -> list[tuple[str, float]]:
    """(token, log-prob) for the candidate first tokens, most likely first."""
    logits = [4.0 * _unit("logit", prompt_key, token) for token in CANDIDATES]
    top = max(logits)
    weights = [math.exp(x - top) for x in logits]
    total = sum(weights)
    pairs = [
        (t, math.log(LISTED_MASS * w / total)) for t, w in zip(CANDIDATES, weights, strict=True)
    ]
    return sorted(pairs, key=lambda pair: -pair[1])


def _split_tokens(text: str) -> list[tuple[str, int]]:
    return [(m.group(), m.start()) for m in re.finditer(r"\s*\S+|\s+", text)]


def _token_logprob(prefix: str, token: str) -> float:
    """Echoed log-prob of `token` after `prefix`, consistent with the top list there."""
    listed = dict(next_token_distribution(prefix))
    if token in listed:
        return listed[token]
    return -0.1 - 6.0 * _unit("token", prefix, token)


def _sample(prompt_key: str, seed: int, draw: int) -> str:
    pairs = next_token_distribution(prompt_key)
    r = _unit("sample", prompt_key, seed, draw) * LISTED_MASS
    for token, lp in pairs:
        r -= math.exp(lp)
        if r <= 0:
            return token
    return pairs[-1][0]


def _generated_text(prompt_key: str, seed: Any, max_tokens: int) -> str:
    words = []
    for i in range(max_tokens):
        word = WORDS[int(_unit("gen", prompt_key, seed, i) * len(WORDS))]
        words.append(word + ("." if i % 4 == 3 else ""))
    return " " + " ".join(words)


def fake_reply(
    path: str, body: dict[str, Any], *, echo: bool, logprobs: bool, shifted_echo: bool = False
) -> dict[str, Any]:
    """The fake model's reply to a chat or completions request (raises ValueError if bad)."""
    chat = path.endswith("/chat/completions")
    key = _prompt_key(body)
    n = int(body.get("n") or 1)
    max_tokens = int(body.get("max_tokens") or 16)
    temperature = float(body.get("temperature", 1.0))
    seed = body.get("seed")
    stops = body.get("stop") or []
    stops = [stops] if isinstance(stops, str) else list(stops)
    choices = []
    for index in range(n):
        if max_tokens == 1 or temperature > 0:
            text = (
                _sample(key, seed, index) if temperature > 0 else next_token_distribution(key)[0][0]
            )
            if max_tokens > 1:
                text += " because of reasons"
        else:
            text = _generated_text(key, seed, max_tokens)
        finish = "length"
        for stop in stops:
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
        choice: dict[str, Any] = {"index": index, "finish_reason": finish}
        if chat:
            choice["message"] = {"role": "assistant", "content": text.lstrip()}
        else:
            choice["text"] = text
        choices.append(choice)
    wants_logprobs = body.get("logprobs") not in (None, False, 0) or body.get("echo")
    if wants_logprobs:
        if not logprobs or (body.get("echo") and not echo):
            raise ValueError("this server does not return log-probs")
        first = choices[0]
        top = next_token_distribution(key)
        if chat:
            k = int(body.get("top_logprobs") or 0)
            entries = [{"token": t, "logprob": lp} for t, lp in top[:k]]
            token = first["message"]["content"]
            first["logprobs"] = {
                "content": [{"token": token, "logprob": top[0][1], "top_logprobs": entries}]
            }
        elif body.get("echo"):
            prompt = str(body["prompt"])
            tokens = _split_tokens(prompt)
            values = [None] + [_token_logprob(prompt[:o], t) for t, o in tokens[1:]]
            if shifted_echo:  # llama-cpp-python 0.3.x: each value is taken one position late
                values = [None] + [_token_logprob(prompt[: o + len(t)], t) for t, o in tokens[1:]]
            generated = first["text"]
            first["text"] = prompt + generated
            first["logprobs"] = {
                "tokens": [t for t, _ in tokens] + [generated],
                "token_logprobs": values + [top[0][1]],
                "text_offset": [o for _, o in tokens] + [len(prompt)],
                "top_logprobs": None,
            }
        else:
            k = int(body["logprobs"])
            first["logprobs"] = {
                "tokens": [first["text"]],
                "token_logprobs": [top[0][1]],
                "text_offset": [0],
                "top_logprobs": [dict(top[:k])],
            }
    return {
        "id": "fake-" + hashlib.sha256(key.encode()).hexdigest()[:12],
        "object": "chat.completion" if chat else "text_completion",
        "model": body.get("model", "fake"),
        "choices": choices,
        "usage": {"prompt_tokens": len(_split_tokens(key)), "completion_tokens": max_tokens},
    }


def stopped_at_once(reply: dict[str, Any]) -> dict[str, Any]:
    """The reply llama-cpp-python sends when the first token is end-of-text: no tokens, and
    empty log-prob lists."""
    for choice in reply["choices"]:
        choice["finish_reason"] = "stop"
        if "message" in choice:
            choice["message"]["content"] = ""
            if "logprobs" in choice:
                choice["logprobs"] = {"content": []}
        else:
            choice["text"] = ""
            if "logprobs" in choice:
                choice["logprobs"] = {
                    "tokens": [],
                    "token_logprobs": [],
                    "text_offset": [],
                    "top_logprobs": [],
                }
    return reply


# -- the server -----------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the throughput benchmark opens 64 connections at once


@dataclass
class FaultPlan:
    fault_rate: float = 0.0
    faults: tuple[str, ...] = FAULTS
    seed: int = 0
    retry_after: str = "0.05"
    slow_seconds: float = 1.5
    latency: float = 0.0
    fail_after: int | None = None
    api_key: str | None = None
    echo: bool = True
    shifted_echo: bool = False  # echoed log-probs one position late (llama-cpp-python 0.3.x)
    logprobs: bool = True
    stops_at_once: bool = False  # one-token replies end at once unless min_tokens is sent
    min_tokens: bool = True  # whether the server accepts the min_tokens parameter
    max_top_logprobs: int | None = None  # longer top-logprobs lists are refused (OpenAI: 20)


@dataclass
class Counts:
    received: int = 0
    answered: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    bodies: Counter[str] = field(default_factory=Counter)
    answered_bodies: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    most_in_flight: int = 0
    top_logprobs_asked: list[int] = field(default_factory=list)  # k of each logprobs request


class FaultServer:
    """Serve on 127.0.0.1 (a free port) in a background thread: `with FaultServer() as s:`."""

    def __init__(self, plan: FaultPlan | None = None, port: int = 0) -> None:
        self.plan = plan or FaultPlan()
        self.counts = Counts()
        self.lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", port), _handler_for(self))
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> FaultServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def choose_fault(self, raw: bytes) -> str | None:
        """Record the request; return the fault to inject, if any."""
        digest = hashlib.sha256(raw).hexdigest()
        with self.lock:
            self.counts.received += 1
            seen = self.counts.bodies[digest]
            self.counts.bodies[digest] += 1
            position = self.counts.received
        plan = self.plan
        if plan.fail_after is not None and position > plan.fail_after:
            return "500"
        if plan.fault_rate <= 0 or _unit("fault?", plan.seed, digest, seen) >= plan.fault_rate:
            return None
        return plan.faults[int(_unit("kind", plan.seed, digest, seen) * len(plan.faults))]

    def record(self, raw: bytes, fault: str | None) -> None:
        with self.lock:
            if fault is None:
                self.counts.answered += 1
                self.counts.answered_bodies[hashlib.sha256(raw).hexdigest()] += 1
            else:
                self.counts.faults[fault] += 1


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle's algorithm
            # and delayed ACKs add ~40 ms to every keep-alive reply.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            return

        def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps({"error": {"message": message}}).encode(), headers)

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            counts = server.counts
            with server.lock:
                counts.in_flight += 1
                counts.most_in_flight = max(counts.most_in_flight, counts.in_flight)
            try:
                self._answer()
            finally:
                with server.lock:
                    counts.in_flight -= 1

        def _answer(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            plan = server.plan
            if plan.latency:
                time.sleep(plan.latency)
            if plan.api_key is not None:
                given = self.headers.get("Authorization", "")
                if given != f"Bearer {plan.api_key}":
                    # Echo the key back, as careless servers do: the client must scrub it.
                    self._error(401, f"Incorrect API key provided: {given.removeprefix('Bearer ')}")
                    return
            fault = server.choose_fault(raw)
            server.record(raw, fault)
            if fault == "429":
                self._error(429, "rate limited", {"Retry-After": plan.retry_after})
                return
            if fault == "500":
                self._error(500, "internal error")
                return
            if fault == "drop":
                self.close_connection = True
                return
            if fault == "slow":
                time.sleep(plan.slow_seconds)
            try:
                body = json.loads(raw)
                if "min_tokens" in body and not plan.min_tokens:
                    raise ValueError("Unrecognized request argument supplied: min_tokens")
                k = body.get("top_logprobs") or body.get("logprobs")
                if k is not None and not body.get("echo"):
                    with server.lock:
                        server.counts.top_logprobs_asked.append(int(k))
                if plan.max_top_logprobs is not None and int(k or 0) > plan.max_top_logprobs:
                    raise ValueError(f"top_logprobs must be at most {plan.max_top_logprobs}")
                reply = fake_reply(
                    self.path,
                    body,
                    echo=plan.echo,
                    logprobs=plan.logprobs,
                    shifted_echo=plan.shifted_echo,
                )
            except (ValueError, KeyError, TypeError) as exc:
                self._error(400, str(exc))
                return
            one_token = body.get("max_tokens") == 1 and not body.get("echo")
            if plan.stops_at_once and one_token and "min_tokens" not in body:
                reply = stopped_at_once(reply)
            payload = json.dumps(reply).encode()
            if fault == "truncated":
                payload = payload[: len(payload) // 2]
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(200, payload)  # fails when the client gave up on a slow reply

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    server = FaultServer(FaultPlan(latency=args.latency, fault_rate=args.fault_rate), args.port)
    print(server.url, flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
