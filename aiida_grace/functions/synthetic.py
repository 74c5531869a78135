"""Small labelled datasets made with ASE's EMT potential (Cu, Al, Ni, Ag, Au, Pd, Pt), as calcfunctions.

For examples, tests and tutorials: real labels from a real (if simple) potential, reproducible by seed.
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..common.structures import with_labels
from ..data import GraceDatasetData

EMT_LATTICE = {"Cu": 3.61, "Al": 4.05, "Ni": 3.52, "Ag": 4.09, "Au": 4.08, "Pd": 3.89, "Pt": 3.92}  # fcc a, Å


def emt_structures(elements: list[str], n_structures: int, seed: int, rattle: float = 0.05,
                   max_strain: float = 0.03, supercells: tuple = ((1, 1, 1), (2, 1, 1))) -> list:
    """Random fcc cells (4 or 8 atoms) with random occupation by ``elements``, strain up to
    ``max_strain`` and Gaussian rattle ``rattle`` (Å), labelled with EMT energy, forces and stress."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    rng = np.random.default_rng(seed)
    structures = []
    for index in range(n_structures):
        repeat = supercells[index % len(supercells)]
        species = rng.choice(elements, size=4 * int(np.prod(repeat)))
        lattice = float(np.mean([EMT_LATTICE[s] for s in species]))
        atoms = bulk("Cu", "fcc", a=lattice, cubic=True).repeat(repeat)
        atoms.set_chemical_symbols(list(species))
        strain = np.eye(3) + rng.uniform(-max_strain, max_strain, size=(3, 3)) * np.array(
            [[1, 0.5, 0.5], [0.5, 1, 0.5], [0.5, 0.5, 1]])
        atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
        atoms.positions += rng.normal(0.0, rattle, size=atoms.positions.shape)
        atoms.calc = EMT()
        structures.append(with_labels(atoms, atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    return structures


@calcfunction
def emt_dataset(elements: orm.List, n_structures: orm.Int, seed: orm.Int, rattle: orm.Float,
                max_strain: orm.Float) -> GraceDatasetData:
    """A GraceDatasetData of EMT-labelled random fcc alloy cells (see :func:`emt_structures`)."""
    unknown = set(elements.get_list()) - set(EMT_LATTICE)
    if unknown:
        raise ValueError(f"EMT has no parameters for {', '.join(sorted(unknown))}; use {', '.join(EMT_LATTICE)}")
    return GraceDatasetData(emt_structures(elements.get_list(), n_structures.value, seed.value,
                                           rattle.value, max_strain.value))
