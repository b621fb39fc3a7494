"""The lm-eval flags of `moralbench run`, through the console script on the demo model:
`--config`, `--dry-run`/`--write-out`, `--predict-only`, `--system-instruction`,
`--gen-kwargs`, `--apply-chat-template`, and no library warnings on a normal run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_script import moralbench
from conftest import model_args_text

HEADER = re.compile(r"^### (\S+) \[(\w+)\] doc (\S+), prompt (\d+) of (\d+) \((.*)\)$")
SYSTEM = "Answer as a careful ethicist."


def shown_prompts(stdout: str) -> dict[tuple[str, str, int], str]:
    """(task, doc id, prompt number) -> the exact prompt text a dry run printed."""
    prompts: dict[tuple[str, str, int], str] = {}
    key: tuple[str, str, int] | None = None
    lines: list[str] = []
    for line in stdout.split("\n"):
        if line.startswith("### "):
            if key is not None:
                prompts[key] = "\n".join(lines)  # the printed text plus the "\n" after it
            match = HEADER.match(line)
            key = (match[1], match[3], int(match[4])) if match else None
            lines = []
        elif key is not None:
            lines.append(line)
    return prompts


@pytest.fixture(scope="module")
def tokenizer_only(
    tmp_path_factory: pytest.TempPathFactory, demo_model_args: dict[str, str]
) -> Path:
    """The demo model's tokenizer and config without any weights: a run cannot load it."""
    from moralbench.plugins.hf.loading import load_tokenizer

    folder = tmp_path_factory.mktemp("tokenizer-only")
    tokenizer = load_tokenizer(
        demo_model_args["pretrained"],
        revision=None,
        trust_remote_code=False,
        gguf_file=demo_model_args["gguf_file"],
        local_files_only=True,
    )
    tokenizer.save_pretrained(folder)
    assert not list(folder.glob("*.safetensors")) and not list(folder.glob("*.bin"))
    return folder


@pytest.fixture(scope="module")
def predicted(
    tmp_path_factory: pytest.TempPathFactory, demo_model_args: dict[str, str]
) -> dict[str, Any]:
    """One real run from a --config file, a flag overriding it: predictions only."""
    folder = tmp_path_factory.mktemp("config-run")
    config = folder / "run.yaml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "model": "hf",
                "model_args": demo_model_args,
                "tasks": ["scruples_dilemmas", "dfar_reasons"],
                "sample_data": True,
                "limit": 5,
                "task_args": "dfar_reasons:judge=none",
                "system_instruction": SYSTEM,
                "gen_kwargs": {"max_gen_toks": 3},
                "predict_only": True,
                "output_path": str(folder / "not-this-one"),
                "no_cache": True,
            }
        )
    )
    out = folder / "out"
    proc = moralbench("run", "--config", str(config), "--limit", "1", "--output-path", str(out))
    results = json.loads(next(out.rglob("results_*.json")).read_text())
    samples = {
        task: [json.loads(line) for line in Path(path).read_text().splitlines()]
        for task, path in results["samples_files"].items()
    }
    return {"proc": proc, "results": results, "samples": samples, "out": out}


def test_config_file_with_flags_overriding_it(predicted: dict[str, Any]) -> None:
    config = predicted["results"]["config"]
    assert config["limit"] == 1  # the flag, not the file's 5
    assert config["tasks"] == ["scruples_dilemmas", "dfar_reasons"]
    assert config["system_instruction"] == SYSTEM
    assert config["gen_kwargs"] == {"max_gen_toks": "3"}
    assert not (predicted["out"].parent / "not-this-one").exists()


def test_predict_only_writes_samples_and_no_metrics(predicted: dict[str, Any]) -> None:
    results, samples = predicted["results"], predicted["samples"]
    assert results["config"]["predict_only"] is True
    assert results["results"] == {"scruples_dilemmas": {}, "dfar_reasons": {}}
    assert len(samples["scruples_dilemmas"]) == 1 and len(samples["dfar_reasons"]) == 1
    assert "predictions in" in predicted["proc"].stdout
    assert "xentropy" not in predicted["proc"].stdout


