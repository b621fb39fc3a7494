"""The leaderboard's values: options, columns, cells, rows, rankings, and the board itself.

`table.build_leaderboard` fills them; every renderer reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..metrics import MetricInfo
from .merging import RunRow
from .references import BUILTIN_REFERENCES, Reference
from .significance import ALPHA, RankGroup
from .task_results import TaskResult
from .variants import SAMPLE_LABEL, TaskVariant


@dataclass(frozen=True)
class LeaderboardOptions:
    tasks: tuple[str, ...] | None = None  # task name patterns (globs); None: every task
    metrics: tuple[str, ...] | None = None  # None: DEFAULT_METRICS; ("all",): every metric
    sort: str | None = None  # "metric" or "task:metric"; None: the first column
    alpha: float = ALPHA
    n_resamples: int = 1000
    seed: int = 0
    reference_files: tuple[Path, ...] = (BUILTIN_REFERENCES,)
    show_ceiling: bool = True
    strict: bool = False  # a malformed results or samples file aborts instead of being skipped
    include_sample_data: bool = True  # show `--sample-data` smoke runs (columns labelled so)


@dataclass(frozen=True)
class Column:
    key: str
    variant: TaskVariant
    variant_label: str
    metric: str
    info: MetricInfo | None

    @property
    def lower_is_better(self) -> bool | None:
        return None if self.info is None else self.info.lower_is_better

    @property
    def task_title(self) -> str:
        """The task, and what sets this column apart; a `--sample-data` column always says
        so, even when it is the task's only column."""
        label = self.variant_label
        if self.variant.sample_data and SAMPLE_LABEL not in label:
            label = f"{SAMPLE_LABEL}; {label}" if label else SAMPLE_LABEL
        return f"{self.variant.task} [{label}]" if label else self.variant.task

    @property
    def arrow(self) -> str:
        return {True: "↓", False: "↑", None: ""}[self.lower_is_better]


@dataclass(frozen=True)
class Cell:
    value: float
    ci: tuple[float, float] | None = None
    n: int | None = None


@dataclass
class Row:
    kind: str  # "run", "reported" or "ceiling"
    label: str
    cells: dict[str, Cell]
    run: RunRow | None = None
    reference: Reference | None = None


@dataclass(frozen=True)
class Ranking:
    order: list[int]  # row indices, best first; rows without a value come last
    groups: dict[int, RankGroup]  # run rows with a value


@dataclass
class Leaderboard:
    columns: list[Column]  # the overview's columns (selected metrics)
    all_columns: list[Column]  # every metric of every variant (per-task views)
    rows: list[Row]
    sort_key: str
    rankings: dict[str, Ranking]
    notes: list[str]
    run_rows: list[RunRow]
    references: list[Reference]
    options: LeaderboardOptions
    results_files: list[Path] = field(default_factory=list)
    #: papers whose figures are not entered yet (from the reference files' `missing`)
    missing_references: list[str] = field(default_factory=list)

    def column(self, key: str) -> Column:
        return next(c for c in self.all_columns if c.key == key)

    def ordered_rows(self, key: str | None = None) -> list[tuple[Row, RankGroup | None]]:
        ranking = self.rankings[key or self.sort_key]
        return [(self.rows[i], ranking.groups.get(i)) for i in ranking.order]

    def variants(self) -> list[TaskVariant]:
        return list(dict.fromkeys(c.variant for c in self.all_columns))

    def task_results(self, variant: TaskVariant) -> list[tuple[Row, TaskResult]]:
        return [
            (row, row.run.tasks[variant])
            for row in self.rows
            if row.run is not None and variant in row.run.tasks
        ]
