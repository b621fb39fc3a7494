"""`moralbench score`: a task's metrics for predictions made elsewhere (no model is loaded).

    moralbench score --task scruples_anecdotes --predictions preds.jsonl \\
        [--calibration dev_preds.jsonl] [--split test] [--data-dir DIR] [--output out.json]

The predictions format is described in `moralbench.predictions`. The metrics are computed by
the task's own `aggregate`, so they are the same keys, intervals and notes a run reports.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from rich.table import Table

from .cli_args import add_agreement_cuts, add_data_dir, add_include_path
from .console import make_console
from .scoring import score

_out = make_console()
_err = make_console(stderr=True)

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
    p.add_argument(
        "--sample-data",
        "--sample_data",
        dest="sample_data",
        action="store_true",
        help="score against the task's bundled sample items",
    )
    p.add_argument(
        "--task-args",
        "--task_args",
        dest="task_args",
        default="",
        help="task options, k=v,k=v (TASK:k=v is accepted as in `run`)",
    )
    add_include_path(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--bootstrap-iters", "--bootstrap_iters", dest="n_bootstrap", type=int, default=1000
    )
    add_agreement_cuts(p)
    p.add_argument("--strict", action="store_true", help="data warnings become errors")
    p.add_argument(
        "--allow-missing",
        dest="allow_missing",
        action="store_true",
        help="score the documents that have a prediction, report how many lack one",
    )
    p.add_argument("--output", "-o", type=Path, help="write the results JSON here")
    p.set_defaults(handler=_cmd_score)


def _format(value: Any, ci: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.4f}"
        if isinstance(ci, list) and len(ci) == 2:
            text += f" [{ci[0]:.4f}, {ci[1]:.4f}]"
        return text
    return str(value)


def print_metrics(result: dict[str, Any]) -> None:
    metrics = result["metrics"]
    table = Table(title=f"{result['task']} [{result['split']}]: {result['predictions']['path']}")
    table.add_column("metric")
    table.add_column("value [95% CI]")
    for key, value in metrics.items():
        if key.endswith("_ci") or isinstance(value, dict | list):
            continue
        table.add_row(key, _format(value, metrics.get(f"{key}_ci")))
    _out.print(table)
    _out.print(f"label order: {', '.join(result['label_order'])}", markup=False, highlight=False)
    for note in metrics.get("notes", []):
        _out.print(f"note: {note}", markup=False, highlight=False)


def _cmd_score(args: argparse.Namespace) -> int:
    from .cli import parse_kv

    result = score(
        args.task,
        args.predictions,
        calibration=args.calibration,
        split=args.split,
        data_dir=args.data_dir,
        sample_data=args.sample_data,
        task_args=parse_kv(args.task_args, "--task-args"),
        include_path=args.include_path,
        seed=args.seed,
        n_bootstrap=args.n_bootstrap,
        strict=args.strict,
        allow_missing=args.allow_missing,
        agreement_cuts=args.agreement_cuts,
        warn=lambda message: _err.print(message, markup=False, highlight=False),
    )
    print_metrics(result)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.output.with_name(args.output.name + ".tmp")
        temporary.write_text(
            json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        os.replace(temporary, args.output)
        _out.print(f"results: {args.output}", markup=False, highlight=False)
    return 0
