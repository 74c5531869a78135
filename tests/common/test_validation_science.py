"""The pure science of the validation workflows (EOS, point defects, surfaces, grain boundaries, scores), checked
against closed forms, ASE's own builders and EMT computed directly."""

import numpy as np
import pytest
from ase.build import bulk, fcc100, fcc110, fcc111
from ase.calculators.emt import EMT

from aiida_grace.common import eos, grain_boundary, point_defects, surface_energy
from aiida_grace.common.validation_scores import (
    ReferenceError,
    check_reference_table,
    score_values,
    symmetric_relative_error,
)


def emt_energy(atoms) -> float:
    atoms = atoms.copy()
    atoms.calc = EMT()
    return atoms.get_potential_energy()


# -- scores -------------------------------------------------------------------------------------------------
def test_symmetric_relative_error_and_scores_by_hand():
    assert symmetric_relative_error(1.0, 3.0) == pytest.approx(1.0)  # 2·2 / 4
    assert symmetric_relative_error(-1.0, 1.0) == pytest.approx(2.0)
    assert symmetric_relative_error(0.0, 0.0) == 0.0
    scores = score_values({"a": 1.0, "b": 2.0, "c": 5.0}, {"a": 3.0, "b": 2.0, "d": 1.0})
    assert scores["n"] == 2 and scores["missing"] == ["d"]
    assert scores["srme"] == pytest.approx(0.5) and scores["mae"] == pytest.approx(1.0)
    assert scores["worst"] == ["a", "b"] and scores["items"]["a"]["error"] == pytest.approx(-2.0)


def test_reference_tables_are_checked():
    quantities = {"vacancy": "eV", "sia": "eV"}
    assert check_reference_table({"source": "paper", "vacancy": {"Cu": 1.1}}, quantities) == {"vacancy": {"Cu": 1.1}}
    for table, message in [({"vacancy": {"Cu": 1.1}}, "source"),
                           ({"source": "x", "volume": {"Cu": 1.0}}, "unknown reference quantity 'volume'"),
                           ({"source": "x", "units": {"vacancy": "meV"}, "vacancy": {"Cu": 1.0}}, "in meV"),
                           ({"source": "x", "vacancy": {"Cu": "high"}}, "non-numeric values for Cu"),
                           ({"source": "x"}, "has none of the quantities")]:
        with pytest.raises(ReferenceError, match=message):
            check_reference_table(table, quantities)


# -- equation of state --------------------------------------------------------------------------------------
def test_birch_murnaghan_fit_recovers_known_parameters():
    from ase.eos import birchmurnaghan

    v0, e0, b0, bp = 12.0, -3.5, 140.0, 4.8
    volumes = np.linspace(0.94, 1.06, 7) * v0
    energies = birchmurnaghan(volumes, e0, b0 / eos.EV_PER_A3_IN_GPA, bp, v0)
    fit = eos.birch_murnaghan(volumes, energies)
    assert fit["V0"] == pytest.approx(v0, rel=1e-8) and fit["B0"] == pytest.approx(b0, rel=1e-6)
    assert fit["Bp"] == pytest.approx(bp, rel=1e-5) and fit["E0"] == pytest.approx(e0, abs=1e-10)
    compressed = np.linspace(0.80, 0.90, 6) * v0  # the minimum lies beyond the largest volume
    with pytest.raises(ValueError, match="outside the volumes"):
        eos.birch_murnaghan(compressed, birchmurnaghan(compressed, e0, b0 / eos.EV_PER_A3_IN_GPA, bp, v0))


def test_scaled_cells_span_the_volume_range_and_the_delta_gauge_is_ase_s():
    from ase.utils.deltacodesdft import delta

    cells = eos.scaled_cells(bulk("Cu", "fcc", a=3.6), 0.06, 7)
    ratios = [c.get_volume() / bulk("Cu", "fcc", a=3.6).get_volume() for c in cells]
    np.testing.assert_allclose(ratios, np.linspace(0.94, 1.06, 7), rtol=1e-12)
    reference = eos.dcdft_reference()
    assert reference["V0"]["Cu"] == 11.9511 and reference["B0"]["Cu"] == 141.335 and len(reference["V0"]) == 71
    fit = {"V0": 12.1, "B0": 130.0, "Bp": 5.0}
    expected = 1000 * delta(12.1, 130.0 / eos.EV_PER_A3_IN_GPA, 5.0, 11.9511, 141.335 / eos.EV_PER_A3_IN_GPA, 4.86)
    assert eos.delta_table({"Cu": fit}, reference)["Cu"] == pytest.approx(expected, rel=1e-12)
    assert expected > 1.0  # meV/atom: a 1% volume error is several meV/atom
    assert set(eos.dcdft_structures(["Cu", "Al", "Xx"])) == {"Al", "Cu"}


