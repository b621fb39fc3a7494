"""The `hf-classifier` and `hf-reward` backends: models that read the item, not a prompt.

This module only registers the backends; torch and transformers are imported when one is
chosen (`moralbench.plugins.encoders.classifier` / `.reward`).
"""

from moralbench import BackendSpec, hookimpl

REQUIRES = {"torch": "torch", "transformers": "transformers"}


@hookimpl
def moralbench_register_models() -> list[BackendSpec]:
    return [
        BackendSpec(
            name="hf-classifier",
            factory="moralbench.plugins.encoders.classifier:HFClassifierBackend",
            estimators=("classifier",),
            description="local sequence classifier: task labels mapped to the model's labels; "
            "softmax or Dirichlet head",
            requires=REQUIRES,
            request_types=("choice",),
        ),
        BackendSpec(
            name="hf-reward",
            factory="moralbench.plugins.encoders.reward:HFRewardBackend",
            estimators=("reward",),
            description="local reward model: each choice scored as the answer; softmax of "
            "rewards (scale fitted on the calibration split)",
            requires=REQUIRES,
            request_types=("choice",),
        ),
    ]
