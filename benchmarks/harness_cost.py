"""The harness's own cost: requests per second through the whole run with an instant backend.

A backend that answers at once (`tests/plugins/mb_instant_backend.py`) leaves only
moralbench's own work on the clock: reading and validating the data, rendering the prompts,
dedupe, cache lookup and write, sample streaming, and the metrics with their bootstrap
intervals. For each task and size the script writes Scruples-shaped synthetic data (every
action and story unique, so dedupe removes nothing), then runs `moralbench.evaluate` twice in
fresh subprocesses: *cold* (empty cache: every request goes to the backend and into the
cache) and *cached* (the same run again: every request is a cache hit). Each subprocess
reports wall and CPU seconds of the `evaluate` call and its peak RSS (`ru_maxrss`, imports
included). Both runs must report the same metrics; the table says so.

    python benchmarks/harness_cost.py                       # 1k, 10k, 100k; both tasks
    python benchmarks/harness_cost.py --sizes 1000 --tasks scruples_dilemmas
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "plugins"
TASKS = ("scruples_dilemmas", "scruples_anecdotes")
DEV_FRACTION = 0.1  # a dev split (the calibration fit) of a tenth of the test split

sys.path.insert(0, str(ROOT / "tests"))
import synthetic_moral_data as synthetic  # noqa: E402  (the tests' word lists)
from synthetic_moral_data import ACTS, LABELS5, PEOPLE, _majority_counts  # noqa: E402

DETAILS = synthetic.DETAILS + synthetic.FEELINGS


# -- data ---------------------------------------------------------------------------------
def _action(rng: random.Random, split: str, n: int, side: int) -> str:
    return f"{rng.choice(ACTS)} after {rng.choice(PEOPLE)} asked me not to ({split} {n}.{side})"


def dilemma_line(rng: random.Random, split: str, n: int) -> dict[str, Any]:
    counts, gold = _majority_counts(rng, 2, 5)
    return {
        "id": f"dilemma-{split}-{n}",
        "actions": [
            {"id": f"action-{split}-{n}-{i}", "description": _action(rng, split, n, i)}
            for i in range(2)
        ],
        "gold_label": gold,
        "gold_annotations": counts,
        "controversial": min(counts) >= 2,
    }


def anecdote_line(rng: random.Random, split: str, n: int) -> dict[str, Any]:
    while True:
        counts, label = _majority_counts(rng, 5, 9)
        scores = dict(zip(LABELS5, counts, strict=True))
        right, wrong = scores["OTHER"] + scores["NOBODY"], scores["AUTHOR"] + scores["EVERYBODY"]
        if right != wrong:
            break
    act, person = rng.choice(ACTS), rng.choice(PEOPLE)
    story = " ".join(rng.choice(DETAILS) for _ in range(8))
    return {
        "id": f"anecdote-{split}-{n}",
        "post_id": f"post-{split}-{n}",
        "action": {"description": act, "pronormative_score": right, "contranormative_score": wrong},
        "title": f"AITA because I {act}? ({split} {n})",
        "text": f"Last week I {act}, and {person} was upset about it. {story}",
        "post_type": rng.choice(("HISTORICAL", "HYPOTHETICAL")),
        "label_scores": scores,
        "label": LABELS5[label],
        "binarized_label_scores": {"RIGHT": right, "WRONG": wrong},
        "binarized_label": "RIGHT" if right > wrong else "WRONG",
    }


def write_data(folder: Path, task: str, size: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    subset = task.removeprefix("scruples_")
    make = dilemma_line if subset == "dilemmas" else anecdote_line
    for split, count in (("test", size), ("dev", max(1, int(size * DEV_FRACTION)))):
        path = folder / "scruples" / subset / f"{split}.scruples-{subset}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            for n in range(count):
                handle.write(json.dumps(make(rng, split, n)) + "\n")


# -- one measured run (in a subprocess) ---------------------------------------------------
def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(PLUGINS))
    import mb_instant_backend

    from moralbench import evaluate

    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    results = evaluate(
        "instant",
        args.task,
        data_dir=args.data_dir,
        output_path=args.out,
        cache_path=args.cache,
        use_cache=not args.no_cache,
        extra_plugins=[mb_instant_backend],
        show_progress=False,
        n_bootstrap=args.n_bootstrap,
        log=lambda message: None,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    timing = results["timing"]
    print(
        json.dumps(
            {
                "wall": wall,
                "user": after.ru_utime - before.ru_utime,
                "sys": after.ru_stime - before.ru_stime,
                "maxrss_mb": after.ru_maxrss / 1024,
                "requests": timing["requests"],
                "sent": timing["requests_sent_to_backend"],
                "hits": results["cache"]["hits"],
                "metrics": results["results"][args.task],
            }
        )
    )


def measure(
    task: str, data_dir: Path, out: Path, cache: Path, n_bootstrap: int, *, no_cache: bool = False
) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--child", "--task", task, "--data-dir", str(data_dir),
        "--out", str(out), "--cache", str(cache), "--n-bootstrap", str(n_bootstrap),
    ]  # fmt: skip
    if no_cache:
        command.append("--no-cache")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"run failed ({task}, {data_dir}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the table ----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="test documents per run")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, help="keep data, cache and outputs here")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-cache", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="harness_cost_"))
    rows = []
    header = ["task", "docs", "run", "requests", "seconds", "user s", "sys s", "requests/s"]
    header += ["requests/CPU s", "peak RSS", "same metrics"]
    print("| " + " | ".join(header) + " |")
    print("| --- | ---: | --- | " + " | ".join(["---:"] * 7) + " | --- |")
    try:
        for task in args.tasks.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                case = work / f"{task}_{size}"
                shutil.rmtree(case, ignore_errors=True)
                write_data(case / "data", task, size)
                cache = case / "cache.sqlite"
                runs = {}
                for run in ("cold", "cached"):
                    runs[run] = measure(task, case / "data", case / run, cache, args.n_bootstrap)
                same = runs["cold"]["metrics"] == runs["cached"]["metrics"]
                for run, r in runs.items():
                    row = {"task": task, "docs": size, "run": run, **r, "same_metrics": same}
                    row.pop("metrics")
                    rows.append(row)
                    print(
                        f"| {task} | {size:,} | {run} | {r['requests']:,} | {r['wall']:.2f} | "
                        f"{r['user']:.2f} | {r['sys']:.2f} | {r['requests'] / r['wall']:,.0f} | "
                        f"{r['requests'] / (r['user'] + r['sys']):,.0f} | "
                        f"{r['maxrss_mb']:,.0f} MB | {'yes' if same else 'NO'} |",
                        flush=True,
                    )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
