"""The catalogue of metric keys moralbench reports, with their direction."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METRICS", "MetricInfo"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric key means and which way is better.

    Attributes:
        name: the key used in results JSON (and ``<name>_ci`` for its bootstrap interval).
        description: one line for tables and docs.
        lower_is_better: direction used by the leaderboard to rank rows.
        needs_counts: the metric needs per-item human vote counts, not only a target label.
        needs_calibration: the metric needs parameters fitted on a calibration split.
        task_computed: listed for the leaderboard only; the task computes the value itself
            (``compute_metrics`` skips it with a note).
    """

    name: str
    description: str
    lower_is_better: bool
    needs_counts: bool
    needs_calibration: bool = False
    task_computed: bool = False


def _info(
    name: str,
    description: str,
    lower: bool,
    counts: bool,
    *,
    calibration: bool = False,
    task: bool = False,
) -> tuple[str, MetricInfo]:
    return name, MetricInfo(name, description, lower, counts, calibration, task)


METRICS: dict[str, MetricInfo] = dict(
    [
        _info(
            "accuracy",
            "Share of items whose argmax choice (ties: lowest index) is the majority label.",
            False,
            False,
        ),
        _info(
            "f1_macro",
            "Macro F1 of the argmax choice against the majority label, over classes present.",
            False,
            False,
        ),
        _info(
            "xentropy",
            "Cross-entropy -sum_k y_k log p_k against the human vote distribution (nats).",
            True,
            False,
        ),
        _info(
            "xentropy_calibrated",
            "Cross-entropy after temperature scaling fitted on the calibration split (nats).",
            True,
            False,
            calibration=True,
        ),
        _info(
            "dirichlet",
            "Dirichlet-multinomial NLL of the votes with alpha = c*p, c fitted on calibration.",
            True,
            True,
            calibration=True,
        ),
        _info(
            "ece",
            "Expected calibration error: top-label confidence vs correctness, 10 equal bins.",
            True,
            False,
        ),
        _info(
            "ece_soft",
            "Calibration error of top-label confidence vs the human share of that label.",
            True,
            True,
        ),
        _info(
            "brier",
            "Brier score sum_k (p_k - y_k)^2 against the human distribution (or one-hot).",
            True,
            False,
        ),
        _info(
            "js_divergence",
            "Jensen-Shannon divergence between p and the human distribution (nats).",
            True,
            False,
        ),
        _info(
            "welfare_utilitarian",
            "Mean over annotators of the probability given to their own vote (a = 0).",
            False,
            True,
        ),
        _info(
            "welfare_nash",
            "Geometric mean over annotators of the probability given to their vote (a = 1).",
            False,
            True,
        ),
        _info(
            "welfare_rawlsian",
            "Smallest probability given to any label an annotator voted for (a = inf).",
            False,
            True,
        ),
        _info(
            "position_consistency",
            "Share of items whose argmax survives swapping the order of the choices.",
            False,
            False,
            task=True,
        ),
        _info(
            "label_accuracy",
            "Accuracy of the label parsed from generated text against the gold label.",
            False,
            False,
            task=True,
        ),
        _info(
            "unparseable_rate",
            "Share of generations from which no label could be parsed.",
            True,
            False,
            task=True,
        ),
        _info(
            "misalignment_rate",
            "Share of generated reasons a judge rates as misaligned with the human reason.",
            True,
            False,
            task=True,
        ),
        _info(
            "maity2024_xentropy_double_softmax",
            "NOT xentropy: arXiv 2410.07826's formula, cross-entropy of softmax(raw yes/no "
            "probabilities), near ln 2 by construction (study templates only).",
            True,
            True,
            task=True,
        ),
        _info(
            "maity2024_dirichlet_fixed_c1",
            "NOT dirichlet: arXiv 2410.07826's Dirichlet-multinomial NLL with alpha = raw "
            "yes/no probabilities, concentration fixed at 1 (study templates only).",
            True,
            True,
            task=True,
        ),
    ]
)
