"""The hf backend's choice log-probs equal a naive reference within 1e-4.

The reference runs one full forward pass per context+choice (and per declared spelling
variant, their probabilities summed) in float32 and reads every continuation token's log-prob
from full-vocabulary logits: nothing shared, nothing cached. It builds the prompt itself from
the protocol's rules (docs/prompt-protocol.md): completion mode moves the context's trailing
whitespace into the choice as lm-eval does; chat mode renders the conversation with the
template (the answer prefix, or the answer instruction, ending the user message) and scores
each answer as the start of the assistant message, without its leading space. Checked on a
random-weight Llama built here (fast, exercises the plain-folder load path) and on the real
demo model, for single- and multi-token choices, with and without the chat template, at
batch sizes 1 and 8, including contexts that must be left-truncated.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from moralbench.backend import BackendOptions
from moralbench.errors import OptionError
from moralbench.requests import ChoiceRequest, Message

LONG = " ".join(f"Sentence number {i} describes what the neighbour did next." for i in range(40))

REQUESTS = [
    ChoiceRequest("Who is in the wrong here? Answer:", (" A", " B", " C", " D", " E")),
    ChoiceRequest(
        "The person who broke the vase was",
        (" the author", " the other person", " everybody", " nobody at all"),
    ),
    ChoiceRequest("Is it fine to read a sibling's diary? ", ("yes", "no")),  # trailing space
    ChoiceRequest(LONG + "\nWas the neighbour right?", (" yes", " no, not really")),
    ChoiceRequest(
        (
            Message("system", "You judge situations."),
            Message("user", "I kept the extra change. Was I wrong?"),
        ),
        (" Yes", " No", " It depends on the amount"),
        "Answer:",
    ),
    ChoiceRequest(
        (Message("user", "Skipping a birthday for work: acceptable?"),), (" A", " B"), "Answer:"
    ),
    ChoiceRequest("x", (" a much longer continuation with several tokens in it", " b")),
    ChoiceRequest(
        "Was it wrong to keep the wallet?",
        (" A", " B"),
        "\nAnswer:",
        variants=(("A", " a", "a"), ("B", " b")),
    ),
    ChoiceRequest(
        "Statement: I returned the wallet.",
        (" ethical", " unethical"),
        "\nAnswer: The statement is",
        variants=(("Ethical",), ("Unethical",)),
        answer_instruction="Answer with one word: ethical or unethical.",
    ),
]


def _chat_text(tokenizer, request: ChoiceRequest) -> str:  # type: ignore[no-untyped-def]
    context = request.context
    messages = (
        [{"role": "user", "content": context.strip()}]
        if isinstance(context, str)
        else [{"role": m.role, "content": m.content} for m in context]
    )
    tail = request.answer_instruction.strip() or request.answer_prefix.strip()
    if tail:
        messages[-1]["content"] = messages[-1]["content"].rstrip() + "\n\n" + tail
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _completion_text(request: ChoiceRequest) -> str:
    context = request.context
    if isinstance(context, str):
        return context + request.answer_prefix
    return "\n\n".join(m.content for m in context) + request.answer_prefix


@torch.inference_mode()
def naive_logprobs(model, tokenizer, request: ChoiceRequest, chat: bool, max_length: int):  # type: ignore[no-untyped-def]
    """Per choice, log of the summed probability of its spellings: one full forward each."""

    def enc(s: str) -> list[int]:
        return tokenizer(s, add_special_tokens=False)["input_ids"]

    variants = request.variants or tuple(() for _ in request.choices)
    spellings = [
        list(dict.fromkeys([choice.lstrip() if chat else choice, *extra]))
        for choice, extra in zip(request.choices, variants, strict=True)
    ]
    if chat:
        context_ids = enc(_chat_text(tokenizer, request))
        continuations = [[enc(s) for s in group] for group in spellings]
    else:
        text = _completion_text(request)
        context = text.rstrip()
        moved = text[len(context) :]
        context_ids = enc(context)
        continuations = [
            [enc(context + moved + s)[len(context_ids) :] for s in group] for group in spellings
        ]
    keep = max_length - max(len(c) for group in continuations for c in group) + 1
    context_ids = context_ids[-keep:]
    scores = []
    for group in continuations:
        total = 0.0
        for cont in group:
            sequence = torch.tensor([context_ids + cont])
            logits = model(sequence).logits[0].float()
            logprobs = torch.log_softmax(logits, dim=-1)
            start = len(context_ids) - 1
            total += math.exp(sum(logprobs[start + k, tok].item() for k, tok in enumerate(cont)))
        scores.append(math.log(total))
    return scores


def _backend(args: dict[str, str], batch_size: int):  # type: ignore[no-untyped-def]
    from moralbench.plugins.hf.backend import HFBackend

    return HFBackend(args, BackendOptions(batch_size=batch_size))


_REFERENCE: dict[tuple[str, bool, int], list[float]] = {}


def _check(backend, chat: bool) -> float:  # type: ignore[no-untyped-def]
    """Compare with the naive reference (computed once per model and template setting)."""
    answers = dict(backend.score_choices(REQUESTS))
    assert sorted(answers) == list(range(len(REQUESTS)))
    worst = 0.0
    for index, request in enumerate(REQUESTS):
        key = (backend.fingerprint(), chat, index)
        if key not in _REFERENCE:
            _REFERENCE[key] = naive_logprobs(
                backend.model, backend.tokenizer, request, chat, backend.max_length
            )
        expected = _REFERENCE[key]
        got = answers[index].logprobs
        assert answers[index].estimator == "exact"
        assert len(got) == len(request.choices)
        for a, b in zip(got, expected, strict=True):
            worst = max(worst, abs(a - b))
            assert abs(a - b) < 1e-4, (index, got, expected)
    return worst


@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("chat", [False, True])
def test_random_llama_matches_naive_reference(
    random_llama_dir: Path, batch_size: int, chat: bool
) -> None:
    backend = _backend(
        {
            "pretrained": str(random_llama_dir),
            "dtype": "float32",
            "chat_template": str(chat).lower(),
        },
        batch_size,
    )
    assert backend.max_length == 160
    long_item = backend.scoring_item(REQUESTS[3])
    assert len(long_item.context) + max(map(len, long_item.continuations)) - 1 == 160, (
        "the long context must be left-truncated to fit max_length"
    )
    _check(backend, chat)


@pytest.mark.slow
@pytest.mark.parametrize("batch_size,chat", [(1, False), (8, False), (8, True), (1, True)])
def test_demo_model_matches_naive_reference(
    demo_model_args: dict[str, str], batch_size: int, chat: bool
) -> None:
    backend = _backend(
        {**demo_model_args, "chat_template": str(chat).lower(), "max_length": "200"}, batch_size
    )
    long_item = backend.scoring_item(REQUESTS[3])
    assert len(long_item.context) + max(map(len, long_item.continuations)) - 1 == 200
    _check(backend, chat)


def test_choice_longer_than_max_length_is_an_error(random_llama_dir: Path) -> None:
    backend = _backend(
        {"pretrained": str(random_llama_dir), "max_length": "4", "chat_template": "false"}, 1
    )
    with pytest.raises(OptionError, match="longer than max_length"):
        backend.scoring_item(REQUESTS[6])


def test_unknown_model_arg_is_named(random_llama_dir: Path) -> None:
    with pytest.raises(OptionError, match="colour"):
        _backend({"pretrained": str(random_llama_dir), "colour": "red"}, 1)


def test_padding_side_of_the_tokenizer_does_not_matter(random_llama_dir: Path) -> None:
    backend = _backend({"pretrained": str(random_llama_dir), "chat_template": "false"}, 8)
    right = [r.logprobs for _, r in sorted(backend.score_choices(REQUESTS))]
    backend.tokenizer.padding_side = "left"
    left = [r.logprobs for _, r in sorted(backend.score_choices(REQUESTS))]
    assert right == left
