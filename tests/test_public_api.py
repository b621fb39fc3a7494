"""`import moralbench` gives what the docs tell plugin authors and users to import, and
nothing heavy: no torch, transformers or matplotlib until a backend or a figure needs them."""

from __future__ import annotations

import json
import subprocess
import sys

import moralbench

#: names docs/writing-a-task.md, docs/architecture.md and docs/plugins.md present as public
DOCUMENTED = (
    "Backend",
    "BackendSpec",
    "BackendUnavailable",
    "BackendUnsupported",
    "ChoiceRequest",
    "ChoiceTask",
    "DatasetSource",
    "ItemView",
    "JudgeSpec",
    "MetricInfo",
    "MoralbenchError",
    "OptionError",
    "RunResult",
    "SampleRecord",
    "ShotPool",
    "Task",
    "TaskDataError",
    "TaskOutcome",
    "aggregate_choices",
    "evaluate",
    "hookimpl",
    "load_templates",
    "plain_context",
    "prompt_context",
    "score",
)


def test_documented_names_are_exported() -> None:
    missing = [name for name in DOCUMENTED if name not in moralbench.__all__]
    assert not missing, f"documented but not in moralbench.__all__: {missing}"
    unresolved = [name for name in moralbench.__all__ if not hasattr(moralbench, name)]
    assert not unresolved, f"in __all__ but not importable: {unresolved}"


def test_exports_come_from_their_home_modules() -> None:
    from moralbench.choice_task import ChoiceTask
    from moralbench.errors import BackendUnsupported, MoralbenchError
    from moralbench.run_result import RunResult

    assert moralbench.ChoiceTask is ChoiceTask
    assert moralbench.RunResult is RunResult
    assert issubclass(moralbench.BackendUnsupported, MoralbenchError)
    assert moralbench.BackendUnsupported is BackendUnsupported


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = (
        "import json, sys, moralbench; "
        "print(json.dumps([m for m in ('torch', 'transformers', 'matplotlib') "
        "if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
