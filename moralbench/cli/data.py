"""`moralbench data list` and `moralbench data download NAME`: the datasets plugins register."""

from __future__ import annotations

import argparse

from ..datasets import DatasetSource
from ..errors import MoralbenchError
from ..session import Session, data_dir_or_default
from .common import add_data_dir, add_json
from .output import err, print_listing, say, warn


def dataset_sources() -> dict[str, tuple[DatasetSource, str]]:
    """Every registered dataset by name, with the plugin that registered it."""
    registry = Session.open(warn=warn).registry
    return {name: (s, registry.dataset_plugin[name]) for name, s in registry.datasets.items()}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list and download the datasets tasks read")
    actions = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="list the downloadable datasets")
    add_data_dir(listing)
    add_json(listing)
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


def _cmd_list(args: argparse.Namespace) -> int:
    from ..download import manifest_path

    data_dir = data_dir_or_default(args.data_dir)
    rows = [
        [
            name,
            [f.dest for f in source.files],
            "yes" if manifest_path(data_dir, name).is_file() else "no",
            source.license or "-",
            plugin,
        ]
        for name, (source, plugin) in sorted(dataset_sources().items())
    ]
    columns = ("name", "files", "downloaded", "license", "plugin")
    print_listing(f"moralbench datasets (data dir: {data_dir})", columns, rows, as_json=args.json)
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    from ..download import download_dataset, manifest_path

    data_dir = data_dir_or_default(args.data_dir)
    known = dataset_sources()
    unknown = [n for n in args.names if n not in known]
    if unknown:
        raise MoralbenchError(
            f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}"
        )
    for name in dict.fromkeys(args.names):
        source = known[name][0]
        manifest = download_dataset(
            source, data_dir, mirror=args.mirror, console=err, force=args.force
        )
        for entry in manifest["files"]:
            extracted = entry.get("extracted")
            more = f", {len(extracted)} file(s) extracted" if extracted is not None else ""
            say(
                f"{entry['dest']}: {entry['status']}, {entry['size']} bytes, "
                f"sha256 {entry['sha256']}{more}"
            )
        say(f"{name}: manifest {manifest_path(data_dir, name)}")
        if source.license:
            say(f"licence: {source.license}")
        if source.citation:
            say(f"cite: {source.citation}")
    return 0
