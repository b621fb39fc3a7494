"""Exact choice log-probabilities with as little work as possible.

For each context (deduplicated across requests) one forward pass runs over the context only,
and logits are kept for the last position alone: that row gives the first token of every
choice. Choices longer than one token continue from the context's KV cache: one short pass per
choice position over the whole batch, after which the cache is cropped back, so it is never
copied per choice.

Every pass goes through the model's own `forward`, so whatever the model does between its last
hidden state and its logits (Gemma-2/3 soft-capping, Granite's `logits_scaling`, Cohere's
`logit_scale`, a LoRA wrapper...) is applied by the model itself and cannot be forgotten here.

Layout: contexts are left-padded and continuation tokens are appended on the right, so each
row's real tokens are contiguous. Cache slots then count positions, which is what a sliding
window needs; the cache is a plain full-length `DynamicCache`, never a sliding one, so it can
always be cropped back. Padded widths (context and continuation passes) are rounded up to
buckets that depend on the row's own lengths only, and a batch holds one bucket pair, so a
row's padding never depends on its batch-mates (`plan_scoring_batches`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import transformers

from .memory import run_with_halving


@dataclass(frozen=True)
class ScoringItem:
    """One context and the token ids of each choice continuation."""

    context: tuple[int, ...]
    continuations: tuple[tuple[int, ...], ...]


#: called before each batch with (rows, padded tokens per row); may raise to inject faults
BatchHook = Callable[[int, int], None]


def bucket_width(length: int) -> int:
    """The padded width for a row of `length` tokens: at most 1/8 (or 7 tokens) over it."""
    step = max(8, 1 << max(0, length.bit_length() - 4))
    return -(-length // step) * step


def plan_batches(lengths: Sequence[int], *, max_rows: int, max_tokens: int) -> list[list[int]]:
    """Indices grouped into batches, longest first, each within rows and padded-token budget."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        width = lengths[current[0]] if current else lengths[index]
        if current and (len(current) >= max_rows or (len(current) + 1) * width > max_tokens):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


class ModelCaller:
    """Calls a causal LM's own forward with a cache, under whichever argument name it takes.

    transformers 5 renamed `past_key_values` to `cache` (the old name is deprecated and goes in
    5.40); `logits_to_keep` is passed only where the forward declares it. Reading logits never
    relies on it: the caller always slices the last positions itself.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        params = inspect.signature(inner.forward).parameters
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
        self.keeps_logits = "logits_to_keep" in params

    def __call__(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        positions: torch.Tensor,
        cache: Any,
        keep_last: int,
    ) -> torch.Tensor:
        """Logits of the last `keep_last` positions, shape (rows, keep_last, vocab)."""
        kwargs: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": mask,
            "position_ids": positions,
            "use_cache": cache is not None,
        }
        if cache is not None:
            kwargs[self.cache_arg] = cache
        if self.keeps_logits:
            kwargs["logits_to_keep"] = keep_last
        logits = self.model(**kwargs).logits
        return logits[:, -keep_last:]


def new_cache() -> Any:
    """A cache that keeps every position of every layer (croppable, even for sliding windows)."""
    return transformers.DynamicCache()


def _pad(
    rows: Sequence[Sequence[int]], width: int, pad_id: int, *, left: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and attention mask, `width` wide, each row padded on the left or the right."""
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            span = slice(width - len(row), None) if left else slice(None, len(row))
            ids[i, span] = torch.tensor(row, dtype=torch.long)
            mask[i, span] = 1
    return ids, mask


def input_device(model: Any) -> torch.device:
    """Where input ids must go (the embedding's device, also under `device_map=auto`)."""
    embeddings = model.get_input_embeddings()
    return embeddings.weight.device


