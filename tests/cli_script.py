"""Runs the installed `moralbench` console script (the venv's entry point) as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "moralbench"


def moralbench(
    *args: str, check: bool = True, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`moralbench ARGS` with stdout and stderr captured (so neither is a terminal)."""
    assert SCRIPT.is_file(), f"console script missing: {SCRIPT} (pip install -e .)"
    proc = subprocess.run(
        [str(SCRIPT), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"moralbench {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc
