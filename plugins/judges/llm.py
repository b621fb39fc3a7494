"""The `llm` judge: any registered backend asked, with a versioned prompt, whether a generated
reason supports the same judgement as the human one.

Options: `model` (backend name, required), `model_args` (that backend's args as `k=v;k=v`),
`max_tokens` (default 8). The backend is loaded on the first `judge` call and released by
`close`, so a judge can be built cheaply to check its options before a run starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from moralbench.errors import OptionError
from moralbench.judges import Judge, JudgeContext, JudgePair, Verdict
from moralbench.prompts import PromptTemplate
from moralbench.redaction import redact_args
from moralbench.requests import GenerateRequest, GenerateResponse, Message
from moralbench.run_options import parse_kv, reject_unknown

from .verdicts import parse_verdict

PROMPT_VERSION = "reason-alignment-v1"
PROMPT_FILE = Path(__file__).resolve().parent / "prompts" / "reason_alignment_v1.jinja"
OPTIONS = ("model", "model_args", "max_tokens")
DEFAULT_MAX_TOKENS = 8


class LLMJudge(Judge):
    def __init__(self, options: Mapping[str, str], context: JudgeContext) -> None:
        reject_unknown(options, OPTIONS, "llm judge has no option(s)")
        if not options.get("model"):
            raise OptionError("llm judge needs a backend: judge_model=NAME (e.g. hf, openai)")
        self.backend_name = options["model"]
        self.model_args = parse_kv(options.get("model_args", ""), "llm judge model_args", ";")
        try:
            self.max_tokens = int(options.get("max_tokens", DEFAULT_MAX_TOKENS))
        except ValueError:
            raise OptionError("llm judge max_tokens must be an integer") from None
        if self.max_tokens < 1:
            raise OptionError("llm judge max_tokens must be at least 1")
        self.context = context
        source = PROMPT_FILE.read_text(encoding="utf-8").rstrip("\n")
        self.template = PromptTemplate("judge:llm", PROMPT_VERSION, text=source)
        self._backend: Any = None
        self._backend_facts: dict[str, Any] = {}

    def request(self, pair: JudgePair) -> GenerateRequest:
        prompt = self.template.render(
            {
                "statement": pair.statement,
                "reference": pair.reference,
                "reference_label": pair.reference_label or "",
                "candidate": pair.candidate,
            }
        )
        assert isinstance(prompt, str)
        return GenerateRequest(
            (Message("user", prompt),),
            stop=("\n",),
            max_tokens=self.max_tokens,
            temperature=0.0,
        )

    def _load(self) -> Any:
        if self._backend is None:
            self._backend = self.context.load_backend(self.backend_name, self.model_args)
            self._backend_facts = {
                "fingerprint": self._backend.fingerprint(),
                **self._backend.describe(),
            }
        return self._backend

    def judge(self, pairs: Sequence[JudgePair]) -> list[Verdict]:
        if not pairs:
            return []
        backend = self._load()
        verdicts: list[Verdict | None] = [None] * len(pairs)
        for index, response in backend.generate([self.request(p) for p in pairs]):
            assert isinstance(response, GenerateResponse)
            if response.error is not None:
                verdicts[index] = Verdict(None, None, f"(judge request failed: {response.error})")
            else:
                verdicts[index] = parse_verdict(response.text)
        missing = [i for i, v in enumerate(verdicts) if v is None]
        if missing:
            raise RuntimeError(f"judge backend returned no answer for {len(missing)} pair(s)")
        return [v for v in verdicts if v is not None]

    def describe(self) -> dict[str, Any]:
        return {
            "name": "llm",
            "version": PROMPT_VERSION,
            "prompt_sha256": hashlib.sha256(self.template.text.encode("utf-8")).hexdigest(),
            "verdict_format": "reply starts with ALIGNED or MISALIGNED (case ignored)",
            "backend": self.backend_name,
            "model_args": redact_args(self.model_args),
            "max_tokens": self.max_tokens,
            **({"backend_model": self._backend_facts} if self._backend_facts else {}),
        }

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def load_llm_judge(options: Mapping[str, str], context: JudgeContext) -> LLMJudge:
    return LLMJudge(options, context)
