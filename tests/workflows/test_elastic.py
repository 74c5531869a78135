"""grace.elastic: the pure stress–strain math, the calcfunctions, and the WorkChains end to end with a real model."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase import units
from ase.build import bulk

from aiida_grace.common import elastic
from aiida_grace.common.elastic_input import ElasticSettingsError, validate_elastic_settings
from aiida_grace.workflows.elastic import load_protocol

STRAINS = (-0.01, -0.005, 0.005, 0.01)  # the balanced protocol's strain set, normal and shear


def random_tensor(seed: int) -> np.ndarray:
    """A triclinic, positive-definite 6×6 tensor (GPa) with all 21 components independent."""
    a = np.random.default_rng(seed).normal(0, 30, size=(6, 6))
    return a @ a.T + 50 * np.eye(6)


def cubic_tensor(c11, c12, c44) -> np.ndarray:
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    c[np.arange(3), np.arange(3)] = c11
    c[np.arange(3, 6), np.arange(3, 6)] = c44
    return c


# -- pure math -------------------------------------------------------------------------------------

def test_fit_recovers_a_known_tensor_exactly():
    c = random_tensor(0)
    sigma0 = np.array([0.3, -0.2, 0.1, 0.05, -0.04, 0.02])
    strains = np.array([v for _, v in elastic.strain_set(STRAINS, STRAINS)])
    fit = elastic.fit_elastic_tensor(strains, strains @ c.T + sigma0)
    np.testing.assert_allclose(fit["elastic_tensor"], c, atol=1e-9)
    np.testing.assert_allclose(fit["residual_stress"], sigma0, atol=1e-11)
    assert fit["fit_residual"] < 1e-10 and fit["asymmetry"] < 1e-9


def test_fit_reports_asymmetry_and_residual():
    c = random_tensor(1)
    raw = c.copy()
    raw[0, 1] += 4.0  # a non-symmetric response: the symmetrised tensor splits the difference
    strains = np.array([v for _, v in elastic.strain_set(STRAINS, STRAINS)])
    fit = elastic.fit_elastic_tensor(strains, strains @ raw.T)
    assert fit["asymmetry"] == pytest.approx(2.0, rel=1e-9)
    assert fit["elastic_tensor"][0, 1] == pytest.approx(c[0, 1] + 2.0, rel=1e-9)
    noise = np.random.default_rng(2).normal(0, 0.01, size=(len(strains), 6))  # GPa
    fit = elastic.fit_elastic_tensor(strains, strains @ c.T + noise)
    # RMS of the least-squares residual: noise × sqrt((144 - 42) / 144) = 0.0084 GPa
    assert 0.007 < fit["fit_residual"] < 0.0095
    assert np.max(np.abs(fit["elastic_tensor"] - c)) < 2.0


def test_fit_refuses_strains_that_miss_a_component():
    strains = np.array([v for name, v in elastic.strain_set(STRAINS, STRAINS) if not name.startswith("e6")])
    with pytest.raises(elastic.ElasticFitError, match="do not span"):
        elastic.fit_elastic_tensor(strains, strains @ random_tensor(0).T)


def test_strain_of_cell_inverts_deformation():
    cell = bulk("Cu", "hcp", a=2.55).cell.array
    voigt = np.array([0.01, -0.004, 0.002, 0.006, -0.008, 0.003])
    np.testing.assert_allclose(elastic.strain_of_cell(cell, cell @ elastic.deformation(voigt)), voigt, atol=1e-14)


def test_strain_set_names_sort_in_order_and_bad_sets_are_refused():
    names = [name for name, _ in elastic.strain_set(STRAINS, (-0.01, 0.01))]
    assert names == sorted(names) and len(names) == 3 * 4 + 3 * 2
    for normal in ([0.01], [0.0, 0.01], [0.01, 0.01], [-0.2, 0.2]):
        with pytest.raises(elastic.ElasticFitError):
            elastic.strain_set(normal, STRAINS)


def test_vrh_of_a_cubic_tensor_matches_the_closed_forms():
    c11, c12, c44 = 172.6, 115.5, 90.0
    props = elastic.elastic_properties(cubic_tensor(c11, c12, c44))
    k = (c11 + 2 * c12) / 3
    g_v = (c11 - c12 + 3 * c44) / 5
    g_r = 5 * (c11 - c12) * c44 / (4 * c44 + 3 * (c11 - c12))
    assert props["bulk_modulus_voigt"] == pytest.approx(k, rel=1e-12)
    assert props["bulk_modulus_reuss"] == pytest.approx(k, rel=1e-12)
    assert props["shear_modulus_voigt"] == pytest.approx(g_v, rel=1e-12)
    assert props["shear_modulus_reuss"] == pytest.approx(g_r, rel=1e-12)
    g = (g_v + g_r) / 2
    assert props["shear_modulus_vrh"] == pytest.approx(g, rel=1e-12)
    assert props["youngs_modulus"] == pytest.approx(9 * k * g / (3 * k + g), rel=1e-12)
    assert props["poisson_ratio"] == pytest.approx((3 * k - 2 * g) / (6 * k + 2 * g), rel=1e-12)


def test_isotropic_tensor_gives_lame_moduli():
    lam, mu = 60.0, 30.0  # GPa: E = mu(3 lam + 2 mu)/(lam + mu) = 80, nu = lam / 2(lam + mu) = 1/3
    props = elastic.elastic_properties(cubic_tensor(lam + 2 * mu, lam, mu))
    for key in ("shear_modulus_voigt", "shear_modulus_reuss", "shear_modulus_vrh"):
        assert props[key] == pytest.approx(mu, rel=1e-12)
    assert props["bulk_modulus_vrh"] == pytest.approx(lam + 2 * mu / 3, rel=1e-12)
    assert props["youngs_modulus"] == pytest.approx(80.0, rel=1e-12)
    assert props["poisson_ratio"] == pytest.approx(1 / 3, rel=1e-12)


@pytest.mark.parametrize(("c11", "c12", "c44", "stable"), [
    (172.6, 115.5, 90.0, True),
    (100.0, 110.0, 50.0, False),  # C11 < C12: tetragonal shear unstable
    (100.0, -60.0, 50.0, False),  # C11 + 2 C12 < 0: negative bulk modulus
    (100.0, 50.0, -1.0, False),  # C44 < 0
])
def test_born_stability_of_cubic_tensors_matches_the_cubic_criteria(c11, c12, c44, stable):
    assert elastic.born_stable(cubic_tensor(c11, c12, c44)) is stable
    assert elastic.elastic_properties(cubic_tensor(c11, c12, c44))["born_stable"] is stable


def test_born_stability_sees_an_unstable_triclinic_coupling():
    c = random_tensor(3)
    assert elastic.born_stable(c)
    w, v = np.linalg.eigh(c)
    w[0] = -1.0  # one unstable mixed mode; every diagonal element may stay positive
    assert not elastic.born_stable(v @ np.diag(w) @ v.T)


def test_scores_per_group():
    ref = cubic_tensor(100.0, 50.0, 20.0)
    pred = cubic_tensor(110.0, 50.0, 30.0)
    scores = elastic.score_elastic_tensors({"a": pred, "b": ref}, {"a": ref, "b": ref, "c": ref})
    assert scores["n_structures"] == 2 and scores["missing"] == ["c"]
    assert scores["C11_C22_C33"] == pytest.approx({"srme": (2 * 10 / 210) / 2, "mae": 5.0})
    assert scores["C12_C13_C23"] == pytest.approx({"srme": 0.0, "mae": 0.0})
    assert scores["C44_C55_C66"] == pytest.approx({"srme": (2 * 10 / 50) / 2, "mae": 5.0})


def test_settings_validation():
    assert validate_elastic_settings({})["strains"]["normal"] == list(STRAINS)
    with pytest.raises(ElasticSettingsError, match="unknown elastic setting 'strain'"):
        validate_elastic_settings({"strain": {}})
    with pytest.raises(ElasticSettingsError, match="fmaxx"):
        validate_elastic_settings({"relax": {"fmaxx": 1e-3}})
    with pytest.raises(ElasticSettingsError, match="at least two"):
        validate_elastic_settings({"strains": {"shear": [0.01]}})
    with pytest.raises(ElasticSettingsError, match="fmax"):
        validate_elastic_settings({"strained_relax": {"fmax": -1}})


def test_protocols(data_regression):
    settings = {name: load_protocol(name) for name in ("fast", "balanced", "stringent")}
    for value in settings.values():
        validate_elastic_settings(value)
    assert load_protocol() == settings["balanced"]
    assert load_protocol("fast", {"strains": {"shear": [-0.02, 0.02]}})["strains"] == {
        "normal": [-0.01, 0.01], "shear": [-0.02, 0.02]}
    with pytest.raises(ValueError, match="unknown protocol"):
        load_protocol("quick")
    data_regression.check(settings)


# -- calcfunctions, with EMT labels (no GRACE model needed) --------------------------------------------

def emt_relaxed_cu():
    from ase.calculators.emt import EMT
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    atoms = bulk("Cu", "fcc", a=3.6)
    atoms.calc = EMT()
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-6, steps=200)
    return atoms


def test_calcfunctions_give_emt_copper(aiida_profile):
    """strained_structures → EMT stresses → fit_elastic_constants reproduces EMT's Cu constants (1 atom: no ions
    to relax), and every output descends from the structure it was fitted on."""
    from ase.calculators.emt import EMT

    from aiida_grace.common.structures import with_labels
    from aiida_grace.data import GraceDatasetData
    from aiida_grace.functions.elastic import fit_elastic_constants, strained_structures

    structure = orm.StructureData(ase=emt_relaxed_cu())
    strained = strained_structures(structure, orm.Dict({"normal": list(STRAINS), "shear": list(STRAINS)}))
    assert len(strained) == 24
    labelled = []
    for name in sorted(strained):
        atoms = strained[name].get_ase()
        atoms.calc = EMT()
        labelled.append(with_labels(atoms, atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    results = fit_elastic_constants(structure, GraceDatasetData(labelled))
    c = results["elastic_tensor"].get_array("elastic_tensor")
    # gracemaker.md: EMT Cu with ±0.5/1% strains, C11 172.6, C12 115.5, C44 90.0 GPa
    assert c[0, 0] == pytest.approx(172.6, rel=2e-3)
    assert c[0, 1] == pytest.approx(115.5, rel=2e-3)
    assert c[3, 3] == pytest.approx(90.0, rel=2e-3)
    assert results["output_parameters"]["bulk_modulus_vrh"] == pytest.approx(134.5, rel=2e-3)
    assert results["output_parameters"]["born_stable"] is True
    creator = results["output_parameters"].creator
    assert creator.inputs.structure.uuid == structure.uuid


# -- end to end with the real driver and a real (tiny, float64) GRACE model -------------------------------

def structures_to_test() -> dict:
    """fcc Cu, fcc Al (primitive, 1 atom) and hcp Cu (2 atoms): the tiny Cu/Al model's lattice is off, the
    relaxation takes care of it."""
    return {"cu_fcc": bulk("Cu", "fcc", a=3.52), "al_fcc": bulk("Al", "fcc", a=4.15),
            "cu_hcp": bulk("Cu", "hcp", a=2.45, c=4.1)}


def direct_ase_elastic(model_dir, atoms) -> np.ndarray:
    """Independent reference: relax with ASE (cell + ions, symmetry kept), strain the cell by each strain of the
    balanced set, relax the ions at fixed cell, fit each column with np.polyfit. 6×6 in GPa."""
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS, FIRE
    from tensorpotential.calculator import TPCalculator

    calc = TPCalculator(str(model_dir / "final_model"))
    atoms = atoms.copy()
    atoms.calc = calc
    atoms.set_constraint(FixSymmetry(atoms, symprec=1e-5))
    assert BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-4, steps=1000)
    atoms.set_constraint()
    c = np.zeros((6, 6))
    index = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    for j in range(6):
        stresses = []
        for delta in STRAINS:
            eps = np.zeros((3, 3))
            a, b = index[j]
            eps[a, b] += delta if a == b else delta / 2
            eps[b, a] += 0 if a == b else delta / 2
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ (np.eye(3) + eps), scale_atoms=True)
            strained.calc = calc
            assert FIRE(strained, logfile=None).run(fmax=1e-4, steps=1000)
            stresses.append(strained.get_stress() / units.GPa)
        c[:, j] = np.polyfit(STRAINS, np.array(stresses), 1)[0]
    return (c + c.T) / 2


@pytest.fixture(scope="module")
def batch_run(grace_codes, trained_model):
    from aiida_grace.workflows.elastic_batch import GraceElasticBatchWorkChain

    structures = {name: orm.StructureData(ase=atoms) for name, atoms in structures_to_test().items()}
    # the references are filled in by the test; here a cubic guess that the scores must move away from
    reference = orm.ArrayData()
    for name in structures:
        reference.set_array(name, cubic_tensor(100.0, 50.0, 30.0))
    builder = GraceElasticBatchWorkChain.get_builder_from_protocol(
        grace_codes["driver"], trained_model, structures, protocol="balanced", reference_tensors=reference)
    return run_get_node(builder)


@pytest.mark.slow
def test_workchain_matches_direct_ase(batch_run, trained_model, tmp_path):
    results, node = batch_run
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    trained_model.export(tmp_path)
    for name, atoms in structures_to_test().items():
        direct = direct_ase_elastic(tmp_path, atoms)
        c = results["elastic_tensors"][name].get_array("elastic_tensor")
        big = np.abs(direct) > 1.0
        assert big.sum() >= 12, name  # 3 C11-like, 6 C12-like, 3 C44-like at least
        np.testing.assert_allclose(c[big], direct[big], rtol=0.02, err_msg=name)
        np.testing.assert_allclose(c[~big], direct[~big], atol=0.05, err_msg=name)
        params = results["output_parameters"][name]
        assert params["born_stable"] is True
        assert params["fit_residual"] < 0.1  # GPa
        if name.endswith("fcc"):
            d = np.diag(c)
            assert np.ptp(d[:3]) < 0.01 * d[0] and np.ptp(d[3:]) < 0.01 * d[3], name
            off = [c[0, 1], c[0, 2], c[1, 2]]
            assert np.ptp(off) < 0.01 * abs(off[0]), name


def calcjobs(workflow) -> list:
    """Every grace.evaluate job under ``workflow`` (through the batch stages and restart wrappers)."""
    return [n for n in workflow.called_descendants if n.process_label == "GraceEvaluateCalculation"]


@pytest.mark.slow
def test_batch_pools_structures_across_jobs_and_keeps_per_structure_provenance(batch_run):
    """One relaxation job for all structures, one job for all strained cells of all structures; every C_ij
    comes out of a fit whose inputs are its structure's relaxed cell and its own labelled strained cells."""
    results, node = batch_run
    stages = {n.label: n for n in node.called if n.process_label == "GraceBatchEvaluateWorkChain"}
    assert sorted(stages) == ["relax", "strained"]
    relax_jobs, strained_jobs = calcjobs(stages["relax"]), calcjobs(stages["strained"])
    assert len(relax_jobs) == 1 and len(strained_jobs) == 1
    relax_job, strained_job = relax_jobs[0], strained_jobs[0]
    assert sorted(relax_job.inputs.structures) == sorted(structures_to_test())
    assert relax_job.inputs.parameters["relax"]["cell_filter"] is True
    assert relax_job.inputs.parameters["relax"]["fix_symmetry"] is True
    assert strained_job.inputs.parameters["relax"]["cell_filter"] is False
    assert {name: d.n_structures for name, d in strained_job.inputs.datasets.items()} == \
        {name: 24 for name in structures_to_test()}
    for name in structures_to_test():
        relaxed = results["relaxed_structures"][name]
        assert relaxed.uuid == relax_job.outputs.relaxed_structures[name].uuid
        strain = strained_job.inputs.datasets[name].creator
        assert strain.inputs.structure.uuid == relaxed.uuid
        fit = results["elastic_tensors"][name].creator
        assert fit.inputs.structure.uuid == relaxed.uuid
        assert fit.inputs.dataset.uuid == strained_job.outputs.output_datasets[name].uuid
        assert results["output_parameters"][name].creator.uuid == fit.uuid
    # scored against the (deliberately wrong) cubic guess: SRME is non-zero and per group
    scores = results["scores"].get_dict()
    assert scores["n_structures"] == 3 and scores["n_failed"] == 0
    assert all(scores[group]["srme"] > 0.05 for group in elastic.GROUPS)


