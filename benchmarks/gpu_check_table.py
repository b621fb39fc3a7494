"""The one table `benchmarks/gpu_check.sh` ends with: every check, its figure, its target.

    python benchmarks/gpu_check_table.py OUTPUT_DIR [--dry-run]

Reads what the steps wrote into OUTPUT_DIR (accuracy.json, speed.json, matrix_*.json,
timings.tsv); exit status 1 when a target is missed. With --dry-run (toy sizes on a CPU) the
figures are printed but no speed target applies.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

MIN_PCT_OF_CEILING = 85.0
MIN_X_LMEVAL = 2.0
MAX_SECONDS = 8 * 60


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def rows(out: Path, dry_run: bool) -> list[tuple[str, str, str, bool | None]]:
    """(check, figure, target, passed); passed is None where no target applies."""
    table: list[tuple[str, str, str, bool | None]] = []

    def target(met: bool) -> bool | None:
        return None if dry_run else met

    accuracy = _load(out / "accuracy.json")
    if accuracy is None:
        table.append(("bf16 vs float32 reference", "did not run", "", False))
    else:
        tolerance = accuracy["tolerance"]
        for variant, summary in accuracy["variants"].items():
            diff = summary["max_abs_diff_vs_reference"]
            prob = summary["max_prob_diff_vs_reference"]
            table.append(
                (
                    f"bf16 demo model vs float32 reference, {variant} "
                    f"({summary['reference_docs']} docs)",
                    f"max abs Δ log-prob {diff:.3f} (of a normalised probability {prob:.3f})",
                    f"<= {tolerance}",
                    diff <= tolerance,
                )
            )

    speed = _load(out / "speed.json")
    if speed is None:
        table.append(("8B-shaped speed", "did not run", "", False))
    else:
        for variant, summary in speed["variants"].items():
            for tool, row in summary["rows"].items():
                table.append(
                    (
                        f"{variant}: {tool} ({row['batch']})",
                        f"{row['docs_per_s']:.2f} docs/s, {row['seconds']:.1f} s",
                        "",
                        None,
                    )
                )
            for size, seconds in summary["lmeval_sweep"].items():
                table.append((f"{variant}: lm-eval batch {size}", f"{seconds:.1f} s", "", None))
            pct = summary.get("moralbench_pct_of_ceiling")
            table.append(
                (
                    f"{variant}: moralbench / ceiling",
                    f"{pct:.1f}%" if pct is not None else "not measured",
                    f">= {MIN_PCT_OF_CEILING:.0f}%",
                    target(pct is not None and pct >= MIN_PCT_OF_CEILING),
                )
            )
            times = summary.get("moralbench_x_lmeval")
            table.append(
                (
                    f"{variant}: moralbench / lm-eval (fastest batch)",
                    f"{times:.2f}x" if times is not None else "not measured (no lm-eval)",
                    f">= {MIN_X_LMEVAL:.0f}x",
                    target(times is not None and times >= MIN_X_LMEVAL),
                )
            )

    for dtype in ("bfloat16", "float32"):
        matrix = _load(out / f"matrix_{dtype}.json")
        if matrix is None:
            table.append((f"architecture matrix {dtype}", "did not run", "", False))
            continue
        summary = matrix["summary"]
        table.append(
            (
                f"architecture matrix {dtype} ({summary['families']} families)",
                f"worst {summary['worst_own']:.2e}; failed: {', '.join(summary['failed']) or '-'}",
                f"<= {summary['tolerance']}",
                not summary["failed"],
            )
        )

    timings = out / "timings.tsv"
    if timings.is_file():
        steps = [line.split("\t") for line in timings.read_text().splitlines() if line]
        total = sum(int(seconds) for _, seconds in steps)
        detail = ", ".join(f"{name} {seconds} s" for name, seconds in steps)
        table.append(
            (
                "wall time",
                f"{total} s ({detail})",
                f"< {MAX_SECONDS} s",
                target(total < MAX_SECONDS),
            )
        )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="toy sizes on CPU: no targets")
    args = parser.parse_args()
    speed = _load(args.out / "speed.json") or {}
    machine = speed.get("machine", {})
    print(f"\ngpu_check: {machine.get('device', '?')}; {speed.get('command', '')}")
    print("| check | figure | target | result |")
    print("| --- | --- | --- | --- |")
    table = rows(args.out, args.dry_run)
    for check, figure, target, passed in table:
        verdict = "n/a" if passed is None else ("pass" if passed else "MISS")
        print(f"| {check} | {figure} | {target} | {verdict} |")
    return 1 if any(passed is False for *_, passed in table) else 0


if __name__ == "__main__":
    raise SystemExit(main())
