"""A lean loopback OpenAI-compatible server for the API throughput benchmark.

`tests/fault_server.py` spends 0.55-0.66 ms of CPU per request (a thread per connection,
`http.server` parsing, a hashed fake model, `json.dumps`): on a 2-core machine that competes
with the client being measured whenever 256 replies fall due at once. This server spends a
few tens of microseconds: one asyncio event loop, requests parsed at the protocol level
(request line, Content-Length, the body skipped), and each reply, precomputed bytes, written
`--latency` seconds after its request arrived by `loop.call_later`, so nothing blocks and no
thread waits per request.

It answers POST /v1/completions and /v1/chat/completions with one fixed greedy token and a
fixed first-token top log-probs list (`TOP_LOGPROBS`), the shape the `openai` backend's
top_logprobs estimator reads; any other path gets a 404. HTTP/1.1 keep-alive, bodies framed
by Content-Length only (no chunked requests), replies in request order on each connection.

Run standalone (prints the base URL on the first line, serves until killed):
    python benchmarks/lean_openai_server.py --latency 0.2 [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import deque
from typing import Any

#: the first answer token's top log-probs, most likely first: completions scores the choices
#: " yes" / " no" at -0.5 / -1.5, chat (no leading space) "yes" / "no" at -3.0 / -3.5
TOP_LOGPROBS = {" yes": -0.5, " no": -1.5, "yes": -3.0, "no": -3.5}
MAX_HEAD_BYTES = 64 * 1024


def _completions_reply() -> dict[str, Any]:
    token, logprob = next(iter(TOP_LOGPROBS.items()))
    logprobs = {
        "tokens": [token],
        "token_logprobs": [logprob],
        "text_offset": [0],
        "top_logprobs": [TOP_LOGPROBS],
    }
    choice = {"index": 0, "text": token, "finish_reason": "length", "logprobs": logprobs}
    return {"id": "lean", "object": "text_completion", "model": "lean", "choices": [choice]}


def _chat_reply() -> dict[str, Any]:
    token, logprob = next(iter(TOP_LOGPROBS.items()))
    top = [{"token": t, "logprob": lp} for t, lp in TOP_LOGPROBS.items()]
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": token.lstrip()},
        "finish_reason": "length",
        "logprobs": {"content": [{"token": token, "logprob": logprob, "top_logprobs": top}]},
    }
    return {"id": "lean", "object": "chat.completion", "model": "lean", "choices": [choice]}


def _response(status: str, payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


REPLIES = {
    "/v1/completions": _response("200 OK", _completions_reply()),
    "/v1/chat/completions": _response("200 OK", _chat_reply()),
}
NOT_FOUND = _response("404 Not Found", {"error": {"message": "no such endpoint"}})
BAD_REQUEST = _response("400 Bad Request", {"error": {"message": "malformed request"}})


class _Connection(asyncio.Protocol):
    """One client connection: parse requests as bytes arrive, answer each after the latency."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.buffer = bytearray()
        self.body_left = 0  # bytes of the current request's body still to skip
        self.due: deque[tuple[bytes, bool]] = deque()  # (reply, close after it), oldest first
        self.closing = False  # a reply that closes the connection is queued: read no more

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.buffer += data
        while True:
            if self.body_left:
                skipped = min(self.body_left, len(self.buffer))
                del self.buffer[:skipped]
                self.body_left -= skipped
                if self.body_left:
                    return
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    self._queue(BAD_REQUEST, close=True)
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[: end + 4]
            if not self._accept(head):
                return

    def _accept(self, head: str) -> bool:
        """Queue the reply to one request head; False when the connection is done."""
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        length, close = 0, False
        try:
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection":
                    close = "close" in value.lower()
                elif name == "transfer-encoding":
                    raise ValueError("only Content-Length bodies are supported")
        except ValueError:
            self._queue(BAD_REQUEST, close=True)
            return False
        if len(parts) != 3 or length < 0:
            self._queue(BAD_REQUEST, close=True)
            return False
        method, target, _ = parts
        reply = REPLIES.get(target.split("?", 1)[0]) if method == "POST" else None
        self.body_left = length
        self._queue(reply or NOT_FOUND, close=close)
        return not close

    def _queue(self, reply: bytes, *, close: bool) -> None:
        # Every reply waits the same latency, so the oldest due is always the next to send:
        # replies leave in request order whichever timer of a tie fires first.
        self.due.append((reply, close))
        self.closing = close
        self.loop.call_later(self.latency, self._send_oldest)

    def _send_oldest(self) -> None:
        reply, close = self.due.popleft()
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(reply)
        if close:
            self.transport.close()


async def serve(latency: float, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(latency), "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{bound}/v1", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    args = parser.parse_args()
    asyncio.run(serve(args.latency, args.port))


if __name__ == "__main__":
    main()
