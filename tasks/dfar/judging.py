"""Turning the `judge_*` task options into a judge, and judging generated reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from moralbench.errors import MoralbenchError, OptionError
from moralbench.judges import Judge, JudgePair
from moralbench.redaction import redact_args
from moralbench.run_options import parse_kv
from moralbench.task import Record

from .data import LABELS

NO_JUDGE = "none"
DEFAULT_JUDGE = "embedding"
#: task option -> judge option; the values are passed to the judge as text
JUDGE_OPTIONS = {
    "judge_threshold": "threshold",
    "judge_model": "model",
    "judge_model_args": "model_args",
    "judge_max_tokens": "max_tokens",
}
#: separator of key=value pairs inside one task option (the task options themselves use ",")
PAIR_SEPARATOR = ";"


def parse_pairs(text: str, what: str) -> dict[str, str]:
    """`k=v;k=v` into a dict (a value may contain '=' but not ';')."""
    return parse_kv(text, what, PAIR_SEPARATOR)


def judge_options(options: Mapping[str, str]) -> dict[str, str]:
    """The options the chosen judge receives, from the task's `judge_*` options."""
    out = {JUDGE_OPTIONS[k]: str(v) for k, v in options.items() if k in JUDGE_OPTIONS}
    extra = parse_pairs(str(options.get("judge_options", "")), "judge_options")
    clash = sorted(set(extra) & set(out))
    if clash:
        raise OptionError(f"judge_options repeats {', '.join(clash)}: give each option once")
    merged = out | extra
    _refuse_secrets(merged)
    return merged


def _refuse_secrets(options: Mapping[str, str]) -> None:
    """Task options are written to results as given, so they must not carry a key or token."""
    nested = parse_pairs(options.get("model_args", ""), "judge_model_args")
    secret = [k for k, v in redact_args(options).items() if v != options[k] and k != "model_args"]
    secret += [f"judge_model_args {k}" for k, v in redact_args(nested).items() if v != nested[k]]
    if secret:
        raise OptionError(
            f"judge option(s) {', '.join(secret)} look like secrets, and task options are "
            "written to results: pass secrets through environment variables instead "
            "(e.g. judge_model_args=api_key_env=NAME for the openai backend)"
        )


def judge_pair(record: Record) -> JudgePair:
    """What a judge compares for one sample: the human reason and the model's whole answer."""
    return JudgePair(
        statement=record["statement"],
        reference=record["reference_reason"],
        candidate=record["response"],
        reference_label=LABELS[record["target"]],
        candidate_label=record.get("parsed_label"),
    )


def apply_verdicts(judge: Judge, records: Sequence[Record]) -> list[Record]:
    """New records with the judge's verdict on every sample whose generation succeeded."""
    todo = [i for i, r in enumerate(records) if not r.get("error")]
    verdicts = judge.judge([judge_pair(records[i]) for i in todo]) if todo else []
    if len(verdicts) != len(todo):
        raise MoralbenchError(
            f"judge returned {len(verdicts)} verdicts for {len(todo)} generated reasons"
        )
    out = [dict(r) for r in records]
    for index, verdict in zip(todo, verdicts, strict=True):
        record = out[index]
        record["judge"] = {"aligned": verdict.aligned, "score": verdict.score, "raw": verdict.raw}
        misaligned: Any = None if verdict.aligned is None else int(not verdict.aligned)
        record["metrics"] = {**record.get("metrics", {}), "misaligned": misaligned}
    return out