@pytest.mark.slow
def test_chunked_jobs_give_the_same_tensors_as_one_job(grace_codes, trained_model, batch_run):
    from aiida_grace.workflows.elastic_batch import GraceElasticBatchWorkChain

    structures = {name: orm.StructureData(ase=atoms) for name, atoms in structures_to_test().items()}
    builder = GraceElasticBatchWorkChain.get_builder_from_protocol(
        grace_codes["driver"], trained_model, structures, protocol="balanced",
        batching={"max_structures_per_job": 1})
    results, node = run_get_node(builder)
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    stages = {n.label: n for n in node.called if n.process_label == "GraceBatchEvaluateWorkChain"}
    assert len(calcjobs(stages["relax"])) == 3  # one structure per job
    assert len(calcjobs(stages["strained"])) == 3  # a structure's 24 cells are never split
    for name in structures:
        np.testing.assert_allclose(results["elastic_tensors"][name].get_array("elastic_tensor"),
                                   batch_run[0]["elastic_tensors"][name].get_array("elastic_tensor"),
                                   rtol=0, atol=1e-6, err_msg=name)


@pytest.mark.slow
def test_element_mismatch_is_refused_before_submission(grace_codes, trained_model):
    from aiida_grace.workflows.elastic import GraceElasticWorkChain
    from aiida_grace.workflows.elastic_batch import GraceElasticBatchWorkChain

    nickel = orm.StructureData(ase=bulk("Ni", "fcc", a=3.52))
    n_before = orm.QueryBuilder().append(orm.WorkChainNode).count()
    builder = GraceElasticWorkChain.get_builder_from_protocol(grace_codes["driver"], trained_model, nickel)
    with pytest.raises(ValueError, match="Ni that model .* does not have"):
        run_get_node(builder)
    builder = GraceElasticBatchWorkChain.get_builder_from_protocol(
        grace_codes["driver"], trained_model, {"cu": orm.StructureData(ase=bulk("Cu")), "ni": nickel})
    with pytest.raises(ValueError, match="ni: Ni"):
        run_get_node(builder)
    assert orm.QueryBuilder().append(orm.WorkChainNode).count() == n_before  # nothing was even created


