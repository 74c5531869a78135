"""The pure science of the stability benchmark (formation energies, hull distances against a reference hull,
discovery and geometry metrics, binary prototypes), checked by hand and against pymatgen computed directly."""

import warnings

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition

from aiida_grace.common.binary_prototypes import binary_prototypes
from aiida_grace.common.stability import (
    ReferenceHull,
    discovery_metrics,
    energies_above_hull,
    formation_energy_per_atom,
    make_entries,
)
from aiida_grace.common.stability_geometry import (
    geometry_metrics,
    space_group_kept,
    structure_rmsd,
)
from aiida_grace.common.symmetry import space_group_number

MU = {"Cu": -3.5, "Au": -3.2}  # eV/atom, elemental references of the constructed Cu–Au hull
LATTICE = {"Cu": 3.61, "Au": 4.08}
# the reference Cu–Au set: x_Au → formation energy (eV/atom); CuAu3 lies 0.02 above the hull
REFERENCE_FORMATION = {"Cu": 0.0, "Au": 0.0, "Cu3Au": -0.08, "CuAu": -0.10, "CuAu3": -0.03}
HULL_VERTICES = ([0.0, 0.25, 0.5, 1.0], [0.0, -0.08, -0.10, 0.0])  # the stable ones, by hand


def energy_per_atom(formula: str, formation: float) -> float:
    """Energy per atom of a composition with this formation energy against :data:`MU`."""
    fractions = Composition(formula).fractional_composition
    return formation + sum(fractions[el] * MU[el] for el in MU)


def reference_entries():
    formulas = list(REFERENCE_FORMATION)
    return make_entries(formulas, [energy_per_atom(f, e) for f, e in REFERENCE_FORMATION.items()], formulas)


def emt_energy_per_atom(atoms) -> float:
    atoms = atoms.copy()
    atoms.calc = EMT()
    return atoms.get_potential_energy() / len(atoms)


def no_warnings(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args, **kwargs)


# -- formation energies ---------------------------------------------------------------------------------------
def test_formation_energy_by_hand_and_missing_reference():
    # Cu3Au at −3.0 eV/atom: −3.0 − (¾·(−3.5) + ¼·(−3.2)) = 0.425 eV/atom
    assert formation_energy_per_atom("Cu3Au", -3.0, MU) == pytest.approx(0.425, abs=1e-12)
    assert formation_energy_per_atom(Composition("Cu6Au2"), -3.0, MU) == pytest.approx(0.425, abs=1e-12)
    assert formation_energy_per_atom(bulk("Cu", "fcc", a=3.61), -3.5, MU) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="no elemental reference energy for Ag"):
        formation_energy_per_atom("AgAu", -3.0, MU)


# -- energy above the reference hull --------------------------------------------------------------------------
CANDIDATES = {  # formula → predicted formation energy (eV/atom)
    "Cu3Au": -0.09,   # 0.01 below the reference hull
    "CuAu3": -0.06,   # hull at x=¾ is −0.05: 0.01 below
    "Cu7Au": -0.05,   # hull at x=⅛ is −0.04: 0.01 below
    "CuAu": -0.08,    # 0.02 above
    "Cu2Au": -0.05,   # hull at x=⅓ is −0.08 − (1/12)/(1/4)·0.02 = −0.08667
    "Cu": 0.1,        # 0.1 above
}


def test_hull_distances_by_the_lever_rule_and_against_pymatgen():
    formulas = list(CANDIDATES)
    energies = [energy_per_atom(f, e) for f, e in CANDIDATES.items()]
    computed = no_warnings(energies_above_hull, formulas, energies, reference_entries())

    x_au = [Composition(f).get_atomic_fraction("Au") for f in formulas]
    by_hand = np.array(list(CANDIDATES.values())) - np.interp(x_au, *HULL_VERTICES)
    np.testing.assert_allclose(computed, by_hand, rtol=0, atol=1e-8)
    np.testing.assert_allclose(computed[:4], [-0.01, -0.01, -0.01, 0.02], rtol=0, atol=1e-8)

    # pymatgen directly on the reference diagram; the decomposition it finds gives the hull energy as the sum of
    # its products' energies weighted by their atomic fractions (the lever rule)
    diagram = PhaseDiagram(reference_entries())
    for formula, energy, distance in zip(formulas, energies, computed):
        candidate = PDEntry(Composition(formula), energy * Composition(formula).num_atoms, name="candidate")
        decomposition, direct = diagram.get_decomp_and_e_above_hull(candidate, allow_negative=True,
                                                                    check_stable=False)
        assert distance == pytest.approx(direct, abs=1e-8), formula
        lever = energy - sum(amount * entry.energy_per_atom for entry, amount in decomposition.items())
        assert distance == pytest.approx(lever, abs=1e-8), formula


