"""The Dirichlet score from concentration parameters a backend emits itself.

A Scruples-style classifier with a Dirichlet head outputs log concentrations alpha for each
item (`hf-classifier` with `head=dirichlet` puts them in the response details). Its Dirichlet
score then uses those alpha directly: no concentration is fitted on a calibration split, and
the results say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .metrics import bootstrap_mean_ci, dirichlet_nll_alpha

ALPHA_KEY = "dirichlet_alpha"
SOURCE_NOTE = (
    "dirichlet: from the model's own concentration parameters alpha (Dirichlet head); "
    "no concentration fitted"
)


def record_alpha(record: dict[str, Any]) -> list[float] | None:
    details = record.get("estimator_details") or {}
    alpha = details.get(ALPHA_KEY)
    return list(alpha) if alpha is not None else None


def apply_model_alpha(
    out: dict[str, Any], records: Sequence[dict[str, Any]], *, seed: int, n_bootstrap: int
) -> dict[str, Any]:
    """Replace a fitted Dirichlet score with the one from the records' own alpha.

    Applies only when every successful record carries alpha and human vote counts; otherwise
    `out` is returned unchanged.
    """
    ok = [r for r in records if r.get("probs") is not None]
    alphas = [record_alpha(r) for r in ok]
    if not ok or any(a is None for a in alphas) or any(r.get("human_counts") is None for r in ok):
        return out
    counts = np.array([r["human_counts"] for r in ok], dtype=float)
    per_item = dirichlet_nll_alpha(np.array(alphas, dtype=float), counts)
    result = dict(out)
    result.pop("dirichlet_c", None)
    result["dirichlet"] = float(per_item.mean())
    result["dirichlet_ci"] = list(bootstrap_mean_ci(per_item, seed=seed, n_resamples=n_bootstrap))
    result["dirichlet_source"] = "model_alpha"
    notes = [n for n in result.get("notes", []) if not n.startswith("dirichlet")]
    result["notes"] = [*notes, SOURCE_NOTE]
    return result
