"""A document's scores do not depend on which other documents share its batch.

What is cached and how many processes share the work decide which items reach the backend
together; in bfloat16 that used to move scores (padding widths followed the batch). Rows are
now padded to buckets of their own lengths and batches hold one bucket pair, so on CPU a score
is bit-identical alone or in any batch.
"""

from __future__ import annotations

import random

import pytest
import torch
from architecture_matrix import VOCAB, build_model, scoring_items
from moralbench.plugins.hf.choice_scoring import ScoringItem, score_items


@pytest.mark.parametrize("family", ["llama", "mistral-sliding"])
def test_bf16_scores_are_independent_of_batch_mates(family: str) -> None:
    model = build_model(family, torch.bfloat16)
    rng = random.Random(1)
    items = scoring_items() + [
        ScoringItem(tuple(rng.randrange(3, VOCAB) for _ in range(6)), ((5,) * 10, (6, 7))),
        ScoringItem(tuple(rng.randrange(3, VOCAB) for _ in range(4)), ((8,), (9,))),
    ]

    def scores(subset: list[int], rows: int) -> dict[int, list[float]]:
        chosen = [items[i] for i in subset]
        got = score_items(model, chosen, pad_id=0, max_rows=rows, max_tokens=1 << 20)
        return {subset[i]: v for i, v in got}

    alone: dict[int, list[float]] = {}
    for index in range(len(items)):
        alone.update(scores([index], 1))
    for _ in range(6):
        subset = rng.sample(range(len(items)), rng.randint(2, len(items)))
        for index, value in scores(subset, rng.choice([2, 4, 8, 16])).items():
            assert value == alone[index], (index, value, alone[index])
