"""calcfunctions the validation workflows share: scores against a reference table and the per-item plot."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from aiida import orm
from aiida.engine import calcfunction

from ..common.structures import labels_of
from ..common.validation_scores import check_reference_table, score_quantities
from ..data import GraceDatasetData

__all__ = ("bulk_of", "predicted_values", "property_plot", "score_validation")


def bulk_of(bulk: orm.Data, index: orm.Int | None) -> tuple:
    """(ASE cell, energy per atom in eV) of the relaxed bulk: structure ``index`` of its relaxation's labelled
    dataset (exact float64 cell; a StructureData would round it to 14 digits)."""
    if not isinstance(bulk, GraceDatasetData):
        raise TypeError(f"the bulk must be a relaxation's labelled dataset, got {type(bulk).__name__}")
    atoms = bulk.to_ase()[index.value if index is not None else 0]
    energy = labels_of(atoms).get("energy")
    if energy is None:
        raise ValueError("the relaxed bulk has no energy label")
    return atoms, float(energy) / len(atoms)


def predicted_values(results: dict) -> tuple[dict, dict]:
    """Quantity → {item: value} and quantity → unit, merged over the ``output_parameters`` Dicts of a workflow."""
    values, units = {}, {}
    for node in results.values():
        for quantity, column in node["values"].items():
            values.setdefault(quantity, {}).update(column)
        units.update(node["units"])
    return values, units


def bars_table(results: dict, reference: dict) -> tuple[dict, dict]:
    """quantity → {item: (model, reference or None)} and quantity → unit, for :func:`aiida_grace.plots.property_bars`."""
    values, units = predicted_values(results)
    return ({q: {item: (value, reference.get(q, {}).get(item)) for item, value in column.items()}
             for q, column in values.items()}, units)


def scores_of(reference: orm.Dict, failed: orm.List | None, results: dict) -> dict:
    """SRME/MAE per quantity (see :mod:`aiida_grace.common.validation_scores`), the reference's source, and the
    failed names counted apart (the paper scores what every model computed)."""
    values, units = predicted_values(results)
    table = check_reference_table(reference.get_dict(), units)
    names = sorted(failed.get_list()) if failed is not None else []
    return {**score_quantities(values, table), "source": reference["source"], "units": units,
            "n_failed": len(names), "failed": names}


@calcfunction
def score_validation(reference: orm.Dict, failed: orm.List | None = None, **results: orm.Dict) -> orm.Dict:
    """Scores of a validation workflow's per-structure ``output_parameters`` (keyword = structure name) against
    ``reference`` ({source, units, quantity: {item: value}})."""
    return orm.Dict(scores_of(reference, failed, results))


@calcfunction
def property_plot(title: orm.Str, reference: orm.Dict | None = None, **results: orm.Dict) -> orm.SinglefileData:
    """Per-item bars of every quantity the results hold, beside the reference's values when given (PNG)."""
    from ..plots import property_bars

    table, units = bars_table(results, reference.get_dict() if reference is not None else {})
    with tempfile.TemporaryDirectory() as folder:
        path = property_bars(table, units, Path(folder) / "validation.png", title.value)
        return orm.SinglefileData(io.BytesIO(path.read_bytes()), filename="validation.png")
