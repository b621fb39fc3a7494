"""The HTTP clients considered for the `openai` backend, each alone against the same server.

Same set-up as `api_throughput.py` (`tests/fault_server.py --latency 0.2` in its own process,
every connection opened before the clock starts, `rounds` POSTs per worker, JSON encoded and
decoded as the backend does), but with no backend around the client, so the table shows what
each HTTP client costs by itself:

- `httpx`: httpx.AsyncClient, connections split over clients of 8 with a free-lane queue (the
  backend's client until #17; one client with a large pool is far slower, see
  docs/performance.md);
- `aiohttp`: one aiohttp.ClientSession with a TCPConnector of `concurrency` connections
  (skipped when aiohttp is not installed);
- `moralbench`: `http_transport.ConnectionPool` under a semaphore, as the backend uses it now.

    python benchmarks/http_client_candidates.py [--clients httpx,aiohttp,moralbench]
        [--concurrency 64,256] [--rounds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import math
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

FAULT_SERVER = Path(__file__).resolve().parents[1] / "tests" / "fault_server.py"
Post = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
Close = Callable[[], Awaitable[None]]


def payload(index: int) -> dict[str, Any]:
    return {
        "model": "fake",
        "prompt": f"Question {index}: is it fine?\nAnswer:",
        "max_tokens": 1,
        "logprobs": 20,
        "temperature": 0.0,
    }


def httpx_client(url: str, concurrency: int) -> tuple[Post, Close, str]:
    import httpx

    per_client = min(concurrency, 8)
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    clients = [
        httpx.AsyncClient(base_url=url + "/", limits=limits)
        for _ in range(math.ceil(concurrency / per_client))
    ]
    lanes: asyncio.LifoQueue[int] = asyncio.LifoQueue()
    for lane in reversed(range(concurrency)):
        lanes.put_nowait(lane)

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        lane = await lanes.get()
        try:
            response = await clients[lane // per_client].post(path, json=body)
        finally:
            lanes.put_nowait(lane)
        return json.loads(response.content)

    async def close() -> None:
        for client in clients:
            await client.aclose()

    return post, close, f"httpx {httpx.__version__}"


def aiohttp_client(url: str, concurrency: int) -> tuple[Post, Close, str]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    session = aiohttp.ClientSession(base_url=url + "/", connector=connector)
    headers = {"Content-Type": "application/json"}

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        async with session.post(path, data=data, headers=headers) as response:
            return json.loads(await response.read())

    return post, session.close, f"aiohttp {aiohttp.__version__}"


def moralbench_client(url: str, concurrency: int) -> tuple[Post, Close, str]:
    from moralbench.plugins.openai.http_transport import ConnectionPool, make_endpoint

    pool = ConnectionPool(make_endpoint(url, {}, user_agent="bench"))
    slots = asyncio.Semaphore(concurrency)

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with slots:
            reply = await pool.post(path, json.dumps(body).encode(), 30.0)
        return json.loads(reply.body)

    async def close() -> None:
        pool.close()

    return post, close, "moralbench http_transport"


CLIENTS = {"httpx": httpx_client, "aiohttp": aiohttp_client, "moralbench": moralbench_client}


async def measure(client: str, url: str, concurrency: int, rounds: int) -> dict[str, Any]:
    post, close, version = CLIENTS[client](url, concurrency)
    try:
        await asyncio.gather(*(post("completions", payload(-1 - i)) for i in range(concurrency)))

        async def worker(number: int) -> None:
            for round_number in range(rounds):
                await post("completions", payload(number * rounds + round_number))

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        await close()
    return {"client": version, "seconds": seconds, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="httpx,aiohttp,moralbench")
    parser.add_argument("--concurrency", default="64,256")
    parser.add_argument("--rounds", type=int, default=8, help="requests per worker")
    parser.add_argument("--latency", type=float, default=0.2, help="server seconds per request")
    args = parser.parse_args()
    clients = [c for c in args.clients.split(",") if c]
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown client(s) {', '.join(sorted(unknown))}; known: {', '.join(CLIENTS)}")
    levels = [int(c) for c in args.concurrency.split(",")]

    server = subprocess.Popen(
        [sys.executable, str(FAULT_SERVER), "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    rows = []
    try:
        for client in clients:
            if client == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
                print("aiohttp is not installed: skipped", file=sys.stderr)
                continue
            for concurrency in levels:
                result = asyncio.run(measure(client, url, concurrency, args.rounds))
                count = concurrency * args.rounds
                ratio = args.rounds * args.latency / result["seconds"]
                rows.append((result["client"], concurrency, count, result, ratio))
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(f"server latency {args.latency * 1000:.0f} ms per request; {args.rounds} per worker")
    print("| client | concurrency | requests | seconds | ratio to ideal | client CPU ms/request |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, concurrency, count, result, ratio in rows:
        print(
            f"| {name} | {concurrency} | {count} | {result['seconds']:.2f} | {ratio:.3f} | "
            f"{1000 * result['cpu'] / count:.3f} |"
        )


if __name__ == "__main__":
    main()
