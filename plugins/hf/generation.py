"""Batched generation with stop sequences for the hf backend.

Requests with the same decoding settings are batched together, longest prompts first,
left-padded (generation appends on the right). Sampling is seeded per batch from the
request's seed, so a re-run with the same batch size reproduces its text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from moralbench.requests import GenerateRequest, GenerateResponse

from .choice_scoring import plan_batches
from .memory import run_with_halving


def _cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, str | None]:
    first: tuple[int, str] | None = None
    for stop in stops:
        at = text.find(stop)
        if at >= 0 and (first is None or at < first[0]):
            first = (at, stop)
    if first is None:
        return text, None
    return text[: first[0]], first[1]


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    config = getattr(model, "generation_config", None)
    for value in (getattr(config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return ids


def generated_tokens(row: Sequence[int], eos_ids: set[int], pad_id: int) -> list[int]:
    """The tokens a row really generated: up to and including its first end-of-sequence.

    `generate` fills a finished row with padding until the longest row ends; that padding
    (which is often the EOS id itself) is not new text. A row stopped by a stop string ends in
    padding too, without an EOS.
    """
    for at, token in enumerate(row):
        if token in eos_ids:
            return list(row[: at + 1])
    end = len(row)
    while end > 0 and row[end - 1] == pad_id:
        end -= 1
    return list(row[:end])


def _generate_rows(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Sequence[int]],
    key: tuple[int, float, int | None, tuple[str, ...]],
    *,
    pad_id: int,
    eos_ids: set[int],
    device: torch.device,
) -> list[GenerateResponse]:
    max_new, temperature, seed, stops = key
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        ids[r, width - len(row) :] = torch.tensor(row)
        mask[r, width - len(row) :] = 1
    if seed is not None:
        torch.manual_seed(seed)
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new,
        "do_sample": temperature > 0,
        "pad_token_id": pad_id,
    }
    if temperature > 0:
        kwargs["temperature"] = temperature
        kwargs["top_p"] = 1.0
        kwargs["top_k"] = 0
    if stops:
        kwargs["stop_strings"] = list(stops)
        kwargs["tokenizer"] = tokenizer
    output = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **kwargs)
    responses = []
    for r in range(len(rows)):
        new_tokens = generated_tokens(output[r, width:].tolist(), eos_ids, pad_id)
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        text, stopped = _cut_at_stop(text, stops)
        responses.append(GenerateResponse(text, {"new_tokens": len(new_tokens), "stop": stopped}))
    return responses


@torch.inference_mode()
def generate_texts(
    model: Any,
    tokenizer: Any,
    requests: Sequence[GenerateRequest],
    prompts: Sequence[Sequence[int]],
    *,
    device: torch.device,
    max_rows: int,
    max_tokens: int,
    max_length: int,
) -> Iterator[tuple[int, GenerateResponse]]:
    """Yield (request index, response) for each request from its prompt's token ids (BOS
    included where wanted); a batch that runs out of memory is halved."""
    encoded = [list(p) for p in prompts]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, request in enumerate(requests):
        key = (request.max_tokens, request.temperature, request.seed, request.stop)
        groups.setdefault(key, []).append(index)
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    eos_ids = _eos_ids(model, tokenizer)
    for key, members in groups.items():
        max_new = key[0]
        budget_rows = max(1, min(max_rows, max_tokens // max(1, max_new)))
        keep = max(1, max_length - max_new)
        rows = [encoded[i][-keep:] for i in members]
        plan = plan_batches(
            [len(r) + max_new for r in rows], max_rows=budget_rows, max_tokens=max_tokens
        )
        run = functools.partial(
            _run_batch, model, tokenizer, rows, key, pad_id=pad_id, eos_ids=eos_ids, device=device
        )
        for position, response in run_with_halving(plan, run):
            yield members[position], response


def _run_batch(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Sequence[int]],
    key: tuple[int, float, int | None, tuple[str, ...]],
    batch: list[int],
    **kwargs: Any,
) -> list[GenerateResponse]:
    return _generate_rows(model, tokenizer, [rows[b] for b in batch], key, **kwargs)
