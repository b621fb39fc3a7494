"""Batched generation with stop sequences for the hf backend.

Requests with the same decoding settings are batched together, longest prompts first,
left-padded (generation appends on the right). Sampling is seeded per batch from the
request's seed, so a re-run with the same batch size reproduces its text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from moralbench.requests import GenerateRequest, GenerateResponse

from .choice_scoring import plan_batches


def _cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, str | None]:
    first: tuple[int, str] | None = None
    for stop in stops:
        at = text.find(stop)
        if at >= 0 and (first is None or at < first[0]):
            first = (at, stop)
    if first is None:
        return text, None
    return text[: first[0]], first[1]


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
    """Generate for each request from its prompt's token ids (BOS included where wanted)."""
    encoded = [list(p) for p in prompts]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, request in enumerate(requests):
        key = (request.max_tokens, request.temperature, request.seed, request.stop)
        groups.setdefault(key, []).append(index)
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    for (max_new, temperature, seed, stops), members in groups.items():
        budget_rows = max(1, min(max_rows, max_tokens // max(1, max_new)))
        lengths = [len(encoded[i]) + max_new for i in members]
        for batch in plan_batches(lengths, max_rows=budget_rows, max_tokens=max_tokens):
            indices = [members[b] for b in batch]
            keep = max(1, max_length - max_new)
            rows = [encoded[i][-keep:] for i in indices]
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
            output = model.generate(
                input_ids=ids.to(device), attention_mask=mask.to(device), **kwargs
            )
            for r, index in enumerate(indices):
                new_tokens = output[r, width:].tolist()
                text = tokenizer.decode(new_tokens, skip_special_tokens=True)
                text, stopped = _cut_at_stop(text, stops)
                yield (
                    index,
                    GenerateResponse(text, {"new_tokens": len(new_tokens), "stop": stopped}),
                )
