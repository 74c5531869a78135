"""Many structures per forward pass of a GRACE SavedModel, every pass padded to one shape (one XLA compile).

``TPCalculator`` runs one structure per call and compiles each padded shape it has not seen: on a few hundred
mixed small cells most of a job's time goes to compiling and to per-call overhead. Here structures are packed,
in input order, into batches of at most ``max_bonds`` neighbour pairs, built and padded with tensorpotential's
own data builder (the calculator's, so the same neighbour lists and padding rules). Forces are the model's; the
energy and virial of each structure are its share of the model's per-atom energies and per-bond pair forces,
summed as the model sums them for one structure, so the labels equal ``TPCalculator``'s to round-off.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from ..common.structures import MIN_DISTANCE, with_labels

BATCH_BONDS = 16384  # neighbour pairs per forward pass (the padded bond count of every pass)
ATOM_MARGIN = 1.25  # atom slots = the first batch's atoms per bond × BATCH_BONDS × this margin
SLOT_STEPS = (64, 1024)  # atom and bond slots are multiples of these, so that jobs alike share a compiled shape
PAIR_FORCES = "z_pair_f"  # the SavedModel's per-bond force output (tensorpotential's tpmodel)


def can_batch(calc) -> bool:
    """Whether ``calc`` is a one-model, segment-sum ``TPCalculator`` whose SavedModel returns per-atom energies
    and pair forces (what splitting a batch into structures needs)."""
    from tensorpotential import constants
    from tensorpotential.calculator import TPCalculator

    if not isinstance(calc, TPCalculator) or len(calc.models) != 1 or calc.dense_reshape \
            or getattr(calc, "_uq_enabled", False) or len(calc.data_builders) != 1:
        return False
    wanted = {constants.PREDICT_ATOMIC_ENERGY, constants.PREDICT_FORCES, PAIR_FORCES}
    functions = getattr(calc.models[0].compute, "concrete_functions", None) or []
    return bool(functions) and all(wanted <= set(f.structured_outputs) for f in functions)


def label_in_batches(structures: list, indices: list[int], calc, oversize: list, *, compute_stress: bool = True,
                     max_bonds: int = BATCH_BONDS) -> Iterator[tuple[list, list, list]]:
    """Yield ``(indices, labelled Atoms, plausible)`` per forward pass over ``structures[i] for i in indices``
    (in that order); ``plausible[k]``: the k-th result has finite labels and no atoms closer than
    ``MIN_DISTANCE`` (the rest deserve the full check). The first pass fixes the shape: ``max_bonds`` bonds and
    atom slots for its density with a margin, or its own size rounded up when it holds the whole job. Structures
    that do not fit that shape are skipped and appended to ``oversize``, for the caller to evaluate one by one."""
    from tensorpotential import constants

    builder = calc.data_builders[0]
    shape = None  # (atom slots, bond slots) of every pass, fixed by the first full batch
    group, atoms_sum, bonds_sum = [], 0, 0
    for index in indices:
        data = builder.extract_from_ase_atoms(structures[index])
        n_atoms, n_bonds = int(data[constants.N_ATOMS_BATCH_REAL]), int(data[constants.N_NEIGHBORS_REAL])
        atom_slots = shape[0] if shape else math.inf
        if n_bonds > max_bonds or n_atoms >= atom_slots:
            oversize.append(index)
            continue
        if group and (bonds_sum + n_bonds > max_bonds or atoms_sum + n_atoms >= atom_slots):
            shape = shape or (slots(ATOM_MARGIN * atoms_sum * max_bonds / bonds_sum + 1, 0), max_bonds)
            yield forward(structures, group, calc, shape, compute_stress)
            group, atoms_sum, bonds_sum = [], 0, 0
            if n_atoms >= shape[0]:
                oversize.append(index)
                continue
        group.append((index, data))
        atoms_sum, bonds_sum = atoms_sum + n_atoms, bonds_sum + n_bonds
    if group:
        yield forward(structures, group, calc, shape or (slots(atoms_sum + 1, 0), slots(bonds_sum, 1)),
                      compute_stress)


def slots(count: float, axis: int) -> int:
    """``count`` rounded up to a multiple of the slot step of ``axis`` (0: atoms, 1: bonds)."""
    return SLOT_STEPS[axis] * math.ceil(count / SLOT_STEPS[axis])


def forward(structures: list, group: list, calc, shape: tuple[int, int], compute_stress: bool):
    """One forward pass over ``group`` ((index, builder data) pairs) padded to ``shape`` (atom slots, bond
    slots); returns the indices, the labelled structures (energy eV, forces eV/Å, stress eV/Å³) and whether each
    looks sound (see :func:`label_in_batches`)."""
    import tensorflow as tf
    from tensorpotential import constants

    builder = calc.data_builders[0]
    batch = builder.join_to_batch([data for _, data in group])
    builder.pad_batch(batch, {constants.PAD_MAX_N_STRUCTURES: len(group) + 1,  # + the padding's own structure
                              constants.PAD_MAX_N_ATOMS: shape[0], constants.PAD_MAX_N_NEIGHBORS: shape[1]})
    output = calc.models[0].compute({key: tf.convert_to_tensor(batch[key]) for key in calc.data_keys})
    n_atoms, n_bonds = int(batch[constants.N_ATOMS_BATCH_REAL]), int(batch[constants.N_NEIGHBORS_REAL])
    atom_owner = batch[constants.ATOMS_TO_STRUCTURE_MAP][:n_atoms]
    bond_owner = batch[constants.BONDS_TO_STRUCTURE_MAP][:n_bonds]
    energies = np.bincount(atom_owner, output[constants.PREDICT_ATOMIC_ENERGY].numpy()[:n_atoms, 0],
                           minlength=len(group))
    forces = output[constants.PREDICT_FORCES].numpy()[:n_atoms]
    bond_vectors = batch[constants.BOND_VECTOR][:n_bonds]
    virials = structure_virials(output[PAIR_FORCES].numpy()[:n_bonds], bond_vectors, bond_owner, len(group))
    nearest = np.full(len(group), np.inf)  # shortest bond of each structure (Å)
    np.minimum.at(nearest, bond_owner, np.linalg.norm(bond_vectors, axis=1))
    indices, labelled, plausible, start = [], [], [], 0
    for position, (index, _) in enumerate(group):
        atoms = structures[index]
        stress = None
        if compute_stress and atoms.pbc.all():
            stress = -virials[position][[0, 1, 2, 5, 4, 3]] / atoms.get_volume()  # as TPCalculator: ASE Voigt
        labels = {"energy": float(energies[position]), "forces": forces[start:start + len(atoms)].copy(),
                  "stress": stress}
        labelled.append(with_labels(atoms, **labels))
        plausible.append(bool(nearest[position] >= MIN_DISTANCE
                              and all(np.isfinite(value).all() for value in labels.values() if value is not None)))
        indices.append(index)
        start += len(atoms)
    return indices, labelled, plausible


def structure_virials(pair_forces: np.ndarray, bond_vectors: np.ndarray, owner: np.ndarray, count: int):
    """Virial (eV) of each structure from its bonds, in tensorpotential's order (xx, yy, zz, yx, zx, zy)."""
    f, r = pair_forces, bond_vectors
    terms = np.column_stack([f * r, f[:, 1] * r[:, 0], f[:, 2] * r[:, 0], f[:, 2] * r[:, 1]])
    return np.stack([np.bincount(owner, column, minlength=count) for column in terms.T], axis=1)