@pytest.mark.slow
def test_relaxation_that_does_not_converge_ends_with_402(grace_codes, trained_model):
    from aiida_grace.workflows.elastic import GraceElasticWorkChain

    structure = orm.StructureData(ase=bulk("Cu", "fcc", a=3.8))
    builder = GraceElasticWorkChain.get_builder_from_protocol(
        grace_codes["driver"], trained_model, structure, protocol="fast", overrides={"relax": {"steps": 2}},
        options={"max_wallclock_seconds": 600})
    results, node = run_get_node(builder)
    assert calcjobs(node)[0].get_option("max_wallclock_seconds") == 600
    assert node.exit_status == GraceElasticWorkChain.exit_codes.ERROR_RELAXATION_NOT_CONVERGED.status == 402
    assert "did not reach fmax 0.001 eV/Å in 2 steps" in node.exit_message
    assert "elastic_tensor" not in results


@pytest.mark.slow
def test_single_elastic_strained_ions_that_do_not_converge_end_with_404(grace_codes, trained_model):
    from aiida_grace.workflows.elastic import GraceElasticWorkChain

    builder = GraceElasticWorkChain.get_builder_from_protocol(
        grace_codes["driver"], trained_model, orm.StructureData(ase=structures_to_test()["cu_hcp"]),
        protocol="fast", overrides={"strained_relax": {"steps": 1, "fmax": 1e-6}})
    results, node = run_get_node(builder)
    assert node.exit_status == GraceElasticWorkChain.exit_codes.ERROR_STRAINED_NOT_CONVERGED.status == 404
    assert "did not reach fmax 1e-06 eV/Å in 1 steps" in node.exit_message
    assert "elastic_tensor" not in results


