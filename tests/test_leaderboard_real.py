"""The leaderboard on results of real demo-model runs: every format, merging, variants.

The two runs (chat template off / on) are made once per session (`leaderboard_runs`); every
number a rendered table shows is parsed back and compared with the results files.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from leaderboard_runs import FORMATS, TASKS, RealRun, RealRuns, real_runs, render_every_format

from moralbench.leaderboard import LeaderboardOptions, build_leaderboard, render
from moralbench.leaderboard.latex import escape as latex_escape
from moralbench.metrics import METRICS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, demo_model_args: dict[str, str]) -> RealRuns:
    return real_runs(tmp_path_factory.getbasetemp(), demo_model_args)


@pytest.fixture(scope="module")
def rendered(runs: RealRuns, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every format, written by the real CLI with every metric shown."""
    return render_every_format(runs, tmp_path_factory.mktemp("rendered"), "--metrics", "all")


def metric_names(results: dict[str, Any]) -> set[str]:
    return {key for key in results if f"{key}_ci" in results}


def expected(run: RealRun) -> dict[tuple[str, str], tuple[float, tuple[float, float], int]]:
    """(task, metric) -> (value, interval, items) straight from the results file."""
    out = {}
    for task, results in run.payload["results"].items():
        for metric in metric_names(results):
            low, high = results[f"{metric}_ci"]
            out[(task, metric)] = (results[metric], (low, high), results["n"])
    return out


def label_of(run: RealRun) -> str:
    return f"hf · SmolLM2-135M-Instruct.Q4_1 (chat_template={run.chat_template})"


def fixed(value: float) -> str:
    return f"{value:.3f}"


def cell_text(value: float, ci: tuple[float, float]) -> str:
    return f"{fixed(value)} [{fixed(ci[0])}, {fixed(ci[1])}]"


# ---- parsing each format back ------------------------------------------------------------


def parse_json(text: str) -> dict[str, dict[tuple[str, str], tuple[float, tuple, int]]]:
    board = json.loads(text)
    columns = {c["key"]: (c["task"], c["metric"]) for c in board["columns"]}
    return {
        row["label"]: {
            columns[key]: (cell["value"], tuple(cell["ci"]), cell["n"])
            for key, cell in row["cells"].items()
        }
        for row in board["rows"]
        if row["kind"] == "run"
    }


