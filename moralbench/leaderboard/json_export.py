"""JSON: everything the other formats show, with full precision and provenance."""

from __future__ import annotations

import json
from typing import Any

from .._version import __version__
from .board import Column, Leaderboard, Row
from .significance import RankGroup
from .slice_render import json_section as slice_json

FORMAT_VERSION = 1


def _column(column: Column, overview: set[str]) -> dict[str, Any]:
    return {
        "key": column.key,
        "task": column.variant.task,
        "variant": {**column.variant.describe(), "label": column.variant_label},
        "metric": column.metric,
        "lower_is_better": column.lower_is_better,
        "description": column.info.description if column.info else None,
        "in_overview": column.key in overview,
    }


def _group(group: RankGroup | None) -> dict[str, Any] | None:
    if group is None:
        return None
    return {
        "group": group.group,
        "p_vs_above": group.p_vs_above,
        "shared_items": group.shared_items,
        "reason": group.reason or None,
    }


def _row(row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": row.kind,
        "label": row.label,
        "cells": {
            key: {"value": cell.value, "ci": list(cell.ci) if cell.ci else None, "n": cell.n}
            for key, cell in row.cells.items()
        },
    }
    if row.run is not None:
        run = row.run
        out.update(
            model=run.model,
            model_args=run.model_args,
            fingerprint=run.fingerprint,
            model_description=run.description,
            results_files=[str(p) for p in run.results_files],
            tasks=[
                {
                    "task": variant.task,
                    "variant": variant.digest,
                    "n": result.n,
                    "n_failed": result.n_failed,
                    "params": result.params,
                    "notes": result.notes,
                    "results_files": [str(p) for p in result.results_files],
                    "samples_files": [str(p) for p in result.samples_files],
                    "merged_from": result.merged_from,
                }
                for variant, result in run.tasks.items()
            ],
            notes=run.notes,
        )
    if row.reference is not None:
        out["reference"] = row.reference.id
    return out


def leaderboard_dict(board: Leaderboard) -> dict[str, Any]:
    overview = {c.key for c in board.columns}
    return {
        "format": "moralbench-leaderboard",
        "format_version": FORMAT_VERSION,
        "moralbench_version": __version__,
        "sort": board.sort_key,
        "options": {
            "alpha": board.options.alpha,
            "n_resamples": board.options.n_resamples,
            "seed": board.options.seed,
            "tasks": list(board.options.tasks) if board.options.tasks else None,
            "metrics": list(board.options.metrics) if board.options.metrics else None,
        },
        "columns": [_column(c, overview) for c in board.all_columns],
        "rows": [_row(r) for r in board.rows],
        "rankings": {
            key: [{"row": i, "rank": _group(ranking.groups.get(i))} for i in ranking.order]
            for key, ranking in board.rankings.items()
        },
        "slices": slice_json(board),
        "notes": board.notes,
        "references": [
            {"id": r.id, "citation": r.citation, "url": r.url or None, "note": r.note or None}
            for r in board.references
        ],
        "missing_references": board.missing_references,
        "results_files": [str(p) for p in board.results_files],
    }


def render_json(board: Leaderboard) -> str:
    return json.dumps(leaderboard_dict(board), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
