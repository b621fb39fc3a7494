"""Request throughput of the `openai` backend against a server that takes 200 ms per request.

The loopback server runs in its own process, so that it does not share the client's
interpreter lock: by default `benchmarks/lean_openai_server.py` (`--server lean`: one asyncio
loop, precomputed replies, a few tens of microseconds of CPU a request), or
`tests/fault_server.py` (`--server fault`: threads and a hashed fake model, ~0.6 ms a request,
which on a 2-core machine competes with the client for the cores), both with `--latency 0.2`
and no faults. The client is the real backend
(`OpenAIBackend.score_choices`, top_logprobs estimator: one POST per request) at each
concurrency. With a fixed 200 ms per request, the ideal rate is concurrency / 0.2 s; the table
shows the measured rate, its ratio to that ideal, the client process's CPU time per request
(all threads: the backend's event loop and the consumer) and the server's, which shares the
machine's cores. Targets: at least 0.9 of ideal at every level; under 0.5 ms of client CPU a
request from 64 concurrent requests up (below that, the thread wake-ups around each lone
request dominate: one idle 200 ms `asyncio.sleep` alone costs ~0.2 ms of CPU on a busy machine).

With `--repeats N` every level is measured N times in turn (1, 8, ..., 256, then again); the
table has one row per measurement, and the targets are checked on each level's median ratio
and median client CPU, so the rows show the run-to-run spread.

    python benchmarks/api_throughput.py [--concurrency 1,8,32,64,256] [--rounds 20]
        [--latency 0.2] [--server lean|fault] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import NamedTuple

from moralbench.plugins.openai.backend import OpenAIBackend

from moralbench.backend import BackendOptions
from moralbench.requests import ChoiceRequest

ROOT = Path(__file__).resolve().parents[1]
SERVERS = {
    "lean": ROOT / "benchmarks" / "lean_openai_server.py",
    "fault": ROOT / "tests" / "fault_server.py",
}
TARGET_RATIO = 0.9
TARGET_CPU_MS = 0.5
CPU_TARGET_FROM = 64  # concurrency from which the CPU target applies


def start_server(server: str, latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, str(SERVERS[server]), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise SystemExit(f"{server} server did not start (printed {url!r})")
    return process, url


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    url: str, concurrency: int, rounds: int, server_pid: int
) -> tuple[int, float, float, float, int]:
    """(requests sent, seconds taken, client CPU seconds, server CPU seconds, failed requests)
    for `rounds` requests per worker."""
    backend = OpenAIBackend(
        {
            "model": "fake",
            "base_url": url,
            "api": "completions",
            "estimator": "top_logprobs",
            "num_concurrent": str(concurrency),
            "max_retries": "0",
            "timeout": "30",
        },
        BackendOptions(),
    )
    try:
        # Warm-up: open every connection of the pool before the clock starts.
        warm = [ChoiceRequest(f"warm-up {i}:", (" yes", " no")) for i in range(concurrency)]
        list(backend.score_choices(warm))
        count = concurrency * rounds
        requests = [
            ChoiceRequest(f"Question {i}: is it fine?", (" yes", " no")) for i in range(count)
        ]
        server_started = process_cpu_seconds(server_pid)
        started, cpu_started = time.perf_counter(), time.process_time()
        failed = sum(1 for _, r in backend.score_choices(requests) if r.error)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        server_cpu = process_cpu_seconds(server_pid) - server_started
    finally:
        backend.close()
    return count, elapsed, cpu, server_cpu, failed


class Row(NamedTuple):
    concurrency: int
    requests: int
    seconds: float
    rate: float
    ideal: float
    ratio: float
    client_ms: float  # client CPU ms per request
    server_ms: float  # server CPU ms per request
    failed: int


def measure_row(url: str, concurrency: int, rounds: int, latency: float, server_pid: int) -> Row:
    count, elapsed, cpu, server_cpu, failed = measure(url, concurrency, rounds, server_pid)
    rate, ideal = count / elapsed, concurrency / latency
    return Row(
        concurrency,
        count,
        elapsed,
        rate,
        ideal,
        rate / ideal,
        1000 * cpu / count,
        1000 * server_cpu / count,
        failed,
    )


def report(rows: list[Row], repeats: int) -> bool:
    """Print the table and the verdicts; True when every target is met and nothing failed."""
    print(
        "| concurrency | requests | seconds | requests/s | ideal/s | ratio | "
        "client CPU ms/request | server CPU ms/request | failed |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in sorted(rows, key=lambda row: row.concurrency):
        print(
            f"| {r.concurrency} | {r.requests} | {r.seconds:.2f} | {r.rate:.1f} | {r.ideal:.1f} | "
            f"{r.ratio:.3f} | {r.client_ms:.3f} | {r.server_ms:.3f} | {r.failed} |"
        )
    levels = sorted({row.concurrency for row in rows})
    ratios = {c: median(row.ratio for row in rows if row.concurrency == c) for c in levels}
    cpus = {c: median(row.client_ms for row in rows if row.concurrency == c) for c in levels}
    worst = min(ratios.values())
    most_cpu = max((cpu for c, cpu in cpus.items() if c >= CPU_TARGET_FROM), default=0.0)
    kind = "median " if repeats > 1 else ""
    verdict = "meets" if worst >= TARGET_RATIO else "MISSES"
    print(f"lowest {kind}ratio {worst:.3f}: {verdict} the {TARGET_RATIO} target")
    verdict = "meets" if most_cpu < TARGET_CPU_MS else "MISSES"
    print(
        f"most {kind}client CPU from {CPU_TARGET_FROM} concurrent up: {most_cpu:.3f} ms/request: "
        f"{verdict} the {TARGET_CPU_MS} ms target"
    )
    return worst >= TARGET_RATIO and most_cpu < TARGET_CPU_MS and not any(r.failed for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,8,32,64,256", help="comma-separated levels")
    parser.add_argument("--rounds", type=int, default=20, help="requests per worker")
    parser.add_argument("--latency", type=float, default=0.2, help="server seconds per request")
    parser.add_argument("--server", choices=sorted(SERVERS), default="lean")
    parser.add_argument("--repeats", type=int, default=1, help="measurements per level")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    load_before = f"{os.getloadavg()[0]:.2f}"
    process, url = start_server(args.server, args.latency)
    try:
        rows = [
            measure_row(url, concurrency, args.rounds, args.latency, process.pid)
            for _ in range(args.repeats)
            for concurrency in levels
        ]
    finally:
        process.terminate()
        process.wait(timeout=10)

    print(
        f"server: {args.server} ({SERVERS[args.server].relative_to(ROOT)}), latency "
        f"{args.latency * 1000:.0f} ms per request; {args.rounds} per worker; "
        f"{args.repeats} measurement(s) per level"
    )
    print(f"load average before: {load_before}; after: {os.getloadavg()[0]:.2f}")
    if not report(rows, args.repeats):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
