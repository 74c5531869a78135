"""Point defects (``grace.point_defects``): vacancy and self-interstitial supercells of elemental fcc and bcc
metals and their formation energies (pure; no aiida).

E_f = E_defect − (N ± 1) · ε_bulk, with ε_bulk the energy per atom of the relaxed bulk and N the atoms of the
perfect supercell (eV). Interstitial configurations are those of the paper's references (Ma & Dudarev 2019 bcc,
2021 fcc): octahedral and tetrahedral sites and the <100>, <110>, <111> dumbbells, built in the conventional cubic
cell repeated ``supercell`` times; a dumbbell replaces the atom at the origin by two atoms ±0.35 d_nn along its
direction. The SIA formation energy of a metal is that of its lowest-energy configuration.
"""

from __future__ import annotations

import numpy as np

from .property_input import BULK_RELAX, DEFECT_RELAX, check_settings
from .supercell import shortest_image_distance

QUANTITIES = {"vacancy": "eV", "sia": "eV"}
LATTICES = {225: "fcc", 229: "bcc"}  # space group → lattice of a one-atom primitive cell
ATOMS_PER_CUBE = {"fcc": 4, "bcc": 2}
# interstitial sites in fractions of the conventional cube (the atom at the origin is a lattice site)
SITES = {
    "fcc": {"octahedral": (0.5, 0.0, 0.0), "tetrahedral": (0.25, 0.25, 0.25)},
    "bcc": {"octahedral": (0.5, 0.5, 0.0), "tetrahedral": (0.5, 0.25, 0.0)},
}
DUMBBELLS = {"dumbbell_100": (1, 0, 0), "dumbbell_110": (1, 1, 0), "dumbbell_111": (1, 1, 1)}
DUMBBELL_HALF = 0.35  # half the dumbbell's length, in nearest-neighbour distances
DEFECTS = ("vacancy", "octahedral", "tetrahedral", *DUMBBELLS)

DEFAULTS = {
    "calculator": "tensorflow",
    "bulk_relax": BULK_RELAX,
    "supercell": [3, 3, 3],    # repetitions of the conventional cubic cell (fcc 108, bcc 54 atoms)
    "defects": list(DEFECTS),  # which of DEFECTS to compute
    "relax": {**DEFECT_RELAX, "cell_filter": False},  # ions relaxed (cell_filter: true relaxes the cell too)
}


class DefectError(ValueError):
    """The structure or settings do not allow the asked defects."""


def validate_defect_settings(settings: dict) -> dict:
    """``settings`` merged over :data:`DEFAULTS`; DefectError for unknown defects or a malformed supercell."""
    merged = check_settings(settings, DEFAULTS, "point-defect")
    unknown = set(merged["defects"]) - set(DEFECTS)
    if unknown or not merged["defects"]:
        raise DefectError(f"defects must be a non-empty list of {', '.join(DEFECTS)}; unknown: "
                          f"{', '.join(sorted(unknown)) or '-'}")
    supercell = merged["supercell"]
    if not (isinstance(supercell, list) and len(supercell) == 3
            and all(isinstance(n, int) and n >= 1 for n in supercell)):
        raise DefectError(f"supercell must be 3 positive integers, got {supercell!r}")
    return merged


def lattice_of(atoms, symprec: float = 1e-3) -> str:
    """'fcc' or 'bcc' for an elemental cubic metal (one atom per primitive cell), else DefectError."""
    from .symmetry import space_group_number

    if len(set(atoms.get_chemical_symbols())) != 1:
        raise DefectError(f"{atoms.get_chemical_formula()} is not an element: point defects here are of "
                          f"elemental fcc and bcc metals")
    group = space_group_number(atoms, symprec)
    if group not in LATTICES:
        raise DefectError(f"{atoms.get_chemical_formula()} has space group {group}; point defects here need fcc "
                          f"(225) or bcc (229)")
    return LATTICES[group]


def conventional_cube(symbol: str, lattice: str, a: float):
    """The conventional cubic cell of ``lattice`` with lattice parameter ``a`` (Å)."""
    from ase.build import bulk

    return bulk(symbol, lattice, a=a, cubic=True)


def lattice_parameter(atoms, lattice: str) -> float:
    """Cubic lattice parameter (Å) of ``atoms`` from its volume per atom."""
    return (ATOMS_PER_CUBE[lattice] * atoms.get_volume() / len(atoms)) ** (1 / 3)


def perfect_supercell(atoms, supercell):
    """The conventional cube of the relaxed elemental cell ``atoms`` repeated ``supercell`` times."""
    lattice = lattice_of(atoms)
    cube = conventional_cube(atoms.get_chemical_symbols()[0], lattice, lattice_parameter(atoms, lattice))
    return cube.repeat(tuple(supercell))


def defect_cells(atoms, supercell, defects) -> list:
    """One cell per defect of ``defects`` in the supercell of :func:`perfect_supercell` (``info['defect']``
    names it, ``info['n_perfect']`` is N, the atoms of the perfect supercell)."""
    lattice = lattice_of(atoms)
    a = lattice_parameter(atoms, lattice)
    perfect = perfect_supercell(atoms, supercell)
    symbol, n_perfect = perfect.get_chemical_symbols()[0], len(perfect)
    nearest = a * (np.sqrt(2) / 2 if lattice == "fcc" else np.sqrt(3) / 2)
    cells = []
    for defect in defects:
        cell = perfect.copy()
        if defect == "vacancy":
            del cell[0]
        elif defect in SITES[lattice]:
            cell.append(symbol)
            cell.positions[-1] = np.asarray(SITES[lattice][defect]) * a
        else:
            direction = np.asarray(DUMBBELLS[defect], dtype=float)
            shift = DUMBBELL_HALF * nearest * direction / np.linalg.norm(direction)
            cell.positions[0] = shift
            cell.append(symbol)
            cell.positions[-1] = -shift
        cell.wrap()
        cell.info = {"defect": defect, "n_perfect": n_perfect}
        cells.append(cell)
    return cells


def formation_energy(defect_energy: float, n_atoms: int, bulk_energy_per_atom: float) -> float:
    """E_f = E_defect − n_atoms · ε_bulk (eV): ``n_atoms`` the defect cell's atoms (N − 1 or N + 1)."""
    return float(defect_energy - n_atoms * bulk_energy_per_atom)


def summarize(energies: dict) -> dict:
    """Formation energies by defect (eV) → the scored quantities: ``vacancy`` and ``sia`` (the lowest
    interstitial, named in ``sia_configuration``) where computed."""
    summary = {}
    if "vacancy" in energies:
        summary["vacancy"] = energies["vacancy"]
    interstitials = {k: v for k, v in energies.items() if k != "vacancy"}
    if interstitials:
        lowest = min(interstitials, key=interstitials.get)
        summary["sia"], summary["sia_configuration"] = interstitials[lowest], lowest
    return summary


def supercell_too_small(atoms, supercell, cutoff: float | None) -> str | None:
    """Why ``supercell`` (of the conventional cube of ``atoms``) puts a defect within the model's cutoff of its
    own periodic image, or None. Also refuses what is not an elemental fcc/bcc cell (DefectError's message)."""
    try:
        perfect = perfect_supercell(atoms, supercell)
    except DefectError as exception:
        return str(exception)
    distance = shortest_image_distance(perfect.cell.array)
    if cutoff and distance <= float(cutoff):
        return (f"supercell {list(supercell)} of {atoms.get_chemical_formula()} is too small for the model's cutoff "
                f"{float(cutoff):.2f} Å: a defect is {distance:.2f} Å from its periodic image")
    return None
