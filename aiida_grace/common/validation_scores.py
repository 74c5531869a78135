"""Scores of a validation against reference values: symmetric relative error, SRME and MAE (pure; no aiida).

The paper scores each property over the items both sides have: the symmetric relative error of one value is
2|x_ML − x_ref| / (|x_ML| + |x_ref|) (0 where both are 0), SRME is its mean and MAE the mean |x_ML − x_ref|.
Reference values come as a table ``{"source": "...", "units": {...}, "<quantity>": {item: value}}``.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

WORST = 3  # outliers named per quantity


class ReferenceError(ValueError):
    """A reference table is malformed."""


def symmetric_relative_error(predicted: float, reference: float) -> float:
    """2|p − r| / (|p| + |r|); 0 when both are 0."""
    denominator = abs(predicted) + abs(reference)
    return 2 * abs(predicted - reference) / denominator if denominator > 0 else 0.0


def score_values(predicted: Mapping[str, float], reference: Mapping[str, float], worst: int = WORST) -> dict:
    """SRME, MAE and the per-item errors of ``predicted`` against ``reference`` over the items both have.

    Returns ``srme``, ``mae``, ``n`` (items scored), ``missing`` (reference items without a prediction),
    ``items`` (item → predicted, reference, error = p − r, sre) and ``worst`` (the ``worst`` items by sre)."""
    names = sorted(set(predicted) & set(reference))
    if not names:
        raise ValueError("no item has both a predicted and a reference value")
    items = {name: {"predicted": float(predicted[name]), "reference": float(reference[name]),
                    "error": float(predicted[name] - reference[name]),
                    "sre": symmetric_relative_error(float(predicted[name]), float(reference[name]))}
             for name in names}
    return {
        "srme": float(np.mean([item["sre"] for item in items.values()])),
        "mae": float(np.mean([abs(item["error"]) for item in items.values()])),
        "n": len(names),
        "missing": sorted(set(reference) - set(predicted)),
        "items": items,
        "worst": sorted(names, key=lambda name: -items[name]["sre"])[:worst],
    }


def check_reference_table(table: dict, quantities: Mapping[str, str]) -> dict:
    """Check a reference table against the ``quantities`` (name → unit) a workflow scores; return
    quantity → {item: value} of the quantities it has. Raise :class:`ReferenceError` when it has no ``source``,
    a quantity the workflow does not know, a unit other than the workflow's, or a non-numeric value."""
    if not isinstance(table.get("source"), str) or not table["source"].strip():
        raise ReferenceError("a reference table needs a 'source' (where the values come from)")
    units = table.get("units", {})
    values = {}
    for key, column in table.items():
        if key in ("source", "units"):
            continue
        if key not in quantities:
            raise ReferenceError(f"unknown reference quantity '{key}' (known: {', '.join(quantities)})")
        if key in units and units[key] != quantities[key]:
            raise ReferenceError(f"reference '{key}' is in {units[key]}, the workflow gives {quantities[key]}")
        if not isinstance(column, dict) or not column:
            raise ReferenceError(f"reference '{key}' must be a table item → value")
        bad = [item for item, value in column.items()
               if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value)]
        if bad:
            raise ReferenceError(f"reference '{key}' has non-numeric values for {', '.join(sorted(bad))}")
        values[key] = {item: float(value) for item, value in column.items()}
    if not values:
        raise ReferenceError(f"the reference table has none of the quantities {', '.join(quantities)}")
    return values


def score_quantities(predicted: Mapping[str, Mapping[str, float]], reference: Mapping[str, Mapping[str, float]]
                     ) -> dict:
    """:func:`score_values` per quantity that both sides have (quantity → {item: value})."""
    return {quantity: score_values(predicted[quantity], reference[quantity])
            for quantity in sorted(set(predicted) & set(reference))
            if set(predicted[quantity]) & set(reference[quantity])}
