"""The base of choice tasks: their aggregate is the suite's choice metrics, configured.

YAML tasks, the Scruples tasks and `dfar_classification` all score a `ChoiceRequest` per
document and report `aggregate_choices` over the standard sample fields (`choice_fields`);
they differ only in which metrics they report and which record flags slice the results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .choice_records import aggregate_choices
from .task import Record, Task


class ChoiceTask(Task):
    """A task whose records carry the standard choice fields (`choice_fields`)."""

    output_type: ClassVar[str] = "choice"
    #: metric keys to report (None: every metric that applies)
    metric_names: ClassVar[Sequence[str] | None] = None
    #: boolean fields of the records that also slice the results (see `aggregate_choices`)
    slice_flags: ClassVar[tuple[str, ...]] = ()

    def aggregate(
        self, records: Sequence[Record], calibration: Sequence[Record] | None = None
    ) -> dict[str, Any]:
        return aggregate_choices(
            records,
            calibration,
            metric_names=self.metric_names,
            seed=self.context.seed,
            n_bootstrap=self.context.n_bootstrap,
            agreement_cuts=self.context.agreement_cuts,
            flags=self.slice_flags,
        )


def before_ceiling(metrics: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`metrics` with `extra` added beside the other metrics: before the human ceiling (and
    the counts and notes after it), or at the end when there is no ceiling."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if key == "ceiling":
            out.update(extra)
        out[key] = value
    if "ceiling" not in metrics:
        out.update(extra)
    return out
