"""Predictions a user brings to `moralbench score`: reading, checking, turning into records.

The format is JSON Lines, one object per document of the split:

    {"doc_id": "abc", "probs": [0.1, 0.7, 0.2]}
    {"doc_id": "abd", "logprobs": [-2.3, -0.36, -1.6]}

`doc_id` is the task's document id (for Scruples the release's `id`); `probs` (non-negative,
rescaled to sum 1) or `logprobs` (natural-log scores, softmax-normalised) give the model's
distribution over the task's choices in the task's label order (`moralbench score` prints
it; each task's README lists it). When both are given, `logprobs` is used. Other fields are
ignored, so the samples file of a `moralbench run` is itself a valid predictions file. A task
may accept more fields through a `prediction_responses(doc, prediction)` method
(scruples_dilemmas: `probs_swapped` / `logprobs_swapped`, or the `orders` of its samples).

Each prediction becomes the `ChoiceResponse`s the task's `process` expects (estimator
"external"), so the records and metrics are exactly those of a run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data_files import read_jsonl
from .errors import MoralbenchError, TaskDataError
from .requests import ChoiceRequest, ChoiceResponse, Response
from .task import Doc, Record, Task

ESTIMATOR = "external"
#: log-probability recorded for a probability of exactly 0 (JSON has no -inf; exp gives 0.0)
LOG_ZERO = -1e4


def distribution(
    prediction: Mapping[str, Any],
    k: int,
    *,
    probs_key: str = "probs",
    logprobs_key: str = "logprobs",
) -> tuple[float, ...]:
    """Per-choice log-probabilities from `probs_key` or `logprobs_key`; ValueError if bad."""
    given = [key for key in (logprobs_key, probs_key) if key in prediction]
    if not given:
        raise ValueError(f"give {probs_key!r} or {logprobs_key!r}")
    key = given[0]  # both given (a samples file): the log-probs are the source
    values = prediction[key]
    if not isinstance(values, list) or len(values) != k:
        size = len(values) if isinstance(values, list) else type(values).__name__
        raise ValueError(f"{key!r} must be a list of {k} numbers (one per choice), got {size}")
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        raise ValueError(f"{key!r} must hold numbers only")
    numbers = [float(v) for v in values]
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"{key!r} holds a NaN or infinite value")
    if key == logprobs_key:
        return tuple(numbers)
    if any(v < 0 for v in numbers):
        raise ValueError(f"{key!r} holds a negative probability")
    if sum(numbers) <= 0:
        raise ValueError(f"{key!r} sums to 0")
    return tuple(math.log(v) if v > 0 else LOG_ZERO for v in numbers)


def default_responses(task: Task, doc: Doc, prediction: Mapping[str, Any]) -> list[Response]:
    """The responses for a task that asks one choice question per document."""
    requests = task.requests(doc)
    if len(requests) != 1 or not isinstance(requests[0], ChoiceRequest):
        raise ValueError(
            f"task {task.name!r} asks {len(requests)} question(s) per document; "
            "it cannot be scored from one distribution per document"
        )
    return [ChoiceResponse(distribution(prediction, len(requests[0].choices)), ESTIMATOR)]


def responses_for(task: Task, doc: Doc, prediction: Mapping[str, Any]) -> list[Response]:
    custom = getattr(task, "prediction_responses", None)
    if custom is not None:
        return list(custom(doc, prediction))
    return default_responses(task, doc, prediction)


@dataclass
class ScoredSplit:
    """Records built from a predictions file, plus what was left out."""

    records: list[Record]
    missing: list[str] = field(default_factory=list)


def read_predictions(path: Path) -> dict[str, tuple[int, dict[str, Any]]]:
    """`doc_id -> (line, prediction)`; a missing or repeated doc_id is an error."""
    if not Path(path).is_file():
        raise MoralbenchError(f"predictions file not found: {path}")
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    for line, obj in read_jsonl(Path(path)):
        doc_id = obj.get("doc_id")
        if isinstance(doc_id, int) and not isinstance(doc_id, bool):
            doc_id = str(doc_id)
        if not isinstance(doc_id, str) or not doc_id:
            raise TaskDataError(path, line, "each prediction needs a string 'doc_id'")
        if doc_id in found:
            raise TaskDataError(
                path, line, f"duplicate doc_id {doc_id!r} (first on line {found[doc_id][0]})"
            )
        found[doc_id] = (line, obj)
    return found


def score_predictions(
    task: Task,
    split: str,
    path: Path,
    docs: Iterable[Doc],
    *,
    allow_missing: bool = False,
) -> ScoredSplit:
    """Join predictions with the split's docs and build one record per predicted doc."""
    predictions = read_predictions(path)
    by_id: dict[str, Doc] = {}
    for doc in docs:
        by_id[str(doc["doc_id"])] = doc
    for doc_id, (line, _) in predictions.items():
        if doc_id not in by_id:
            raise TaskDataError(
                path,
                line,
                f"unknown doc_id {doc_id!r}: not in the {split!r} split of {task.name!r}",
            )
    records: list[Record] = []
    missing: list[str] = []
    for doc_id, doc in by_id.items():
        if doc_id not in predictions:
            missing.append(doc_id)
            continue
        line, prediction = predictions[doc_id]
        try:
            responses = responses_for(task, doc, prediction)
        except ValueError as exc:
            raise TaskDataError(path, line, str(exc)) from None
        records.append(
            {"doc_id": doc_id, "task": task.name, "split": split, **task.process(doc, responses)}
        )
    if missing and not allow_missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise MoralbenchError(
            f"{path}: no prediction for {len(missing)} of {len(by_id)} document(s) of the "
            f"{split!r} split (first: {shown}); pass --allow-missing to score the rest"
        )
    return ScoredSplit(records, missing)


def choice_labels(task: Task, docs: Sequence[Doc]) -> list[str]:
    """The label order predictions follow, for help and error messages."""
    labels = getattr(task, "labels", None)
    if labels:
        return [str(label) for label in labels]
    if docs:
        request = task.requests(docs[0])[0]
        if isinstance(request, ChoiceRequest):
            return list(request.choices)
    return []
