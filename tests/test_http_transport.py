"""The openai backend's HTTP/1.1 client against loopback servers that answer in the ways real
servers do: split packets, chunked bodies, gzip, interim replies, closing, TLS, proxies."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from moralbench.plugins.openai.credentials import Credentials
from moralbench.plugins.openai.http_client import ApiClient
from moralbench.plugins.openai.http_transport import (
    ConnectionPool,
    Reply,
    ReplyTimeout,
    TransportError,
    make_endpoint,
)
from moralbench.plugins.openai.settings import parse_settings

from moralbench.errors import OptionError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
BODY = b'{"ok": true}'


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(head, body) of one request."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


async def with_server(
    handler: Handler, use: Callable[[str], Awaitable[object]], tls: ssl.SSLContext | None = None
) -> object:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    scheme = "https" if tls else "http"
    try:
        return await use(f"{scheme}://127.0.0.1:{port}/v1")
    finally:
        server.close()


def replies(*chunks: bytes, pause: float = 0.0) -> Handler:
    """A handler that answers every request on a connection with `chunks`, written apart."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                for chunk in chunks:
                    writer.write(chunk)
                    await writer.drain()
                    await asyncio.sleep(pause)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return handle


def run(handler: Handler, server_tls: ssl.SSLContext | None = None, **endpoint_args: Any) -> list:
    """Two POSTs through one pool to a server answering with `handler`; the two replies."""

    async def use(base: str) -> list[Reply]:
        pool = ConnectionPool(make_endpoint(base, {}, user_agent="test", **endpoint_args))
        try:
            return [await pool.post("completions", b"{}", 5.0) for _ in range(2)]
        finally:
            pool.close()

    return asyncio.run(with_server(handler, use, server_tls))  # type: ignore[return-value]


def test_content_length_body_split_over_packets_and_reused_connection() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Len"
    rest = b"gth: %d\r\nRetry-After: 3\r\n\r\n" % len(BODY)
    connections = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await replies(head, rest, BODY[:4], BODY[4:], pause=0.01)(reader, writer)

    first, second = run(handle)
    assert first.status == 200 and json.loads(first.body) == {"ok": True}
    assert first.headers["retry-after"] == "3"
    assert second.body == BODY
    assert len(connections) == 1  # kept alive and reused


def test_chunked_body_with_extensions_and_trailers() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=x\r\n" + BODY[:5] + b"\r\n" + b"%x\r\n" % (len(BODY) - 5) + BODY[5:] + b"\r\n"
        b"0\r\nX-Trailer: 1\r\n\r\n"
    )
    # one byte per write: every parser state sees a partial buffer
    first, second = run(replies(*[chunked[i : i + 1] for i in range(len(chunked))]))
    assert first.body == BODY and second.body == BODY


def test_gzip_body_interim_reply_and_a_body_that_ends_with_the_connection() -> None:
    packed = gzip.compress(BODY)
    gzipped = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
    gzipped += b"Content-Length: %d\r\n\r\n" % len(packed) + packed
    first, second = run(replies(gzipped))
    assert first.body == BODY and second.body == BODY

    connections = []

    async def close_framed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await read_request(reader)
        writer.write(b"HTTP/1.1 503 Busy\r\nConnection: close\r\n\r\n" + BODY)
        await writer.drain()
        writer.close()

    first, second = run(close_framed)
    assert (first.status, first.body) == (503, BODY) and second.body == BODY
    assert len(connections) == 2  # a closed connection is never reused


