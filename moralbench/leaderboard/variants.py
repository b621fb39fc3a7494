"""What makes two results of a task comparable: its version, templates, options and data.

Results of one task under different versions, template hashes, options, splits, few-shot
counts or data sha256 are never put in one column: each `TaskVariant` gets its own columns,
labelled by what sets it apart from the task's other variants.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..run_result import RunResult

#: how a column of `--sample-data` results is labelled, whatever else sets it apart
SAMPLE_LABEL = "sample data"


@dataclass(frozen=True)
class TaskVariant:
    task: str
    version: str
    split: str
    num_fewshot: int
    templates: tuple[tuple[str, str], ...]  # (template name, sha256)
    options: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]  # (split, sha256) of every data file read
    sample_data: bool = False  # a `--sample-data` smoke run, never a benchmark figure

    @property
    def digest(self) -> str:
        """A short stable id of the variant (for column keys)."""
        text = json.dumps(
            [
                self.task,
                self.version,
                self.split,
                self.num_fewshot,
                self.templates,
                self.options,
                self.data,
                *([True] if self.sample_data else []),  # keeps older digests unchanged
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "version": self.version,
            "split": self.split,
            "num_fewshot": self.num_fewshot,
            "templates": dict(self.templates),
            "options": dict(self.options),
            "data_sha256": [{"split": s, "sha256": h} for s, h in self.data],
            "sample_data": self.sample_data,
        }


def variant_from_results(result: RunResult, task: str) -> TaskVariant:
    """The variant of `task` in one run's results."""
    outcome = result.outcome(task)
    config = result.config
    return TaskVariant(
        task=task,
        version=outcome.version,
        split=str(config.get("split", "")),
        num_fewshot=int(config.get("num_fewshot") or 0),
        templates=tuple(sorted(outcome.templates.items())),
        options=tuple(sorted(outcome.options.items())),
        data=tuple(sorted((f.split, f.sha256) for f in outcome.data_files)),
        sample_data=result.sample_data,
    )


def variant_labels(variants: Sequence[TaskVariant]) -> dict[TaskVariant, str]:
    """Short labels that tell the variants of one task apart ("" when there is only one)."""
    if len(variants) <= 1:
        return {v: "" for v in variants}
    labels: dict[TaskVariant, str] = {}
    for variant in variants:
        parts = []
        if len({v.sample_data for v in variants}) > 1 and variant.sample_data:
            parts.append(SAMPLE_LABEL)
        if len({v.version for v in variants}) > 1:
            parts.append(f"v{variant.version}")
        if len({v.split for v in variants}) > 1:
            parts.append(f"split {variant.split}")
        if len({v.num_fewshot for v in variants}) > 1:
            parts.append(f"{variant.num_fewshot}-shot")
        if len({v.templates for v in variants}) > 1:
            names = ",".join(name for name, _ in variant.templates) or "none"
            shas = ",".join(sha[:8] for _, sha in variant.templates)
            parts.append(f"template {names} ({shas})" if shas else f"template {names}")
        if len({v.options for v in variants}) > 1:
            other = [(k, v) for k, v in variant.options if k != "template"]
            if other:
                parts.append(" ".join(f"{k}={v}" for k, v in other))
        if len({v.data for v in variants}) > 1:
            parts.append("data " + ",".join(sha[:8] for _, sha in variant.data))
        labels[variant] = "; ".join(parts) or variant.digest
    if len(set(labels.values())) < len(labels):  # e.g. options that differ only in template=
        labels = {v: f"{label} #{v.digest}" for v, label in labels.items()}
    return labels
