"""The throughput benchmark's lean server (`benchmarks/lean_openai_server.py`) answers the real
`openai` backend: every request scored, with the log-probs its fixed top list implies, and
plain HTTP/1.1 keep-alive (replies in request order, 404 for unknown paths, Connection: close
honoured). Speed is measured by `benchmarks/api_throughput.py`, not here."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moralbench.plugins.openai.backend import OpenAIBackend

from moralbench.backend import BackendOptions
from moralbench.requests import ChoiceRequest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from lean_openai_server import TOP_LOGPROBS  # noqa: E402 - found through the path above


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(BENCHMARKS / "lean_openai_server.py"), "--latency", "0.01"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1"), url
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _score(url: str, api: str, requests: list[ChoiceRequest]) -> tuple[list, dict]:
    backend = OpenAIBackend(
        {
            "model": "lean",
            "base_url": url,
            "api": api,
            "estimator": "top_logprobs",
            "num_concurrent": "4",
            "max_retries": "0",
            "timeout": "10",
        },
        BackendOptions(),
    )
    try:
        responses = sorted(backend.score_choices(requests))
        return [response for _, response in responses], backend.describe()["requests"]
    finally:
        backend.close()


@pytest.mark.parametrize(
    ("api", "yes", "no"),
    [("completions", " yes", " no"), ("chat", "yes", "no")],  # chat drops the leading space
)
def test_the_backend_scores_every_request_from_the_fixed_list(
    server_url: str, api: str, yes: str, no: str
) -> None:
    requests = [ChoiceRequest(f"Question {i}: is it fine?", (" yes", " no")) for i in range(10)]
    responses, stats = _score(server_url, api, requests)
    assert [r.error for r in responses] == [None] * 10
    for response in responses:
        assert response.logprobs == (TOP_LOGPROBS[yes], TOP_LOGPROBS[no])
        assert response.details["floored"] == []
    # One POST per request: nothing retried, no wider list asked for.
    assert stats == {"http_attempts": 10, "retries": 0, "failed": 0}


def _post(path: str, body: bytes, extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


def _read_replies(sock: socket.socket, count: int) -> list[tuple[str, bytes]]:
    """(status line, body) of the next `count` replies, framed by their Content-Length."""
    data, replies = b"", []
    while len(replies) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            status, *lines = data[:end].decode("latin-1").split("\r\n")
            headers = {
                n.strip().lower(): v.strip() for n, _, v in (x.partition(":") for x in lines)
            }
            length = int(headers["content-length"])
            if len(data) >= end + 4 + length:
                replies.append((status, data[end + 4 : end + 4 + length]))
                data = data[end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection early"
        data += chunk
    return replies


def test_pipelined_requests_are_answered_in_order_then_closed(server_url: str) -> None:
    port = int(server_url.rsplit(":", 1)[1].split("/")[0])
    body = b'{"model": "lean", "prompt": "Q:", "logprobs": 20, "max_tokens": 1}'
    requests = (
        _post("/v1/chat/completions", body)
        + _post("/v1/nowhere", body)
        + _post("/v1/completions", body, "Connection: close\r\n")
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # In two pieces, cut inside the first body: the server must wait for the rest.
        cut = requests.index(body) + 5
        sock.sendall(requests[:cut])
        sock.sendall(requests[cut:])
        replies = _read_replies(sock, 3)
        assert sock.recv(1) == b""  # closed after the reply to "Connection: close"
    assert [status for status, _ in replies] == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 404 Not Found",
        "HTTP/1.1 200 OK",
    ]
    assert b'"chat.completion"' in replies[0][1]
    assert b'"text_completion"' in replies[2][1]
