"""Pure-function metrics of moralbench: per-item scores, aggregates with bootstrap CIs,
calibration fits and the human ceiling. See ``docs/metrics.md`` for the definitions."""

from .aggregate import CALIBRATION_MISSING, compute_metrics
from .bootstrap import (
    bootstrap_ci,
    bootstrap_ci_rows,
    bootstrap_many,
    bootstrap_mean_ci,
    iter_resamples,
    paired_bootstrap,
)
from .calibration import (
    CONCENTRATION_BOUNDS,
    TEMPERATURE_BOUNDS,
    apply_temperature,
    fit_dirichlet_concentration,
    fit_temperature,
)
from .catalogue import METRICS, MetricInfo
from .ceiling import CEILING_METRICS, fit_dirichlet_prior, human_ceiling
from .classification import ece, ece_soft, f1_macro
from .distribution import (
    EPS,
    brier,
    cross_entropy,
    dirichlet_nll,
    dirichlet_nll_alpha,
    human_distribution,
    item_metrics,
    js_divergence,
    normalise,
    one_hot,
    predict,
    probs_from_logprobs,
    welfare,
)

__all__ = [
    "CALIBRATION_MISSING",
    "CEILING_METRICS",
    "CONCENTRATION_BOUNDS",
    "EPS",
    "METRICS",
    "MetricInfo",
    "TEMPERATURE_BOUNDS",
    "apply_temperature",
    "bootstrap_ci",
    "bootstrap_ci_rows",
    "bootstrap_many",
    "bootstrap_mean_ci",
    "brier",
    "compute_metrics",
    "cross_entropy",
    "dirichlet_nll",
    "dirichlet_nll_alpha",
    "ece",
    "ece_soft",
    "f1_macro",
    "fit_dirichlet_concentration",
    "fit_dirichlet_prior",
    "fit_temperature",
    "human_ceiling",
    "human_distribution",
    "item_metrics",
    "iter_resamples",
    "js_divergence",
    "normalise",
    "one_hot",
    "paired_bootstrap",
    "predict",
    "probs_from_logprobs",
    "welfare",
]
