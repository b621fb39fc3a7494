"""The `hf` backend: local transformers models (accelerate for several GPUs).

This module only registers the backend; torch and transformers are imported when the
backend is chosen (`moralbench.plugins.hf.backend`).
"""

from moralbench import BackendSpec, hookimpl


@hookimpl
def moralbench_register_models() -> list[BackendSpec]:
    return [
        BackendSpec(
            name="hf",
            factory="moralbench.plugins.hf.backend:HFBackend",
            estimators=("exact",),
            description="local transformers causal LM: exact choice log-probs, generation",
            requires={"torch": "torch", "transformers": "transformers"},
            check_args="moralbench.plugins.hf.arg_checks:check_hf_args",
            chat_arg=("chat_template", "true", "false"),
            prompt_preview="moralbench.plugins.hf.preview:hf_prompt_preview",
        )
    ]
