"""A larger synthetic data dir for the built-in choice tasks, in the real file formats.

Scruples anecdotes and dilemmas (JSONL, as released) and DFAR (CSV with a BOM), written from
our own sentence parts with a seeded generator, so a test can score many more items than the
bundled samples hold. Vote counts are drawn so every line passes the tasks' validation (the
label is the majority, RIGHT = OTHER + NOBODY, WRONG = AUTHOR + EVERYBODY).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

PEOPLE = (
    "my sister", "my roommate", "my neighbour", "my best friend", "my boss", "my cousin",
    "my partner", "a coworker", "my landlord", "my teenage son", "my uncle", "a classmate",
)  # fmt: skip
ACTS = (
    "kept the money I found in a shared drawer",
    "refused to lend my car for a weekend trip",
    "told everyone about a surprise party by accident",
    "skipped a wedding to attend a job interview",
    "ate the leftovers that were labelled with another name",
    "reported a small mistake to our manager",
    "moved out without giving a month's notice",
    "asked for the money back that I had lent months ago",
    "posted a photo of a group dinner without asking",
    "declined to babysit on short notice",
    "corrected a grammar mistake in front of guests",
    "used the last of the hot water every morning",
    "returned a gift because I did not like it",
    "played loud music late on a weeknight",
    "read a message that was left open on a shared laptop",
    "refused to split the bill evenly after ordering less",
)
FEELINGS = (
    "Now they say I embarrassed them.",
    "They have not spoken to me since.",
    "Some friends think I overreacted.",
    "My family is split on who is right.",
    "I feel bad but I also think I had a point.",
    "They called me selfish in front of everyone.",
)
DETAILS = (
    "This had happened twice before.",
    "We had agreed on the rule a year ago.",
    "I had warned them the day before.",
    "It was the third time that month.",
    "Nobody else seemed to mind at first.",
    "I only found out later how much it mattered to them.",
)
LABELS5 = ("AUTHOR", "OTHER", "EVERYBODY", "NOBODY", "INFO")


def _majority_counts(rng: random.Random, n: int, size: int) -> tuple[list[int], int]:
    """Vote counts over `n` labels whose argmax is unique, and that argmax."""
    while True:
        counts = [rng.randint(0, size) for _ in range(n)]
        top = max(counts)
        if top > 0 and counts.count(top) == 1:
            return counts, counts.index(top)


def anecdote_lines(rng: random.Random, count: int, split: str) -> list[dict]:
    lines = []
    while len(lines) < count:
        person, act = rng.choice(PEOPLE), rng.choice(ACTS)
        counts, label = _majority_counts(rng, 5, 9)
        scores = dict(zip(LABELS5, counts, strict=True))
        right = scores["OTHER"] + scores["NOBODY"]
        wrong = scores["AUTHOR"] + scores["EVERYBODY"]
        if right == wrong:
            continue  # the binarized label must be a majority too
        n = len(lines)
        text = (
            f"Last week I {act}, and {person} was upset about it. "
            f"{rng.choice(DETAILS)} {rng.choice(FEELINGS)}"
        )
        lines.append(
            {
                "id": f"synthetic-anecdote-{split}-{n:03d}",
                "post_id": f"synthetic-post-{split}-{n:03d}",
                "action": {
                    "description": act,
                    "pronormative_score": right,
                    "contranormative_score": wrong,
                },
                "title": f"AITA because I {act}?",
                "text": text,
                "post_type": rng.choice(("HISTORICAL", "HYPOTHETICAL")),
                "label_scores": scores,
                "label": LABELS5[label],
                "binarized_label_scores": {"RIGHT": right, "WRONG": wrong},
                "binarized_label": "RIGHT" if right > wrong else "WRONG",
            }
        )
    return lines


def dilemma_lines(rng: random.Random, count: int, split: str) -> list[dict]:
    lines = []
    for n in range(count):
        first, second = rng.sample(ACTS, 2)
        counts, gold = _majority_counts(rng, 2, 5)
        lines.append(
            {
                "id": f"synthetic-dilemma-{split}-{n:03d}",
                "actions": [
                    {"id": f"synthetic-action-{split}-{n:03d}-0", "description": first},
                    {"id": f"synthetic-action-{split}-{n:03d}-1", "description": second},
                ],
                "gold_label": gold,
                "gold_annotations": counts,
                "controversial": min(counts) >= 2,
            }
        )
    return lines


def dfar_rows(rng: random.Random, count: int) -> list[tuple[str, int, str]]:
    rows = []
    for _ in range(count):
        person, act = rng.choice(PEOPLE), rng.choice(ACTS)
        label = rng.randint(0, 1)
        word = "ethical" if label == 0 else "unethical"
        rows.append((f"I {act}, and {person} noticed.", label, f"It is {word} to do so."))
    return rows


def _write_jsonl(path: Path, lines: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def _write_dfar(path: Path, rows: list[tuple[str, int, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Statement", "Label", "Reason"])
        writer.writerows(rows)


def write_data_dir(folder: Path, count: int, seed: int = 12) -> Path:
    """A data dir with `count` test items per task (and a few dev / train items)."""
    rng = random.Random(seed)
    scruples = folder / "scruples"
    _write_jsonl(
        scruples / "anecdotes" / "test.scruples-anecdotes.jsonl",
        anecdote_lines(rng, count, "test"),
    )
    _write_jsonl(
        scruples / "dilemmas" / "test.scruples-dilemmas.jsonl", dilemma_lines(rng, count, "test")
    )
    _write_dfar(folder / "dfar" / "DFAR_testset.csv", dfar_rows(rng, count))
    _write_dfar(folder / "dfar" / "DFAR_trainset.csv", dfar_rows(rng, 4))
    return folder
