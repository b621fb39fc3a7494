"""Results files -> one row per evaluated model: shards merged, duplicates detected.

A row is one model under one configuration: the backend name plus the backend's fingerprint
(which covers the weights and every model argument that changes outputs), or the model args
when a run has no fingerprint, and the prompt mode (chat or completion, see
docs/prompt-protocol.md): runs of one model in different modes answered different prompts and
are never one row. Within a row, each task variant collects every file that reported it:

- the same items with the same scores in several files: a duplicate run; the newest file is
  used unchanged and the others are named in the notes;
- different items (shards, or parts of a resumed run): the samples are merged and the metrics
  recomputed over all items with the run's own bootstrap settings;
- the same item scored differently: a conflict; the newer score is used and the notes say how
  many items and by how much they differed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sample_record import SampleRecord
from .errors import ResultsFileError
from .rescoring import recompute
from .sources import ResultsFile
from .task_results import TaskResult, task_result
from .variants import TaskVariant

#: two scores of one item closer than this (max abs difference of probabilities) are the same
SAME_SCORE_TOLERANCE = 1e-5


@dataclass
class RunRow:
    """One model configuration and everything it was evaluated on."""

    model: str
    model_args: dict[str, str]
    fingerprint: str | None
    description: dict[str, Any]
    tasks: dict[TaskVariant, TaskResult] = field(default_factory=dict)
    results_files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    label: str = ""
    #: "chat", "completion", "chat+prefill", or None for results that do not say
    prompt_mode: str | None = None


def prompt_mode(source: ResultsFile) -> str | None:
    """The prompt mode a results file's tasks were scored in ("a+b" if they differ)."""
    facts = [t.prompt_mode for t in source.result.tasks if t.prompt_mode is not None]
    if not facts:
        described = source.result.model.get("prompt_mode")
        facts = [described] if isinstance(described, dict) else []
    names = {
        f"{m.get('mode')}+prefill" if m.get("prefill") else str(m.get("mode"))
        for m in facts
        if m.get("mode") and m.get("mode") != "unknown"
    }
    return "+".join(sorted(names)) or None


def row_key(source: ResultsFile) -> tuple[str, str, str]:
    mode = prompt_mode(source) or ""
    fingerprint = source.result.model.get("fingerprint")
    if fingerprint:
        return source.config["model"], f"fingerprint:{fingerprint}", mode
    args = json.dumps(source.config["model_args"], sort_keys=True)
    return source.config["model"], f"args:{args}", mode


def _differs(a: SampleRecord, b: SampleRecord) -> float | None:
    """How far two records of one item are apart; None when they agree."""
    if a.prompt_sha256 != b.prompt_sha256:
        return math.inf
    if bool(a.error) != bool(b.error):
        return math.inf
    pa, pb = a.fields.get("probs"), b.fields.get("probs")
    if isinstance(pa, list) and isinstance(pb, list):
        if len(pa) != len(pb):
            return math.inf
        gap = max((abs(x - y) for x, y in zip(pa, pb, strict=True)), default=0.0)
        return gap if gap > SAME_SCORE_TOLERANCE else None
    if pa != pb:
        return math.inf
    return None if a.fields.get("metrics") == b.fields.get("metrics") else math.inf


def _names(parts: Sequence[TaskResult]) -> str:
    return ", ".join(str(p.results_files[0].name) for p in parts)


def _same_values(parts: Sequence[TaskResult]) -> bool:
    first = parts[0]
    return all(
        p.n == first.n
        and p.values.keys() == first.values.keys()
        and all(math.isclose(p.values[k], first.values[k], rel_tol=1e-12) for k in p.values)
        for p in parts[1:]
    )


def _union(parts: Sequence[TaskResult]) -> tuple[list[SampleRecord], list[float]]:
    """Every item of the parts once (a newer part's record wins, the first position is kept),
    in the run's document order, and how far each repeated item's records are apart."""
    chosen: dict[str, SampleRecord] = {}
    conflicts: list[float] = []
    for part in parts:
        for record in part.samples or []:
            if record.doc_id in chosen:
                gap = _differs(chosen[record.doc_id], record)
                if gap is not None:
                    conflicts.append(gap)
            chosen[record.doc_id] = record
    records = list(chosen.values())
    # Shards of one run hold interleaved documents; the run's bootstrap and ceiling draws
    # followed its document order, which the records' index keeps.
    if all(r.index is not None for r in records):
        records.sort(key=lambda r: r.index or 0)
    return records, conflicts


def _merged_template(parts: Sequence[TaskResult], params: dict[str, float]) -> TaskResult:
    """The merged result before its metrics are recomputed: files, notes and settings of all."""
    newest = parts[-1]
    return TaskResult(
        variant=newest.variant,
        values={},
        intervals={},
        n=None,
        n_failed=0,
        params=params,
        ceiling={},
        notes=list(dict.fromkeys(n for p in parts for n in p.notes)),
        samples=None,
        results_files=tuple(f for p in parts for f in p.results_files),
        samples_files=tuple(f for p in parts for f in p.samples_files),
        seed=newest.seed,
        n_bootstrap=newest.n_bootstrap,
        stamp=newest.stamp,
        merged_from=sum(p.merged_from for p in parts),
    )


