"""One forward pass per batch over deduplicated, length-sorted, right-padded inputs.

The forward pass is the whole cost of these backends, so identical inputs (a dilemma's
action seen in both orders, a statement asked twice) run once, and batches are bounded by
rows and by padded tokens so long inputs do not blow up memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from moralbench.plugins.hf.choice_scoring import plan_batches


@dataclass(frozen=True)
class Encoded:
    """Token ids of one model input, and token type ids when the tokenizer makes them."""

    ids: tuple[int, ...]
    type_ids: tuple[int, ...] | None = None


def _padded(inputs: Sequence[Encoded], pad_id: int, device: torch.device) -> dict[str, Any]:
    width = max(len(item.ids) for item in inputs)
    ids = torch.full((len(inputs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(inputs), width), dtype=torch.long)
    types = torch.zeros((len(inputs), width), dtype=torch.long)
    for row, item in enumerate(inputs):
        ids[row, : len(item.ids)] = torch.tensor(item.ids)
        mask[row, : len(item.ids)] = 1
        if item.type_ids is not None:
            types[row, : len(item.type_ids)] = torch.tensor(item.type_ids)
    batch = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
    if any(item.type_ids is not None for item in inputs):
        batch["token_type_ids"] = types.to(device)
    return batch


@torch.inference_mode()
def forward_logits(
    model: Any,
    inputs: Sequence[Encoded],
    *,
    pad_id: int,
    device: torch.device,
    max_rows: int,
    max_tokens: int,
) -> Iterator[tuple[int, list[float]]]:
    """Yield (input index, output logits as floats), batch by batch, longest inputs first."""
    lengths = [len(item.ids) for item in inputs]
    for batch in plan_batches(lengths, max_rows=max_rows, max_tokens=max_tokens):
        logits = model(**_padded([inputs[i] for i in batch], pad_id, device)).logits
        yield from zip(batch, logits.float().cpu().tolist(), strict=True)


def forward_groups(
    model: Any,
    groups: Sequence[Sequence[Encoded]],
    *,
    pad_id: int,
    device: torch.device,
    max_rows: int,
    max_tokens: int,
) -> Iterator[tuple[int, list[list[float]]]]:
    """Yield (group index, one output row per input of the group) as each group completes.

    A group is what one request needs (one input, or one per action or answer). Each
    distinct input runs once however many groups share it.
    """
    unique: dict[Encoded, int] = {}
    for group in groups:
        for encoded in group:
            unique.setdefault(encoded, len(unique))
    waiting: dict[int, list[int]] = {}
    remaining: list[int] = []
    for index, group in enumerate(groups):
        distinct = {unique[e] for e in group}
        remaining.append(len(distinct))
        for position in distinct:
            waiting.setdefault(position, []).append(index)
    outputs: dict[int, list[float]] = {}
    for position, row in forward_logits(
        model,
        list(unique),
        pad_id=pad_id,
        device=device,
        max_rows=max_rows,
        max_tokens=max_tokens,
    ):
        outputs[position] = row
        for index in waiting[position]:
            remaining[index] -= 1
            if remaining[index] == 0:
                yield index, [outputs[unique[e]] for e in groups[index]]
