"""Checks and label handling for lists of ASE ``Atoms`` (used by the dataset node and the driver).

Labels live where ASE keeps them: a ``SinglePointCalculator`` holding ``energy`` (eV), ``forces``
(eV/Å, N×3) and ``stress`` (eV/Å³, ASE Voigt order and sign). Optional per-structure loss weights live
in ``atoms.info`` as ``energy_weight``, ``force_weight`` and ``virial_weight``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

LABELS = ("energy", "forces", "stress")
WEIGHT_KEYS = ("energy_weight", "force_weight", "virial_weight")
MIN_DISTANCE = 0.5  # Å: closer atoms are almost surely a broken structure


class StructureError(ValueError):
    """A structure in a dataset is unusable; the message names it."""


def describe(index: int, atoms: Atoms) -> str:
    """'structure 3 (Cu2Al, name=foo)': how messages refer to one structure."""
    name = atoms.info.get("name")
    suffix = f", name={name}" if name is not None else ""
    return f"structure {index} ({atoms.get_chemical_formula()}{suffix})"


def labels_of(atoms: Atoms) -> dict[str, np.ndarray | float]:
    """The labels attached to ``atoms`` (possibly none), without calling any real calculator."""
    calc = atoms.calc
    if calc is None:
        return {}
    results = getattr(calc, "results", {})
    out = {}
    for key in LABELS:
        if results.get(key) is not None:
            out[key] = results[key]
    return out


def with_labels(atoms: Atoms, energy=None, forces=None, stress=None) -> Atoms:
    """Copy of ``atoms`` carrying the given labels in a SinglePointCalculator (None = absent)."""
    copy = atoms.copy()
    copy.info = dict(atoms.info)
    results = {k: v for k, v in (("energy", energy), ("forces", forces), ("stress", stress)) if v is not None}
    copy.calc = SinglePointCalculator(copy, **results) if results else None
    return copy


def _check_cell(index: int, atoms: Atoms) -> None:
    if atoms.pbc.any():
        volume = abs(np.linalg.det(atoms.cell.array)) if atoms.cell.rank == 3 else 0.0
        if volume < 1e-6 and atoms.pbc.all():
            raise StructureError(f"{describe(index, atoms)} is periodic but has no cell (volume {volume:.3g} Å³)")
        for axis, periodic in enumerate(atoms.pbc):
            if periodic and np.linalg.norm(atoms.cell.array[axis]) < 1e-6:
                raise StructureError(f"{describe(index, atoms)} is periodic along axis {axis} but that cell vector is zero")


def _check_finite(index: int, atoms: Atoms, key: str, value) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)):
        raise StructureError(f"{describe(index, atoms)} has a non-finite {key} label (NaN or inf)")
    return array


def _check_labels(index: int, atoms: Atoms) -> None:
    labels = labels_of(atoms)
    if "energy" in labels:
        _check_finite(index, atoms, "energy", labels["energy"])
    if "forces" in labels:
        forces = _check_finite(index, atoms, "forces", labels["forces"])
        if forces.shape != (len(atoms), 3):
            raise StructureError(
                f"{describe(index, atoms)} has forces of shape {forces.shape}, expected ({len(atoms)}, 3)"
            )
    if "stress" in labels:
        stress = _check_finite(index, atoms, "stress", labels["stress"])
        if stress.shape not in ((6,), (3, 3)):
            raise StructureError(f"{describe(index, atoms)} has stress of shape {stress.shape}, expected (6,) or (3, 3)")
        if not atoms.pbc.all():
            raise StructureError(f"{describe(index, atoms)} has a stress label but is not periodic in all directions")
    for key in WEIGHT_KEYS:
        if key in atoms.info:
            weight = _check_finite(index, atoms, key, atoms.info[key])
            if np.any(weight < 0):
                raise StructureError(f"{describe(index, atoms)} has a negative {key}")


def _check_distances(index: int, atoms: Atoms, min_distance: float) -> None:
    if len(atoms) < 2:
        return
    if atoms.cell.rank == 3:  # matscipy's linked cells: ~100x faster than ase's list for a large dataset
        from matscipy.neighbours import neighbour_list
    else:  # matscipy needs a full cell; ase's list works without one
        from ase.neighborlist import neighbor_list as neighbour_list

    i, j, d = neighbour_list("ijd", atoms, min_distance)
    if len(d):
        k = int(np.argmin(d))
        raise StructureError(
            f"{describe(index, atoms)} has atoms {i[k]} and {j[k]} only {d[k]:.3f} Å apart "
            f"(below {min_distance} Å)"
        )


def validate_structures(structures: Sequence[Atoms], *, min_distance: float = MIN_DISTANCE) -> None:
    """Raise ``StructureError`` naming the first structure that is empty, has no cell where one is needed,
    non-finite or wrongly shaped labels, negative weights, or atoms closer than ``min_distance`` (Å)."""
    if len(structures) == 0:
        raise StructureError("the dataset has no structures")
    for index, atoms in enumerate(structures):
        if not isinstance(atoms, Atoms):
            raise StructureError(f"structure {index} is a {type(atoms).__name__}, not an ase.Atoms")
        if len(atoms) == 0:
            raise StructureError(f"structure {index} has no atoms")
        if not np.all(np.isfinite(atoms.positions)):
            raise StructureError(f"{describe(index, atoms)} has non-finite positions")
        _check_cell(index, atoms)
        _check_labels(index, atoms)
        _check_distances(index, atoms, min_distance)


def label_counts(structures: Sequence[Atoms]) -> dict[str, int]:
    """How many structures carry each label."""
    counts = dict.fromkeys(LABELS, 0)
    for atoms in structures:
        for key in labels_of(atoms):
            counts[key] += 1
    return counts