def test_emt_eos_of_copper_matches_a_direct_fit():
    atoms = bulk("Cu", "fcc", a=3.6)
    cells = eos.scaled_cells(atoms, 0.06, 7)
    fit = eos.birch_murnaghan([c.get_volume() for c in cells], [emt_energy(c) for c in cells])
    from ase.eos import EquationOfState

    direct = EquationOfState([c.get_volume() for c in cells], [emt_energy(c) for c in cells], eos="birchmurnaghan")
    v0, _, b = direct.fit()
    assert fit["V0"] == pytest.approx(v0, rel=1e-10) and fit["B0"] == pytest.approx(b * eos.EV_PER_A3_IN_GPA,
                                                                                   rel=1e-8)


@pytest.mark.parametrize("settings, message", [({"points": 4}, "points"), ({"volume_range": 0.5}, "volume_range"),
                                               ({"volumes": 3}, "unknown eos setting 'volumes'")])
def test_eos_settings_are_checked(settings, message):
    with pytest.raises(ValueError, match=message):
        eos.validate_eos_settings(settings)


# -- point defects ------------------------------------------------------------------------------------------
def test_defect_cells_and_the_emt_vacancy_energy_of_copper():
    primitive = bulk("Cu", "fcc", a=3.6)
    cells = {c.info["defect"]: c for c in point_defects.defect_cells(primitive, [2, 2, 2], point_defects.DEFECTS)}
    assert len(cells["vacancy"]) == 31 and all(len(cells[d]) == 33 for d in point_defects.DEFECTS[1:])
    assert all(c.info["n_perfect"] == 32 for c in cells.values())
    epsilon = emt_energy(primitive)
    e_f = point_defects.formation_energy(emt_energy(cells["vacancy"]), 31, epsilon)
    perfect = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    unrelaxed = perfect.copy()
    del unrelaxed[0]
    # E_f = E_defect − (N − 1)/N · E_perfect: the formula of the issue, with the perfect supercell's energy
    assert e_f == pytest.approx(emt_energy(unrelaxed) - 31 / 32 * emt_energy(perfect), abs=1e-9)
    assert 0.5 < e_f < 2.0  # eV, unrelaxed EMT vacancy in Cu
    summary = point_defects.summarize({"vacancy": 1.2, "octahedral": 3.5, "dumbbell_100": 3.1})
    assert summary == {"vacancy": 1.2, "sia": 3.1, "sia_configuration": "dumbbell_100"}


def test_bcc_sites_and_refusals():
    iron = bulk("Fe", "bcc", a=2.87)
    cells = point_defects.defect_cells(iron, [3, 3, 3], ["vacancy", "octahedral", "dumbbell_110"])
    assert [len(c) for c in cells] == [53, 55, 55]
    octahedral = cells[1].positions[-1]
    np.testing.assert_allclose(octahedral, [1.435, 1.435, 0.0], atol=1e-9)
    assert point_defects.supercell_too_small(iron, [3, 3, 3], 6.0) is None
    assert "too small for the model's cutoff 6.00 Å" in point_defects.supercell_too_small(iron, [2, 2, 2], 6.0)
    assert "space group 194" in point_defects.supercell_too_small(bulk("Co", "hcp", a=2.5), [3, 3, 3], 5.0)
    assert "not an element" in point_defects.supercell_too_small(bulk("NaCl", "rocksalt", a=5.6), [2, 2, 2], 5.0)
    with pytest.raises(point_defects.DefectError, match="unknown: crowdion"):
        point_defects.validate_defect_settings({"defects": ["vacancy", "crowdion"]})


