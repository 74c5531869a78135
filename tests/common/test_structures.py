"""Structure and label checks that guard every dataset (pure, fast)."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from aiida_grace.common.structures import StructureError, label_counts, validate_structures, with_labels


def labelled(atoms, energy=-1.0, forces="zeros", stress=None):
    forces = np.zeros((len(atoms), 3)) if isinstance(forces, str) else forces
    return with_labels(atoms, energy=energy, forces=forces, stress=stress)


def test_valid_structures_pass_and_are_counted():
    cu = labelled(bulk("Cu", cubic=True), stress=np.zeros(6))
    h2o = labelled(molecule("H2O"))
    validate_structures([cu, h2o])
    assert label_counts([cu, h2o]) == {"energy": 2, "forces": 2, "stress": 1}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: labelled(bulk("Cu", cubic=True), energy=np.nan), r"structure 1 \(Cu4\).*non-finite energy"),
        (lambda: labelled(bulk("Cu", cubic=True), forces=np.full((4, 3), np.inf)), "non-finite forces"),
        (lambda: labelled(bulk("Cu", cubic=True), forces=np.zeros((3, 3))), r"forces of shape \(3, 3\), expected \(4, 3\)"),
        (lambda: labelled(bulk("Cu", cubic=True), stress=np.zeros(5)), r"stress of shape \(5,\)"),
        (lambda: labelled(molecule("H2O"), stress=np.zeros(6)), "stress label but is not periodic"),
        (lambda: Atoms("Cu2", positions=[[0, 0, 0], [0.3, 0, 0]], cell=[5, 5, 5], pbc=True), "only 0.300 Å apart"),
        (lambda: Atoms("Cu", positions=[[0, 0, 0]], pbc=True), "periodic but has no cell"),
        (lambda: Atoms(), "structure 1 has no atoms"),
    ],
)
def test_bad_structures_are_refused_with_a_message_naming_them(make, message):
    good = labelled(bulk("Al", cubic=True))
    with pytest.raises(StructureError, match=message):
        validate_structures([good, make()])


def test_negative_weight_is_refused():
    atoms = labelled(bulk("Cu", cubic=True))
    atoms.info["energy_weight"] = -1.0
    with pytest.raises(StructureError, match="negative energy_weight"):
        validate_structures([atoms])


def test_empty_dataset_is_refused():
    with pytest.raises(StructureError, match="no structures"):
        validate_structures([])
