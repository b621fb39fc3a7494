"""The `hf-reward` backend: a reward model (one scalar output) scoring each choice as an answer.

Each choice is the assistant's answer to the task's question (`ChoiceRequest.item`: the
question with the item in it, and every choice written out as a whole answer). With a chat
template (the default when the tokenizer has one) the model reads the conversation
[user: question, assistant: answer]; without one it reads (question, answer) as a text pair,
as encoder reward models expect.

The choice distribution is the softmax of the rewards (Bradley-Terry for two choices) at
scale 1: that is what accuracy, ECE, Brier and `xentropy` report. The scale fitted on the
calibration split is the task's temperature (scale = 1 / temperature): `xentropy_calibrated`
and `temperature` in the results, exactly as for a language model's log-probabilities.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from moralbench.backend import Backend, BackendOptions
from moralbench.errors import OptionError
from moralbench.requests import ChoiceRequest, ChoiceResponse

from .batching import Encoded, forward_groups
from .classifier import log_softmax
from .loading import describe_model, fingerprint, load_sequence_model
from .settings import COMMON_ARGS, check_args, flag

NAME = "hf-reward"
KNOWN_ARGS = COMMON_ARGS | {"chat_template"}


class HFRewardBackend(Backend):
    estimators = ("reward",)

    def __init__(self, args: Mapping[str, str], options: BackendOptions) -> None:
        check_args(NAME, args, KNOWN_ARGS)
        self.args = dict(args)
        self.loaded = load_sequence_model(NAME, args, options)
        outputs = int(self.loaded.model.config.num_labels)
        if outputs != 1:
            raise OptionError(
                f"{NAME} needs a model with one output (a scalar reward); this one has "
                f"{outputs}: use --model hf-classifier for a classifier"
            )
        tokenizer = self.loaded.tokenizer
        has_template = bool(getattr(tokenizer, "chat_template", None))
        self.use_chat_template = flag(args, "chat_template", has_template)
        if self.use_chat_template and not has_template:
            raise OptionError(f"{NAME}: chat_template=true but the tokenizer has no chat template")
        # Too long an input loses the start of the question, never the answer being scored.
        tokenizer.truncation_side = "left"

    def fingerprint(self) -> str:
        return fingerprint(
            {"backend": NAME, **self.loaded.identity, "chat_template": self.use_chat_template}
        )

    def describe(self) -> dict[str, Any]:
        facts = describe_model(self.loaded, NAME)
        facts.update(
            chat_template=self.use_chat_template,
            distribution="softmax of rewards at scale 1; the fitted scale is 1 / temperature",
        )
        return facts

    def encode(self, question: str, answer: str) -> Encoded:
        """The model input for one answer to one question."""
        tokenizer = self.loaded.tokenizer
        limit = self.loaded.max_length
        if self.use_chat_template:
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
                tokenize=False,
            )
            encoded = tokenizer(text, add_special_tokens=False, truncation=True, max_length=limit)
        else:
            encoded = tokenizer(question, answer, truncation="only_first", max_length=limit)
        type_ids = encoded.get("token_type_ids")
        return Encoded(tuple(encoded["input_ids"]), tuple(type_ids) if type_ids else None)

    def _inputs(self, request: ChoiceRequest) -> tuple[Encoded, ...]:
        item = request.item
        if item is None or not item.question or not item.answers:
            raise OptionError(
                f"{NAME} needs requests that carry the question and each choice as a whole "
                "answer (ChoiceRequest.item); this task gives only a prompt"
            )
        return tuple(self.encode(item.question, answer) for answer in item.answers)

    def score_choices(
        self, requests: Sequence[ChoiceRequest]
    ) -> Iterator[tuple[int, ChoiceResponse]]:
        per_request = [self._inputs(r) for r in requests]  # refused before any work
        for index, rows in forward_groups(
            self.loaded.model,
            per_request,
            pad_id=self.loaded.pad_id,
            device=self.loaded.device,
            max_rows=self.loaded.max_rows,
            max_tokens=self.loaded.max_tokens,
        ):
            rewards = [row[0] for row in rows]
            yield index, ChoiceResponse(tuple(log_softmax(rewards)), "reward", {"rewards": rewards})

    def close(self) -> None:
        del self.loaded
