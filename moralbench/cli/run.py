"""`moralbench run`: evaluate a model on tasks (or, with `--dry-run`, show its prompts)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import OptionError
from .config_file import config_defaults
from .output import err, print_metrics, say, warn
from .run_args import add_run_options

#: options of `evaluate` that the parser holds under the same name
RUN_OPTIONS = (
    "data_dir",
    "sample_data",
    "split",
    "limit",
    "calibration_limit",
    "batch_size",
    "device",
    "output_path",
    "seed",
    "num_fewshot",
    "include_path",
    "task_args",
    "use_cache",
    "cache_path",
    "log_samples",
    "log_prompts",
    "strict",
    "allow_failures",
    "n_bootstrap",
    "agreement_cuts",
    "apply_chat_template",
    "system_instruction",
    "gen_kwargs",
    "predict_only",
    "dry_run",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="evaluate a model on tasks")
    p.add_argument(
        "--config",
        type=Path,
        help="YAML file of run options (any option below, e.g. model, model_args, tasks, "
        "limit); options given on the command line override it",
    )
    add_run_options(p)
    p.set_defaults(handler=run_command, parser=p)


def _with_config(args: argparse.Namespace) -> argparse.Namespace:
    """Parse again with the config file's values as defaults, so flags still win."""
    parser: argparse.ArgumentParser = args.parser
    if args.config is not None:
        parser.set_defaults(**config_defaults(parser, args.config))
        args = args.reparse()
    for required in ("model", "tasks"):
        if not getattr(args, required):
            raise OptionError(f"--{required} is required (on the command line or in --config)")
    return args


def run_command(args: argparse.Namespace) -> int:
    from ..runner import evaluate

    args = _with_config(args)
    payload = evaluate(
        args.model,
        args.tasks,
        model_args=args.model_args,
        **{name: getattr(args, name) for name in RUN_OPTIONS},
        show_progress=args.show_progress and err.is_terminal,
        log=warn,
    )
    if "dry_run" in payload:
        print_prompts(payload["dry_run"])
    elif "results_file" in payload:
        print_run(payload)
    return 0


def print_run(payload: dict[str, Any]) -> None:
    config = payload["config"]
    if config.get("predict_only"):
        for task, path in payload["samples_files"].items():
            say(f"{task}: predictions in {path}")
    else:
        print_metrics(f"moralbench {config['model']}", payload["results"])
    timing = payload["timing"]
    say(
        f"{timing['requests']} requests in {timing['wall_seconds']:.1f}s "
        f"(cache hits {payload['cache']['hits']}); results: {payload['results_file']}"
    )


def print_prompts(shown: dict[str, Any]) -> None:
    """Each prompt exactly as sent, between `### ` header lines."""
    how = "as the backend renders it" if shown["rendered_by_backend"] else "request text only"
    for task, items in shown["tasks"].items():
        for item in items:
            prompts = item["prompts"]
            for number, prompt in enumerate(prompts, 1):
                sys.stdout.write(
                    f"### {task} [{shown['split']}] doc {item['doc_id']}, prompt {number} of "
                    f"{len(prompts)} ({shown['model']}, {how})\n"
                )
                if "text" in prompt:
                    sys.stdout.write(prompt["text"] + "\n")
                else:
                    messages = json.dumps(prompt.get("messages"), indent=2, ensure_ascii=False)
                    sys.stdout.write(f"{prompt.get('endpoint', '')}\n{messages}\n")
                if "answers" in prompt:
                    sys.stdout.write(f"### answers: {json.dumps(prompt['answers'])}\n")
    sys.stdout.write("### end (dry run: no model was loaded, nothing was scored)\n")
