"""The hf backend's architecture matrix on any device and dtype (the GPU half of #19's checks).

For every family in `tests/architecture_matrix.py` (tiny random-weight models built locally),
scores single- and multi-token choices, prompts longer than any sliding window, at batch sizes
1 and 8, and compares each choice log-prob with the model's own full forward, one unpadded
sequence per choice, in the same dtype on the same device, and with a float32 copy.

    python benchmarks/hf_architecture_matrix.py --device cuda --dtype bfloat16

Exit status 1 when a family differs from its own same-dtype forward by more than --tolerance
(default: 1e-4 in float32, 0.25 nats in bfloat16/float16, where kernels of different shapes
round differently), or fails the load-time family check.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from architecture_matrix import FAMILIES, build_model, reference_logprobs, scoring_items  # noqa: E402
from moralbench.plugins.hf.choice_scoring import score_items  # noqa: E402
from moralbench.plugins.hf.exactness import check_family  # noqa: E402

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def check(family: str, dtype: torch.dtype, device: str) -> dict[str, object]:
    model = build_model(family, dtype).to(device)
    exact = build_model(family, torch.float32).to(device)
    items = scoring_items()
    own = [reference_logprobs(model, item) for item in items]
    float32 = [reference_logprobs(exact, item) for item in items]
    row: dict[str, object] = {"family": family, "model_type": model.config.model_type}
    row["family_check"] = check_family(model, 0, custom_code=True)["scoring_check"]
    batched: dict[int, list[list[float]]] = {i: [] for i in range(len(items))}
    for batch_size in (1, 8):
        started = time.perf_counter()
        got = dict(score_items(model, items, pad_id=0, max_rows=batch_size, max_tokens=1 << 20))
        for i, scores in got.items():
            batched[i].append(scores)
        row[f"seconds_b{batch_size}"] = round(time.perf_counter() - started, 3)
        pairs = [
            trio for i in range(len(items)) for trio in zip(got[i], own[i], float32[i], strict=True)
        ]
        row[f"max_diff_own_b{batch_size}"] = max(abs(g - o) for g, o, _ in pairs)
        row[f"max_diff_float32_b{batch_size}"] = max(abs(g - f) for g, _, f in pairs)
    row["max_diff_b1_vs_b8"] = max(
        abs(a - b) for i in range(len(items)) for a, b in zip(*batched[i], strict=True)
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="bfloat16", choices=sorted(DTYPES))
    parser.add_argument("--tolerance", type=float)
    parser.add_argument("--output", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    dtype = DTYPES[args.dtype]
    tolerance = args.tolerance or (1e-4 if dtype == torch.float32 else 0.25)
    warnings.simplefilter("ignore")
    rows, failed = [], []
    for family in FAMILIES:
        try:
            row = check(family, dtype, args.device)
        except Exception as error:  # noqa: BLE001 - report every family, then fail
            row = {"family": family, "error": f"{type(error).__name__}: {error}"[:300]}
        worst = max(row.get("max_diff_own_b1", 1e9), row.get("max_diff_own_b8", 1e9))  # type: ignore[type-var]
        row["ok"] = bool(worst <= tolerance)
        if not row["ok"]:
            failed.append(family)
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {
        "device": args.device,
        "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "dtype": args.dtype,
        "tolerance": tolerance,
        "families": len(rows),
        "failed": failed,
        "worst_own": max(float(r.get("max_diff_own_b8", "nan")) for r in rows),
        "worst_float32": max(float(r.get("max_diff_float32_b8", "nan")) for r in rows),
        "worst_b1_vs_b8": max(float(r.get("max_diff_b1_vs_b8", "nan")) for r in rows),
    }
    print(json.dumps(summary))
    if args.output:
        args.output.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
