"""`moralbench cache info|verify|clear`: look into, check and empty the request cache."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cache", help="inspect, verify or clear the request cache")
    actions = p.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    for name, text in (
        ("info", "where the cache is, its schema version, rows and size"),
        ("verify", "check every row's checksum; exit 1 when some are damaged"),
        ("clear", "delete every cached answer"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument(
            "--cache-path",
            "--cache_path",
            dest="cache_path",
            type=Path,
            help="cache file (default: $MORALBENCH_CACHE, else the user cache dir)",
        )
        if name == "verify":
            action.add_argument(
                "--delete-bad", action="store_true", help="also delete the damaged rows"
            )
        action.set_defaults(handler=run_cache)


def run_cache(args: argparse.Namespace) -> int:
    from ..cache import CacheError, RequestCache, default_cache_path

    path = args.cache_path or default_cache_path()
    if args.cache_command != "clear" and not path.is_file():
        raise CacheError(path, "no such file (nothing cached yet)")
    if args.cache_command == "clear" and not path.exists():
        print(f"{path}: no cache file; nothing to clear")
        return 0
    cache = RequestCache(path)
    try:
        if args.cache_command == "info":
            info = cache.info()
            print(
                f"{info.path}\nschema version {info.schema_version}\n"
                f"{info.rows} cached answers from {info.backends} backend(s)\n"
                f"{info.size_bytes:,} bytes"
            )
            return 0
        if args.cache_command == "verify":
            checked, bad = cache.verify(delete_bad=args.delete_bad)
            verb = "deleted" if args.delete_bad else "found"
            print(f"{path}: {checked} rows checked, {len(bad)} damaged ({verb})")
            return 1 if bad and not args.delete_bad else 0
        removed = cache.clear()
        print(f"{path}: {removed} cached answers deleted")
        return 0
    finally:
        cache.close()
