"""calcfunctions of ``grace.grain_boundary``: symmetric tilt bicrystals of a relaxed bulk and their energies."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..common import grain_boundary
from ..common.structures import labels_of
from ..common.surface_energy import area, interface_energy
from ..data import GraceDatasetData
from .validation import bulk_of

__all__ = ("boundary_cells", "boundary_energies")


@calcfunction
def boundary_cells(bulk: GraceDatasetData, parameters: orm.Dict, index: orm.Int | None = None,
                   cutoff: orm.Float | None = None) -> GraceDatasetData:
    """One periodic bicrystal per boundary of ``parameters['boundaries']`` (boundary plane normal to z, grains of
    ``min_grain_thickness`` Å, plane cell past ``cutoff``), one unlabelled dataset; ``info`` names each."""
    atoms, _ = bulk_of(bulk, index)
    reach = cutoff.value if cutoff is not None else None
    return GraceDatasetData([grain_boundary.bicrystal(atoms, boundary, parameters["min_grain_thickness"], reach)
                             for boundary in parameters["boundaries"]])


@calcfunction
def boundary_energies(bulk: GraceDatasetData, cells: GraceDatasetData, parameters: orm.Dict, name: orm.Str,
                      index: orm.Int | None = None) -> orm.Dict:
    """γ_GB = (E − N ε_bulk) / (2A) of each relaxed bicrystal (A after relaxation) in meV/Å² and J/m²;
    ``values``: grain_boundary_energy by '<name>/<key>' (meV/Å²)."""
    _, bulk_energy = bulk_of(bulk, index)
    per_boundary = {}
    for atoms in cells.to_ase():
        gamma = interface_energy(labels_of(atoms)["energy"], len(atoms), bulk_energy, area(atoms))
        per_boundary[atoms.info["key"]] = {**gamma, "n_atoms": len(atoms), "area": area(atoms),
                                           "sigma": int(atoms.info["sigma"]),
                                           "rotation_angle": float(atoms.info["rotation_angle"])}
    return orm.Dict({"boundaries": per_boundary, "bulk_energy_per_atom": bulk_energy,
                     "values": {"grain_boundary_energy": {f"{name.value}/{k}": v["meV_per_A2"]
                                                          for k, v in per_boundary.items()}},
                     "units": {**grain_boundary.QUANTITIES, "J_per_m2": "J/m²", "area": "Å²",
                               "rotation_angle": "degree", "bulk_energy_per_atom": "eV/atom"}})
