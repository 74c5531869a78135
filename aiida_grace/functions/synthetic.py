"""Small labelled datasets made with ASE's EMT potential (Cu, Al, Ni, Ag, Au, Pd, Pt), as calcfunctions.

For examples, tests and tutorials: real labels from a real (if simple) potential, reproducible by seed.
"""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..common.structures import labels_of, with_labels
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


def emt_defect_structures(element: str, seed: int, copies: int = 3, rattle: float = 0.04) -> list:
    """EMT-labelled configurations of one fcc ``element`` for the validation workflows: bulk cells over ±8% in
    volume (EOS), 2×2×2-cube vacancy and interstitial supercells, (100)/(110)/(111) slabs and Σ5 bicrystals,
    each ``copies`` times, rattled by ``rattle`` Å (the perfect supercell's 2×2×2 cube among them)."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from ..common.grain_boundary import bicrystal
    from ..common.point_defects import defect_cells
    from ..common.surface_energy import slab

    rng = np.random.default_rng(seed)
    primitive = bulk(element, "fcc", a=EMT_LATTICE[element])
    cube = bulk(element, "fcc", a=EMT_LATTICE[element], cubic=True)
    templates = [cube.copy() for _ in range(4)]
    for scale, template in zip(np.linspace(0.92, 1.08, 4), templates):
        template.set_cell(cube.cell.array * scale ** (1 / 3), scale_atoms=True)
    templates += [cube.repeat(2)]
    templates += defect_cells(primitive, [2, 2, 2], ["vacancy", "octahedral", "dumbbell_100"])
    templates += [slab(primitive, miller, 6.0, 8.0) for miller in ([1, 0, 0], [1, 1, 0], [1, 1, 1])]
    templates += [bicrystal(primitive, {"sigma": 5, "rotation_axis": [0, 0, 1], "plane": [2, 1, 0]}, 5.0)]
    structures = []
    for copy in range(copies):
        for template in templates:
            atoms = template.copy()
            atoms.info = {}
            atoms.positions += rng.normal(0.0, rattle * (copy + 1) / copies, size=atoms.positions.shape)
            atoms.calc = EMT()
            structures.append(with_labels(atoms, atoms.get_potential_energy(), atoms.get_forces(),
                                          atoms.get_stress()))
    return structures


@calcfunction
def emt_defect_dataset(element: orm.Str, seed: orm.Int, copies: orm.Int) -> GraceDatasetData:
    """A GraceDatasetData of :func:`emt_defect_structures` (bulk, defects, slabs, boundaries of an fcc element)."""
    if element.value not in EMT_LATTICE:
        raise ValueError(f"EMT has no parameters for {element.value}; use {', '.join(EMT_LATTICE)}")
    return GraceDatasetData(emt_defect_structures(element.value, seed.value, copies.value))


@calcfunction
def new_level_of_theory(dataset: GraceDatasetData, scale: orm.Float, element: orm.Str,
                        shift: orm.Float) -> GraceDatasetData:
    """``dataset`` relabelled by a made-up "new level of theory": energies, forces and stresses times ``scale``,
    plus ``shift`` eV per atom of ``element`` (a consistent potential, for fine-tuning studies and tests)."""
    structures = []
    for atoms in dataset.to_ase():
        labels = labels_of(atoms)
        energy = scale.value * labels["energy"] + shift.value * atoms.get_chemical_symbols().count(element.value)
        scaled = {key: scale.value * np.asarray(labels[key]) for key in ("forces", "stress") if key in labels}
        structures.append(with_labels(atoms, energy, scaled.get("forces"), scaled.get("stress")))
    return GraceDatasetData(structures)


@calcfunction
def emt_labels(dataset: GraceDatasetData) -> dict:
    """``dataset`` labelled with ASE's EMT (energy, forces, stress of periodic cells) as ``output_dataset``: a
    reference "level of theory" with the interface active learning expects of one (a DFT work chain in production)."""
    from ase.calculators.emt import EMT

    structures = []
    for atoms in dataset.to_ase():
        atoms.calc = EMT()
        stress = atoms.get_stress() if atoms.pbc.all() else None
        structures.append(with_labels(atoms, atoms.get_potential_energy(), atoms.get_forces(), stress))
    return {"output_dataset": GraceDatasetData(structures)}
