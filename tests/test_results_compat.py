"""Results and samples files: one typed reader and writer, old files still read, new schema marked.

`tests/fixtures/results_v1/` was written by `moralbench run` (demo model, three tasks, four
bundled items each) at commit c452772, before results carried a `schema_version`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mb_counting_backend
import pytest
from conftest import TOY_TASKS
from test_runner import _run

from moralbench import evaluate, hookimpl
from moralbench.backend import BackendSpec
from moralbench.datasets import DatasetSource
from moralbench.errors import BackendUnsupported, MoralbenchError
from moralbench.leaderboard import LeaderboardOptions, ResultsFileError, build_leaderboard, render
from moralbench.leaderboard.sources import load_results_file, load_samples
from moralbench.metrics import MetricInfo
from moralbench.plugin_manager import get_plugin_manager
from moralbench.registry import build_registry
from moralbench.run_result import SCHEMA_VERSION, RunResult
from moralbench.sample_record import SampleRecord

V1 = Path(__file__).parent / "fixtures" / "results_v1"
V1_TASKS = ["scruples_dilemmas", "scruples_anecdotes", "dfar_classification"]


def _v1_copy(tmp_path: Path) -> Path:
    """The fixture folder copied (a moved results folder: recorded paths do not exist)."""
    shutil.copytree(V1, tmp_path / "v1")
    (results,) = (tmp_path / "v1").rglob("results_*.json")
    return results


def test_results_written_before_schema_version_build_a_leaderboard(tmp_path: Path) -> None:
    path = _v1_copy(tmp_path)
    payload = json.loads(path.read_text())
    assert "schema_version" not in payload
    source = load_results_file(path)
    assert source.result.schema_version == 1
    assert source.task_names == V1_TASKS
    board = build_leaderboard([tmp_path], LeaderboardOptions(strict=True, reference_files=()))
    assert [row.kind for row in board.rows] == ["run", "ceiling"]
    run = board.rows[0]
    for task in V1_TASKS:
        cell = run.cells[f"{task}:accuracy"]
        assert cell.value == pytest.approx(payload["results"][task]["accuracy"])
        assert cell.n == 4
    (row,) = board.run_rows
    assert all(result.samples is not None for result in row.tasks.values())
    html = render(board, "html")
    assert "sample-dilemma-test-01" in html  # the item explorer read the samples
    assert "scruples_anecdotes" in render(board, "md")


def test_old_files_read_back_to_what_was_written() -> None:
    (path,) = V1.rglob("results_*.json")
    payload = json.loads(path.read_text())
    assert RunResult.from_json(payload).to_json() == {"schema_version": 1, **payload}
    for samples in V1.rglob("samples_*.jsonl"):
        lines = [json.loads(line) for line in samples.read_text().splitlines()]
        assert [SampleRecord.from_json(line).to_json() for line in lines] == lines
        records = load_samples(samples)
        assert [r.index for r in records] == [0, 1, 2, 3]
        assert all(r.prompt and r.probs and r.line for r in records)


def test_unknown_schema_version_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = _v1_copy(tmp_path)
    payload = json.loads(path.read_text())
    path.write_text(json.dumps({**payload, "schema_version": 99}))
    with pytest.raises(ResultsFileError, match="schema_version 99") as info:
        build_leaderboard([path], LeaderboardOptions(strict=True))
    assert str(path) in str(info.value)


def test_a_run_writes_the_current_schema_and_reads_back(tmp_path: Path) -> None:
    payload = _run(tmp_path)
    on_disk = json.loads(Path(payload["results_file"]).read_text())
    assert on_disk["schema_version"] == SCHEMA_VERSION
    result = RunResult.from_json(on_disk)
    assert result.to_json() == on_disk
    assert result.outcome("toy_votes").samples_file == on_disk["samples_files"]["toy_votes"]
    samples = load_samples(Path(on_disk["samples_files"]["toy_votes"]))
    assert [r.index for r in samples] == list(range(16))
    assert all(r.task == "toy_votes" and r.split == "test" for r in samples)


LOADED: list[str] = []


def loading_factory(args, options):  # type: ignore[no-untyped-def]
    LOADED.append("loaded")
    return mb_counting_backend.CountingBackend(args, options)


class _GenerateOnly:
    @hookimpl
    def moralbench_register_models(self):  # type: ignore[no-untyped-def]
        factory = f"{__name__}:loading_factory"
        return [BackendSpec("generate-only", factory, (), request_types=("generate",))]


def test_request_type_is_checked_before_the_backend_loads(tmp_path: Path) -> None:
    spec = BackendSpec(
        "choice-only", "no_such_module:Nothing", ("exact",), request_types=("choice",)
    )
    with pytest.raises(BackendUnsupported, match="cannot answer generate requests"):
        spec.check_request_type("dfar_reasons", "generate")
    assert isinstance(BackendUnsupported("x", "choice"), MoralbenchError)
    LOADED.clear()
    plugins = [_GenerateOnly()]
    with pytest.raises(BackendUnsupported, match="task 'toy_votes' asks for them"):
        evaluate(
            "generate-only",
            "toy_votes",
            include_path=[TOY_TASKS],
            extra_plugins=plugins,
            output_path=tmp_path,
            log=lambda message: None,
        )
    assert LOADED == []  # refused before the backend was loaded


@pytest.mark.parametrize(
    ("hook", "item"),
    [
        (
            "moralbench_register_metrics",
            MetricInfo("mb_dup_metric", "registered twice", False, False),
        ),
        ("moralbench_register_datasets", DatasetSource("mb_dup_dataset", ())),
    ],
)
def test_every_kind_of_duplicate_names_both_plugins(hook: str, item: object) -> None:
    plugin = type("Again", (), {hook: hookimpl(lambda self: [item])})()
    first = type("First", (), {hook: hookimpl(lambda self: [item])})()
    plugins = get_plugin_manager(extra_plugins=[first, plugin])
    with pytest.raises(MoralbenchError, match="registered twice") as info:
        build_registry(plugins)
    assert str(info.value).count("'") >= 4  # both plugin names quoted


def test_registry_keeps_who_registered_what() -> None:
    registry = build_registry(get_plugin_manager())
    assert registry.dataset_plugin["scruples"] == "scruples"
    assert registry.judges and set(registry.judge_plugin) == set(registry.judges)
    assert set(registry.metric_plugin) == set(registry.metrics)
