"""calcfunctions of ``grace.surface_energy``: slabs of a relaxed bulk and their surface energies."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..common import surface_energy
from ..common.structures import labels_of
from ..data import GraceDatasetData
from .validation import bulk_of

__all__ = ("slab_cells", "surface_energies")


@calcfunction
def slab_cells(bulk: GraceDatasetData, parameters: orm.Dict, index: orm.Int | None = None,
               cutoff: orm.Float | None = None) -> GraceDatasetData:
    """One slab per Miller index of ``parameters['miller_indices']`` (surface normal to z, ``min_thickness`` and
    ``vacuum`` in Å, in-plane cell past ``cutoff``), one unlabelled dataset; ``info`` names each."""
    atoms, _ = bulk_of(bulk, index)
    reach = cutoff.value if cutoff is not None else None
    return GraceDatasetData([surface_energy.slab(atoms, miller, parameters["min_thickness"], parameters["vacuum"],
                                                 reach) for miller in parameters["miller_indices"]])


@calcfunction
def surface_energies(bulk: GraceDatasetData, cells: GraceDatasetData, parameters: orm.Dict, name: orm.Str,
                     index: orm.Int | None = None) -> orm.Dict:
    """γ = (E_slab − N ε_bulk) / (2A) of each relaxed slab in meV/Å² and J/m²; ``values``: surface_energy by
    '<name>/<miller>' (meV/Å²)."""
    _, bulk_energy = bulk_of(bulk, index)
    per_slab = {}
    for atoms in cells.to_ase():
        key = surface_energy.miller_key([int(i) for i in atoms.info["miller"]])
        gamma = surface_energy.interface_energy(labels_of(atoms)["energy"], len(atoms), bulk_energy,
                                                surface_energy.area(atoms))
        per_slab[key] = {**gamma, "n_atoms": len(atoms), "area": surface_energy.area(atoms),
                         "layers": int(atoms.info["layers"])}
    return orm.Dict({"surfaces": per_slab, "bulk_energy_per_atom": bulk_energy,
                     "values": {"surface_energy": {f"{name.value}/{k}": v["meV_per_A2"] for k, v in per_slab.items()}},
                     "units": {**surface_energy.QUANTITIES, "J_per_m2": "J/m²", "area": "Å²",
                               "bulk_energy_per_atom": "eV/atom"}})
