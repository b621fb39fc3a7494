"""`moralbench data list` and `moralbench data download NAME`: the datasets plugins register."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from .cli_args import add_data_dir
from .console import make_console
from .datasets import DatasetSource
from .errors import MoralbenchError

_out = make_console()
_err = make_console(stderr=True)


def dataset_sources() -> dict[str, tuple[DatasetSource, str]]:
    """Every registered dataset by name, with the plugin that registered it."""
    from .plugin_manager import get_plugin_manager
    from .registry import build_registry

    plugins = get_plugin_manager()
    for failure in plugins.failures:
        _err.print(
            f"warning: plugin {failure.name!r} ({failure.value}) failed to load: {failure.error}",
            markup=False,
            highlight=False,
        )
    registry = build_registry(plugins)
    return {name: (s, registry.dataset_plugin[name]) for name, s in registry.datasets.items()}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list and download the datasets tasks read")
    actions = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="list the downloadable datasets")
    add_data_dir(listing)
    listing.set_defaults(handler=_cmd_list)

    fetch = actions.add_parser(
        "download", help="fetch a dataset into the data dir (resumable, sha256 recorded)"
    )
    fetch.add_argument("names", nargs="+", metavar="NAME", help="dataset name(s)")
    add_data_dir(fetch)
    fetch.add_argument("--mirror", help="replace everything before each file name with this URL")
    fetch.add_argument(
        "--force",
        action="store_true",
        help="download again even when the files are already present",
    )
    fetch.set_defaults(handler=_cmd_download)


def _data_dir(args: argparse.Namespace) -> Path:
    from .data_files import default_data_dir

    return Path(args.data_dir) if args.data_dir else default_data_dir()


def _cmd_list(args: argparse.Namespace) -> int:
    from .download import manifest_path

    data_dir = _data_dir(args)
    table = Table(title=f"moralbench datasets (data dir: {data_dir})")
    for column in ("name", "files", "downloaded", "license", "plugin"):
        table.add_column(column)
    for name, (source, plugin) in sorted(dataset_sources().items()):
        files = "\n".join(f.dest for f in source.files)
        done = "yes" if manifest_path(data_dir, name).is_file() else "no"
        table.add_row(name, files, done, source.license or "-", plugin)
    _out.print(table)
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from .download import download_dataset, manifest_path

    data_dir = _data_dir(args)
    known = dataset_sources()
    unknown = [n for n in args.names if n not in known]
    if unknown:
        raise MoralbenchError(
            f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}"
        )
    for name in dict.fromkeys(args.names):
        source = known[name][0]
        manifest = download_dataset(
            source, data_dir, mirror=args.mirror, console=_err, force=args.force
        )
        for entry in manifest["files"]:
            extracted = entry.get("extracted")
            more = f", {len(extracted)} file(s) extracted" if extracted is not None else ""
            _out.print(
                f"{entry['dest']}: {entry['status']}, {entry['size']} bytes, "
                f"sha256 {entry['sha256']}{more}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        _out.print(
            f"{name}: manifest {manifest_path(data_dir, name)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        if source.license:
            _out.print(f"licence: {source.license}", markup=False, highlight=False, soft_wrap=True)
        if source.citation:
            _out.print(f"cite: {source.citation}", markup=False, highlight=False, soft_wrap=True)
    return 0
