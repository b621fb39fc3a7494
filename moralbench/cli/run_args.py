"""The options of `moralbench run`, in groups (model, tasks, output); the shared ones come
from `common.py`. Every option can also be set in a `--config` YAML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import OptionError
from .common import (
    add_data_dir,
    add_include_path,
    add_sample_data,
    add_scoring_options,
    add_task_args,
    batch_size,
    checked,
    key_values,
    positive,
)

#: the same words as docs/hf-backend.md (tests/test_docs.py keeps them together)
BATCH_SIZE_HELP = (
    "hf: at most N prompts per forward pass, or 'auto' (on CUDA the largest batch that fits); "
    "default: 16 prompts under an 8192-token budget on CPU. The openai backend ignores it "
    "(--model-args num_concurrent=N)"
)


def _flag_value(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise OptionError(f"expected true or false, got {text!r}")


def _both(*names: str) -> list[str]:
    """`--dashed-name` and lm-eval's `--underscored_name`."""
    spellings = [(n, "--" + n[2:].replace("-", "_")) for n in names]
    return list(dict.fromkeys(s for pair in spellings for s in pair))


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="backend name (see `moralbench models`); required")
    p.add_argument(
        *_both("--model-args"),
        dest="model_args",
        default="",
        help="backend options, k=v,k=v (e.g. pretrained=DIR,dtype=bfloat16; see docs/)",
    )
    p.add_argument(*_both("--batch-size"), dest="batch_size", type=batch_size, help=BATCH_SIZE_HELP)
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: best available)")
    p.add_argument(
        *_both("--apply-chat-template"),
        dest="apply_chat_template",
        nargs="?",
        const=True,
        type=checked(_flag_value),
        metavar="true|false",
        help="prompt through the model's chat template (hf: chat_template=, openai: api=chat); "
        "false: plain completion prompts (default: the backend's own default)",
    )
    p.add_argument(
        *_both("--system-instruction"),
        dest="system_instruction",
        help="a system message put before every prompt (in completion mode: its first lines)",
    )
    p.add_argument(
        *_both("--gen-kwargs"),
        dest="gen_kwargs",
        type=key_values,
        default="",
        help="decoding of generated answers, k=v,...: max_gen_toks, temperature, do_sample, "
        "until (stop strings separated by ';'), seed",
    )


def add_task_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", help="comma-separated task names, globs or groups; required")
    add_data_dir(p)
    add_sample_data(p, "use the few items each task bundles instead of --data-dir")
    p.add_argument(
        "--split",
        default="test",
        help="split to report (default: %(default)s); a task's calibration split (dev) is "
        "read as well, to fit temperature and Dirichlet concentration",
    )
    p.add_argument(
        "--limit",
        type=int,
        help="first N documents of the reported split of each task (default: all); the "
        "calibration split stays whole unless --calibration-limit",
    )
    p.add_argument(
        *_both("--calibration-limit"),
        dest="calibration_limit",
        type=int,
        help="first N documents of the calibration split (default: all)",
    )
    p.add_argument(
        *_both("--num-fewshot"),
        dest="num_fewshot",
        type=int,
        default=0,
        help="worked examples before each prompt (default: %(default)s); only tasks with a "
        "few-shot split accept it (`moralbench tasks --options`)",
    )
    add_include_path(p)
    add_task_args(
        p,
        "task options, k=v,k=v for every task, or TASK:k=v for one task (e.g. "
        "scruples_dilemmas:template=yesno); `moralbench tasks --options` lists them",
    )


def add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        *_both("--output-path"),
        "-o",
        dest="output_path",
        type=Path,
        default=Path("results"),
        help="folder for <model-slug>/results_<ts>.json and the samples files (default: "
        "%(default)s); a path ending in .json is the results file itself, samples beside it",
    )
    p.add_argument(
        *_both("--log-samples"),
        dest="log_samples",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write the per-sample JSONL files (default: on)",
    )
    p.add_argument(
        "--no-log-prompts",
        dest="log_prompts",
        action="store_false",
        help="leave prompt text out of the samples files (hashes stay; default: prompts logged)",
    )
    p.add_argument(
        *_both("--predict-only"),
        dest="predict_only",
        action="store_true",
        help="run and write the samples files, compute no metrics",
    )
    p.add_argument(
        "--dry-run",
        *_both("--write-out"),
        "-w",
        dest="dry_run",
        nargs="?",
        const=1,
        type=positive,
        metavar="N",
        help="print the prompts of each task's first N documents (default 1) exactly as the "
        "model would see them, without loading the model, and stop",
    )
    p.add_argument(
        *_both("--allow-failures"),
        dest="allow_failures",
        action="store_true",
        help="exit 0 even when some requests failed",
    )
    p.add_argument(
        "--no-progress",
        dest="show_progress",
        action="store_false",
        help="no progress bar (shown only on a terminal)",
    )


def add_cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        *_both("--no-cache"),
        dest="use_cache",
        action="store_false",
        help="neither read nor write the request cache (default: cache on)",
    )
    p.add_argument(
        *_both("--cache-path"),
        dest="cache_path",
        type=Path,
        help="request cache file (default: $MORALBENCH_CACHE, else user cache dir)",
    )


def add_run_options(p: argparse.ArgumentParser) -> None:
    add_model_options(p)
    add_task_options(p)
    add_output_options(p)
    add_cache_options(p)
    add_scoring_options(p)
