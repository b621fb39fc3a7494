"""The keys a YAML task definition may use; any other key is an error, not a silent default.

A misspelt optional key (`human_count:` for `human_counts:`) would otherwise be ignored and
change the numbers without a word, so every mapping of a definition is checked against the
keys below, and an unknown key is reported with its file, line and the closest valid key.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

import yaml

from .errors import FileLineError, TaskDefinitionError

#: top-level keys of a task definition
TASK_KEYS = (
    "task",
    "version",
    "description",
    "tags",
    "dataset",
    "doc_id",
    "choices",
    "choices_field",
    "choice_variants",
    "answer_instruction",
    "target",
    "human_counts",
    "templates",
    "metrics",
    "calibration_split",
    "fewshot_split",
    "sample_data",
)
DATASET_KEYS = ("format", "base", "splits")
#: keys of one template given as a map (a template may also be inline text)
TEMPLATE_KEYS = ("file", "text", "messages", "answer_prefix")
MESSAGE_KEYS = ("role", "content", "file")


class TaskSchemaError(FileLineError, TaskDefinitionError):
    """A YAML task definition uses a key that does not exist."""


def _unknown(path: Path, node: yaml.Node, where: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, _ in node.value:
        key = str(key_node.value)
        if key in allowed:
            continue
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {', '.join(allowed)}"
        raise TaskSchemaError(
            path, key_node.start_mark.line + 1, f"unknown key {where}{key!r}{hint}"
        )


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for k, value in node.value if k.value == key), None)


def check_task_keys(path: Path, text: str) -> None:
    """Raise `TaskSchemaError` for the first unknown key of the definition in `text`."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:
        return
    _unknown(path, root, "", TASK_KEYS)
    dataset = _child(root, "dataset")
    if dataset is not None:
        _unknown(path, dataset, "in dataset: ", DATASET_KEYS)
    templates = _child(root, "templates")
    if isinstance(templates, yaml.MappingNode):
        for name_node, template in templates.value:
            where = f"in template {name_node.value!r}: "
            _unknown(path, template, where, TEMPLATE_KEYS)
            messages = _child(template, "messages")
            if isinstance(messages, yaml.SequenceNode):
                for message in messages.value:
                    _unknown(path, message, f"{where}message ", MESSAGE_KEYS)


def is_task_definition(config: object) -> bool:
    """Whether a parsed YAML file is a task definition (other YAML files are left alone)."""
    return isinstance(config, Mapping) and "task" in config