# -- surfaces -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("miller, builder", [([1, 0, 0], fcc100), ([1, 1, 0], fcc110), ([1, 1, 1], fcc111)])
def test_slab_surface_energy_equals_that_of_ase_s_own_slab(miller, builder):
    primitive = bulk("Cu", "fcc", a=3.6)
    epsilon = emt_energy(primitive)
    slab = surface_energy.slab(primitive, miller, 8.0, 12.0, cutoff=5.0)
    surface_energy.check_normal_to_z(slab)
    assert slab.cell[2, 2] - np.ptp(slab.positions[:, 2]) > 12.0 - 1e-9  # at least the vacuum asked for
    gamma = surface_energy.interface_energy(emt_energy(slab), len(slab), epsilon, slab.info["area"])
    reference = builder("Cu", size=(2, 2, 8), a=3.6, vacuum=6.0, periodic=True)
    expected = surface_energy.interface_energy(emt_energy(reference), len(reference), epsilon,
                                               surface_energy.area(reference))
    assert gamma["meV_per_A2"] == pytest.approx(expected["meV_per_A2"], rel=1e-6)
    assert gamma["J_per_m2"] == pytest.approx(gamma["meV_per_A2"] / 1000 * 16.021766208)
    assert surface_energy.shortest_image_distance(np.diag([1, 1, 0]) @ slab.cell.array
                                                  + np.diag([0, 0, 1e6])) > 5.0


def test_miller_indices_and_slabs_not_normal_to_z_are_refused():
    for miller, message in [([0, 0, 0], "do not define a plane"), ([2, 2, 0], "share a factor"),
                            ([1, 1], "three integers")]:
        with pytest.raises(surface_energy.SlabError, match=message):
            surface_energy.miller_key(miller)
    tilted = fcc100("Cu", size=(2, 2, 4), a=3.6, vacuum=6.0)
    tilted.set_cell(tilted.cell.array + [[0, 0, 0], [0, 0, 0], [1.0, 0, 0]])
    with pytest.raises(surface_energy.SlabError, match="not orthogonal to z"):
        surface_energy.check_normal_to_z(tilted)


# -- grain boundaries ---------------------------------------------------------------------------------------
def test_sigma5_bicrystal_has_its_plane_normal_to_z_and_a_positive_emt_energy():
    primitive = bulk("Cu", "fcc", a=3.6)
    cell = grain_boundary.bicrystal(primitive, {"sigma": 5, "rotation_axis": [0, 0, 1], "plane": [2, 1, 0]}, 6.0,
                                    cutoff=5.0)
    assert cell.info["key"] == "S5_001_210" and cell.info["rotation_angle"] == pytest.approx(53.1301, abs=1e-3)
    surface_energy.check_normal_to_z(cell)
    assert cell.cell[2, 2] / 2 >= 6.0
    # area: the (210) plane's cell, √5·a × a, repeated past the cutoff
    repeat = np.prod(cell.info["in_plane_repeat"])
    assert cell.info["area"] == pytest.approx(np.sqrt(5) * 3.6 * 3.6 * repeat, rel=1e-9)
    gamma = surface_energy.interface_energy(emt_energy(cell), len(cell), emt_energy(primitive), cell.info["area"])
    assert 20 < gamma["meV_per_A2"] < 150  # an unrelaxed high-angle boundary: well above 0, below a surface


@pytest.mark.parametrize("boundary, message", [
    ({"sigma": 5, "rotation_axis": [0, 0, 1], "plane": [1, 1, 0]}, "not a symmetric tilt plane of Σ5"),
    ({"sigma": 7, "rotation_axis": [0, 0, 1], "plane": [3, 1, 0]}, "no Σ7 boundary about"),
    ({"sigma": 5, "rotation_axis": [0, 0, 1], "plane": [1, 1, 1]}, "does not contain the rotation axis"),
    ({"sigma": 4, "rotation_axis": [0, 0, 1], "plane": [3, 1, 0]}, "odd integer"),
])
def test_boundaries_that_are_not_symmetric_tilts_are_refused(boundary, message):
    with pytest.raises(grain_boundary.BoundaryError, match=message):
        grain_boundary.bicrystal(bulk("Cu", "fcc", a=3.6), boundary, 6.0)


def test_a_boundary_whose_third_vector_leaves_the_normal_is_refused():
    cell = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((1, 1, 4))
    cell.set_cell(cell.cell.array + [[0, 0, 0], [0, 0, 0], [0.5, 0, 0]], scale_atoms=True)
    with pytest.raises(grain_boundary.BoundaryError, match="not normal to the boundary plane"):
        grain_boundary.to_plane_normal_z(cell, "tilted")
    with pytest.raises(grain_boundary.BoundaryError, match="not cubic"):
        grain_boundary.bicrystal(bulk("Mg", "hcp", a=3.2), {"sigma": 5, "rotation_axis": [0, 0, 1],
                                                             "plane": [3, 1, 0]}, 6.0)
