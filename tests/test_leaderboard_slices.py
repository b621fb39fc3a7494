"""The clear-versus-contested view of `moralbench leaderboard` on two real demo-model runs, in
every format: each number is read back and compared with the runs' results files."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from leaderboard_runs import RealRun, RealRuns, real_runs, render_every_format

from moralbench.leaderboard.latex import escape as latex_escape

pytestmark = pytest.mark.slow
SHOWN = ("accuracy", "xentropy", "dirichlet", "ece")  # the overview's default metrics


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, demo_model_args: dict[str, str]) -> RealRuns:
    return real_runs(tmp_path_factory.getbasetemp(), demo_model_args)


@pytest.fixture(scope="module")
def rendered(runs: RealRuns, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return render_every_format(runs, tmp_path_factory.mktemp("slices"))


def label_of(run: RealRun) -> str:
    return f"hf · SmolLM2-135M-Instruct.Q4_1 (chat_template={run.chat_template})"


def slices(run: RealRun, task: str) -> dict[str, Any]:
    return run.payload["results"][task]["slices"]


def expected_cells(run: RealRun, task: str, first: str, second: str) -> dict[tuple[str, str], Any]:
    """(metric, part) -> (value, ci or None, n) from the results file."""
    section = slices(run, task)
    out = {}
    for metric in SHOWN:
        for part in (first, second):
            group = section["groups"][part]
            if metric in group:
                out[(metric, part)] = (group[metric], group.get(f"{metric}_ci"), group["n"])
        gap = section["gaps"].get(f"{first}-{second}", {})
        if metric in gap:
            out[(metric, "gap")] = (gap[metric], gap.get(f"{metric}_ci"), None)
    return out


PAIRS = [
    ("lb_votes", "clear", "contested"),
    ("scruples_dilemmas", "clear", "contested"),
    ("scruples_dilemmas", "not_controversial", "controversial"),
]


def test_results_carry_slices_that_partition_the_items(runs: RealRuns) -> None:
    for run in runs.runs:
        for task in ("lb_votes", "scruples_dilemmas"):
            section = slices(run, task)
            n = run.payload["results"][task]["n"]
            groups = section["groups"]
            assert groups["clear"]["n"] + groups["contested"]["n"] == n
            shares = [max(r["human_counts"]) / sum(r["human_counts"]) for r in run.samples(task)]
            assert groups["clear"]["n"] == sum(s >= 0.75 for s in shares)
        flags = [r["controversial"] for r in run.samples("scruples_dilemmas")]
        assert slices(run, "scruples_dilemmas")["groups"]["controversial"]["n"] == sum(flags)


def test_json_and_csv_hold_every_slice_number(runs: RealRuns, rendered: dict[str, str]) -> None:
    board = json.loads(rendered["json"])
    tables = {(t["task"], t["slices"][0], t["slices"][1]): t for t in board["slices"]}
    assert set(PAIRS) <= set(tables)
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO(rendered["csv"]))}
    checked = 0
    for task, first, second in PAIRS:
        table = tables[(task, first, second)]
        by_label = {r["label"]: r for r in table["rows"]}
        for run in runs.runs:
            row = by_label[label_of(run)]
            for (metric, part), (value, ci, n) in expected_cells(run, task, first, second).items():
                cell = row["cells"][metric][part]
                assert cell["value"] == value and cell["ci"] == ci and cell["n"] == n
                column = f"{task}:{metric}@{part if part != 'gap' else f'{first}-{second}'}"
                assert float(rows[label_of(run)][column]) == value
                assert rows[label_of(run)][f"{column}:ci_low"] == (repr(ci[0]) if ci else "")
                checked += 1
        ceiling = by_label["Human ceiling"]
        biggest = max(runs.runs, key=lambda r: slices(r, task)["groups"][first]["n"])
        want = slices(biggest, task)["groups"][first]["ceiling"]["accuracy"]
        assert ceiling["cells"]["accuracy"][first]["value"] == want
        assert rows["Human ceiling"][f"{task}:accuracy@{first}"] == repr(want)
    assert checked >= 2 * 3 * len(PAIRS)


def test_markdown_and_latex_show_each_runs_slices(runs: RealRuns, rendered: dict[str, str]) -> None:
    md = rendered["md"]
    section = md[md.index("## Clear versus contested") : md.index("## Runs")]
    latex = rendered["latex"]
    assert latex.count(r"\begin{table}") == 1 + len(PAIRS)
    for task, first, second in PAIRS:
        title = next(  # "### TASK[ [variant label]]: FIRST vs SECOND"
            x
            for x in section.splitlines()
            if x.startswith(f"### {task}") and x.endswith(f": {first} vs {second}")
        )
        block = section[section.index(title) :]
        for run in runs.runs:
            line = next(x for x in block.splitlines() if x.startswith(f"| {label_of(run)} |"))
            value, ci, n = expected_cells(run, task, first, second)[("accuracy", first)]
            text = f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
            assert f"| {text} (n={n}) |" in line
            gap = expected_cells(run, task, first, second)[("accuracy", "gap")][0]
            assert ("+" if gap > 0 else "") + f"{gap:.3f}" in line
            latex_label = latex_escape(label_of(run))
            latex_line = next(
                x for x in latex.splitlines() if x.startswith(latex_label) and f"{value:.3f}" in x
            )
            assert latex_line.endswith(r" \\")
    assert "paired bootstrap" in section


def test_html_has_the_view_and_its_figures(rendered: dict[str, str]) -> None:
    html = rendered["html"]
    assert 'data-view="agreement"' in html and 'id="view-agreement"' in html
    assert html.count('class="slice-figure"') == len(PAIRS)
    assert html.count('<table class="plain slice-table">') == len(PAIRS)