def merge_parts(parts: Sequence[TaskResult]) -> tuple[TaskResult, list[str]]:
    """One `TaskResult` from the files that reported the same task variant for one row.

    `parts` must be in time order (oldest first).
    """
    task = parts[0].variant.task
    newest = parts[-1]
    if len(parts) == 1:
        return newest, []
    if any(p.samples is None for p in parts):
        if _same_values(parts):
            return newest, [
                f"{task}: duplicate runs ({_names(parts)}) report the same values; "
                f"using {newest.results_files[0].name}"
            ]
        return newest, [
            f"{task}: {_names(parts)} differ but cannot be merged without their samples files; "
            f"using the newest, {newest.results_files[0].name}"
        ]

    records, conflicts = _union(parts)
    chosen = {r.doc_id for r in records}
    notes: list[str] = []
    if conflicts:
        worst = max(conflicts)
        how = "different prompts or outcomes" if math.isinf(worst) else f"max |Δp| = {worst:.2g}"
        notes.append(
            f"{task}: {len(conflicts)} item(s) scored differently in {_names(parts)} ({how}); "
            "the newer scores are used"
        )
    all_ids = chosen
    covering = [p for p in parts if set(p.doc_ids or ()) == all_ids]
    if covering and (not conflicts or covering[-1] is newest):
        kept = covering[-1]
        others = [p for p in parts if p is not kept]
        if not conflicts:
            notes.append(
                f"{task}: duplicate run(s) {_names(others)} repeat items of "
                f"{kept.results_files[0].name} with the same scores; counted once"
            )
        return kept, notes

    metric_names = list(dict.fromkeys(k for p in parts for k in p.values))
    ceiling_keys = list(dict.fromkeys(k for p in parts for k in p.ceiling))
    template = _merged_template(parts, _shared_params(parts, notes))
    merged, recompute_notes = recompute(template, records, metric_names, ceiling_keys=ceiling_keys)
    notes.append(
        f"{task}: merged {len(parts)} files ({_names(parts)}) covering {len(chosen)} items; "
        "metrics recomputed from their samples"
    )
    notes += [f"{task}: {n}" for n in recompute_notes]
    merged.notes += [n.removeprefix(f"{task}: ") for n in notes]
    return merged, notes


def _shared_params(parts: Sequence[TaskResult], notes: list[str]) -> dict[str, float]:
    """Fitted parameters every part agrees on (they come from the same calibration split)."""
    shared: dict[str, float] = {}
    for key in dict.fromkeys(k for p in parts for k in p.params):
        values = [p.params.get(key) for p in parts]
        first = values[0]
        if first is not None and all(
            v is not None and math.isclose(v, first, rel_tol=1e-9) for v in values
        ):
            shared[key] = first
        else:
            notes.append(
                f"{parts[0].variant.task}: parts fitted different {key} values "
                f"({', '.join(str(v) for v in values)}); metrics using it are left out"
            )
    return shared


def combine(
    sources: Sequence[ResultsFile],
    known_metrics: Collection[str],
    on_bad_file: Callable[[Path, ResultsFileError], None] | None = None,
) -> tuple[list[RunRow], list[str]]:
    """Rows (in order of first appearance) and notes about what was merged or dropped.

    A results file whose samples cannot be read is passed to `on_bad_file` and left out
    (without it, the error propagates).
    """
    ordered = sorted(sources, key=lambda s: (s.stamp, str(s.path)))
    rows: dict[tuple[str, str, str], RunRow] = {}
    parts: dict[tuple[str, str, str], dict[TaskVariant, list[TaskResult]]] = {}
    for source in ordered:
        try:
            results = [task_result(source, task, known_metrics) for task in source.task_names]
        except ResultsFileError as exc:
            if on_bad_file is None:
                raise
            on_bad_file(source.path, exc)
            continue
        key = row_key(source)
        if key not in rows:
            rows[key] = RunRow(
                model=source.config["model"],
                model_args={str(k): str(v) for k, v in source.config["model_args"].items()},
                fingerprint=source.result.model.get("fingerprint"),
                description=dict(source.result.model),
                prompt_mode=prompt_mode(source),
            )
            parts[key] = {}
        row = rows[key]
        row.results_files.append(source.path)
        args = {str(k): str(v) for k, v in source.config["model_args"].items()}
        if args != row.model_args:
            row.notes.append(
                f"{source.path.name} gave model args {args}, equivalent to {row.model_args} "
                "(same fingerprint)"
            )
        for result in results:
            parts[key].setdefault(result.variant, []).append(result)
    notes: list[str] = []
    for key, row in rows.items():
        for variant, results in parts[key].items():
            merged, merge_notes = merge_parts(results)
            row.tasks[variant] = merged
            row.notes += merge_notes
            notes += merge_notes
    mixed = mixed_modes_note(list(rows.values()))
    if mixed:
        notes.append(mixed)
    return list(rows.values()), notes


def mixed_modes_note(rows: Sequence[RunRow]) -> str | None:
    """A note when the rows were scored in different prompt modes (chat vs completion)."""
    by_mode: dict[str, int] = {}
    for row in rows:
        by_mode[row.prompt_mode or "not recorded"] = (
            by_mode.get(row.prompt_mode or "not recorded", 0) + 1
        )
    if len(by_mode) < 2:
        return None
    listed = ", ".join(f"{mode}: {n} row(s)" for mode, n in sorted(by_mode.items()))
    return (
        f"this board mixes prompt modes ({listed}): rows in different modes answered "
        "differently built prompts (docs/prompt-protocol.md), so compare them with care"
    )
