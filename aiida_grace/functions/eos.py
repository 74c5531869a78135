"""calcfunctions of ``grace.eos``: volume-scaled cells, the Birch–Murnaghan fit, scores with the Δ-gauge."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..common import eos
from ..common.structures import labels_of
from ..data import GraceDatasetData
from .validation import bulk_of, scores_of

__all__ = ("eos_cells", "fit_eos", "score_eos")


@calcfunction
def eos_cells(bulk: GraceDatasetData, parameters: orm.Dict, index: orm.Int | None = None,
              cutoff: orm.Float | None = None) -> GraceDatasetData:
    """The relaxed bulk (structure ``index`` of its relaxation's dataset) scaled to ``points`` volumes over
    ±``volume_range`` (fractions), one unlabelled dataset."""
    atoms, _ = bulk_of(bulk, index)
    return GraceDatasetData(eos.scaled_cells(atoms, parameters["volume_range"], parameters["points"]))


@calcfunction
def fit_eos(bulk: GraceDatasetData, cells: GraceDatasetData, parameters: orm.Dict, name: orm.Str,
            index: orm.Int | None = None) -> orm.Dict:
    """Birch–Murnaghan fit of the labelled scaled cells: V0 (Å³/atom), E0 (eV/atom), B0 (GPa), B′, the RMS
    residual (meV/atom), the volumes and energies per atom; ``values`` {V0, B0, Bp: {name: value}}."""
    atoms, _ = bulk_of(bulk, index)
    structures = cells.to_ase()
    volumes = [a.get_volume() / len(a) for a in structures]
    energies = [labels_of(a)["energy"] / len(a) for a in structures]
    fit = eos.birch_murnaghan(volumes, energies)
    return orm.Dict({**fit, "volumes": volumes, "energies": energies, "formula": atoms.get_chemical_formula(),
                     "values": {q: {name.value: fit[q]} for q in eos.QUANTITIES},
                     "units": {**eos.QUANTITIES, "E0": "eV/atom", "residual_rms": "meV/atom"}})


@calcfunction
def score_eos(reference: orm.Dict, failed: orm.List | None = None, **results: orm.Dict) -> orm.Dict:
    """SRME/MAE of V0, B0 and B′ against ``reference`` and the Δ-gauge (meV/atom) per element where the
    reference has all three, with its mean."""
    scores = scores_of(reference, failed, results)
    table = reference.get_dict()
    fits = {name: {q: node["values"][q][name] for q in eos.QUANTITIES}
            for node in results.values() for name in node["values"]["V0"]}
    delta = eos.delta_table(fits, table)
    scores["delta"] = delta
    if delta:
        scores["delta_mean"] = sum(delta.values()) / len(delta)
    scores["units"] = {**scores["units"], "delta": "meV/atom"}
    return orm.Dict(scores)