def test_gen_kwargs_bound_the_generated_answer(
    predicted: dict[str, Any], tokenizer_only: Path
) -> None:
    from transformers import AutoTokenizer

    generation = predicted["samples"]["dfar_reasons"][0]["generation"]
    assert generation  # the task asks for up to 160 tokens; max_gen_toks=3 cut it to 3
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_only)
    assert 1 <= len(tokenizer(generation, add_special_tokens=False)["input_ids"]) <= 3


def test_a_normal_hf_run_prints_no_library_warning(predicted: dict[str, Any]) -> None:
    stderr = predicted["proc"].stderr
    assert "FutureWarning" not in stderr and "DeprecationWarning" not in stderr, stderr
    assert "past_key_values" not in stderr


def test_dry_run_shows_exactly_what_the_model_saw_without_weights(
    predicted: dict[str, Any], tokenizer_only: Path
) -> None:
    """The dry run reads a folder that has no weights at all, and prints the very prompts
    the real run recorded, chat template and system instruction included."""
    args = f"pretrained={tokenizer_only}"
    proc = moralbench(
        "run", "--model", "hf", "--model-args", args, "--tasks", "scruples_dilemmas,dfar_reasons",
        "--sample-data", "--write-out", "--system-instruction", SYSTEM,
    )  # fmt: skip
    shown = shown_prompts(proc.stdout)
    assert proc.stdout.rstrip().endswith("no model was loaded, nothing was scored)")
    assert "Loading weights" not in proc.stderr
    recorded = {}
    for task, records in predicted["samples"].items():
        for record in records:
            prompts = record["prompt"] if isinstance(record["prompt"], list) else [record["prompt"]]
            for number, text in enumerate(prompts, 1):
                recorded[(task, record["doc_id"], number)] = text
    assert set(shown) == set(recorded)
    assert shown == recorded
    first = shown[("scruples_dilemmas", predicted["samples"]["scruples_dilemmas"][0]["doc_id"], 1)]
    assert first.startswith(f"<|im_start|>system\n{SYSTEM}<|im_end|>")


def test_apply_chat_template_maps_onto_the_backend_option(
    tokenizer_only: Path, demo_model_args: dict[str, str]
) -> None:
    base = ["run", "--model", "hf", "--tasks", "scruples_dilemmas", "--sample-data", "--dry-run"]
    args = ["--model-args", f"pretrained={tokenizer_only}"]
    plain = moralbench(*base, *args, "--apply-chat-template", "false").stdout
    assert "<|im_start|>" not in plain and "Answer:" in plain
    assert '[[" A"], [" B"]]' in plain  # completion mode keeps the choices' leading space
    chat = moralbench(*base, *args, "--apply_chat_template").stdout
    assert "<|im_start|>assistant" in chat
    clash = moralbench(
        *base, "--model-args", f"pretrained={tokenizer_only},chat_template=true",
        "--apply-chat-template", "false", check=False,
    )  # fmt: skip
    assert clash.returncode == 2
    assert "asks for chat_template=false but --model-args gives chat_template=true" in clash.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--gen-kwargs", "top_q=1"], "--gen-kwargs has no key(s) top_q; known:"),
        (["--gen-kwargs", "max_gen_toks=0"], "max_gen_toks must be a whole number of at least 1"),
        (["--dry-run", "0"], "must be a whole number of at least 1"),
    ],
)
def test_bad_flags_fail_in_one_line(tokenizer_only: Path, extra: list[str], message: str) -> None:
    proc = moralbench(
        "run", "--model", "hf", "--model-args", f"pretrained={tokenizer_only}",
        "--tasks", "dfar_reasons", "--sample-data", "--dry-run", *extra, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_file_unknown_key_is_named(tmp_path: Path, demo_model_args: dict[str, str]) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(f"model: hf\nmodel_args: {model_args_text(demo_model_args)}\nlimt: 3\n")
    proc = moralbench("run", "--config", str(config), "--tasks", "dfar", check=False)
    assert proc.returncode == 2
    assert f"--config {config} has no option(s) limt; known:" in proc.stderr