def test_hull_per_chemical_system_built_once_and_missing_terminal():
    references = reference_entries() + make_entries(["Ag", "AgAu"], [-2.8, -3.1])
    hull = ReferenceHull(references)
    formulas = ["Cu3Au", "CuAu", "AgAu3", "Au", "Cu2Au"] * 200
    distances = hull.e_above_hull(formulas, np.full(len(formulas), -3.3))
    assert set(hull.diagrams) == {frozenset({"Cu", "Au"}), frozenset({"Ag", "Au"}), frozenset({"Au"})}
    # Ag–Au hull: Ag −2.8, AgAu −3.1, Au −3.2 (all on it); at x_Au=¾ the hull is (−3.1 − 3.2)/2 = −3.15
    assert distances[2] == pytest.approx(-3.3 + 3.15, abs=1e-8)
    # the Ag–Au references do not enter the Cu–Au hull: CuAu is still measured from its own −0.10
    assert distances[1] == pytest.approx(-3.3 - energy_per_atom("CuAu", -0.10), abs=1e-8)
    np.testing.assert_allclose(distances[5:10], distances[:5], rtol=0, atol=0)
    with pytest.raises(ValueError, match="no elemental entry for Pd"):
        hull.e_above_hull(["CuPd"], [-3.0])
    assert np.isnan(hull.e_above_hull(["CuAu"], [np.nan])[0])


def test_emt_prototypes_on_their_own_hull_match_pymatgen():
    structures = binary_prototypes("Cu", "Au", LATTICE)
    compositions = [atoms.get_chemical_formula() for atoms in structures]
    energies = [emt_energy_per_atom(atoms) for atoms in structures]
    entries = make_entries(compositions, energies)
    distances = energies_above_hull(compositions, energies, entries)
    diagram = PhaseDiagram(entries)
    np.testing.assert_allclose(distances, [diagram.get_e_above_hull(entry) for entry in entries], rtol=0, atol=1e-8)
    assert distances.min() == pytest.approx(0.0, abs=1e-8)
    assert (distances > -1e-8).all()


# -- discovery metrics ----------------------------------------------------------------------------------------
def test_discovery_metrics_on_a_constructed_confusion_matrix():
    reference = [-0.01, 0.0, -0.05, 0.02, 0.1, 0.3, 0.05, -0.02, 0.2, 0.15]
    predicted = [-0.02, 0.01, -0.01, -0.03, 0.0, 0.2, 0.1, np.nan, 0.25, 0.12]
    # reference-stable (≤ 0): 0, 1, 2, 7; predicted stable: 0, 2, 3, 4 (the NaN at 7 counts as unstable)
    # TP = {0, 2}, FP = {3, 4}, FN = {1, 7}, TN = {5, 6, 8, 9}
    metrics = no_warnings(discovery_metrics, predicted, reference)
    assert (metrics["TP"], metrics["FP"], metrics["FN"], metrics["TN"], metrics["n"]) == (2, 2, 2, 4, 10)
    assert metrics["precision"] == pytest.approx(2 / 4, abs=1e-12)
    assert metrics["recall"] == pytest.approx(2 / 4, abs=1e-12)
    assert metrics["F1"] == pytest.approx(2 * 0.5 * 0.5 / (0.5 + 0.5), abs=1e-12)
    assert metrics["accuracy"] == pytest.approx(6 / 10, abs=1e-12)
    assert metrics["prevalence"] == pytest.approx(4 / 10, abs=1e-12)
    assert metrics["DAF"] == pytest.approx(0.5 / 0.4, abs=1e-12)
    # over the 9 finite predictions: |errors| 0.01 0.01 0.04 0.05 0.1 0.1 0.05 0.05 0.03
    assert metrics["MAE"] == pytest.approx(0.44 / 9, abs=1e-12)
    assert metrics["RMSE"] == pytest.approx(np.sqrt(0.0302 / 9), abs=1e-12)
    # Σ ref = 0.76, Σ ref² = 0.168 over the 9
    assert metrics["R2"] == pytest.approx(1 - 0.0302 / (0.168 - 0.76 ** 2 / 9), abs=1e-12)

    # a looser threshold: stable ≤ 0.05 — reference 0, 1, 2, 3, 6, 7; predicted 0, 1, 2, 3, 4
    # TP = {0, 1, 2, 3}, FP = {4}, FN = {6, 7}, TN = {5, 8, 9}: precision 4/5, recall 4/6
    loose = discovery_metrics(predicted, reference, threshold=0.05)
    assert (loose["TP"], loose["FP"], loose["FN"], loose["TN"]) == (4, 1, 2, 3)
    assert loose["F1"] == pytest.approx(2 * 0.8 * (2 / 3) / (0.8 + 2 / 3), abs=1e-12)
    assert loose["DAF"] == pytest.approx(0.8 / 0.6, abs=1e-12)


