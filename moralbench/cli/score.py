"""`moralbench score`: a task's metrics for predictions made elsewhere (no model is loaded).

    moralbench score --task scruples_anecdotes --predictions preds.jsonl \\
        [--calibration dev_preds.jsonl] [--split test] [--data-dir DIR] [--output out.json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from .common import (
    add_data_dir,
    add_include_path,
    add_sample_data,
    add_scoring_options,
    add_task_args,
)
from .output import print_metrics, say, warn

EPILOG = """predictions: JSON Lines, one object per document, e.g.
  {"doc_id": "abc", "probs": [0.2, 0.8]}   or   {"doc_id": "abc", "logprobs": [-1.6, -0.2]}
in the task's label order (shown in the output). scruples_dilemmas also needs probs_swapped
or logprobs_swapped (the answer with the actions shown swapped), or --task-args order=original.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="compute a task's metrics from your own predictions (no model)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--task", required=True, help="task name (see `moralbench tasks`)")
    p.add_argument("--predictions", required=True, type=Path, help="predictions JSONL file")
    p.add_argument(
        "--calibration",
        type=Path,
        help="predictions for the task's calibration split (dev), to fit the "
        "temperature and the Dirichlet concentration",
    )
    p.add_argument("--split", default="test")
    add_data_dir(p)
    add_sample_data(p, "score against the task's bundled sample items")
    add_task_args(p, "task options, k=v,k=v (TASK:k=v is accepted as in `run`)")
    add_include_path(p)
    add_scoring_options(p)
    p.add_argument(
        "--allow-missing",
        dest="allow_missing",
        action="store_true",
        help="score the documents that have a prediction, report how many lack one",
    )
    p.add_argument("--output", "-o", type=Path, help="write the results JSON here")
    p.set_defaults(handler=run_score)


def run_score(args: argparse.Namespace) -> int:
    from ..scoring import score

    result = score(
        args.task,
        args.predictions,
        calibration=args.calibration,
        split=args.split,
        data_dir=args.data_dir,
        sample_data=args.sample_data,
        task_args=args.task_args,
        include_path=args.include_path,
        seed=args.seed,
        n_bootstrap=args.n_bootstrap,
        strict=args.strict,
        allow_missing=args.allow_missing,
        agreement_cuts=args.agreement_cuts,
        warn=warn,
    )
    print_score(result)
    if args.output is not None:
        _write_json(args.output, result)
        say(f"results: {args.output}")
    return 0


def print_score(result: dict[str, Any]) -> None:
    title = f"{result['task']} [{result['split']}]: {result['predictions']['path']}"
    print_metrics(title, {result["task"]: result["metrics"]})
    say(f"label order: {', '.join(result['label_order'])}")


def _write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    text = json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
