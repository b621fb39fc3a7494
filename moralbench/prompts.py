"""Jinja prompt templates, rendered in a sandbox with strict undefined fields.

Field values are inserted as text: a dataset line containing `{{ ... }}` is never evaluated,
because Jinja does not re-parse rendered values. Template authors get a sandbox, so a
template cannot reach Python internals (`{{ ''.__class__ }}` is an error, not a leak), and
evaluation is bounded (`template_limits`): huge powers, repetitions, ranges, recursion, output
or time are a `PromptRenderError` naming the task, never a hang or a traceback.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .errors import PromptRenderError, TaskDefinitionError
from .requests import Message
from .task_files import read_task_text
from .template_limits import BoundedEnvironment, TemplateLimitError, bounded_render
from .yaml_schema import MESSAGE_KEYS, TEMPLATE_KEYS


def _environment() -> SandboxedEnvironment:
    env = BoundedEnvironment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
    )
    env.filters["letter"] = lambda index: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(index)]
    return env


_ENV = _environment()


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> jinja2.Template:
    """A template source compiled once per process: compiling costs far more than rendering
    (Jinja's `from_string` compiles on every call), and a template is rendered per document."""
    return _ENV.from_string(source)


@dataclass(frozen=True)
class PromptTemplate:
    """A named prompt: plain text, or a list of chat messages, each a Jinja template.

    `answer_prefix` is text the model's answer starts with (e.g. "Answer:"): appended to the
    prompt for plain templates, placed at the start of the assistant turn for chat templates.
    """

    task: str
    name: str
    text: str | None = None
    messages: tuple[tuple[str, str], ...] = ()
    answer_prefix: str = ""

    def __post_init__(self) -> None:
        if (self.text is None) == (not self.messages):
            raise TaskDefinitionError(
                f"task {self.task!r}, template {self.name!r}: give either text or messages"
            )
        for source in self._sources():
            try:
                _ENV.parse(source)
            except jinja2.TemplateSyntaxError as exc:
                raise PromptRenderError(
                    self.task, self.name, f"syntax error line {exc.lineno}: {exc.message}"
                ) from exc
            except (RecursionError, MemoryError) as exc:
                raise PromptRenderError(
                    self.task, self.name, "template too deeply nested to parse"
                ) from exc
            except jinja2.TemplateError as exc:
                raise PromptRenderError(self.task, self.name, f"template error: {exc}") from exc

    @property
    def is_chat(self) -> bool:
        return bool(self.messages)

    def _sources(self) -> list[str]:
        return [self.text] if self.text is not None else [content for _, content in self.messages]

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for source in [*self._sources(), self.answer_prefix]:
            h.update(source.encode("utf-8"))
            h.update(b"\x00")
        if self.messages:
            h.update("|".join(role for role, _ in self.messages).encode())
        return h.hexdigest()

    def _render_one(self, source: str, fields: Mapping[str, Any]) -> str:
        try:
            return bounded_render(_compiled(source), fields)
        except jinja2.UndefinedError as exc:
            kind = "unsafe template" if "unsafe" in (exc.message or "") else "missing field"
            raise PromptRenderError(self.task, self.name, f"{kind}: {exc.message}") from exc
        except TemplateLimitError as exc:
            raise PromptRenderError(self.task, self.name, f"template limit: {exc}") from exc
        except jinja2.exceptions.SecurityError as exc:
            raise PromptRenderError(self.task, self.name, f"unsafe template: {exc}") from exc
        except RecursionError as exc:
            raise PromptRenderError(
                self.task, self.name, "template limit: recursion too deep"
            ) from exc
        except jinja2.TemplateError as exc:
            raise PromptRenderError(self.task, self.name, f"template error: {exc}") from exc
        except Exception as exc:
            # An expression in the template failed for this document ({{ 1/0 }}, x[99]): the
            # template's fault, reported as such whatever Python raised.
            raise PromptRenderError(
                self.task, self.name, f"evaluation failed: {type(exc).__name__}: {exc}"
            ) from exc

    def render(self, fields: Mapping[str, Any]) -> str | tuple[Message, ...]:
        """Render for one document: a string, or a tuple of chat messages."""
        if self.text is not None:
            return self._render_one(self.text, fields)
        return tuple(
            Message(role, self._render_one(content, fields)) for role, content in self.messages
        )

    @classmethod
    def from_config(cls, task: str, name: str, config: Any, base: Path | None) -> PromptTemplate:
        """Build from a YAML value: inline text, `{file: x.jinja}`, or `{messages: [...]}`."""
        if isinstance(config, str):
            return cls(task, name, text=config)
        if not isinstance(config, Mapping):
            raise TaskDefinitionError(f"task {task!r}: template {name!r} must be text or a map")
        prefix = str(config.get("answer_prefix", ""))
        if "file" in config:
            text = _template_file_text(task, base, config["file"])
            return cls(task, name, text=text, answer_prefix=prefix)
        if "text" in config:
            return cls(task, name, text=str(config["text"]), answer_prefix=prefix)
        if "messages" in config:
            messages = _messages(task, name, config["messages"], base)
            return cls(task, name, messages=messages, answer_prefix=prefix)
        raise TaskDefinitionError(f"task {task!r}: template {name!r} needs text, file or messages")


def _template_file_text(task: str, base: Path | None, name: Any) -> str:
    """A template file a task names: only from the task's own folder (see task_files)."""
    folder = base or Path(".")
    return read_task_text(task, folder / str(name), [folder], "template file")


def _messages(
    task: str, name: str, items: Sequence[Any], base: Path | None
) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        if not isinstance(item, Mapping) or "role" not in item:
            raise TaskDefinitionError(f"task {task!r}: template {name!r}: each message needs role")
        if "file" in item:
            content = _template_file_text(task, base, item["file"])
        else:
            content = str(item.get("content", ""))
        out.append((str(item["role"]), content))
    return tuple(out)


def plain_context(rendered: str, answer_prefix: str) -> str:
    """The plain-text context a rendered template gives before `answer_prefix`.

    Backends score `context + answer_prefix + choice`, so this function is the one place that
    decides how a template's text meets its answer prefix (Jinja drops a template file's final
    newline, so gluing them would give "...yes or no.Answer:"):

    - no answer prefix: the text as rendered; the choices continue its last line;
    - a prefix that starts with whitespace ("\nAnswer:"): the text without trailing
      whitespace; the prefix decides the join itself;
    - any other prefix ("Answer:"): the text without trailing whitespace and one newline, so
      the prefix starts its own line.
    """
    if not answer_prefix:
        return rendered
    if answer_prefix[0].isspace():
        return rendered.rstrip()
    return rendered.rstrip() + "\n"


def load_templates(task: str, configs: Mapping[str, Any], base: Path) -> dict[str, PromptTemplate]:
    """A task's named templates from a YAML `templates:` map (or the same map in Python).

    The one way templates are declared, by YAML tasks and the built-in tasks alike: each
    value is inline text, `{file: x.jinja}`, `{text: ...}` or `{messages: [{role, content |
    file}]}`, with an optional `answer_prefix`; files are read from `base`, the task's folder.
    An unknown key is an error (a misspelt `answer_prefix` would change the prompt silently).
    """
    if not isinstance(configs, Mapping) or not configs:
        raise TaskDefinitionError(f"task {task!r}: templates must be a non-empty map")
    for name, config in configs.items():
        _check_keys(task, str(name), config)
    return {
        str(name): PromptTemplate.from_config(task, str(name), config, base)
        for name, config in configs.items()
    }


def _check_keys(task: str, name: str, config: Any) -> None:
    if not isinstance(config, Mapping):
        return
    parts = [(config, TEMPLATE_KEYS, "")]
    messages = config.get("messages")
    if isinstance(messages, Sequence) and not isinstance(messages, str):
        parts += [(m, MESSAGE_KEYS, "message ") for m in messages if isinstance(m, Mapping)]
    for mapping, allowed, where in parts:
        unknown = sorted(str(k) for k in mapping if k not in allowed)
        if unknown:
            raise TaskDefinitionError(
                f"task {task!r}: template {name!r}: unknown {where}key(s) {', '.join(unknown)}; "
                f"valid keys: {', '.join(allowed)}"
            )
