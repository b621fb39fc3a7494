"""The `moralbench` command line: run, tasks, models (and the commands other modules add).

Errors a user can act on (`MoralbenchError`) are printed once, without a traceback unless
`--verbose`. Dashed options are canonical; lm-eval's underscore spellings are accepted too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from ._version import __version__
from .cli_args import add_agreement_cuts, add_data_dir, add_include_path
from .console import make_console
from .errors import MoralbenchError
from .run_options import parse_kv

_err = make_console(stderr=True)
_out = make_console()


#: the same words as docs/hf-backend.md (tests/test_docs.py keeps them together)
BATCH_SIZE_HELP = (
    "hf: at most N prompts per forward pass, or 'auto' (on CUDA the largest batch that fits); "
    "default: 16 prompts under an 8192-token budget on CPU. The openai backend ignores it "
    "(--model-args num_concurrent=N)"
)


def _batch_size(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("batch size must be an integer or 'auto'") from None
    if value < 1:
        raise argparse.ArgumentTypeError("batch size must be at least 1")
    return value


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="evaluate a model on tasks")
    p.add_argument("--model", required=True, help="backend name (see `moralbench models`)")
    p.add_argument(
        "--model-args",
        "--model_args",
        dest="model_args",
        default="",
        help="backend options, k=v,k=v (e.g. pretrained=DIR,dtype=bfloat16; see docs/)",
    )
    p.add_argument("--tasks", required=True, help="comma-separated task names or globs")
    add_data_dir(p)
    p.add_argument(
        "--sample-data",
        "--sample_data",
        dest="sample_data",
        action="store_true",
        help="use the few items each task bundles instead of --data-dir",
    )
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
        "--calibration-limit",
        "--calibration_limit",
        dest="calibration_limit",
        type=int,
        help="first N documents of the calibration split (default: all)",
    )
    p.add_argument(
        "--batch-size",
        "--batch_size",
        dest="batch_size",
        type=_batch_size,
        help=BATCH_SIZE_HELP,
    )
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: best available)")
    p.add_argument(
        "--output-path",
        "--output_path",
        "-o",
        dest="output_path",
        type=Path,
        default=Path("results"),
        help="folder for <model-slug>/results_<ts>.json and the samples files (default: "
        "%(default)s); a path ending in .json is the results file itself, samples beside it",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the bootstrap, few-shot draws and sampling (default: %(default)s)",
    )
    p.add_argument(
        "--num-fewshot",
        "--num_fewshot",
        dest="num_fewshot",
        type=int,
        default=0,
        help="worked examples before each prompt (default: %(default)s); only tasks with a "
        "few-shot split accept it (`moralbench tasks --options`)",
    )
    add_include_path(p)
    p.add_argument(
        "--task-args",
        "--task_args",
        dest="task_args",
        default="",
        help="task options, k=v,k=v for every task, or TASK:k=v for one task (e.g. "
        "scruples_dilemmas:template=yesno); `moralbench tasks --options` lists them",
    )
    p.add_argument(
        "--no-cache",
        "--no_cache",
        dest="use_cache",
        action="store_false",
        help="neither read nor write the request cache (default: cache on)",
    )
    p.add_argument(
        "--cache-path",
        "--cache_path",
        dest="cache_path",
        type=Path,
        help="request cache file (default: $MORALBENCH_CACHE, else user cache dir)",
    )
    p.add_argument(
        "--log-samples",
        "--log_samples",
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
    p.add_argument("--strict", action="store_true", help="data warnings become errors")
    p.add_argument(
        "--allow-failures",
        "--allow_failures",
        dest="allow_failures",
        action="store_true",
        help="exit 0 even when some requests failed",
    )
    p.add_argument(
        "--bootstrap-iters",
        "--bootstrap_iters",
        dest="n_bootstrap",
        type=int,
        default=1000,
        help="bootstrap resamples of each confidence interval (default: %(default)s)",
    )
    p.add_argument(
        "--no-progress",
        dest="show_progress",
        action="store_false",
        help="no progress bar (shown only on a terminal)",
    )
    add_agreement_cuts(p)
    p.set_defaults(handler=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from .runner import evaluate

    payload = evaluate(
        args.model,
        args.tasks,
        model_args=parse_kv(args.model_args, "--model-args"),
        data_dir=args.data_dir,
        sample_data=args.sample_data,
        split=args.split,
        limit=args.limit,
        calibration_limit=args.calibration_limit,
        batch_size=args.batch_size,
        device=args.device,
        output_path=args.output_path,
        seed=args.seed,
        num_fewshot=args.num_fewshot,
        include_path=args.include_path,
        task_args=parse_kv(args.task_args, "--task-args"),
        use_cache=args.use_cache,
        cache_path=args.cache_path,
        log_samples=args.log_samples,
        log_prompts=args.log_prompts,
        strict=args.strict,
        allow_failures=args.allow_failures,
        n_bootstrap=args.n_bootstrap,
        agreement_cuts=args.agreement_cuts,
        show_progress=args.show_progress and _err.is_terminal,
        log=lambda message: _err.print(message, markup=False, highlight=False, soft_wrap=True),
    )
    if "results_file" in payload:
        print_results(payload)
    return 0


def _format_value(value: Any, ci: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.4f}"
        if isinstance(ci, list | tuple) and len(ci) == 2 and None not in ci:
            text += f" [{ci[0]:.4f}, {ci[1]:.4f}]"
        return text
    return str(value)


def print_results(payload: dict[str, Any]) -> None:
    table = Table(title=f"moralbench {payload['config']['model']}")
    for column in ("task", "metric", "value [95% CI]"):
        table.add_column(column)
    for task, metrics in payload["results"].items():
        first = True
        for key, value in metrics.items():
            if key.endswith("_ci") or isinstance(value, dict | list):
                continue
            table.add_row(
                task if first else "", key, _format_value(value, metrics.get(f"{key}_ci"))
            )
            first = False
    _out.print(table)
    print_notes(payload["results"])
    timing = payload["timing"]
    _out.print(
        f"{timing['requests']} requests in {timing['wall_seconds']:.1f}s "
        f"(cache hits {payload['cache']['hits']}); results: {payload['results_file']}",
        markup=False,
        highlight=False,
    )


def print_notes(results: dict[str, Any]) -> None:
    """Each task's notes (fits that hit a bound, a missing calibration split...), as `score`
    prints them: the JSON is not the only place a reader can find them."""
    for task, metrics in results.items():
        for note in metrics.get("notes") or []:
            _out.print(f"note: {task}: {note}", markup=False, highlight=False)


def _add_tasks(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="list the tasks the installed plugins provide")
    p.add_argument("names", nargs="*", metavar="TASK", help="task names or globs (default: all)")
    add_include_path(p, help=None)
    add_data_dir(p, help=None)
    p.add_argument("--split", default="test", help="split whose files are listed")
    p.add_argument(
        "--options",
        action="store_true",
        help="list each task's --task-args options (templates...) and few-shot support",
    )
    p.set_defaults(handler=_cmd_tasks)


def _cmd_tasks(args: argparse.Namespace) -> int:
    from .data_files import default_data_dir
    from .plugin_manager import get_plugin_manager
    from .registry import build_registry

    plugins = get_plugin_manager(args.include_path)
    registry = build_registry(plugins)
    names = (
        [f.name for f in registry.resolve_tasks(args.names)]
        if args.names
        else sorted(registry.tasks)
    )
    if args.options:
        print_task_options([registry.tasks[name] for name in names])
        _report_failures(plugins.failures)
        return 0
    data_dir = args.data_dir or default_data_dir()
    table = Table(title="moralbench tasks")
    for column in ("name", "version", "request type", f"data files ({args.split})", "plugin"):
        table.add_column(column)
    for name in names:
        factory = registry.tasks[name]
        files = factory.data_files(data_dir, args.split)
        shown = "\n".join(f"{p} {'✓' if p.is_file() else '(missing)'}" for p in files) or "-"
        table.add_row(
            name, str(factory.version), factory.output_type, shown, registry.task_plugin[name]
        )
    _out.print(table)
    _report_failures(plugins.failures)
    return 0


def print_task_options(factories: Sequence[Any]) -> None:
    """Each task's `--task-args` options with their help text, and its few-shot split."""
    for factory in factories:
        _out.print(factory.name, markup=False, highlight=False)
        options = getattr(factory, "options_help", None) or {}
        for key, text in options.items():
            _out.print(f"  {factory.name}:{key}=...  {text}", markup=False, highlight=False)
        if not options:
            _out.print("  (no options)", markup=False, highlight=False)
        fewshot = getattr(factory, "fewshot_split", None)
        shown = f"yes, drawn from {fewshot!r}" if fewshot else "no (zero-shot only)"
        _out.print(f"  --num-fewshot: {shown}", markup=False, highlight=False)


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the model backends")
    p.set_defaults(handler=_cmd_models)


