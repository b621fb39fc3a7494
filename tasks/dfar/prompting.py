"""The DFAR prompt templates and few-shot examples, shared by both DFAR tasks.

Both tasks ask the same question and put the same answer start ("The statement is") after
the prompt: the classification task scores the label word that follows, the reasons task
lets the model continue with label and reason. The answer start is a template's
`answer_prefix`, never part of its text.

The templates are declared as a YAML task declares them (`templates:` in
docs/writing-a-task.md), here as the same map in Python so that the answer start has one
source (`answers.ANSWER_START`); `moralbench.prompts.load_templates` reads both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moralbench.errors import OptionError
from moralbench.fewshot import Example
from moralbench.prompts import PromptTemplate, load_templates

from .answers import ANSWER_START

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

#: template name -> its declaration in the YAML `templates:` syntax
TEMPLATES: dict[str, Any] = {
    "default": {"file": "default.jinja", "answer_prefix": f"\nAnswer: {ANSWER_START}"},
    "alpaca": {"file": "alpaca.jinja", "answer_prefix": f"\n{ANSWER_START}"},
    "chat": {
        "messages": [
            {"role": "system", "file": "chat_system.jinja"},
            {"role": "user", "file": "chat_user.jinja"},
        ],
        "answer_prefix": ANSWER_START,
    },
}


def load_template(task: str, name: str) -> PromptTemplate:
    """The named template, read from the Jinja files beside the task."""
    if name not in TEMPLATES:
        raise OptionError(
            f"task {task!r} has no template {name!r}; templates: {', '.join(TEMPLATES)}"
        )
    return load_templates(task, {name: TEMPLATES[name]}, TEMPLATE_DIR)[name]


def prompt_fields(doc: dict) -> dict[str, Any]:
    """What the templates see of a document: the statement alone."""
    return {"statement": doc["statement"]}


def example(doc: dict) -> Example:
    """A worked example: its prompt's fields, and what follows the answer prefix
    (" <label>. <reason>")."""
    return prompt_fields(doc), f" {doc['label_text']}. {doc['reason']}"
