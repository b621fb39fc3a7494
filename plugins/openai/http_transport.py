"""A small asyncio HTTP/1.1 client: POST a body, get the whole reply, keep the connection.

Chosen on measurements over httpx and aiohttp (docs/performance.md, "The HTTP clients
compared"): at 64 and 256 requests in flight httpx spent ~1 ms of CPU per request and aiohttp
0.2-0.36 ms, this client 0.10-0.13 ms, and only it stayed near the ideal rate at 256.

Scope is what an OpenAI-compatible server needs and no more: one request at a time on each
keep-alive connection; bodies framed by Content-Length, chunked transfer coding or the
connection closing; gzip/deflate bodies decoded (we ask for none); TLS; HTTP and HTTPS
through an `http://` proxy named in the usual environment variables (`https_proxy`,
`http_proxy`, `no_proxy`), HTTPS by CONNECT. No redirects (a 3xx comes back as it is), no
cookies, no HTTP/2.
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import zlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

DEFAULT_PORTS = {"http": 80, "https": 443}
NO_BODY_STATUSES = frozenset({204, 304})
MAX_HEAD_BYTES = 64 * 1024


class TransportError(Exception):
    """The connection failed, or closed before a whole reply arrived."""


class ConnectTimeout(TimeoutError):
    """No connection within the timeout."""


class ReplyTimeout(TimeoutError):
    """No whole reply within the timeout."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    auth_header: str | None  # "Proxy-Authorization: ..." line, or None


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and the header lines every request carries."""

    scheme: str
    host: str
    port: int
    base_path: str  # ends with "/"
    query: str  # sent with every request ("" for none)
    fixed_headers: bytes  # the request head after the request line, less Content-Length
    tls: ssl.SSLContext | None
    proxy: Proxy | None

    def target(self, path: str) -> bytes:
        """The request target: origin form, or absolute form through an http proxy."""
        target = self.base_path + path + (f"?{self.query}" if self.query else "")
        if self.proxy is not None and self.tls is None:
            target = f"http://{_host_port(self.host, self.port, self.scheme)}{target}"
        return target.encode("ascii")


def _host_port(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if DEFAULT_PORTS.get(scheme) == port else f"{shown}:{port}"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _header_lines(headers: dict[str, str]) -> bytes:
    for name, value in headers.items():
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"the {name} header value contains a line break")
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")


def tls_context() -> ssl.SSLContext:
    """Verified TLS with `SSL_CERT_FILE`, else certifi's bundle when installed, else the
    system's. Built once per client: each context costs ~30 ms of CPU."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    if cafile is None:
        try:
            import certifi
        except ImportError:
            pass
        else:
            cafile = certifi.where()
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["http/1.1"])
    return context


def environment_proxy(scheme: str, host: str) -> Proxy | None:
    """The proxy the environment names for this scheme and host, if any (as curl reads it)."""
    proxies = getproxies_environment()
    url = proxies.get(scheme)
    if not url or proxy_bypass_environment(host, proxies):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only http:// proxies are supported ({scheme}_proxy)")
    auth = None
    if parts.username is not None:
        credentials = _basic(unquote(parts.username), unquote(parts.password or ""))
        auth = f"Proxy-Authorization: {credentials}\r\n"
    return Proxy(parts.hostname, parts.port or 80, auth)


def make_endpoint(
    base_url: str, headers: dict[str, str], *, user_agent: str, tls: ssl.SSLContext | None = None
) -> Endpoint:
    """Parse `base_url` once. `user:password@` becomes basic auth, replacing any
    Authorization header in `headers`; the query is kept and sent with every request."""
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("base_url must be an http:// or https:// URL with a host")
    host, port = parts.hostname, parts.port or DEFAULT_PORTS[scheme]
    all_headers = {
        "Host": _host_port(host, port, scheme),
        "User-Agent": user_agent,
        "Accept": "application/json",
        "Accept-Encoding": "identity",
        "Content-Type": "application/json",
        **headers,
    }
    if parts.username is not None:
        all_headers["Authorization"] = _basic(
            unquote(parts.username), unquote(parts.password or "")
        )
    proxy = environment_proxy(scheme, host)
    fixed = _header_lines(all_headers)
    if proxy is not None and proxy.auth_header and scheme == "http":
        fixed += proxy.auth_header.encode("latin-1")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return Endpoint(
        scheme=scheme,
        host=host,
        port=port,
        base_path=path,
        query=parts.query,
        fixed_headers=fixed,
        tls=(tls or tls_context()) if scheme == "https" else None,
        proxy=proxy,
    )


