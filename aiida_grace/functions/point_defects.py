"""calcfunctions of ``grace.point_defects``: defect supercells of a relaxed bulk and their formation energies."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..common import point_defects
from ..common.structures import labels_of
from ..data import GraceDatasetData
from .validation import bulk_of

__all__ = ("defect_cells", "formation_energies")


@calcfunction
def defect_cells(bulk: GraceDatasetData, parameters: orm.Dict, index: orm.Int | None = None,
                 cutoff: orm.Float | None = None) -> GraceDatasetData:
    """One cell per defect of ``parameters['defects']`` in the ``supercell`` of the relaxed bulk's conventional
    cube (``info['defect']``, ``info['n_perfect']``), one unlabelled dataset."""
    atoms, _ = bulk_of(bulk, index)
    return GraceDatasetData(point_defects.defect_cells(atoms, parameters["supercell"], parameters["defects"]))


@calcfunction
def formation_energies(bulk: GraceDatasetData, cells: GraceDatasetData, parameters: orm.Dict, name: orm.Str,
                       index: orm.Int | None = None) -> orm.Dict:
    """E_f = E_defect − (N ± 1) ε_bulk (eV) of each relaxed defect cell; ``values``: vacancy and sia (the
    lowest interstitial, named in ``sia_configuration``)."""
    _, bulk_energy = bulk_of(bulk, index)
    energies = {}
    for atoms in cells.to_ase():
        energies[atoms.info["defect"]] = point_defects.formation_energy(labels_of(atoms)["energy"], len(atoms),
                                                                        bulk_energy)
    summary = point_defects.summarize(energies)
    n_perfect = cells.to_ase()[0].info["n_perfect"]
    return orm.Dict({"formation_energies": energies, **summary, "n_perfect": n_perfect,
                     "bulk_energy_per_atom": bulk_energy,
                     "values": {q: {name.value: summary[q]} for q in point_defects.QUANTITIES if q in summary},
                     "units": {**point_defects.QUANTITIES, "formation_energies": "eV",
                               "bulk_energy_per_atom": "eV/atom"}})
