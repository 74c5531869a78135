"""A binary with EMT as its "DFT", for the stability test and example (pure; no aiida).

Ordered Cu–Pd structures (the prototypes of :mod:`binary_prototypes` and 8-atom fcc orderings), each relaxed with
EMT (FIRE + FrechetCellFilter): some are the known reference set whose hull the others, the candidates, are placed
against with their EMT relaxed energies as reference labels. Rattled and strained copies labelled by EMT train
the model.
"""

from __future__ import annotations

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator

from .binary_prototypes import binary_prototypes, fcc_cubic

LATTICE_CONSTANTS = {"Cu": 3.61, "Pd": 3.89}  # Å, fcc
# the known set: the fcc elements, the rocksalt and B2 orderings and three 8-atom orderings. EMT binds Cu–Pd by up
# to 35 meV/atom: against this hull L1_0, both L1_2 and the other fcc8 orderings lie 7-19 meV/atom below (stable),
# the bcc elements 33 and 46 meV/atom above
REFERENCE_NAMES = ("Cu-A1", "Pd-A1", "CuPd-B1", "CuPd-B2", "Cu7Pd-fcc8", "Cu6Pd2-fcc8", "CuPd7-fcc8")
EMT_RELAX = {"fmax": 0.005, "steps": 1000}  # eV/Å


def ordered_structures(a: str = "Cu", b: str = "Pd", seed: int = 0) -> list:
    """The prototypes plus 8-atom fcc cells (2×1×1 cubic) with 1, 2, 3, 5, 6 and 7 B atoms placed at random."""
    structures = binary_prototypes(a, b, LATTICE_CONSTANTS)
    rng = np.random.default_rng(seed)
    for n_b in (1, 2, 3, 5, 6, 7):
        symbols = [a] * (8 - n_b) + [b] * n_b
        rng.shuffle(symbols)
        atoms = fcc_cubic(symbols[:4], LATTICE_CONSTANTS).repeat((2, 1, 1))
        atoms.set_chemical_symbols(symbols)
        atoms.info.update(name=f"{atoms.get_chemical_formula(mode='metal')}-fcc8", prototype="fcc8")
        structures.append(atoms)
    return structures


def emt_labelled(atoms):
    """A copy of ``atoms`` with EMT's energy (eV), forces (eV/Å) and stress (eV/Å³) as its labels."""
    from ase.calculators.emt import EMT

    atoms = atoms.copy()
    atoms.calc = EMT()
    results = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}
    atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


def emt_relaxed(atoms, fmax: float = EMT_RELAX["fmax"], steps: int = EMT_RELAX["steps"]):
    """``atoms`` relaxed with EMT (FIRE + FrechetCellFilter, cell and ions), labelled."""
    from ase.calculators.emt import EMT
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    work = atoms.copy()
    work.calc = EMT()
    FIRE(FrechetCellFilter(work), logfile=None).run(fmax=fmax, steps=steps)
    return emt_labelled(work)


def training_structures(structures: list, copies: int = 3, seed: int = 1, rattle: float = 0.05,
                        max_strain: float = 0.03) -> list:
    """``copies`` rattled (σ Å) and strained (up to ± ``max_strain``) copies of each structure and of its 2×2×2
    supercell where it has fewer than 2 atoms, labelled by EMT."""
    rng = np.random.default_rng(seed)
    copied = []
    for atoms in structures:
        base = atoms.repeat(2) if len(atoms) < 2 else atoms
        for _ in range(copies):
            work = base.copy()
            strain = np.eye(3) + rng.uniform(-max_strain, max_strain, (3, 3))
            work.set_cell(work.cell @ (strain + strain.T) / 2, scale_atoms=True)
            work.positions += rng.normal(0.0, rattle, work.positions.shape)
            copied.append(emt_labelled(work))
    return copied


def stability_demo(seed: int = 0) -> dict:
    """The Cu–Pd stability problem: ``reference_entries`` {name: (formula, EMT eV/atom)} of the known set,
    ``candidates`` (the unrelaxed others, named, with their EMT relaxed energy as label), ``reference_structures``
    (their EMT relaxed cells, same order) and ``training`` (EMT-labelled copies of all structures)."""
    structures = ordered_structures(seed=seed)
    relaxed = {atoms.info["name"]: emt_relaxed(atoms) for atoms in structures}
    entries = {name: (atoms.get_chemical_formula(mode="metal"), atoms.get_potential_energy() / len(atoms))
               for name, atoms in relaxed.items() if name in REFERENCE_NAMES}
    candidates, references = [], []
    for atoms in structures:
        name = atoms.info["name"]
        if name in REFERENCE_NAMES:
            continue
        candidate = atoms.copy()
        candidate.info = {"name": name}
        candidate.calc = SinglePointCalculator(candidate, energy=relaxed[name].get_potential_energy())
        candidates.append(candidate)
        references.append(relaxed[name])
    return {"reference_entries": entries, "candidates": candidates, "reference_structures": references,
            "training": training_structures(structures)}