def _cmd_models(args: argparse.Namespace) -> int:
    from .plugin_manager import get_plugin_manager
    from .registry import build_registry

    plugins = get_plugin_manager()
    registry = build_registry(plugins)
    table = Table(title="moralbench model backends")
    for column in ("name", "estimators", "description", "plugin"):
        table.add_column(column)
    for name in sorted(registry.models):
        spec = registry.models[name]
        table.add_row(
            name, ", ".join(spec.estimators), spec.description, registry.model_plugin[name]
        )
    _out.print(table)
    _report_failures(plugins.failures)
    return 0


def _report_failures(failures: Sequence[Any]) -> None:
    for failure in failures:
        _err.print(
            f"plugin {failure.name!r} ({failure.value}) failed to load: {failure.error}",
            markup=False,
            highlight=False,
        )


#: subcommand builders; other modules (score, data, leaderboard) add theirs here
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_run, _add_tasks, _add_models]


def _extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    found = []
    for module in ("score_cli", "data_cli", "leaderboard_cli", "cache_cli"):
        try:
            imported = __import__(f"moralbench.{module}", fromlist=["add_parser"])
        except ModuleNotFoundError as exc:
            if exc.name != f"moralbench.{module}":
                raise
            continue
        found.append(imported.add_parser)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moralbench",
        description="Measure how well a model's moral judgements match the spread of human ones.",
    )
    parser.add_argument("--version", action="version", version=f"moralbench {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in [*COMMANDS, *_extra_commands()]:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except MoralbenchError as exc:
        if args.verbose:
            raise
        # soft_wrap: one line however long, so the message can be grepped and read whole
        _err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        _err.print("interrupted: finished requests are cached; run again to resume")
        return 130


if __name__ == "__main__":
    sys.exit(main())