def test_discovery_metrics_edge_cases_without_warnings():
    none_predicted = no_warnings(discovery_metrics, [0.1, 0.2, 0.3], [-0.1, 0.2, 0.0])
    assert (none_predicted["TP"], none_predicted["FP"], none_predicted["FN"], none_predicted["TN"]) == (0, 0, 2, 1)
    assert np.isnan(none_predicted["precision"]) and np.isnan(none_predicted["F1"])
    assert np.isnan(none_predicted["DAF"]) and none_predicted["recall"] == 0.0
    none_stable = no_warnings(discovery_metrics, [-0.1, 0.2], [0.1, 0.2])
    assert none_stable["prevalence"] == 0.0 and np.isnan(none_stable["recall"]) and np.isnan(none_stable["DAF"])
    assert none_stable["precision"] == 0.0 and np.isnan(none_stable["F1"])
    all_nan = no_warnings(discovery_metrics, [np.nan, np.nan], [-0.1, 0.1])
    assert (all_nan["FN"], all_nan["TN"]) == (1, 1) and np.isnan(all_nan["MAE"]) and np.isnan(all_nan["R2"])
    no_reference = no_warnings(discovery_metrics, [0.1], [np.nan])
    assert no_reference["n"] == 0 and np.isnan(no_reference["accuracy"])
    with pytest.raises(ValueError, match="one length"):
        discovery_metrics([0.1, 0.2], [0.1])


# -- geometry -------------------------------------------------------------------------------------------------
def test_rmsd_of_a_perturbed_and_an_unrelated_structure():
    reference = binary_prototypes("Cu", "Au", LATTICE)[4]  # AuCu3 L1_2: 4 atoms, already primitive
    displacements = np.random.default_rng(0).normal(scale=0.01, size=(4, 3))
    perturbed = reference.copy()
    perturbed.positions += displacements
    centred = displacements - displacements.mean(axis=0)
    expected = np.sqrt(np.mean(np.sum(centred ** 2, axis=1))) / (reference.get_volume() / 4) ** (1 / 3)
    assert structure_rmsd(perturbed, reference) == pytest.approx(expected, abs=1e-10)
    assert np.isnan(structure_rmsd(bulk("Cu", "hcp", a=2.55), bulk("Cu", "fcc", a=3.61)))


def test_space_group_kept_and_changed():
    fcc = bulk("Cu", "fcc", a=3.61, cubic=True)
    kept = space_group_kept(fcc.copy(), fcc)
    assert all(kept[symprec] == {"relaxed": 225, "reference": 225, "kept": True} for symprec in (1e-3, 1e-2))
    slightly = fcc.copy()
    slightly.set_cell(fcc.cell * [1, 1, 1.002], scale_atoms=True)  # c 7 mÅ longer: tetragonal at 1e-3 only
    found = space_group_kept(slightly, fcc)
    assert found[1e-3] == {"relaxed": 139, "reference": 225, "kept": False} and found[1e-2]["kept"]
    strongly = fcc.copy()
    strongly.set_cell(fcc.cell * [1, 1, 1.1], scale_atoms=True)
    assert not any(item["kept"] for item in space_group_kept(strongly, fcc).values())

    summary = geometry_metrics([fcc.copy(), bulk("Cu", "hcp", a=2.55), slightly], [fcc, fcc, fcc])
    assert summary["fraction_matched"] == pytest.approx(2 / 3, abs=1e-12)
    assert summary["mean_rmsd"] == pytest.approx(np.nanmean([item["rmsd"] for item in summary["items"]]), abs=1e-12)
    assert summary["fraction_space_group_kept"] == pytest.approx({1e-3: 1 / 3, 1e-2: 2 / 3}, abs=1e-12)


# -- binary prototypes ----------------------------------------------------------------------------------------
def test_binary_prototypes_compositions_symmetry_and_volumes():
    structures = binary_prototypes("Cu", "Au", LATTICE)
    expected = {"Cu-A1": 225, "Cu-A2": 229, "Au-A1": 225, "Au-A2": 229, "AuCu3-L12": 221, "Au3Cu-L12": 221,
                "AuCu-L10": 123, "AuCu-B2": 221, "AuCu-B1": 225}
    assert {atoms.info["name"]: space_group_number(atoms, 1e-3) for atoms in structures} == expected
    a_cu_au = (LATTICE["Cu"] + LATTICE["Au"]) / 2
    volumes = {atoms.info["name"]: atoms.get_volume() / len(atoms) for atoms in structures}
    assert volumes["AuCu-B2"] == pytest.approx(a_cu_au ** 3 / 4, rel=1e-12)   # bcc at the fcc volume per atom
    assert volumes["Cu-A2"] == pytest.approx(LATTICE["Cu"] ** 3 / 4, rel=1e-12)
    assert volumes["AuCu3-L12"] == pytest.approx(((3 * 3.61 + 4.08) / 4) ** 3 / 4, rel=1e-12)  # Vegard
    with pytest.raises(ValueError, match="no fcc lattice constant for Pd"):
        binary_prototypes("Cu", "Pd", LATTICE)
