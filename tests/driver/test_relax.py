"""The compute side's relaxation: the free second stage of the GRACE paper's κ_SRME runs (fast, EMT).

FixSymmetry symmetrizes the structure and every step, so a model's small symmetry-breaking noise (here a constant
1e-5 eV/Å³ stress anisotropy added to EMT) acts only in the free stage: on bcc Cu, unstable along the Bain path,
it drives the cell to fcc and the first stage is restored; on fcc Cu, stable, it strains the cell by ~1e-5 and
the free stage is kept.
"""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT

from aiida_grace.common.evaluate_input import EvaluateSettingsError, validate_settings
from aiida_grace.common.symmetry import space_group_number
from aiida_grace.driver.evaluate import evaluate_one
from aiida_grace.driver.relax import relax

NOISE = 1e-5  # eV/Å³, added to σ_xx and taken from σ_yy
SETTINGS = {"optimizer": "FIRE", "fmax": 1e-4, "steps": 1000, "cell_filter": True, "fix_symmetry": True,
            "symprec": 1e-3, "mask": [1, 1, 1, 0, 0, 0]}


class NoisyEMT(Calculator):
    """EMT with a constant anisotropic stress added: the noise of a model that is not exactly symmetric."""

    implemented_properties = ["energy", "forces", "stress"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        copy = self.atoms.copy()
        copy.calc = EMT()
        self.results = {"energy": copy.get_potential_energy(), "forces": copy.get_forces(),
                        "stress": copy.get_stress() + np.array([NOISE, -NOISE, 0, 0, 0, 0])}


def relaxed(atoms, **settings):
    work = atoms.copy()
    work.calc = NoisyEMT()
    converged, steps = relax(work, {**SETTINGS, **settings})
    return work, converged, steps


def test_free_stage_that_breaks_symmetry_falls_back_to_the_first():
    bcc = bulk("Cu", "bcc", a=2.87, cubic=True)
    first, first_converged, first_steps = relaxed(bcc)
    both, converged, steps = relaxed(bcc, free_second_stage=True)
    assert both.info["relax_space_groups"] == [229, 225]  # the free stage slid down the Bain path to fcc
    assert both.info["relax_stage"] == 1
    assert space_group_number(both, 1e-5) == 229
    np.testing.assert_allclose(both.cell.array, first.cell.array, rtol=0, atol=1e-12)
    np.testing.assert_allclose(both.positions, first.positions, rtol=0, atol=1e-12)
    assert both.get_potential_energy() == pytest.approx(first.get_potential_energy(), abs=1e-12)
    assert converged and first_converged and steps > first_steps  # the free stage's steps are counted too
    assert "relax_stage" not in first.info


def test_free_stage_that_keeps_symmetry_is_used():
    fcc = bulk("Cu", "fcc", a=3.6, cubic=True)
    first, _, _ = relaxed(fcc)
    both, converged, _ = relaxed(fcc, free_second_stage=True)
    assert both.info["relax_space_groups"] == [225, 225] and both.info["relax_stage"] == 2 and converged
    lengths, cubic = both.cell.lengths(), first.cell.lengths()
    assert np.ptp(cubic) < 1e-12  # the symmetry-fixed stage stays cubic
    # the free stage followed the noise: x shorter, y longer than z, by far less than symprec (1e-3 Å)
    assert lengths[0] < lengths[2] < lengths[1]
    assert 1e-5 < lengths[1] - lengths[0] < 1e-4
    assert np.abs(lengths - cubic).max() < 1e-4


def test_stage_recorded_in_the_evaluated_structure():
    result = evaluate_one(bulk("Cu", "bcc", a=2.87, cubic=True), NoisyEMT(),
                          {"mode": "relax", "relax": {**SETTINGS, "free_second_stage": True}})
    assert result.info["relax_stage"] == 1 and result.info["relax_converged"]


def test_free_stage_settings_are_validated():
    assert validate_settings({})["relax"]["free_second_stage"] is False
    assert validate_settings({"relax": {"fix_symmetry": True, "free_second_stage": True}})["relax"]["free_second_stage"]
    with pytest.raises(EvaluateSettingsError, match="needs relax.fix_symmetry: true"):
        validate_settings({"relax": {"free_second_stage": True}})
    with pytest.raises(EvaluateSettingsError, match="must be true or false"):
        validate_settings({"relax": {"fix_symmetry": True, "free_second_stage": "yes"}})
