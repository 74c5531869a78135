"""Calcfunctions of ``grace.finetune_study``: the nested training subsets, each model's errors by element group,
the study's table and its two pictures."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from aiida import orm
from aiida.engine import calcfunction

from ..common.finetune_study import PROBES, energy_change, grouped_errors, nested_subsets, pareto_front
from ..data import GraceDatasetData


@calcfunction
def training_subsets(dataset: GraceDatasetData, fractions: orm.List, seeds: orm.List) -> dict:
    """The (fraction, seed) subsets of ``dataset``, nested per seed, by :func:`subset_name` (pct25_seed1...)."""
    structures = dataset.to_ase()
    return {name: GraceDatasetData([structures[i] for i in indices])
            for name, indices in nested_subsets(len(structures), fractions.get_list(), seeds.get_list()).items()}


@calcfunction
def study_errors(new_elements: orm.List, downstream_reference: GraceDatasetData,
                 downstream_predicted: GraceDatasetData, original_reference: GraceDatasetData | None = None,
                 original_predicted: GraceDatasetData | None = None,
                 zero_shot_original: GraceDatasetData | None = None) -> orm.Dict:
    """One model's errors by element group on the downstream test set and, when given, the original set
    (eV/atom, eV/Å); with the parent's predictions on the original set also ``original_energy_change``: the
    largest change (eV) of the energy of an original structure without a new element."""
    elements = new_elements.get_list()
    result = {"downstream": grouped_errors(downstream_reference.to_ase(), downstream_predicted.to_ase(), elements)}
    if original_reference is not None and original_predicted is not None:
        predicted = original_predicted.to_ase()
        result["original"] = grouped_errors(original_reference.to_ase(), predicted, elements)
        if zero_shot_original is not None:
            result["original_energy_change"] = energy_change(zero_shot_original.to_ase(), predicted, elements)
    return orm.Dict(result)


PARETO_LABELS = ("energy_per_atom", "forces")


def pareto_points(combinations: dict, label: str) -> dict[str, tuple[float, float]]:
    """(downstream MAE, original-set MAE) of ``label`` (eV/atom or eV/Å) of the combinations evaluated on both."""
    return {name: (row["downstream"]["all"][label]["mae"], row["original"]["all"][label]["mae"])
            for name, row in combinations.items()
            if label in row["downstream"].get("all", {}) and label in row.get("original", {}).get("all", {})}


@calcfunction
def probe_results(**outputs: orm.Dict) -> orm.Dict:
    """One model's property probes: keywords ``<probe>_values_<structure>`` (a probe's output_parameters) and
    ``<probe>_scores`` → {probe: {values: {structure: ...}, scores: ...}}."""
    result: dict = {}
    for key, node in outputs.items():
        probe = next(name for name in PROBES if key.startswith(f"{name}_"))
        entry = result.setdefault(probe, {"values": {}})
        item = key[len(probe) + 1:]
        if item == "scores":
            entry["scores"] = node.get_dict()
        else:
            entry["values"][item.removeprefix("values_")] = node.get_dict()
    return orm.Dict(result)


@calcfunction
def study_table(combinations: orm.Dict, new_elements: orm.List, **errors: orm.Dict) -> orm.Dict:
    """The study's results: per combination its description (strategy, fraction, seed, n_train), errors (keyword =
    combination name) and property probes (keyword ``probes_<combination>``), the new elements and the forgetting
    Pareto fronts (MAE on the downstream test set against MAE on the original set, of energy and of forces)."""
    rows = {name: {**description, **errors[name].get_dict()} for name, description in combinations.get_dict().items()}
    for name in rows:
        if f"probes_{name}" in errors:
            rows[name]["probes"] = errors[f"probes_{name}"].get_dict()
    return orm.Dict({"new_elements": new_elements.get_list(), "combinations": rows,
                     "pareto_front": {label: pareto_front(pareto_points(rows, label)) for label in PARETO_LABELS}})


@calcfunction
def study_plots(table: orm.Dict) -> dict:
    """``data_efficiency`` and ``forgetting`` PNGs of a study table (see aiida_grace.plots)."""
    from ..plots import data_efficiency, forgetting_pareto

    outputs = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, draw in (("data_efficiency", data_efficiency), ("forgetting", forgetting_pareto)):
            path = draw(table.get_dict(), Path(folder) / f"{name}.png")
            if path is not None:
                outputs[name] = orm.SinglefileData(io.BytesIO(path.read_bytes()), filename=f"{name}.png")
    return outputs