@pytest.mark.slow
def test_batch_names_the_structure_that_fails_and_finishes_the_others(grace_codes, trained_model):
    """Strained hcp cells have forces on their ions and cannot reach 1e-6 eV/Å in one step; strained one-atom
    fcc cells have none and converge at once: hcp is named, the fcc tensors are fitted and scored."""
    from aiida_grace.workflows.elastic_batch import GraceElasticBatchWorkChain

    structures = {name: orm.StructureData(ase=atoms) for name, atoms in structures_to_test().items()}
    reference = orm.ArrayData()
    for name in structures:
        reference.set_array(name, cubic_tensor(100.0, 50.0, 30.0))
    builder = GraceElasticBatchWorkChain.get_builder_from_protocol(
        grace_codes["driver"], trained_model, structures, protocol="fast", reference_tensors=reference,
        overrides={"strained_relax": {"steps": 1, "fmax": 1e-6}})
    results, node = run_get_node(builder)
    assert node.exit_status == GraceElasticBatchWorkChain.exit_codes.ERROR_SOME_FAILED.status == 401
    assert node.exit_message == ("1 of 3 structures failed: cu_hcp: ions of strained cells did not reach fmax "
                                 "1e-06 eV/Å in 1 steps")
    assert sorted(results["elastic_tensors"]) == ["al_fcc", "cu_fcc"]
    scores = results["scores"].get_dict()
    assert scores["n_structures"] == 2 and scores["n_failed"] == 1 and scores["failed"] == ["cu_hcp"]
    reports = [log.message for log in orm.Log.collection.get_logs_for(node)]
    assert any("cu_hcp: ions of strained cells did not reach fmax" in message for message in reports)
