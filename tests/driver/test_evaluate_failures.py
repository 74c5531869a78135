"""The driver: a structure broken by its evaluation fails alone (pure ASE, EMT)."""

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT

from aiida_grace.common.structures import labels_of
from aiida_grace.driver.evaluate import evaluate_one


def test_a_broken_result_comes_back_unlabelled_with_the_reason():
    squeezed = Atoms("Cu2", positions=[[0, 0, 0], [0.3, 0, 0]], cell=[6, 6, 6], pbc=True)
    result = evaluate_one(squeezed, EMT(), {"mode": "static"})
    assert result.info["grace_failed"] == "the static result has atoms 0 and 1 only 0.300 Å apart (below 0.5 Å)"
    assert labels_of(result) == {}
    np.testing.assert_array_equal(result.positions, squeezed.positions)


def test_a_sound_result_is_labelled():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    result = evaluate_one(atoms, EMT(), {"mode": "static"})
    assert "grace_failed" not in result.info
    reference = atoms.copy()
    reference.calc = EMT()
    assert labels_of(result)["energy"] == reference.get_potential_energy()
