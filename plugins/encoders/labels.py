"""Mapping a task's choice labels onto a classifier's outputs.

The model's output names come from its `config.id2label`, or from the `labels=` model arg
(names in output order, separated by `|`, for checkpoints saved with the default
LABEL_0, LABEL_1 ...). Names match ignoring case. A task whose labels are not exactly the
model's labels is refused, naming both sides: a silent partial match would score the wrong
question.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moralbench.errors import OptionError


def output_labels(config: Any, override: str | None) -> tuple[str, ...]:
    """The model's output names, in output order."""
    count = int(config.num_labels)
    if override:
        names = tuple(part.strip() for part in override.split("|"))
        if len(names) != count or not all(names):
            raise OptionError(
                f"hf-classifier: labels={override!r} names {len(names)} output(s) but the "
                f"model has {count}; give one name per output, in order, separated by |"
            )
    else:
        id2label = getattr(config, "id2label", None) or {}
        names = tuple(
            str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(count)
        )
    folded = [n.casefold() for n in names]
    if len(set(folded)) != len(folded):
        raise OptionError(f"hf-classifier: the model's labels repeat a name: {', '.join(names)}")
    return names


def label_indices(wanted: Sequence[str], names: Sequence[str], source: str) -> tuple[int, ...]:
    """The model output index of each wanted label; the two sets must be equal."""
    position = {name.casefold(): i for i, name in enumerate(names)}
    missing = [label for label in wanted if label.casefold() not in position]
    if missing or len(wanted) != len(names):
        raise OptionError(
            f"hf-classifier: the task's choice labels ({', '.join(wanted)}) do not match the "
            f"model's labels ({', '.join(names)}, from {source})"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + ". Set labels=NAME|NAME|... in --model-args to name the model's outputs in order"
        )
    return tuple(position[label.casefold()] for label in wanted)


def single_index(label: str, names: Sequence[str], source: str) -> int:
    """The output index of one named label (`score_label=`)."""
    for i, name in enumerate(names):
        if name.casefold() == label.casefold():
            return i
    raise OptionError(
        f"hf-classifier: score_label={label!r} is not one of the model's labels "
        f"({', '.join(names)}, from {source})"
    )
