"""The openai backend's pure parts, pinned to hand-computed values: estimators, retry policy,
payloads and model-arg checks."""

from __future__ import annotations

import math
import random
import re
from email.utils import formatdate
from pathlib import Path

import pytest
from moralbench.plugins.openai.echo_scoring import continuation_logprob, split_prompt
from moralbench.plugins.openai.payloads import (
    chat_messages,
    completion_prompt,
    cut_at_stop,
    strip_echoed_prefix,
)
from moralbench.plugins.openai.replies import EchoedTokens, ReplyFormatError
from moralbench.plugins.openai.retry import backoff_delay, is_retryable_status, parse_retry_after
from moralbench.plugins.openai.sampled import parse_answer, smoothed_logprobs
from moralbench.plugins.openai.settings import KNOWN_ARGS, parse_settings
from moralbench.plugins.openai.top_logprobs import AmbiguousChoices, choice_logprobs_from_top

from moralbench.errors import OptionError
from moralbench.requests import Message

LN = math.log


# -- top_logprobs --------------------------------------------------------------------------
def test_declared_spellings_are_summed_and_covered_mass_reported() -> None:
    top = [
        ("Yes", LN(0.4)),
        (" yes", LN(0.2)),
        (" No", LN(0.1)),
        ("The", LN(0.25)),
        ("YES", LN(0.05)),
    ]
    spellings = ((" yes", "Yes", "YES"), (" no", " No"))
    logprobs, details = choice_logprobs_from_top(spellings, top)
    assert logprobs == pytest.approx((LN(0.65), LN(0.1)))
    assert details["covered_mass"] == pytest.approx(0.75)
    assert details["floored"] == []
    assert details["top_k"] == 5
    assert details["counted_tokens"] == ["Yes", " yes", " No", "YES"]


def test_only_declared_spellings_count() -> None:
    # The choice strings alone: "Yes" and "YES" are other answers, " No" is not " no".
    top = [("Yes", LN(0.4)), (" yes", LN(0.2)), (" No", LN(0.1)), ("The", LN(0.2))]
    logprobs, details = choice_logprobs_from_top(((" yes",), (" no",)), top)
    # floor: min(smallest listed 0.1, unlisted 0.1)
    assert logprobs == pytest.approx((LN(0.2), LN(0.1)))
    assert details["covered_mass"] == pytest.approx(0.2)
    assert details["floored"] == [1]


def test_a_longer_spelling_counts_through_its_first_token() -> None:
    # "Unethical" is "Un" + "ethical" for many tokenizers: "Un" begins only that choice.
    # "The" begins no spelling and counts for nothing.
    top = [("Eth", LN(0.5)), ("The", LN(0.3)), ("Un", LN(0.1)), ("ethical", LN(0.05))]
    spellings = (("ethical", "Ethical"), ("unethical", "Unethical"))
    logprobs, details = choice_logprobs_from_top(spellings, top)
    assert logprobs == pytest.approx((LN(0.55), LN(0.1)))
    assert details["first_token_only"] == ["Eth", "Un"]
    # A token that begins spellings of two choices counts for neither.
    logprobs, details = choice_logprobs_from_top((("Yes",), ("Yellow",)), [("Ye", LN(0.9))])
    assert details["covered_mass"] == 0.0 and details["floored"] == [0, 1]


def test_a_missing_choice_gets_the_largest_probability_it_could_have() -> None:
    # Listed mass 0.9, so 0.1 is unlisted; the smallest listed token has 0.05: floor 0.05.
    top = [(" A", LN(0.6)), (" The", LN(0.25)), (" I", LN(0.05))]
    logprobs, details = choice_logprobs_from_top([" A", " B"], top)
    assert logprobs == pytest.approx((LN(0.6), LN(0.05)))
    assert details["floored"] == [1]
    assert details["floor_logprob"] == pytest.approx(LN(0.05))
    # With 0.99 listed, only 0.01 is left outside the list: that is the floor.
    top = [(" A", LN(0.5)), (" The", LN(0.3)), (" I", LN(0.19))]
    logprobs, _ = choice_logprobs_from_top([" A", " B"], top)
    assert logprobs[1] == pytest.approx(LN(0.01))


def test_one_string_spelling_two_choices_is_refused() -> None:
    with pytest.raises(AmbiguousChoices):
        choice_logprobs_from_top([("Yes", "yes"), ("yes",)], [("yes", -0.1)])
    # Equal up to case is no longer ambiguous: spellings are exact strings.
    logprobs, _ = choice_logprobs_from_top([(" Yes",), ("yes",)], [("yes", LN(0.9))])
    assert logprobs[1] == pytest.approx(LN(0.9))


# -- exact (echo) ------------------------------------------------------------------------
def test_echo_sums_the_tokens_after_the_context() -> None:
    prompt, boundary = split_prompt("Q: ok? Answer: ", "", "yes")
    assert prompt == "Q: ok? Answer: yes" and boundary == len("Q: ok? Answer:")
    echo = EchoedTokens(
        tokens=["Q", ":", " ok", "?", " Answer", ":", " yes", "!"],
        logprobs=[None, -1.0, -2.0, -0.5, -3.0, -0.25, -0.75, -9.0],
        offsets=[0, 1, 2, 5, 6, 13, 14, 18],
    )
    total, details = continuation_logprob(echo, boundary, len(prompt))
    assert total == pytest.approx(-0.75)  # the generated "!" lies past the prompt
    assert details == {"tokens": 1, "boundary_merged": False}