def parse_csv(text: str) -> dict[str, dict[tuple[str, str], tuple[float, tuple, int]]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    keys = [k for k in rows[0] if re.fullmatch(r"[a-z0-9_]+:[a-z0-9_]+", k)]
    out = {}
    for row in rows:
        if row["kind"] != "run":
            continue
        cells = {}
        for key in keys:
            if row[key]:
                task, metric = key.split(":")
                ci = (float(row[f"{key}:ci_low"]), float(row[f"{key}:ci_high"]))
                cells[(task, metric)] = (float(row[key]), ci, int(row[f"{key}:n"]))
        out[row["model"]] = cells
    return out


def parse_markdown(text: str) -> dict[str, dict[tuple[str, str], str]]:
    lines: list[str] = []
    for line in text.splitlines():  # the first table: the overview
        if line.startswith("| "):
            lines.append(line)
        elif lines and not line.startswith("|"):
            break
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    columns = []
    for title in header[2:]:
        title = title.rstrip(" ↑↓").replace("\\|", "|")
        title = title.replace(" [sample data]", "")  # these runs use --sample-data (#18)
        task, metric = title.split(" ")
        columns.append((task, metric))
    out = {}
    for line in lines[1:]:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        out[cells[1]] = {col: cell.strip("*") for col, cell in zip(columns, cells[2:], strict=True)}
    return out


def parse_latex(text: str) -> dict[str, dict[tuple[str, str], str]]:
    lines = text.splitlines()
    head = lines[lines.index(r"\toprule") + 1].removesuffix(r" \\").split(" & ")
    columns = []
    for cell in head[2:]:
        match = re.fullmatch(r"\\shortstack\{(.+)\\\\(.+?)( \$\\(up|down)arrow\$)?\}", cell)
        assert match, cell
        task = match[1].replace(" [sample data]", "")  # these runs use --sample-data (#18)
        columns.append((task.replace(r"\_", "_"), match[2].replace(r"\_", "_")))
    body = lines[lines.index(r"\midrule") + 1 : lines.index(r"\bottomrule")]
    out = {}
    for line in body:
        cells = line.removesuffix(r" \\").split(" & ")
        texts = []
        for cell in cells[2:]:
            cell = re.sub(r"\\textbf\{([^}]*)\}", r"\1", cell)
            cell = re.sub(r" \{\\scriptsize (\[[^]]*\])\}", r" \1", cell)
            texts.append(cell)
        out[cells[1]] = dict(zip(columns, texts, strict=True))
    return out


class BoardTables(HTMLParser):
    """Every `table.board`: header keys, and per row its label, kind and cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, Any]] = {}
        self.table: dict[str, Any] | None = None
        self.cell: dict[str, Any] | None = None
        self.in_ci = False
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name in ("src", "href"):
            if a.get(name):
                self.srcs.append(str(a[name]))
        classes = (a.get("class") or "").split()
        if tag == "table" and "board" in classes:
            self.table = {"keys": [], "rows": []}
            self.tables[str(a["id"])] = self.table
        elif self.table is None:
            return
        elif tag == "th" and "metric-col" in classes:
            self.table["keys"].append(a["data-key"])
        elif tag == "tr" and a.get("data-label") is not None:
            self.table["rows"].append({"label": a["data-label"], "kind": a["class"], "cells": []})
        elif tag == "td" and "num" in classes:
            self.cell = {"value": a.get("data-value"), "ci": ""}
            self.table["rows"][-1]["cells"].append(self.cell)
        elif tag == "span" and "ci" in classes:
            self.in_ci = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table = None
        elif tag == "span":
            self.in_ci = False

    def handle_data(self, data: str) -> None:
        if self.in_ci and self.cell is not None:
            self.cell["ci"] += data


def parse_html(text: str) -> BoardTables:
    parser = BoardTables()
    parser.feed(text)
    return parser


# ---- every format against the results files ---------------------------------------------


def test_every_format_shows_the_results_files_numbers(
    runs: RealRuns, rendered: dict[str, str]
) -> None:
    board = json.loads(rendered["json"])
    for task in TASKS:
        shown = {c["metric"] for c in board["columns"] if c["task"] == task}
        assert shown == metric_names(runs.runs[0].payload["results"][task]), task
    exact: dict[str, Callable[[str], dict]] = {"json": parse_json, "csv": parse_csv}
    for fmt, parse in exact.items():
        table = parse(rendered[fmt])
        assert set(table) == {label_of(r) for r in runs.runs}, fmt
        for run in runs.runs:
            want = expected(run)
            assert set(table[label_of(run)]) == set(want), fmt
            for key, (value, ci, n) in want.items():
                got_value, got_ci, got_n = table[label_of(run)][key]
                assert (got_value, got_ci) == (value, ci), (fmt, key)
                assert got_n == n == 8
    for fmt, parse, name in (
        ("md", parse_markdown, label_of),
        ("latex", parse_latex, lambda r: latex_escape(label_of(r))),
    ):
        table = parse(rendered[fmt])
        for run in runs.runs:
            row = table[name(run)]
            for key, (value, ci, _) in expected(run).items():
                assert row[key] == cell_text(value, ci), (fmt, key)


def test_html_tables_carry_exact_values(runs: RealRuns, rendered: dict[str, str]) -> None:
    tables = parse_html(rendered["html"]).tables
    overview = tables["table-overview"]
    assert len(tables) == 1 + len(TASKS)  # the overview and one view per task
    for run in runs.runs:
        (row,) = [r for r in overview["rows"] if r["label"] == label_of(run)]
        assert row["kind"] == "row-run"
        want = expected(run)
        seen = 0
        for key, cell in zip(overview["keys"], row["cells"], strict=True):
            task, metric = key.split(":")
            value, ci, _ = want[(task, metric)]
            assert float(cell["value"]) == value, key
            assert cell["ci"] == f"[{fixed(ci[0])}, {fixed(ci[1])}]"
            seen += 1
        assert seen == len(want)


def test_ceiling_row_is_the_runs_human_ceiling(runs: RealRuns, rendered: dict[str, str]) -> None:
    board = json.loads(rendered["json"])
    (ceiling,) = [r for r in board["rows"] if r["kind"] == "ceiling"]
    results = runs.runs[0].payload["results"]
    for key, cell in ceiling["cells"].items():
        task, metric = key.split(":")
        assert cell["value"] == results[task]["ceiling"][metric]
        assert cell["ci"] is None


def test_html_page_makes_no_network_requests(rendered: dict[str, str]) -> None:
    page = rendered["html"]
    parser = parse_html(page)
    assert parser.srcs, "the page should have images and in-page links"
    for target in parser.srcs:
        assert target.startswith(("data:", "#")), target
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=\"(https?:)?//", page)
    assert "default-src 'none'" in page  # the CSP forbids loads even if one slipped in


def test_default_metrics_and_sort_direction_via_cli(runs: RealRuns) -> None:
    proc = run_cli("leaderboard", str(runs.folder), "--tasks", "lb_votes", "--sort", "xentropy")
    table = parse_markdown(proc.stdout)
    header = next(line for line in proc.stdout.splitlines() if line.startswith("| Rank"))
    # the runs use --sample-data, which every column title says (#18)
    assert "lb_votes [sample data] accuracy ↑" in header
    assert "lb_votes [sample data] xentropy ↓" in header
    assert "welfare" not in header  # not a default column
    assert "Sorted by lb_votes [sample data] xentropy ↓ (lower is better)." in proc.stdout
    by_value = sorted(runs.runs, key=lambda r: r.payload["results"]["lb_votes"]["xentropy"])
    order = [label for label in table if label.startswith("hf ·")]
    assert order == [label_of(r) for r in by_value]


def test_every_column_sorts_in_its_metrics_direction(runs: RealRuns) -> None:
    board = build_leaderboard([runs.folder], LeaderboardOptions(metrics=("all",)))
    assert {METRICS[m].lower_is_better for m in ("accuracy", "welfare_utilitarian")} == {False}
    directions_seen = set()
    for column in board.columns:
        values = [row.cells[column.key].value for row, _ in board.ordered_rows(column.key)
                  if row.kind == "run"]  # fmt: skip
        assert len(values) == 2
        if values[0] == values[1]:
            continue
        lower = METRICS[column.metric].lower_is_better
        assert (values[0] < values[1]) == lower, column.key
        directions_seen.add(lower)
    assert directions_seen == {True, False}, "the runs should differ in both kinds of metric"


def test_rank_groups_follow_the_paired_test(runs: RealRuns, rendered: dict[str, str]) -> None:
    board = json.loads(rendered["json"])
    alpha = board["options"]["alpha"]
    tested = 0
    for ranking in board["rankings"].values():
        ranks = [e["rank"] for e in ranking if board["rows"][e["row"]]["kind"] == "run"]
        if len(ranks) < 2:
            continue
        first, second = ranks
        assert first["group"] == 1 and first["p_vs_above"] is None
        assert second["shared_items"] == 8
        assert 0 <= second["p_vs_above"] <= 1
        assert second["group"] == (2 if second["p_vs_above"] < alpha else 1)
        tested += 1
    assert tested > 10


# ---- merging, duplicates and variants, built from copies of the real files --------------


def copy_run(
    run: RealRun,
    dest: Path,
    stamp: str,
    *,
    keep: Callable[[dict[str, Any]], bool] | None = None,
    edit: Callable[[dict[str, Any]], None] | None = None,
    tasks: tuple[str, ...] = TASKS,
) -> Path:
    """A copy of a real run's results and samples (optionally a subset of items or edited)."""
    dest.mkdir(parents=True, exist_ok=True)
    payload = run.payload
    payload["results"] = {t: payload["results"][t] for t in tasks}
    payload["samples_files"] = {}
    for task in tasks:
        name = f"samples_{task}_{stamp}.jsonl"
        records = [r for r in run.samples(task) if keep is None or keep(r)]
        (dest / name).write_text("".join(json.dumps(r) + "\n" for r in records))
        payload["samples_files"][task] = name
        if keep is not None:  # a part reports the items it holds (a shorter file is refused)
            failed = sum(1 for r in records if r.get("error"))
            payload["results"][task] = {
                **payload["results"][task],
                "n": len(records) - failed,
                "n_failed": failed,
            }
    if edit is not None:
        edit(payload)
    path = dest / f"results_{stamp}.json"
    path.write_text(json.dumps(payload))
    return path


def result_of(board: Any, run: RealRun, task: str) -> Any:
    (row,) = [r for r in board.run_rows if r.model_args == run.model_args]
    (result,) = [res for variant, res in row.tasks.items() if variant.task == task]
    return result


def assert_same_as_run(result: Any, run: RealRun, task: str) -> None:
    original = run.payload["results"][task]
    assert result.n == original["n"]
    for metric in metric_names(original):
        assert math.isclose(result.values[metric], original[metric], rel_tol=1e-12), metric
        low, high = original[f"{metric}_ci"]
        assert result.intervals[metric] == pytest.approx((low, high), rel=1e-12), metric
    assert result.ceiling == pytest.approx(original["ceiling"], rel=1e-12)


def test_shards_merge_to_the_whole_run(runs: RealRuns, tmp_path: Path) -> None:
    run = runs.runs[0]
    for part in range(2):  # interleaved, as a two-process run splits its documents
        copy_run(run, tmp_path / "shards", f"2030-01-0{part + 1}T00-00-00",
                 keep=lambda r, part=part: r["_index"] % 2 == part)  # fmt: skip
    board = build_leaderboard([tmp_path / "shards"], LeaderboardOptions(metrics=("all",)))
    assert len(board.run_rows) == 1
    for task in TASKS:
        result = result_of(board, run, task)
        assert result.merged_from == 2
        assert_same_as_run(result, run, task)
        assert any(f"{task}: merged 2 files" in note and "covering 8 items" in note
                   for note in board.notes)  # fmt: skip


def test_resumed_part_and_duplicate_runs_are_counted_once(runs: RealRuns, tmp_path: Path) -> None:
    run, other = runs.runs
    # an interrupted first attempt (first 3 items), the finished run, and a repeat of it
    copy_run(run, tmp_path / "a", "2030-01-01T00-00-00", keep=lambda r: r["_index"] < 3)
    copy_run(run, tmp_path / "a", "2030-01-02T00-00-00")
    copy_run(run, tmp_path / "b", "2030-01-03T00-00-00")
    board = build_leaderboard([tmp_path / "a", tmp_path / "b", other.results_path])
    assert len(board.run_rows) == 2
    for task in TASKS:
        result = result_of(board, run, task)
        assert result.results_files[0].name == "results_2030-01-03T00-00-00.json"
        assert_same_as_run(result, run, task)
        assert any(note.startswith(f"{task}: duplicate run(s)") and "counted once" in note
                   for note in board.notes)  # fmt: skip


def test_conflicting_scores_of_one_item_are_reported(runs: RealRuns, tmp_path: Path) -> None:
    run = runs.runs[0]

    def nudge(payload: dict[str, Any]) -> None:
        name = payload["samples_files"]["lb_votes"]
        path = tmp_path / name
        records = [json.loads(line) for line in path.read_text().splitlines()]
        p = records[0]["probs"]
        records[0]["probs"] = [p[0] + 0.01, p[1] - 0.01, *p[2:]]
        path.write_text("".join(json.dumps(r) + "\n" for r in records))

    copy_run(run, tmp_path, "2030-01-01T00-00-00", tasks=("lb_votes",))
    copy_run(run, tmp_path, "2030-01-02T00-00-00", tasks=("lb_votes",), edit=nudge)
    board = build_leaderboard([tmp_path])
    notes = [n for n in board.notes if "scored differently" in n]
    assert len(notes) == 1 and "1 item(s)" in notes[0] and "max |Δp| = 0.01" in notes[0]


@pytest.mark.parametrize("field", ["version", "template", "data"])
def test_different_task_variants_get_separate_columns(
    runs: RealRuns, tmp_path: Path, field: str
) -> None:
    first, second = runs.runs

    def change(payload: dict[str, Any]) -> None:
        info = payload["versions"]["tasks"]["lb_votes"]
        if field == "version":
            info["version"] = "2"
        elif field == "template":
            info["templates"] = {"default": "f" * 64}
        else:
            payload["data"]["lb_votes"][0]["sha256"] = "e" * 64

    copy_run(second, tmp_path, "2030-01-01T00-00-00", edit=change)
    board = build_leaderboard([first.results_path, tmp_path], LeaderboardOptions())
    columns = [c for c in board.columns if c.variant.task == "lb_votes" and c.metric == "xentropy"]
    assert len(columns) == 2
    labels = {c.variant_label for c in columns}
    marker = {"version": "v2", "template": "template default (ffffffff)", "data": "eeeeeeee"}
    assert any(marker[field] in label for label in labels), labels
    for run in runs.runs:
        (row,) = [r for r in board.rows if r.run is not None and r.run.model_args == run.model_args]
        own = [c for c in columns if c.key in row.cells]
        assert len(own) == 1  # never merged into the other variant's column
        assert row.cells[own[0].key].value == run.payload["results"]["lb_votes"]["xentropy"]
    assert any("lb_votes: results differ in 2 variants" in n for n in board.notes)
    # the scruples columns, unchanged, stay shared
    assert len([c for c in board.columns if c.variant.task == "scruples_dilemmas"
                and c.metric == "xentropy"]) == 1  # fmt: skip
    markdown = render(board, "md")
    assert "lb_votes [" in markdown and "shown in separate columns" in markdown


def test_one_model_with_two_variants_keeps_both(runs: RealRuns, tmp_path: Path) -> None:
    run = runs.runs[0]

    def new_data(payload: dict[str, Any]) -> None:
        payload["data"]["lb_votes"][0]["sha256"] = "0" * 64

    copy_run(run, tmp_path, "2030-01-01T00-00-00", tasks=("lb_votes",), edit=new_data)
    board = build_leaderboard([run.results_path, tmp_path])
    (row,) = board.run_rows
    variants = [v for v in row.tasks if v.task == "lb_votes"]
    assert len(variants) == 2
    assert not [n for n in board.notes if "merged" in n or "duplicate" in n]


# ---- reference rows ----------------------------------------------------------------------


def test_reference_rows_are_marked_reported_with_citation(runs: RealRuns, tmp_path: Path) -> None:
    refs = tmp_path / "refs.yaml"
    refs.write_text(
        "references:\n"
        "  - id: votes2030\n"
        "    citation: Example et al., A made-up vote study, 2030\n"
        "    url: https://example.org/votes\n"
        "    unit: percent\n"
        "    rows:\n"
        "      - {model: Paper model, task: lb_votes, values: {accuracy: 62.5}}\n"
    )
    texts = {
        fmt: run_cli(
            "leaderboard",
            str(runs.folder),
            "--references",
            str(refs),
            "--format",
            fmt,
            "--no-plots",
        ).stdout  # fmt: skip
        for fmt in FORMATS
    }
    board = json.loads(texts["json"])
    (row,) = [r for r in board["rows"] if r["kind"] == "reported"]
    assert row["label"] == "Paper model" and row["reference"] == "votes2030"
    assert row["cells"] == {"lb_votes:accuracy": {"value": 0.625, "ci": None, "n": None}}
    ranking = board["rankings"]["lb_votes:accuracy"]
    (entry,) = [e for e in ranking if board["rows"][e["row"]]["kind"] == "reported"]
    assert entry["rank"] is None  # reported rows take no part in the rank groups
    assert board["references"][0]["citation"] == "Example et al., A made-up vote study, 2030"
    assert "| ref | Paper model *(reported [1])* |" in texts["md"]
    assert (
        "1. Example et al., A made-up vote study, 2030. <https://example.org/votes>" in texts["md"]
    )
    assert r"\textit{Paper model}$^{1}$" in texts["latex"]
    assert r"$^{1}$ Example et al., A made-up vote study, 2030." in texts["latex"]
    (csv_row,) = [r for r in csv.DictReader(io.StringIO(texts["csv"])) if r["kind"] == "reported"]
    assert csv_row["rank"] == "ref" and csv_row["lb_votes:accuracy"] == "0.625"
    assert csv_row["source"] == "Example et al., A made-up vote study, 2030"
    html = texts["html"]
    assert 'class="tag" title="Copied from the paper' in html and "reported</span>" in html
    assert 'id="ref-votes2030"' in html and "A made-up vote study" in html
    assert 'href="https://example.org' not in html  # shown as text, not a link to follow


def test_shard_copies_in_place_of_a_moved_folder(runs: RealRuns, tmp_path: Path) -> None:
    """A results folder copied elsewhere still finds its samples (looked up beside it)."""
    moved = tmp_path / "moved"
    shutil.copytree(runs.runs[0].results_path.parent, moved)
    board = build_leaderboard([moved])
    result = result_of(board, runs.runs[0], "lb_votes")
    assert result.samples_files[0].parent == moved
    assert_same_as_run(result, runs.runs[0], "lb_votes")
