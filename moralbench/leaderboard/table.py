"""The leaderboard itself: columns per task variant and metric, rows, rankings, notes.

Every renderer (markdown, CSV, LaTeX, JSON, HTML) reads a `Leaderboard`; none computes
numbers of its own.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from ..metrics import MetricInfo
from .board import Cell, Column, Leaderboard, LeaderboardOptions, Ranking, Row
from .catalogue import metric_catalogue
from .errors import LeaderboardOptionError, ResultsFileError
from .item_scores import item_scores
from .merging import RunRow, combine
from .references import (
    ReferenceRow,
    load_missing,
    load_reference_files,
)
from .row_labels import label_runs
from .significance import RankGroup, rank_groups
from .sources import ResultsFile, find_results_files, load_results_file
from .variants import SAMPLE_LABEL, TaskVariant, variant_labels

#: metrics shown in the overview when --metrics is not given (those present in the results)
DEFAULT_METRICS = (
    "accuracy",
    "xentropy",
    "dirichlet",
    "ece",
    "label_accuracy",
    "misalignment_rate",
    # present only for runs of the LLM calibration study's templates (arXiv 2410.07826),
    # where the study's reported figures sit beside them
    "maity2024_xentropy_double_softmax",
    "maity2024_dirichlet_fixed_c1",
)


def _select_variants(runs: Sequence[RunRow], patterns: tuple[str, ...] | None) -> list[TaskVariant]:
    counts: dict[TaskVariant, int] = {}
    for run in runs:
        for variant in run.tasks:
            counts[variant] = counts.get(variant, 0) + 1
    tasks = list(dict.fromkeys(v.task for v in counts))
    if patterns:
        chosen: list[str] = []
        for pattern in patterns:
            matches = [t for t in tasks if fnmatch.fnmatchcase(t, pattern)]
            if not matches:
                raise LeaderboardOptionError(
                    f"--tasks {pattern!r} matches no task in the results; tasks: {', '.join(tasks)}"
                )
            chosen += [m for m in matches if m not in chosen]
        tasks = chosen
    ordered: list[TaskVariant] = []
    for task in tasks:
        mine = [v for v in counts if v.task == task]
        ordered += sorted(mine, key=lambda v: -counts[v])
    return ordered


def _columns(
    runs: Sequence[RunRow], variants: Sequence[TaskVariant], catalogue: dict[str, MetricInfo]
) -> list[Column]:
    labels: dict[TaskVariant, str] = {}
    for task in dict.fromkeys(v.task for v in variants):
        labels.update(variant_labels([v for v in variants if v.task == task]))
    columns = []
    for variant in variants:
        present = list(
            dict.fromkeys(m for r in runs if variant in r.tasks for m in r.tasks[variant].values)
        )
        order = {name: i for i, name in enumerate(catalogue)}
        present.sort(key=lambda m: (order.get(m, len(order)), m))
        for metric in present:
            prefix = f"{variant.task}#{variant.digest}" if labels[variant] else variant.task
            columns.append(
                Column(
                    f"{prefix}:{metric}", variant, labels[variant], metric, catalogue.get(metric)
                )
            )
    return columns


def _overview(columns: list[Column], wanted: tuple[str, ...] | None) -> list[Column]:
    present = list(dict.fromkeys(c.metric for c in columns))
    if wanted is None:
        chosen = [m for m in DEFAULT_METRICS if m in present] or present
    elif wanted == ("all",):
        chosen = present
    else:
        missing = [m for m in wanted if m not in present]
        if missing:
            raise LeaderboardOptionError(
                f"--metrics: {', '.join(missing)} in no results; metrics found: "
                f"{', '.join(present)}"
            )
        chosen = list(wanted)
    variants = list(dict.fromkeys(c.variant for c in columns))
    return sorted(
        (c for c in columns if c.metric in chosen),
        key=lambda c: (variants.index(c.variant), chosen.index(c.metric)),
    )


def _run_cells(run: RunRow, columns: Sequence[Column]) -> dict[str, Cell]:
    cells = {}
    for column in columns:
        result = run.tasks.get(column.variant)
        if result is None or column.metric not in result.values:
            continue
        cells[column.key] = Cell(
            result.values[column.metric], result.intervals.get(column.metric), result.n
        )
    return cells


def _ceiling_row(runs: Sequence[RunRow], columns: Sequence[Column], notes: list[str]) -> Row | None:
    cells: dict[str, Cell] = {}
    for column in columns:
        found = [
            (r.tasks[column.variant].n or 0, r.tasks[column.variant].ceiling[column.metric])
            for r in runs
            if column.variant in r.tasks and column.metric in r.tasks[column.variant].ceiling
        ]
        if not found:
            continue
        n, value = max(found, key=lambda pair: pair[0])
        if any(not math.isclose(v, value, rel_tol=1e-9) for _, v in found):
            notes.append(
                f"{column.task_title} {column.metric}: the human ceiling differs between runs "
                "(different items); the one over the most items is shown"
            )
        cells[column.key] = Cell(value, None, n)
    if not cells:
        return None
    return Row("ceiling", "Human ceiling", cells)


def _reference_rows(references: Sequence[ReferenceRow], columns: Sequence[Column]) -> list[Row]:
    rows = []
    for ref in references:
        cells = {
            c.key: Cell(ref.values[c.metric])
            for c in columns
            if c.variant.task == ref.task
            and c.variant.split == ref.split
            and c.metric in ref.values
            and all(dict(c.variant.options).get(k) == v for k, v in ref.where)
        }
        if cells:
            rows.append(Row("reported", ref.model, cells, reference=ref.reference))
    return rows


def _rank(rows: Sequence[Row], column: Column, options: LeaderboardOptions) -> Ranking:
    with_value = [i for i, r in enumerate(rows) if column.key in r.cells]
    without = [i for i, r in enumerate(rows) if column.key not in r.cells]
    sign = -1.0 if column.lower_is_better is False else 1.0
    with_value.sort(key=lambda i: (sign * rows[i].cells[column.key].value, rows[i].label))
    groups: dict[int, RankGroup] = {}
    run_rows = [i for i in with_value if rows[i].kind == "run"]
    if column.lower_is_better is None:
        for i in run_rows:
            groups[i] = RankGroup(None, None, None, "the metric's direction is unknown")
    else:
        scores = []
        for i in run_rows:
            run = rows[i].run
            assert run is not None
            scores.append(item_scores(column.metric, run.tasks[column.variant]))
        ranked = rank_groups(
            scores, alpha=options.alpha, seed=options.seed, n_resamples=options.n_resamples
        )
        groups = dict(zip(run_rows, ranked, strict=True))
    return Ranking(with_value + sorted(without, key=lambda i: rows[i].label), groups)


def _sort_key(columns: Sequence[Column], wanted: str | None) -> str:
    if not columns:
        raise LeaderboardOptionError("no metric columns to show")
    if wanted is None:
        return columns[0].key
    task, _, metric = wanted.rpartition(":")
    matches = [
        c
        for c in columns
        if c.key == wanted or (c.metric == metric and (not task or c.variant.task == task))
    ]
    if not matches:
        shown = ", ".join(dict.fromkeys(f"{c.variant.task}:{c.metric}" for c in columns))
        raise LeaderboardOptionError(f"--sort {wanted!r} is not a shown column; columns: {shown}")
    if matches[0].lower_is_better is None:
        raise LeaderboardOptionError(
            f"--sort {wanted!r}: the direction of {matches[0].metric!r} is unknown; a plugin "
            "declares it through moralbench_register_metrics"
        )
    return matches[0].key


def _load_sources(
    files: Sequence[Path], skip: Callable[[Path, ResultsFileError], None]
) -> list[ResultsFile]:
    sources = []
    for path in files:
        try:
            sources.append(load_results_file(path))
        except ResultsFileError as exc:
            skip(path, exc)
    return sources


def _without_sample_runs(
    sources: list[ResultsFile], include: bool
) -> tuple[list[ResultsFile], int]:
    """The results to show, and how many `--sample-data` runs were left out."""
    if include:
        return sources, 0
    kept = [s for s in sources if not s.result.sample_data]
    return kept, len(sources) - len(kept)


def _sample_data_notes(shown: Sequence[ResultsFile], left_out: int) -> list[str]:
    notes = []
    smoke = sum(1 for s in shown if s.result.sample_data)
    if smoke:
        notes.append(
            f"{smoke} run(s) scored only the few bundled --sample-data items (smoke runs, not "
            f"measurements): their columns are labelled '{SAMPLE_LABEL}'; --no-sample-data "
            "leaves them out"
        )
    if left_out:
        notes.append(f"{left_out} --sample-data run(s) left out (--no-sample-data)")
    return notes


def _variant_notes(variants: Sequence[TaskVariant]) -> list[str]:
    """A note for each task whose results come in several variants."""
    notes = []
    for task in dict.fromkeys(v.task for v in variants):
        mine = [v for v in variants if v.task == task]
        if len(mine) > 1:
            labels = variant_labels(mine)
            notes.append(
                f"{task}: results differ in {len(mine)} variants ("
                + "; ".join(f"[{labels[v]}]" for v in mine)
                + "), shown in separate columns"
            )
    return notes


def _coverage_notes(
    columns: Sequence[Column], rows: Sequence[Row], rankings: dict[str, Ranking]
) -> list[str]:
    """A note for each shown column whose ranked rows cover different numbers of items."""
    notes = []
    for column in columns:
        n_values = {rows[i].cells[column.key].n for i in rankings[column.key].groups}
        if len(n_values) > 1:
            notes.append(
                f"{column.task_title} {column.metric}: rows cover different numbers of items "
                f"({', '.join(str(n) for n in sorted(n_values, key=lambda x: x or 0))}); "
                "rank groups compare the shared items"
            )
    return notes


def build_leaderboard(
    paths: Sequence[Path | str],
    options: LeaderboardOptions | None = None,
    *,
    warn: Callable[[str], None] | None = None,
    catalogue: dict[str, MetricInfo] | None = None,
) -> Leaderboard:
    """Read results files (or folders of them) and build the leaderboard."""
    options = options or LeaderboardOptions()
    catalogue = catalogue if catalogue is not None else metric_catalogue(warn)
    files = find_results_files(paths)
    skipped: dict[Path, ResultsFileError] = {}

    def skip(path: Path, error: ResultsFileError) -> None:
        if options.strict:
            raise error
        skipped[path] = error

    sources, left_out = _without_sample_runs(
        _load_sources(files, skip), options.include_sample_data
    )
    runs, notes = combine(sources, catalogue, skip)
    if not runs and skipped:
        raise next(iter(skipped.values()))  # nothing usable: the first file's own error
    notes = [f"skipped {p}: {e} (--strict aborts instead)" for p, e in skipped.items()] + notes
    notes += _sample_data_notes(sources, left_out)
    files = [path for path in files if path not in skipped]
    label_runs(runs)
    variants = _select_variants(runs, options.tasks)
    all_columns = _columns(runs, variants, catalogue)
    columns = _overview(all_columns, options.metrics)
    notes += _variant_notes(variants)
    rows = [Row("run", r.label, _run_cells(r, all_columns), run=r) for r in runs]
    if options.show_ceiling:
        ceiling = _ceiling_row(runs, all_columns, notes)
        if ceiling is not None:
            rows.append(ceiling)
    references = load_reference_files(options.reference_files)
    reference_rows = _reference_rows(references, all_columns)
    rows += reference_rows
    sort_key = _sort_key(columns, options.sort)
    rankings = {c.key: _rank(rows, c, options) for c in all_columns}
    notes += _coverage_notes(columns, rows, rankings)
    used = list(dict.fromkeys(r.reference for r in rows if r.reference is not None))
    return Leaderboard(
        columns=columns,
        all_columns=all_columns,
        rows=rows,
        sort_key=sort_key,
        rankings=rankings,
        notes=list(dict.fromkeys(notes)),
        run_rows=runs,
        references=used,
        options=options,
        results_files=files,
        missing_references=load_missing(options.reference_files),
    )
