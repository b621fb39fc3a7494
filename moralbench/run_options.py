"""Option values as a user writes them, turned into what the runner needs.

The CLI and `moralbench.evaluate` share these, so a value the CLI accepts as text is
accepted from Python in its own type too (`"pretrained=x,dtype=float32"`, `True`, `Path`).
Backends, tasks and judges check their own `k=v` options with the same three functions
(`parse_kv`, `reject_unknown`, `whole_number`), so every option error reads alike.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import OptionError


def parse_kv(text: str | None, what: str, separator: str = ",") -> dict[str, str]:
    """`k=v,k=v` into a dict; a value may contain '=' but not the separator.

    Options nested inside one option (a judge's model args) use `separator=";"`.
    """
    result: dict[str, str] = {}
    if not text:
        return result
    for part in text.split(separator):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            pairs = f"key=value pairs separated by {separator!r}"
            raise OptionError(f"{what}: expected {pairs}, got {part!r}")
        result[key.strip()] = value.strip()
    return result


def reject_unknown(given: Iterable[str], known: Iterable[str], what: str) -> None:
    """`OptionError` naming every unknown option and listing the known ones.

    `what` names the owner and the kind, e.g. "hf backend has no model arg(s)".
    """
    known_set = set(known)
    unknown = sorted(set(given) - known_set)
    if unknown:
        listed = ", ".join(sorted(known_set)) or "none"
        raise OptionError(f"{what} {', '.join(unknown)}; known: {listed}")


def whole_number(value: Any, name: str, *, minimum: int = 1, text_ok: bool = True) -> int:
    """An int (or, when `text_ok`, its text) of at least `minimum`; else `OptionError`."""
    text = str(value).strip()
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if number is None and text_ok and isinstance(value, str) and text.lstrip("-").isdigit():
        number = int(text)
    if number is None or number < minimum:
        raise OptionError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return number


def number_between(value: Any, name: str, low: float, high: float) -> float:
    """A float from a number or its text, strictly between `low` and `high`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number, got {value!r}") from None
    if not low < number < high:
        raise OptionError(f"{name} must lie between {low:g} and {high:g}, got {value!r}")
    return number


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return str(value)
    return str(value)


def option_values(value: str | Mapping[str, Any] | None, what: str) -> dict[str, str]:
    """Options given as `k=v,k=v` text or as a mapping with typed values, as text values.

    Booleans become `true`/`false`, numbers and paths their text: exactly what the same
    option reads as on the command line.
    """
    if value is None:
        return {}
    if isinstance(value, str):
        return parse_kv(value, what)
    if not isinstance(value, Mapping):
        raise OptionError(f"{what}: expected 'k=v,k=v' text or a dict, got {type(value).__name__}")
    result = {}
    for key, item in value.items():
        if item is None or isinstance(item, list | tuple | dict | set):
            raise OptionError(f"{what}: {key}={item!r} is not a single value")
        result[str(key)] = _as_text(item)
    return result


def options_per_task(options: Mapping[str, str], tasks: Iterable[str]) -> dict[str, dict[str, str]]:
    """Each task's options from `--task-args`: `key=value` for every task, `TASK:key=value`
    (TASK a name or a glob) for the matching tasks only; a scoped option wins."""
    names = list(tasks)
    shared = {k: v for k, v in options.items() if ":" not in k}
    per_task = {name: dict(shared) for name in names}
    for scoped, value in options.items():
        if ":" not in scoped:
            continue
        pattern, _, key = scoped.partition(":")
        if not pattern or not key:
            raise OptionError(f"--task-args: expected TASK:key=value, got {scoped}={value}")
        matched = [name for name in names if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            raise OptionError(
                f"--task-args {scoped}={value}: no task of this run matches {pattern!r}; "
                f"tasks: {', '.join(names)}"
            )
        for name in matched:
            per_task[name][key] = value
    return per_task


def results_location(output_path: Path | None, slug: str, stamp: str) -> tuple[Path, Path]:
    """The folder for samples files and the results file of a run.

    A path ending in `.json` is the results file itself (as in lm-eval), with the samples
    files beside it; any other path is a folder that gets `<model-slug>/results_<ts>.json`.
    """
    base = output_path or Path("results")
    if base.suffix.lower() == ".json":
        return base.parent, base
    folder = base / slug
    return folder, folder / f"results_{stamp}.json"
