"""Run-wide prompt and generation settings that lm-eval users pass as flags.

* `apply_chat_template`: mapped onto the chosen backend's own chat option, which its
  `BackendSpec.chat_arg` names (`chat_template=true|false` for hf, `api=chat|completions`
  for openai), so the backend's documented model arg stays the one source of truth.
* `system_instruction`: a system message put before each request's messages. In completion
  mode the backend joins messages by blank lines (`moralbench.chat_protocol`), so the
  instruction then opens the text, as lm-eval does.
* `gen_kwargs`: decoding settings of every generate request (`max_gen_toks`, `temperature`,
  `until`, `seed`, `do_sample`), overriding what the task chose.

Each changes the request itself, so cache keys and prompt hashes follow automatically.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backend import BackendSpec
from .errors import OptionError
from .requests import GenerateRequest, Message, Request
from .run_options import reject_unknown, whole_number

#: lm-eval's spellings (and ours) of each GenerateRequest field
GEN_KWARGS = {
    "max_gen_toks": "max_tokens",
    "max_new_tokens": "max_tokens",
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "seed": "seed",
    "until": "stop",
    "stop": "stop",
    "do_sample": "do_sample",
}
#: separator of several stop strings in one `until=` value
STOP_SEPARATOR = ";"


def chat_model_args(
    spec: BackendSpec, model_args: Mapping[str, str], apply_chat_template: bool | None
) -> dict[str, str]:
    """`model_args` with the backend's chat option set (unchanged when `None`)."""
    args = dict(model_args)
    if apply_chat_template is None:
        return args
    if spec.chat_arg is None:
        raise OptionError(
            f"--apply-chat-template: backend {spec.name!r} has no chat option (it takes no "
            "prompt text, or does not say how to switch its chat template)"
        )
    key, on, off = spec.chat_arg
    wanted = on if apply_chat_template else off
    given = args.get(key)
    if given not in (None, "", wanted):
        raise OptionError(
            f"--apply-chat-template asks for {key}={wanted} but --model-args gives {key}={given}"
        )
    args[key] = wanted
    return args


def _bool(value: str, name: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise OptionError(f"{name} must be true or false, got {value!r}")


def generation_settings(gen_kwargs: Mapping[str, str]) -> dict[str, Any]:
    """`--gen-kwargs` as GenerateRequest field values; unknown keys are refused."""
    reject_unknown(gen_kwargs, GEN_KWARGS, "--gen-kwargs has no key(s)")
    out: dict[str, Any] = {}
    for key, value in gen_kwargs.items():
        field_name, name = GEN_KWARGS[key], f"--gen-kwargs {key}"
        if field_name == "max_tokens":
            out["max_tokens"] = whole_number(value, name)
        elif field_name == "seed":
            out["seed"] = whole_number(value, name, minimum=0)
        elif field_name == "stop":
            out["stop"] = tuple(s for s in value.split(STOP_SEPARATOR) if s)
        elif field_name == "temperature":
            try:
                out["temperature"] = float(value)
            except ValueError:
                raise OptionError(f"{name} must be a number, got {value!r}") from None
            if out["temperature"] < 0:
                raise OptionError(f"{name} must be 0 or more, got {value!r}")
    greedy = "do_sample" in gen_kwargs and not _bool(gen_kwargs["do_sample"], "do_sample")
    if greedy and out.get("temperature", 0.0) > 0:
        raise OptionError("--gen-kwargs: do_sample=false contradicts temperature > 0")
    if greedy:
        out["temperature"] = 0.0  # do_sample=false: greedy, whatever the task chose
    return out


def _with_system(request: Request, instruction: str) -> Request:
    context = request.context
    messages = (Message("user", context),) if isinstance(context, str) else tuple(context)
    if messages and messages[0].role == "system":
        first = Message("system", f"{instruction}\n\n{messages[0].content}")
        messages = (first, *messages[1:])
    else:
        messages = (Message("system", instruction), *messages)
    return dataclasses.replace(request, context=messages)


@dataclass(frozen=True)
class RequestOverrides:
    """What the run changes in every request a task builds."""

    system_instruction: str | None = None
    generation: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, system_instruction: str | None, gen_kwargs: Mapping[str, str]) -> RequestOverrides:
        return cls(system_instruction or None, generation_settings(gen_kwargs))

    def __bool__(self) -> bool:
        return bool(self.system_instruction or self.generation)

    def apply(self, requests: Sequence[Request]) -> list[Request]:
        out = []
        for request in requests:
            if self.generation and isinstance(request, GenerateRequest):
                request = dataclasses.replace(request, **self.generation)
            if self.system_instruction:
                request = _with_system(request, self.system_instruction)
            out.append(request)
        return out

    def wrap(self, task: Any) -> Any:
        """The task, its `requests` changed (the task itself when there is nothing to do)."""
        return _OverriddenTask(task, self) if self else task


class _OverriddenTask:
    """A task whose requests pass through `RequestOverrides`; everything else is the task's."""

    def __init__(self, task: Any, overrides: RequestOverrides) -> None:
        self._task = task
        self._overrides = overrides

    def requests(self, doc: Any) -> list[Request]:
        return self._overrides.apply(self._task.requests(doc))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)
