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
from .ceiling import CEILING_METRICS, fit_dirichlet_prior, human_ceiling, human_ceilings
from .classification import ece, ece_soft, f1_macro
from .distribution import (
    EPS,
    brier,
    cross_entropy,
    dirichlet_nll,
    dirichlet_nll_alpha,
    human_distribution,
    js_divergence,
    normalise,
    one_hot,
    predict,
    probs_from_logprobs,
    welfare,
)
from .one_item import item_metrics
from .slices import (
    DEFAULT_CUTS,
    MIN_ITEMS_FOR_INTERVAL,
    AgreementCuts,
    agreement_groups,
    flag_groups,
    slice_gap,
    slice_metrics,
    top_share,
)

__all__ = [
    "AgreementCuts",
    "CALIBRATION_MISSING",
    "CEILING_METRICS",
    "CONCENTRATION_BOUNDS",
    "DEFAULT_CUTS",
    "EPS",
    "METRICS",
    "MIN_ITEMS_FOR_INTERVAL",
    "MetricInfo",
    "TEMPERATURE_BOUNDS",
    "agreement_groups",
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
    "flag_groups",
    "human_ceiling",
    "human_ceilings",
    "human_distribution",
    "item_metrics",
    "iter_resamples",
    "js_divergence",
    "normalise",
    "one_hot",
    "paired_bootstrap",
    "predict",
    "probs_from_logprobs",
    "slice_gap",
    "slice_metrics",
    "top_share",
    "welfare",
]
