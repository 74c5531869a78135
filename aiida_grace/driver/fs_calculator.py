"""GRACE-FS in python-ace's C++ evaluator, with the neighbour list built by matscipy (C, linked cells).

``pyace.asecalc.PyGRACEFSCalculator`` builds its atomic environment with ``build_atomic_env``, which compares every
atom with every atom of the periodic cluster and searches the list of ghosts linearly for each neighbour: quadratic
in the number of atoms (0.04 ms/atom at 256 atoms, 0.17 at 2048, beside 0.27 for the FS preset's evaluator;
benchmarks/fs_student.py, docs/distill.md).
``FSCalculator`` hands the same evaluator the same environment built in linear time: the same positions (pyace's
arithmetic, operation for operation), neighbours in pyace's order (own cell first, then periodic images by shift),
so energies, forces and stress are those of PyGRACEFSCalculator bit for bit (tests/driver/test_fs_calculator.py).
"""

from __future__ import annotations

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.data import chemical_symbols

_EPS = 1e-15  # pyace's tolerance for fractional coordinates just outside [0, 1]


class FSCalculator(Calculator):
    """ASE calculator for a GRACE-FS ``FS_model.yaml``: energy (eV), forces (eV/Å), stress (eV/Å³), energies (eV)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(self, fs_yaml: str, **kwargs):
        from pyace.grace_fs import GRACEFSBasisSet, GRACEFSBEvaluator, GRACEFSCalculator

        super().__init__(**kwargs)
        self.basis = GRACEFSBasisSet(str(fs_yaml))
        self.evaluator = GRACEFSBEvaluator()  # kept alive here: the C++ calculator holds a reference to it
        self.evaluator.set_basis(self.basis)
        self.engine = GRACEFSCalculator(self.evaluator)
        self.cutoff = float(self.basis.cutoffmax)
        self.species_index = np.full(len(chemical_symbols), -1, dtype=np.int64)
        for index, symbol in enumerate(self.basis.elements_name):
            self.species_index[chemical_symbols.index(symbol)] = index

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.engine.compute(atomic_environment(self.atoms, self.cutoff, self.species_index),
                            compute_projections=False)
        energy = float(self.engine.energy)
        self.results = {"energy": energy, "free_energy": energy,
                        "forces": np.array(self.engine.forces, dtype=np.float64),
                        "energies": np.array(self.engine.energies, dtype=np.float64)}
        if self.atoms.cell.rank == 3:
            virial = np.array(self.engine.virial)  # xx yy zz xy xz yz; ASE's Voigt order is xx yy zz yz xz xy
            self.results["stress"] = virial[[0, 1, 2, 5, 4, 3]] / self.atoms.get_volume()


def atomic_environment(atoms, cutoff: float, species_index: np.ndarray):
    """pyace ``ACEAtomicEnvironment`` of ``atoms`` (fully periodic or not at all) for neighbours within ``cutoff`` (Å):
    the real atoms, then one ghost per (atom, periodic shift) that is someone's neighbour.

    ``species_index`` maps an atomic number to the model's element index (-1: not in the model).
    """
    from pyace.catomicenvironment import ACEAtomicEnvironment

    species = species_index[atoms.numbers]
    if (species < 0).any():
        missing = sorted({chemical_symbols[z] for z in atoms.numbers[species < 0]})
        raise ValueError(f"Unsupported species type: {', '.join(missing)}")
    n_atoms = len(atoms)
    positions, fractional, i, j, shift = _pairs(atoms, cutoff)
    i, neighbour, ghost_atom, ghost_shift = _in_pyace_order(i, j, shift, n_atoms)
    if len(ghost_atom):
        ghosts = _cartesian(fractional[ghost_atom] + ghost_shift, np.asarray(atoms.cell), ghosts=True)
        positions = np.concatenate([positions, ghosts])

    flat = neighbour.tolist()
    ends = np.searchsorted(i, np.arange(1, n_atoms + 1)).tolist()
    environment = ACEAtomicEnvironment()
    environment.x = positions.tolist()
    environment.species_type = np.concatenate([species, species[ghost_atom]]).tolist()
    environment.origins = np.concatenate([np.arange(n_atoms), ghost_atom]).tolist()
    environment.neighbour_list = [flat[start:end] for start, end in zip([0] + ends[:-1], ends)]
    return environment


def _pairs(atoms, cutoff: float):
    """Positions (Å; wrapped into the cell as pyace wraps them), fractional coordinates (None without periodicity)
    and matscipy's pairs i, j with the periodic shift S of j (in cells) closer than ``cutoff`` (Å)."""
    from matscipy.neighbours import neighbour_list

    positions = np.asarray(atoms.positions, dtype=np.float64)
    if atoms.pbc.all():
        cell = np.asarray(atoms.cell, dtype=np.float64)
        fractional = _wrapped_fractional(positions, cell)
        positions = _cartesian(fractional, cell)
        return (positions, fractional,
                *neighbour_list("ijS", positions=positions, cell=cell, pbc=[True] * 3, cutoff=cutoff))
    if atoms.pbc.any():
        raise ValueError("Only fully periodic or non-periodic cells are supported")
    low = positions.min(axis=0) - 1.0  # matscipy needs a box, any will do: the bounding box
    box = np.diag(positions.max(axis=0) - low + 1.0)
    return (positions, None,
            *neighbour_list("ijS", positions=positions, cell=box, pbc=[False] * 3, cutoff=cutoff, cell_origin=low))


