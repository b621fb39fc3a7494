"""A test plugin: the real hf backend with a fault hook that runs out of memory on demand.

`hf_oom` loads exactly what `hf` loads; its `before_batch` hook raises an out-of-memory error
the first time a batch of at least `oom_at_rows` rows is attempted (as a CUDA OOM, or as the
plain RuntimeError that cuBLAS raises with `oom_as=runtime`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from moralbench.plugins.hf.backend import HFBackend

from moralbench import BackendOptions, BackendSpec, hookimpl

ATTEMPTS: list[int] = []  # rows of every batch attempted, in order
INJECTED: list[int] = []  # rows of the batches that were failed on purpose


def make_backend(args: Mapping[str, str], options: BackendOptions) -> HFBackend:
    args = dict(args)
    oom_at = int(args.pop("oom_at_rows"))
    as_runtime = args.pop("oom_as", "cuda") == "runtime"
    backend = HFBackend(args, options)

    def before_batch(rows: int, width: int) -> None:
        ATTEMPTS.append(rows)
        if rows >= oom_at and not INJECTED:
            INJECTED.append(rows)
            if as_runtime:
                raise RuntimeError(
                    "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate"
                )
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    backend.before_batch = before_batch
    return backend


@hookimpl
def moralbench_register_models() -> list[BackendSpec]:
    return [
        BackendSpec(
            name="hf_oom",
            factory="mb_oom_backend:make_backend",
            estimators=("exact",),
            description="hf with out-of-memory fault injection (tests only)",
        )
    ]
