"""How many CPU threads torch may use: `threads=N`, or by default the CPUs this process has.

torch's own default is the machine's core count, which oversubscribes a process limited to
fewer CPUs (a container's CPU quota, `taskset`) or sharing a loaded machine: spinning OpenMP
threads that wait for a core slowed scoring ~20x on a busy 2-core machine. The default here
counts only what the process may actually use: its CPU affinity, capped by a cgroup CPU quota
when one is readable, shared among the processes of `accelerate launch` on this machine.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from moralbench.errors import OptionError

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def parse_threads(args: Mapping[str, str]) -> int | None:
    """`threads=N` (N >= 1) as an int; None when absent, empty or `auto`."""
    value = (args.get("threads") or "").strip()
    if value in ("", "auto"):
        return None
    if not value.isdigit() or int(value) < 1:
        raise OptionError(f"model arg threads must be a whole number >= 1 or auto, got {value!r}")
    return int(value)


def _quota_v2(folder: Path) -> float | None:
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def _quota_v1(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def cgroup_cpu_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """CPUs' worth of time the process's cgroup (or any cgroup above it) may use; None when
    unlimited or unreadable. Both cgroup v2 (`cpu.max`) and v1 (`cpu.cfs_quota_us`)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    candidates: list[Path] = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        relative = path.strip("/")
        if controllers == "":  # v2 (under unified/ on a hybrid v1+v2 machine)
            base = root / "unified" if (root / "unified").is_dir() else root
        elif "cpu" in controllers.split(","):
            base = next((root / n for n in ("cpu", "cpu,cpuacct") if (root / n).is_dir()), root)
        else:
            continue
        folder = base / relative if relative else base
        candidates += [folder, *[p for p in folder.parents if p.is_relative_to(base)]]
    candidates.append(root)
    quotas = [q for f in dict.fromkeys(candidates) for q in (_quota_v2(f), _quota_v1(f)) if q]
    return min(quotas) if quotas else None


def available_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by the cgroup quota (rounded up)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(1, count)


def default_threads(environ: Mapping[str, str] = os.environ) -> int:
    """`available_cpus()` shared among this machine's processes (`LOCAL_WORLD_SIZE`)."""
    try:
        local_processes = max(1, int(environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local_processes = 1
    return max(1, available_cpus() // local_processes)


def apply_threads(args: Mapping[str, str]) -> int:
    """Set torch's intra-op thread count from `threads=` or the default; return it."""
    import torch

    threads = parse_threads(args) or default_threads()
    torch.set_num_threads(threads)
    return threads
