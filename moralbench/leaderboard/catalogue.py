"""Which way each metric points: the built-in catalogue plus metrics plugins register."""

from __future__ import annotations

from collections.abc import Callable

from ..metrics import METRICS, MetricInfo


def metric_catalogue(warn: Callable[[str], None] | None = None) -> dict[str, MetricInfo]:
    """`moralbench.metrics.METRICS` and every `MetricInfo` from `moralbench_register_metrics`.

    A plugin that fails to load is reported through `warn` and its metrics are unknown (such
    a metric is still shown, but cannot be ranked).
    """
    from ..session import Session

    registry = Session.open(warn=warn or (lambda message: None)).registry
    catalogue = dict(METRICS)
    for name, info in registry.metrics.items():
        catalogue.setdefault(name, info)
    return catalogue
