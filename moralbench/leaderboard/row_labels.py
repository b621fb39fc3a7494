"""Readable, unique labels for leaderboard rows: the model, plus what sets a row apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .merging import RunRow

#: model args that name the model itself; the others tell rows of one model apart
_NAME_ARGS = ("pretrained", "model", "gguf_file")


def _model_name(run: RunRow) -> str:
    args = run.model_args
    if args.get("gguf_file"):
        name = Path(args["gguf_file"]).stem
    else:
        name = Path(str(args.get("pretrained") or args.get("model") or "").rstrip("/")).name
    return f"{run.model} · {name}" if name else run.model


def _name_the_mode_where_it_tells_rows_apart(group: Sequence[RunRow]) -> None:
    labels = [r.label for r in group]
    for run, label in zip(group, labels, strict=True):
        modes = {r.prompt_mode for r, other in zip(group, labels, strict=True) if other == label}
        if len(modes) > 1:
            run.label += f" [{run.prompt_mode or 'mode not recorded'}]"


def label_runs(runs: Sequence[RunRow]) -> None:
    """Give each row a readable, unique label: the model, plus the args that set it apart."""
    by_base: dict[str, list[RunRow]] = {}
    for run in runs:
        by_base.setdefault(_model_name(run), []).append(run)
    for base, group in by_base.items():
        keys = sorted({k for r in group for k in r.model_args if k not in _NAME_ARGS})
        differing = [k for k in keys if len({r.model_args.get(k) for r in group}) > 1]
        for run in group:
            extra = ", ".join(f"{k}={run.model_args.get(k, 'default')}" for k in differing)
            run.label = f"{base} ({extra})" if extra else base
        _name_the_mode_where_it_tells_rows_apart(group)
        labels = [r.label for r in group]
        for run in group:
            if labels.count(run.label) > 1:
                run.label += f" #{(run.fingerprint or '')[:8] or group.index(run) + 1}"
