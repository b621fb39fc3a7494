"""The model-backend contract: what a backend plugin registers and what a loaded backend does."""

from __future__ import annotations

import importlib
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .chat_protocol import PromptMode
from .errors import BackendUnavailable, BackendUnsupported
from .requests import ChoiceRequest, ChoiceResponse, GenerateRequest, GenerateResponse, Request


@dataclass(frozen=True)
class BackendOptions:
    """Run-wide settings every backend receives beside its own `--model-args`."""

    device: str | None = None
    batch_size: int | str | None = None  # an int, "auto", or None for the backend's default
    seed: int = 0
    process_index: int = 0
    num_processes: int = 1


class Backend(ABC):
    """A loaded model that answers requests.

    Both answer methods take the whole list of pending requests and yield `(index, response)`
    pairs in any order, as soon as each is ready: the backend owns ordering and batching
    (length-sorted batches, concurrency), the runner owns dedupe, caching and bookkeeping.
    A request the backend gives up on is yielded with `error` set, never skipped.
    """

    #: estimators this backend can use for ChoiceRequests, best first
    estimators: tuple[str, ...] = ("exact",)

    @abstractmethod
    def fingerprint(self) -> str:
        """A stable id of everything that changes the answers (weights, dtype, template...).

        The request cache is keyed by it, so two runs share cached answers only when equal.
        """

    def describe(self) -> dict[str, Any]:
        """Facts about the model for results JSON (no secrets)."""
        return {}

    def prompt_mode(self) -> PromptMode | None:
        """`chat` or `completion` (and prefill), as `moralbench.chat_protocol` defines them;
        None when the backend does not say."""
        return None

    def shown_prompt(self, request: Request) -> dict[str, Any] | None:
        """What the model is sent for a request, secrets excluded: `text` (the exact text it
        sees), or `endpoint` and `messages` (what a server renders); `answers` per choice.

        Computed without asking the model, so it is known for cached answers too. None when
        the backend cannot tell; the samples file then shows the request's own text.
        """
        return None

    def score_choices(
        self, requests: Sequence[ChoiceRequest]
    ) -> Iterator[tuple[int, ChoiceResponse]]:
        raise BackendUnsupported(type(self).__name__, "choice")

    def generate(
        self, requests: Sequence[GenerateRequest]
    ) -> Iterator[tuple[int, GenerateResponse]]:
        raise BackendUnsupported(type(self).__name__, "generate")

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release resources (connections, GPU memory)."""


BackendFactory = Callable[[Mapping[str, str], BackendOptions], Backend]


@dataclass(frozen=True)
class BackendSpec:
    """What a plugin registers for a backend.

    `factory` is "module:attribute" and is imported only when this backend is chosen, so
    listing backends never imports torch or an HTTP client. `requires` maps importable
    module names to the pip package that provides them; a missing one becomes a one-line
    `BackendUnavailable` error. `secret_args` are model args redacted from every output.
    `check_args` is an optional "module:function(model_args, options)" that raises
    `OptionError` for a bad model arg; the runner calls it after the tasks are built and
    before the model loads, so it should import nothing heavy. `chat_arg` is the model arg
    that switches the chat template, with its on and off values (`--apply-chat-template`).
    `prompt_preview` is an optional "module:function(model_args, options)" returning an
    object with `shown_prompt(request)` (as `Backend.shown_prompt`) built without loading
    weights, for `moralbench run --dry-run`. `request_types` are the task output types the
    backend answers ("choice", "generate"); a run whose task asks for another is refused
    before the weights load.
    """

    name: str
    factory: str
    estimators: tuple[str, ...]
    description: str = ""
    requires: Mapping[str, str] = field(default_factory=dict)
    secret_args: tuple[str, ...] = ()
    check_args: str | None = None
    chat_arg: tuple[str, str, str] | None = None
    prompt_preview: str | None = None
    request_types: tuple[str, ...] = ("choice", "generate")

    def check_request_type(self, task: str, request_type: str) -> None:
        """Refuse a task whose request type this backend does not answer."""
        if request_type not in self.request_types:
            raise BackendUnsupported(self.name, request_type, task)

    def check(self, model_args: Mapping[str, str], options: BackendOptions) -> None:
        """Validate model args and options cheaply (see `check_args`); no-op when unset."""
        if self.check_args is None:
            return
        module_name, _, attribute = self.check_args.partition(":")
        getattr(importlib.import_module(module_name), attribute)(model_args, options)

    def load(self, model_args: Mapping[str, str], options: BackendOptions) -> Backend:
        factory: BackendFactory = self._import(self.factory)
        return factory(model_args, options)

    def preview(self, model_args: Mapping[str, str], options: BackendOptions) -> Any | None:
        """What `prompt_preview` builds (None when the backend has none)."""
        if self.prompt_preview is None:
            return None
        return self._import(self.prompt_preview)(model_args, options)

    def _import(self, target: str) -> Any:
        """`module:attribute`, a missing dependency turned into `BackendUnavailable`."""
        for module, package in self.requires.items():
            if importlib.util.find_spec(module) is None:
                raise BackendUnavailable(self.name, package)
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise BackendUnavailable(self.name, exc.name or module_name) from exc
        return getattr(module, attribute)