def test_echo_flags_a_token_merged_across_the_boundary() -> None:
    echo = EchoedTokens(["Say", ":y", "es"], [None, -1.5, -0.5], [0, 3, 5])
    total, details = continuation_logprob(echo, boundary=4, prompt_length=7)
    assert total == pytest.approx(-2.0)
    assert details == {"tokens": 2, "boundary_merged": True}


def test_echo_without_a_logprob_for_the_choice_is_a_reply_error() -> None:
    echo = EchoedTokens(["Say", " yes"], [None, None], [0, 3])
    with pytest.raises(ReplyFormatError):
        continuation_logprob(echo, boundary=3, prompt_length=7)


# -- sampled -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Yes.", 0),
        ("  no, because it hurts", 1),
        ("**Yes**", 0),
        ("I think the answer is no.", 1),
        ("Yesterday was fine", None),
        ("yes and no", 0),  # starts with a choice
        ("It depends: yes or no", None),  # mentions both
        ("", None),
    ],
)
def test_replies_are_parsed_to_choices(reply: str, expected: int | None) -> None:
    assert parse_answer(reply, [" yes", " no"]) == expected


def test_the_longest_choice_a_reply_starts_with_wins() -> None:
    assert parse_answer("not wrong at all", [" not", " not wrong"]) == 1


def test_add_alpha_smoothing_and_unparseable_count() -> None:
    replies = ["yes", "Yes!", "no", "maybe", "yes"]
    logprobs, details = smoothed_logprobs(replies, [" yes", " no"], alpha=1.0)
    # 3 yes, 1 no, 1 unparseable: p = (3 + 1) / (4 + 2), (1 + 1) / (4 + 2)
    assert logprobs == pytest.approx((LN(4 / 6), LN(2 / 6)))
    assert details == {"n_samples": 5, "counts": [3, 1], "unparseable": 1, "alpha": 1.0}
    uniform, details = smoothed_logprobs(["hmm"], [" A", " B", " C"], alpha=0.5)
    assert uniform == pytest.approx((LN(1 / 3),) * 3)
    assert details["unparseable"] == 1


# -- retries -----------------------------------------------------------------------------
def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": formatdate(1000.0, usegmt=True)}, now=990.0) == 10.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    rng = random.Random(0)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (6, 8.0)]:
        delays = [backoff_delay(attempt, base=0.5, cap=8.0, rng=rng) for _ in range(200)]
        assert min(delays) >= 0.0 and max(delays) <= ceiling
        assert max(delays) > 0.8 * ceiling  # the whole range is used
    told = backoff_delay(0, base=0.1, cap=8.0, rng=rng, retry_after=2.0)
    assert 2.0 <= told <= 2.1
    assert backoff_delay(0, base=0.1, cap=8.0, rng=rng, retry_after=600.0) <= 8.1


def test_which_statuses_are_retried() -> None:
    assert all(is_retryable_status(s) for s in (408, 409, 429, 500, 502, 503, 504))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))


# -- payloads ----------------------------------------------------------------------------
def test_answer_prefix_in_chat_and_completions() -> None:
    context = (Message("system", "Be brief."), Message("user", "Is it fine?  "))
    assert chat_messages(context, "Answer:", "user") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Is it fine?\n\nAnswer:"},
    ]
    assert chat_messages(context, "Answer:", "prefill")[-1] == {
        "role": "assistant",
        "content": "Answer:",
    }
    assert chat_messages("Hi", "", "user") == [{"role": "user", "content": "Hi"}]
    assert completion_prompt(context, "\nAnswer:") == "Be brief.\n\nIs it fine?  \nAnswer:"
    assert strip_echoed_prefix(" Answer: yes", "Answer:") == " yes"
    assert strip_echoed_prefix("yes", "Answer:") == "yes"
    assert cut_at_stop("one. two\nthree", (".", "\n")) == "one"


# -- model args ----------------------------------------------------------------------------
def test_model_args_are_checked() -> None:
    settings = parse_settings({"model": "m", "num_concurrent": "3"}, run_seed=7)
    assert (settings.num_concurrent, settings.seed, settings.api) == (3, 7, "chat")
    with pytest.raises(OptionError, match="model=NAME"):
        parse_settings({})
    with pytest.raises(OptionError, match="no model arg"):
        parse_settings({"model": "m", "temprature": "1"})
    with pytest.raises(OptionError, match="estimator"):
        parse_settings({"model": "m", "estimator": "guess"})
    with pytest.raises(OptionError, match="num_concurrent"):
        parse_settings({"model": "m", "num_concurrent": "0"})
    with pytest.raises(OptionError, match="alpha"):
        parse_settings({"model": "m", "alpha": "0"})


def test_every_model_arg_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "openai-backend.md").read_text()
    table = doc.split("## Model args", 1)[1].split("\n## ", 1)[0]
    documented = {name for cell in table.split("|") for name in re.findall(r"`(\w+)`", cell)}
    assert documented >= KNOWN_ARGS, sorted(KNOWN_ARGS - documented)
