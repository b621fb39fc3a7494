"""The HTML leaderboard in headless Chromium: sorting, the item explorer, a screenshot.

Drives Debian's Chromium (`.ci/install_chromium.sh`) through Playwright with
`executable_path`; Playwright's own browser download is never used. A missing browser fails
the test: CI installs it, so a skip would hide a broken page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from leaderboard_runs import RealRun, RealRuns, real_runs

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
DEMO_LABEL = "hf · SmolLM2-135M-Instruct.Q4_1 (chat_template={})"


def chromium_path() -> str:
    found = CHROMIUM if CHROMIUM.is_file() else shutil.which("chromium")
    if not found:
        pytest.fail("Chromium is missing: run .ci/install_chromium.sh (apt-get install chromium)")
    return str(found)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, demo_model_args: dict[str, str]) -> RealRuns:
    return real_runs(tmp_path_factory.getbasetemp(), demo_model_args)


@pytest.fixture(scope="module")
def page_file(runs: RealRuns, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("html") / "leaderboard.html"
    run_cli("leaderboard", str(runs.folder), "--format", "html", "--output", str(target))
    return target


def run_order(page, table_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr.row-run", "rows => rows.map(r => r.dataset.label)"
    )


def results(run: RealRun, task: str) -> dict:
    return run.payload["results"][task]


def test_sort_and_explore_in_chromium(runs: RealRuns, page_file: Path, tmp_path: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        pytest.fail("playwright is missing: pip install -e '.[test]'")
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path())
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(page_file.as_uri())

            # ---- sort the overview by lb_votes xentropy (lower is better), then reverse
            by_xentropy = sorted(runs.runs, key=lambda r: results(r, "lb_votes")["xentropy"])
            best_first = [DEMO_LABEL.format(r.chat_template) for r in by_xentropy]
            header = page.locator('#table-overview th[data-key="lb_votes:xentropy"]')
            first_key = page.get_attribute("#table-overview th.metric-col", "data-key")
            assert page.get_attribute("#table-overview", "data-sort") == first_key
            header.click()
            assert run_order(page, "table-overview") == best_first
            assert header.get_attribute("aria-sort") == "descending"
            header.click()
            assert run_order(page, "table-overview") == best_first[::-1]
            assert header.get_attribute("aria-sort") == "ascending"
            assert run_order(page, "table-overview") != best_first
            badge = page.locator("#table-overview tbody tr.row-run .rank-badge").first
            assert badge.inner_text() in ("1", "2")

            # ---- the lb_votes view and its explorer: item t03
            page.click(".tab[data-view^='task-lb_votes-']")
            view = page.locator("section.view[data-view^='task-lb_votes-']")
            assert view.is_visible()
            assert page.locator("#view-overview").is_hidden()
            assert view.locator("figure img").count() == 2  # reliability + scatter
            view.locator('.item-list button[data-item="t03"]').click()
            detail = view.locator(".item-detail")
            assert detail.locator(".item-title").inner_text() == "Item t03"
            sample = {
                r.chat_template: next(s for s in r.samples("lb_votes") if s["doc_id"] == "t03")
                for r in runs.runs
            }
            first = sample[runs.runs[0].chat_template]
            assert detail.locator(".item-prompt").inner_text() == first["prompt"]
            counts = first["human_counts"]
            total = sum(counts)
            assert detail.locator(".who").first.inner_text() == f"Human votes ({total})"
            votes = detail.locator(".bars").first.locator(".bar-value").all_inner_texts()
            assert votes == [f"{n} ({100 * n / total:.1f}%)" for n in counts]
            for run in runs.runs:
                label = DEMO_LABEL.format(run.chat_template)
                answer = detail.locator(f'.answer[data-model="{label}"]')
                shown = answer.locator(".bar-value").all_inner_texts()
                # the page rounds to 5 places, then shows 3 (as JavaScript's toFixed does)
                probs = sample[run.chat_template]["probs"]
                assert shown == [f"{round(p, 5):.3f}" for p in probs]
                top = answer.locator(".bar-line.top .choice-name").inner_text()
                assert top == first["choices"][probs.index(max(probs))].strip()

            # ---- the filter narrows the item list
            view.locator(".item-filter").fill("wallet")
            visible = view.locator(".item-list li:not([hidden]) button")
            assert visible.count() == 1 and visible.get_attribute("data-item") == "t00"

            shot = tmp_path / "leaderboard.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert requests == [page_file.as_uri()]  # nothing but the page itself was loaded
    assert errors == []


def test_clear_versus_contested_view_in_chromium(
    runs: RealRuns, page_file: Path, tmp_path: Path
) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        pytest.fail("playwright is missing: pip install -e '.[test]'")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path())
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_file.as_uri())
            view = page.locator("#view-agreement")
            assert view.is_hidden()
            page.click(".tab[data-view='agreement']")
            assert view.is_visible() and page.locator("#view-overview").is_hidden()
            assert page.url.endswith("#agreement")

            blocks = view.locator("section.slice-block")
            pairs = [(b.get_attribute("data-first"), b.get_attribute("data-second"))
                     for b in blocks.all()]  # fmt: skip
            assert pairs.count(("clear", "contested")) == 2  # lb_votes and scruples_dilemmas
            assert ("not_controversial", "controversial") in pairs

            # every figure is drawn and decoded by the browser
            images = view.locator("figure.slice-figure img")
            assert images.count() == len(pairs)
            widths = images.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
            assert all(w and w > 300 for w in widths)

            # the lb_votes table shows each run's clear / contested accuracy and the gap
            block = view.locator("section.slice-block", has_text="lb_votes")
            for run in runs.runs:
                row = block.locator(f'tr[data-label="{DEMO_LABEL.format(run.chat_template)}"]')
                section = results(run, "lb_votes")["slices"]
                for part in ("clear", "contested"):
                    cell = row.locator(f'td[data-part="{part}"]').first
                    want = section["groups"][part]["accuracy"]
                    assert float(cell.get_attribute("data-value")) == want
                    assert cell.locator(".v").inner_text() == f"{want:.3f}"
                gap = row.locator('td[data-part="gap"]').first
                assert float(gap.get_attribute("data-value")) == pytest.approx(
                    section["gaps"]["clear-contested"]["accuracy"], abs=0
                )
            assert block.locator("tr.row-ceiling").count() == 1
            view.screenshot(path=str(tmp_path / "agreement.png"))
        finally:
            browser.close()
    shot = tmp_path / "agreement.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert errors == []
