"""The `hf-classifier` backend: any AutoModelForSequenceClassification checkpoint.

A classifier reads the item itself (`ChoiceRequest.item`), never the instruction prompt: the
statement, the story's title and text as a text pair, or for a pairwise item (a dilemma)
either each action alone or both as a pair. Its outputs are mapped to the task's choices by
label name (see `labels.py`).

Heads:
- `softmax`: the outputs are logits; the choice distribution is their softmax.
- `dirichlet`: the outputs are log concentrations, alpha = exp(output); p = alpha / sum alpha,
  and alpha goes into the response details, so the Dirichlet score uses it directly instead
  of fitting a concentration (the results note says so).

Pairwise items (`pair=`):
- `joint`: the model reads (first shown, second shown) as a text pair and its labels name
  the positions (e.g. ACTION_0, ACTION_1);
- `each`: every action is scored alone (a one-output model's score, or the log-probability
  / log-alpha of `score_label=` such as "unethical"), and the choice distribution is the
  softmax over the actions' scores;
- `auto` (default): `joint` when the model's labels are the item's labels, else `each`.
The task asks both orders when it averages them (the Scruples dilemmas do by default).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moralbench.backend import Backend, BackendOptions
from moralbench.errors import OptionError
from moralbench.model_alpha import ALPHA_KEY
from moralbench.requests import ChoiceRequest, ChoiceResponse, ItemView

from .batching import Encoded, forward_groups
from .labels import label_indices, output_labels, single_index
from .loading import describe_model, fingerprint, load_sequence_model
from .settings import COMMON_ARGS, check_args, choice_of

NAME = "hf-classifier"
HEADS = ("softmax", "dirichlet")
PAIR_MODES = ("auto", "joint", "each")
KNOWN_ARGS = COMMON_ARGS | {"head", "labels", "pair", "score_label"}


def log_softmax(values: Sequence[float]) -> list[float]:
    top = max(values)
    total = math.log(sum(math.exp(v - top) for v in values))
    return [v - top - total for v in values]


@dataclass(frozen=True)
class Plan:
    """How one request is answered: which inputs, and which output of each."""

    inputs: tuple[Encoded, ...]  # one joint input, or one per text (pair=each)
    outputs: tuple[int, ...]  # output index per choice (joint) or the scored output (each)
    each: bool


class HFClassifierBackend(Backend):
    estimators = ("classifier",)

    def __init__(self, args: Mapping[str, str], options: BackendOptions) -> None:
        check_args(NAME, args, KNOWN_ARGS)
        self.args = dict(args)
        self.head = choice_of(args, "head", HEADS)
        self.pair_mode = choice_of(args, "pair", PAIR_MODES)
        self.loaded = load_sequence_model(NAME, args, options)
        config = self.loaded.model.config
        self.label_source = "labels=" if args.get("labels") else "config.id2label"
        self.labels = output_labels(config, args.get("labels") or None)
        score_label = args.get("score_label") or None
        self.score_output: int | None = None
        if score_label:
            self.score_output = single_index(score_label, self.labels, self.label_source)
        elif len(self.labels) == 1:
            self.score_output = 0

    # -- identity -----------------------------------------------------------------------
    def fingerprint(self) -> str:
        return fingerprint(
            {
                "backend": NAME,
                **self.loaded.identity,
                "head": self.head,
                "pair": self.pair_mode,
                "labels": list(self.labels),
                "score_output": self.score_output,
            }
        )

    def describe(self) -> dict[str, Any]:
        facts = describe_model(self.loaded, NAME)
        facts.update(head=self.head, pair=self.pair_mode, labels=list(self.labels))
        if self.head == "dirichlet":
            facts["dirichlet"] = "alpha = exp(model output), used directly; no fitted concentration"
        return facts

    # -- planning -----------------------------------------------------------------------
    def _encode(self, texts: Sequence[str]) -> Encoded:
        tokenizer = self.loaded.tokenizer
        pair = texts[1] if len(texts) > 1 else None
        encoded = tokenizer(texts[0], pair, truncation=True, max_length=self.loaded.max_length)
        type_ids = encoded.get("token_type_ids")
        return Encoded(tuple(encoded["input_ids"]), tuple(type_ids) if type_ids else None)

    def _scores_each(self, item: ItemView) -> bool:
        if not item.per_text:
            return False
        if self.pair_mode == "each":
            return True
        joint_ok = {label.casefold() for label in item.labels} == {
            label.casefold() for label in self.labels
        }
        return not (self.pair_mode == "joint" or joint_ok)

    def plan(self, request: ChoiceRequest) -> Plan:
        item = request.item
        if item is None:
            raise OptionError(
                f"{NAME} needs requests that carry the item itself (ChoiceRequest.item); "
                "this task gives only a prompt"
            )
        if self._scores_each(item):
            if self.score_output is None:
                raise OptionError(
                    f"{NAME}: pair=each scores each action alone and needs one output to "
                    f"read; the model has {len(self.labels)} ({', '.join(self.labels)}): "
                    "set score_label=NAME (e.g. the label meaning 'less ethical')"
                )
            inputs = tuple(self._encode((text,)) for text in item.texts)
            return Plan(inputs, (self.score_output,), each=True)
        if len(item.texts) > 2:
            raise OptionError(f"{NAME}: an item with {len(item.texts)} texts cannot be read")
        outputs = label_indices(item.labels, self.labels, self.label_source)
        return Plan((self._encode(item.texts),), outputs, each=False)

    # -- answering ----------------------------------------------------------------------
    def _response(self, plan: Plan, logits: Sequence[Sequence[float]]) -> ChoiceResponse:
        if plan.each:
            (out,) = plan.outputs
            if len(self.labels) == 1 or self.head == "dirichlet":
                scores = [row[out] for row in logits]
            else:
                scores = [log_softmax(row)[out] for row in logits]
        else:
            scores = [logits[0][i] for i in plan.outputs]
        details: dict[str, Any] = {"head": self.head, "outputs": scores}
        if self.head == "dirichlet":
            details[ALPHA_KEY] = [math.exp(s) for s in scores]
        if plan.each:
            details["pair"] = "each"
        return ChoiceResponse(tuple(log_softmax(scores)), "classifier", details)

    def score_choices(
        self, requests: Sequence[ChoiceRequest]
    ) -> Iterator[tuple[int, ChoiceResponse]]:
        plans = [self.plan(r) for r in requests]  # every mismatch refused before any work
        for index, rows in forward_groups(
            self.loaded.model,
            [plan.inputs for plan in plans],
            pad_id=self.loaded.pad_id,
            device=self.loaded.device,
            max_rows=self.loaded.max_rows,
            max_tokens=self.loaded.max_tokens,
        ):
            yield index, self._response(plans[index], rows)

    def close(self) -> None:
        del self.loaded