class _ReplyReader(asyncio.Protocol):
    """Parses replies as bytes arrive; `exchange` waits for the next whole one."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Reply] | None = None
        self._expect_body = True
        self._reset()

    def _reset(self) -> None:
        self._status: int | None = None
        self._headers: dict[str, str] = {}
        self._keep_alive = True
        self._body_start = 0
        self._length: int | None = None  # None with _chunked False: read until closed
        self._chunked = False
        self._chunks: list[bytes] = []
        self._scan = 0

    # -- asyncio.Protocol ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            self._parse()
        except (ValueError, IndexError, zlib.error) as exc:
            self._fail(TransportError(f"malformed reply ({exc})"))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._status is not None and self._length is None and not self._chunked:
            # A body framed by the connection closing: it is complete now.
            self._deliver(bytes(self._buffer[self._body_start :]))
            return
        self._fail(TransportError("the server closed the connection before a whole reply"))

    # -- parsing ---------------------------------------------------------------------
    def _parse(self) -> None:
        while self._waiter is not None and not self._waiter.done():
            if self._status is None and not self._parse_head():
                return
            if self._chunked:
                if not self._parse_chunks():
                    return
            elif self._length is not None:
                end = self._body_start + self._length
                if len(self._buffer) < end:
                    return
                body = bytes(self._buffer[self._body_start : end])
                del self._buffer[:end]
                self._deliver(body)
            else:
                return  # until the connection closes
        if self._waiter is None and self._buffer:
            self._fail(TransportError("the server sent bytes nobody asked for"))

    def _parse_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise ValueError("reply head too long")
            return False
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        version, status, *_ = lines[0].split(" ", 2)
        code = int(status)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        if 100 <= code < 200:  # interim reply (100 Continue): skip it
            del self._buffer[: end + 4]
            return self._parse_head()
        connection = headers.get("connection", "").lower()
        self._keep_alive = (
            "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
        )
        self._status, self._headers, self._body_start = code, headers, end + 4
        if not self._expect_body or code in NO_BODY_STATUSES:
            self._length = 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._chunked, self._scan = True, end + 4
        elif "content-length" in headers:
            self._length = int(headers["content-length"].split(",")[0])
        else:
            self._keep_alive = False
        return True

    def _parse_chunks(self) -> bool:
        """Collect complete chunks from `_scan`; True once the last chunk and trailers are in."""
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n", self._scan)
            if line_end < 0:
                return False
            size = int(bytes(buffer[self._scan : line_end]).split(b";")[0].strip(), 16)
            if size == 0:
                trailer_end = buffer.find(b"\r\n", line_end + 2)
                while trailer_end >= 0 and trailer_end != line_end + 2:
                    line_end = trailer_end  # skip one trailer line
                    trailer_end = buffer.find(b"\r\n", line_end + 2)
                if trailer_end < 0:
                    return False
                del buffer[: trailer_end + 2]
                self._deliver(b"".join(self._chunks))
                return True
            data_end = line_end + 2 + size
            if len(buffer) < data_end + 2:
                return False
            self._chunks.append(bytes(buffer[line_end + 2 : data_end]))
            self._scan = data_end + 2

    def _deliver(self, body: bytes) -> None:
        encoding = self._headers.get("content-encoding", "identity").lower()
        if encoding in ("gzip", "deflate"):
            try:
                body = zlib.decompress(body, wbits=47)  # 47: gzip or zlib header, detected
            except zlib.error as exc:
                self._fail(TransportError(f"reply body does not decompress ({exc})"))
                return
        elif encoding not in ("identity", ""):
            self._fail(TransportError(f"reply body in an unsupported encoding ({encoding})"))
            return
        reply = Reply(self._status or 0, self._headers, body)
        keep = self._keep_alive
        self._reset()
        if not keep:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(reply)

    def _fail(self, error: Exception) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    # -- use -------------------------------------------------------------------------
    async def exchange(self, request: bytes, *, expect_body: bool = True) -> Reply:
        if self.closed or self.transport is None:
            raise TransportError("the connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._expect_body = expect_body
        self.transport.write(request)
        return await self._waiter


class Connection:
    """One keep-alive connection to an endpoint (through its proxy, if any)."""

    def __init__(self, endpoint: Endpoint, reader: _ReplyReader) -> None:
        self.endpoint = endpoint
        self._reader = reader

    @property
    def usable(self) -> bool:
        return not self._reader.closed

    @classmethod
    async def open(cls, endpoint: Endpoint) -> Connection:
        loop = asyncio.get_running_loop()
        proxy, tls = endpoint.proxy, endpoint.tls
        host, port = (proxy.host, proxy.port) if proxy else (endpoint.host, endpoint.port)
        try:
            direct_tls = tls if proxy is None else None
            transport, reader = await loop.create_connection(
                _ReplyReader,
                host,
                port,
                ssl=direct_tls,
                server_hostname=endpoint.host if direct_tls else None,
            )
            if proxy is not None and tls is not None:
                await _tunnel(loop, reader, endpoint, proxy)
        except OSError as exc:
            raise TransportError(f"cannot connect: {exc.strerror or exc}") from None
        return cls(endpoint, reader)

    async def post(self, path: str, body: bytes) -> Reply:
        e = self.endpoint
        request = b"".join(
            (
                b"POST ",
                e.target(path),
                b" HTTP/1.1\r\n",
                e.fixed_headers,
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
        return await self._reader.exchange(request)

    def close(self) -> None:
        self._reader.closed = True
        if self._reader.transport is not None:
            self._reader.transport.close()


async def _tunnel(
    loop: asyncio.AbstractEventLoop, reader: _ReplyReader, endpoint: Endpoint, proxy: Proxy
) -> None:
    """CONNECT through the proxy, then TLS to the endpoint over the tunnel."""
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    authority = f"{host}:{endpoint.port}"
    head = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{proxy.auth_header or ''}\r\n"
    reply = await reader.exchange(head.encode("latin-1"), expect_body=False)
    if not 200 <= reply.status < 300:
        reader.transport.close()  # type: ignore[union-attr]
        raise TransportError(f"the proxy refused the tunnel (HTTP {reply.status})")
    assert reader.transport is not None and endpoint.tls is not None
    reader.closed = False
    reader.transport = await loop.start_tls(  # type: ignore[assignment]
        reader.transport, reader, endpoint.tls, server_hostname=endpoint.host
    )


class ConnectionPool:
    """Idle keep-alive connections, newest first; a connection that failed is never reused."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._idle: list[Connection] = []

    async def post(self, path: str, body: bytes, timeout: float) -> Reply:
        """The reply; `ConnectTimeout`/`ReplyTimeout` past `timeout` seconds per phase,
        `TransportError` when the connection fails. The caller bounds concurrency."""
        connection = None
        while self._idle:
            candidate = self._idle.pop()
            if candidate.usable:
                connection = candidate
                break
        if connection is None:
            try:
                async with asyncio.timeout(timeout):
                    connection = await Connection.open(self.endpoint)
            except TimeoutError:
                raise ConnectTimeout from None
        try:
            async with asyncio.timeout(timeout):
                reply = await connection.post(path, body)
        except TimeoutError:
            connection.close()  # a late reply must not be read as the next request's
            raise ReplyTimeout from None
        except BaseException:
            connection.close()
            raise
        if connection.usable:
            self._idle.append(connection)
        return reply

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
