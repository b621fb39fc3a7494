"""Real results for the leaderboard tests: the demo model run twice, once per pytest process.

Two settings of the same model (chat template off and on) make two leaderboard rows. Each run
scores the bundled Scruples dilemmas and the `lb_votes` test task (tests/plugins/
leaderboard_votes), limited to a few items so both runs take about a minute on two cores.
The leaderboard test modules share these runs through `real_runs()`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import TEST_PLUGINS, model_args_text, run_cli

TASKS = ("scruples_dilemmas", "lb_votes")
LIMIT = 8
SETTINGS = ("false", "true")  # chat_template
FORMATS = ("md", "csv", "latex", "html", "json")


@dataclass(frozen=True)
class RealRun:
    chat_template: str
    results_path: Path

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.results_path.read_text(encoding="utf-8"))

    @property
    def model_args(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.payload["config"]["model_args"].items()}

    def samples(self, task: str) -> list[dict[str, Any]]:
        name = Path(self.payload["samples_files"][task]).name
        lines = (self.results_path.parent / name).read_text(encoding="utf-8").splitlines()
        return sorted((json.loads(line) for line in lines), key=lambda r: r["_index"])


@dataclass(frozen=True)
class RealRuns:
    folder: Path  # every results file below it
    runs: tuple[RealRun, ...]


def _run(folder: Path, model_args: dict[str, str], chat_template: str) -> RealRun:
    out = folder / f"chat_{chat_template}"
    run_cli(
        "run", "--model", "hf",
        "--model-args", model_args_text({**model_args, "chat_template": chat_template}),
        "--tasks", ",".join(TASKS), "--sample-data", "--limit", str(LIMIT),
        "--include-path", str(TEST_PLUGINS / "leaderboard_votes"),
        "--output-path", str(out), "--no-cache", "--no-progress",
    )  # fmt: skip
    (results,) = sorted(out.rglob("results_*.json"))
    return RealRun(chat_template, results)


@functools.cache
def _real_runs(folder: Path, model_args: tuple[tuple[str, str], ...]) -> RealRuns:
    folder.mkdir(parents=True, exist_ok=True)
    runs = tuple(_run(folder, dict(model_args), setting) for setting in SETTINGS)
    return RealRuns(folder, runs)


def real_runs(base: Path, model_args: dict[str, str]) -> RealRuns:
    """The two real runs under `base` (the session's pytest temp root), made on first use."""
    return _real_runs(base / "leaderboard_runs", tuple(sorted(model_args.items())))


def render_every_format(runs: RealRuns, out: Path, *options: str) -> dict[str, str]:
    """Each format's text, written by the real CLI from the runs' folder with `options`."""
    texts = {}
    for fmt in FORMATS:
        target = out / f"board.{fmt}"
        proc = run_cli("leaderboard", str(runs.folder), "--format", fmt, *options,
                       "--output", str(target))  # fmt: skip
        assert f"{fmt} leaderboard of {len(runs.runs)} run(s) written to" in proc.stderr
        texts[fmt] = target.read_text(encoding="utf-8")
    return texts