def _in_pyace_order(i: np.ndarray, j: np.ndarray, shift: np.ndarray, n_atoms: int):
    """Pairs sorted as pyace lists each atom's neighbours (own cell first, then periodic images by shift k1, k2, k3,
    by atom), with the neighbours' indices in the environment (ghosts after the real atoms); returns i, those
    indices, and each ghost's atom and shift."""
    half = 1 << int(np.abs(shift).max(initial=0)).bit_length()
    base = 2 * half
    s = shift.astype(np.int64) + half
    rank = (s[:, 0] * base + s[:, 1]) * base + s[:, 2] + 1  # of the shift; 0 for no shift
    image = rank != (half * base + half) * base + half + 1
    rank[~image] = 0
    ranks = base ** 3 + 1
    if n_atoms * ranks * n_atoms >= 2 ** 62:
        raise ValueError(f"{n_atoms} atoms with periodic shifts up to {half}: too many for one sort key")
    order = np.argsort((i.astype(np.int64) * ranks + rank) * n_atoms + j, kind="stable")
    i, j, rank, image = i[order], j[order], rank[order], image[order]
    ghosts, ghost_of_pair = np.unique(rank[image] * n_atoms + j[image], return_inverse=True)
    packed = ghosts // n_atoms - 1
    ghost_shift = np.stack([packed // base ** 2, packed // base % base, packed % base], axis=1) - half
    neighbour = j.astype(np.int64)
    neighbour[image] = n_atoms + ghost_of_pair.ravel()
    return i, neighbour, ghosts % n_atoms, ghost_shift


def _wrapped_fractional(positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Fractional coordinates in [0, 1), computed as pyace does (same operations, same rounding)."""
    inverse = _inverse3x3(cell)
    fractional = positions[:, 0:1] * inverse[0] + positions[:, 1:2] * inverse[1] + positions[:, 2:3] * inverse[2]
    outside = (fractional < -_EPS) | (fractional > 1 + _EPS)
    wrapped = np.fmod(fractional, 1.0)
    wrapped[wrapped < -_EPS] += 1
    return np.where(outside, wrapped, fractional)


def _cartesian(fractional: np.ndarray, cell: np.ndarray, ghosts: bool = False) -> np.ndarray:
    """Cartesian positions (Å), summed as python-ace 0.4's wheel sums them (its compiler reassociates x of ghosts)."""
    x = cell[0] * fractional[:, 0:1] + cell[1] * fractional[:, 1:2] + cell[2] * fractional[:, 2:3]
    if ghosts:
        x[:, 0] = cell[0, 0] * fractional[:, 0] + (cell[1, 0] * fractional[:, 1] + cell[2, 0] * fractional[:, 2])
    return x


def _inverse3x3(a: np.ndarray) -> np.ndarray:
    """Inverse of the cell by cofactors, as pyace's ``inv3x3`` computes it."""
    a = a.tolist()
    det = (a[0][0] * (a[2][2] * a[1][1] - a[2][1] * a[1][2]) - a[1][0] * (a[2][2] * a[0][1] - a[2][1] * a[0][2])
           + a[2][0] * (a[1][2] * a[0][1] - a[1][1] * a[0][2]))
    cofactors = np.array([
        [a[2][2] * a[1][1] - a[2][1] * a[1][2], -(a[2][2] * a[0][1] - a[2][1] * a[0][2]),
         a[1][2] * a[0][1] - a[1][1] * a[0][2]],
        [-(a[2][2] * a[1][0] - a[2][0] * a[1][2]), a[2][2] * a[0][0] - a[2][0] * a[0][2],
         -(a[1][2] * a[0][0] - a[1][0] * a[0][2])],
        [a[2][1] * a[1][0] - a[2][0] * a[1][1], -(a[2][1] * a[0][0] - a[2][0] * a[0][1]),
         a[1][1] * a[0][0] - a[1][0] * a[0][1]]])
    return cofactors * (1.0 / det)  # the wheel's compiler turned pyace's "/ det" into "* (1 / det)"
