"""The `openai` backend: any OpenAI-compatible HTTP API (OpenAI, vLLM, llama.cpp, TGI).

This module only registers the backend; the HTTP client is imported when the backend is
chosen (`moralbench.plugins.openai.backend`). Neither torch nor transformers is needed, nor any
HTTP package: the client is asyncio's (`http_transport.py`); certifi, when installed (the `api`
extra), supplies the CA bundle for https.
"""

from moralbench import BackendSpec, hookimpl


@hookimpl
def moralbench_register_models() -> list[BackendSpec]:
    return [
        BackendSpec(
            name="openai",
            factory="moralbench.plugins.openai.backend:OpenAIBackend",
            estimators=("exact", "top_logprobs", "sampled"),
            description=(
                "OpenAI-compatible API (chat or completions): choice log-probs by echo, "
                "top log-probs or sampling; generation"
            ),
            secret_args=("api_key",),
        )
    ]