@torch.inference_mode()
def score_batch(
    model: Any,
    items: Sequence[ScoringItem],
    *,
    pad_id: int,
    device: torch.device | None = None,
    caller: ModelCaller | None = None,
) -> list[list[float]]:
    """Sum of log-probs of each continuation given its context, for one batch of items."""
    caller = caller or ModelCaller(model)
    device = device or input_device(model)
    needs_cache = any(len(c) > 1 for item in items for c in item.continuations)
    lengths = [len(item.context) for item in items]
    width = bucket_width(max(lengths))
    ids, mask = _pad([item.context for item in items], width, pad_id, left=True)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    cache = new_cache() if needs_cache else None
    logits = caller(ids.to(device), mask.to(device), positions.to(device), cache, 1)[:, -1]
    # Index tensors live where the logits are (the last GPU under device_map=auto).
    here = logits.device
    first = torch.log_softmax(logits.float(), dim=-1)
    scores: list[list[float]] = []
    for i, item in enumerate(items):
        firsts = torch.tensor([c[0] for c in item.continuations], device=here)
        scores.append(first[i, firsts].tolist())
    if not needs_cache:
        return scores

    # Remaining tokens of multi-token choices: one short pass per choice position j over the
    # context's cache, all rows at once, then the cache is cropped back to the context.
    context_positions = torch.tensor(lengths, dtype=torch.long)[:, None]
    for j in range(max(len(item.continuations) for item in items)):
        wanted = [
            i
            for i, item in enumerate(items)
            if j < len(item.continuations) and len(item.continuations[j]) > 1
        ]
        if not wanted:
            continue
        # Rows without a multi-token choice j ride along with a masked pad token.
        inputs = [items[i].continuations[j][:-1] if i in wanted else () for i in range(len(items))]
        # Bucketed like contexts: a row's pass width must not depend on its batch-mates.
        extra = bucket_width(max(len(row) for row in inputs))
        cont_ids, cont_mask = _pad(inputs, extra, pad_id, left=False)
        cont_positions = context_positions + torch.arange(extra)[None]
        cont_logits = caller(
            cont_ids.to(device),
            torch.cat([mask, cont_mask], dim=1).to(device),
            cont_positions.to(device),
            cache,
            extra,
        )
        cache.crop(-extra)
        here = cont_logits.device
        picks = [(i, t) for i in wanted for t in range(len(inputs[i]))]
        pick_rows = torch.tensor([i for i, _ in picks], device=here)
        pick_cols = torch.tensor([t for _, t in picks], device=here)
        logprobs = torch.log_softmax(cont_logits[pick_rows, pick_cols].float(), dim=-1)
        targets = torch.tensor([items[i].continuations[j][t + 1] for i, t in picks], device=here)
        values = logprobs[torch.arange(len(picks), device=here), targets].tolist()
        for (i, _), value in zip(picks, values, strict=True):
            scores[i][j] += value
    return scores


def continuation_width(item: ScoringItem) -> int:
    """Padded width of the item's continuation passes (0: single-token choices, no pass)."""
    longest = max(len(c) for c in item.continuations) - 1
    return bucket_width(longest) if longest > 0 else 0


def item_cost(item: ScoringItem) -> int:
    """Padded context plus continuation width: the tokens a row holds at its peak."""
    return bucket_width(len(item.context)) + continuation_width(item)


def plan_scoring_batches(
    items: Sequence[ScoringItem], *, max_rows: int, max_tokens: int
) -> list[list[int]]:
    """Batches of items that share both padded widths, longest first, within the budget.

    Every row is then padded to widths of its own (context and continuation buckets), so its
    numbers do not depend on which other items are queued, i.e. on what is cached or on how
    many processes share the work, beyond the kernels' dependence on the row count.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for index, item in enumerate(items):
        key = (bucket_width(len(item.context)), continuation_width(item))
        groups.setdefault(key, []).append(index)
    batches: list[list[int]] = []
    for key in sorted(groups, reverse=True):
        members = groups[key]
        rows = max(1, min(max_rows, max_tokens // max(1, sum(key))))
        members.sort(key=lambda i: (-len(items[i].context), i))
        batches += [members[k : k + rows] for k in range(0, len(members), rows)]
    return batches


def score_items(
    model: Any,
    items: Sequence[ScoringItem],
    *,
    pad_id: int,
    device: torch.device | None = None,
    max_rows: int,
    max_tokens: int,
    before_batch: BatchHook | None = None,
    on_split: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[int, list[float]]]:
    """Yield (item index, per-choice log-probs) batch by batch, longest contexts first.

    A batch that runs out of memory is halved and retried (see `memory.run_with_halving`).
    """
    caller = ModelCaller(model)
    device = device or input_device(model)
    batches = plan_scoring_batches(items, max_rows=max_rows, max_tokens=max_tokens)

    def run(batch: list[int]) -> list[list[float]]:
        chosen = [items[i] for i in batch]
        if before_batch is not None:
            before_batch(len(chosen), max(item_cost(x) for x in chosen))
        return score_batch(model, chosen, pad_id=pad_id, device=device, caller=caller)

    yield from run_with_halving(batches, run, on_split=on_split)