def test_a_dropped_connection_and_a_timeout_fail_and_are_not_reused() -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async def use_dropped(base: str) -> None:
        pool = ConnectionPool(make_endpoint(base, {}, user_agent="test"))
        with pytest.raises(TransportError, match="closed the connection"):
            await pool.post("completions", b"{}", 5.0)
        pool.close()

    asyncio.run(with_server(drop, use_dropped))

    answered = []

    async def slow_then_fast(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if not answered:
            await asyncio.sleep(0.5)
        answered.append(1)
        reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
        writer.write(reply + reply)  # the late reply, and one nobody asked for
        await writer.drain()

    async def use_slow(base: str) -> None:
        pool = ConnectionPool(make_endpoint(base, {}, user_agent="test"))
        with pytest.raises(ReplyTimeout):
            await pool.post("completions", b"{}", 0.1)
        assert (await pool.post("completions", b"{}", 5.0)).body == BODY
        pool.close()

    asyncio.run(with_server(slow_then_fast, use_slow))


def test_request_head_carries_auth_query_and_length() -> None:
    seen: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, body = await read_request(reader)
        seen.append(head + body)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()

    async def use(base: str) -> None:
        url = base.replace("http://", "http://us%40er:p%3Ass@") + "?api-version=2024"
        endpoint = make_endpoint(url, {"Authorization": "Bearer k"}, user_agent="test/1")
        pool = ConnectionPool(endpoint)
        await pool.post("chat/completions", b'{"a":1}', 5.0)
        pool.close()

    asyncio.run(with_server(record, use))
    head = seen[0].decode()
    assert head.startswith("POST /v1/chat/completions?api-version=2024 HTTP/1.1\r\n")
    assert "Authorization: Basic dXNAZXI6cDpzcw==\r\n" in head  # us@er:p:ss; replaces Bearer
    assert "Bearer" not in head
    assert "Content-Length: 7\r\n" in head and head.endswith('{"a":1}')


def test_a_key_with_a_line_break_is_refused_without_showing_it() -> None:
    key = "sk-secret\r\nX-Injected: 1"
    settings = parse_settings({"model": "m", "base_url": "http://127.0.0.1:9/v1"})
    with pytest.raises(OptionError) as error:
        ApiClient(settings, Credentials(key, []))
    assert "line break" in str(error.value) and "sk-secret" not in str(error.value)


def _self_signed(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


async def _connect_proxy(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: list[bytes]
) -> None:
    """A CONNECT proxy: reads the CONNECT head, then pipes bytes both ways."""
    head = await reader.readuntil(b"\r\n\r\n")
    log.append(head)
    host, port = head.split(b" ")[1].decode().rsplit(":", 1)
    up_reader, up_writer = await asyncio.open_connection(host, int(port))
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
        sink.close()

    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)


def test_tls_direct_and_through_a_connect_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_tls, client_tls = _self_signed(tmp_path)
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    first, second = run(replies(reply), server_tls, tls=client_tls)
    assert first.body == BODY and second.body == BODY

    log: list[bytes] = []

    async def through_proxy(base: str) -> list[bytes]:
        proxy = await asyncio.start_server(lambda r, w: _connect_proxy(r, w, log), "127.0.0.1", 0)
        proxy_port = proxy.sockets[0].getsockname()[1]
        monkeypatch.setenv("https_proxy", f"http://pu:pp@127.0.0.1:{proxy_port}")
        pool = ConnectionPool(make_endpoint(base, {}, user_agent="test", tls=client_tls))
        try:
            return [(await pool.post("completions", b"{}", 5.0)).body for _ in range(2)]
        finally:
            pool.close()
            proxy.close()

    bodies = asyncio.run(with_server(replies(reply), through_proxy, server_tls))
    assert bodies == [BODY, BODY]
    assert len(log) == 1  # one tunnel, reused
    assert log[0].startswith(b"CONNECT 127.0.0.1:")
    assert b"Proxy-Authorization: Basic cHU6cHA=\r\n" in log[0]


def test_plain_http_goes_through_an_http_proxy_in_absolute_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        seen.append(head)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)
        await writer.drain()

    async def use(proxy_url: str) -> bytes:
        monkeypatch.setenv("http_proxy", proxy_url.removesuffix("/v1").replace("//", "//u:p@"))
        pool = ConnectionPool(make_endpoint("http://api.example:8000/v1", {}, user_agent="t"))
        try:
            return (await pool.post("completions", b"{}", 5.0)).body
        finally:
            pool.close()

    assert asyncio.run(with_server(proxy, use)) == BODY
    head = seen[0].decode()
    assert head.startswith("POST http://api.example:8000/v1/completions HTTP/1.1\r\n")
    assert "Host: api.example:8000\r\n" in head
    assert "Proxy-Authorization: Basic dTpw\r\n" in head

    monkeypatch.setenv("no_proxy", "api.example")
    assert make_endpoint("http://api.example:8000/v1", {}, user_agent="t").proxy is None
    monkeypatch.setenv("https_proxy", "https://proxy.example:443")
    with pytest.raises(ValueError, match="only http:// proxies"):
        make_endpoint("https://other.example/v1", {}, user_agent="t")
