"""grace.md with UQ artifacts: γ along the run, gamma_stop ends the run, gamma_dump keeps the extrapolative steps.

The real runs use the session's tiny Cu/Al model and its artifacts from grace.uncertainty on its training set; a
32-atom cell at 3000 K leaves the training set's 4- and 8-atom rattled cells behind, so γ rises along the run.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk

from aiida_grace.calculations.md import GraceMdCalculation
from aiida_grace.common.md_input import GAMMA_DEFAULTS, MdSettingsError, validate_settings

ASE_TF = {"engine": "ase", "calculator": "tensorflow"}


# -- settings (pure) ---------------------------------------------------------------------------------------
def test_gamma_settings_are_validated():
    assert not set(GAMMA_DEFAULTS) & set(validate_settings({}))  # absent unless asked for
    merged = validate_settings({**ASE_TF, "gamma_stop": 5})
    assert merged["gamma_stop"] == 5 and merged["gamma_dump"] is None and merged["gamma_dump_max_frames"] == 100
    for bad, message in [
        ({"gamma_stop": 5.0}, "need engine 'ase' with calculator 'tensorflow'.*got engine 'lammps'"),
        ({"engine": "ase", "calculator": "fs_cpp", "gamma_dump": 2.0}, "calculator 'fs_cpp'"),
        ({**ASE_TF, "gamma_stop": -1.0}, "gamma_stop must be null or a positive number"),
        ({**ASE_TF, "gamma_dump": True}, "gamma_dump must be null or a positive number"),
        ({**ASE_TF, "gamma_dump": 2.0, "gamma_dump_max_frames": 0}, "gamma_dump_max_frames must be a positive"),
        ({**ASE_TF, "gamma_dump": 2.0, "gamma_dump_max_frames": 2.5}, "gamma_dump_max_frames must be a positive"),
        ({**ASE_TF, "gamma_stp": 2.0}, "did you mean 'gamma_stop'"),
    ]:
        with pytest.raises(MdSettingsError, match=message):
            validate_settings(bad)


# -- the CalcJob's refusals and its job folder (file-level model) --------------------------------------------
def cu_cell():
    return orm.StructureData(ase=bulk("Cu", "fcc", a=3.6, cubic=True))


@pytest.fixture
def fake_model_and_artifacts(tmp_path, aiida_profile):
    from conftest import write_fake_model

    from aiida_grace.data import GraceModelData, GraceUncertaintyData

    model = GraceModelData.from_directory(write_fake_model(tmp_path / "model")).store()
    uncertainty = GraceUncertaintyData(b"fake artifacts", model=model, summary={"elements": ["Al", "Cu"]}).store()
    return model, uncertainty


def refusal(inputs: dict) -> str | None:
    """The message GraceMdCalculation's validation gives for ``inputs`` (None when accepted)."""
    error = GraceMdCalculation.spec().inputs.validate(inputs)
    return None if error is None else str(error)


def test_calcjob_refuses_gamma_without_the_ase_tensorflow_pair(grace_codes, fake_model_and_artifacts, tmp_path):
    from conftest import write_fake_model

    from aiida_grace.data import GraceModelData

    model, uncertainty = fake_model_and_artifacts
    base = {"code": grace_codes["driver"], "model": model, "structure": cu_cell()}
    assert refusal({**base, "uncertainty": uncertainty, "parameters": orm.Dict(ASE_TF)}) is None
    assert refusal({**base, "uncertainty": uncertainty,
                    "parameters": orm.Dict({**ASE_TF, "gamma_stop": 3.0, "gamma_dump": 1.5})}) is None
    cases = [
        ({"uncertainty": uncertainty}, "needs engine 'ase' with calculator 'tensorflow'.*engine 'lammps'"),
        ({"uncertainty": uncertainty, "parameters": orm.Dict({"engine": "ase", "calculator": "fs_cpp"})},
         "needs engine 'ase' with calculator 'tensorflow'.*calculator 'fs_cpp'"),
        ({"uncertainty": uncertainty, "parameters": orm.Dict({"engine": "lammps", "gamma_stop": 3.0})},
         "gamma_stop and gamma_dump need engine 'ase'"),
        ({"parameters": orm.Dict({**ASE_TF, "gamma_stop": 3.0})}, "need the uncertainty input"),
        ({"parameters": orm.Dict({**ASE_TF, "gamma_dump": 3.0})}, "need the uncertainty input"),
    ]
    for extra, message in cases:
        found = refusal({**base, **extra})
        assert found is not None and re.search(message, found), (extra, found)

    other = GraceModelData.from_directory(write_fake_model(tmp_path / "other", cutoff=6.0)).store()
    found = refusal({**base, "model": other, "uncertainty": uncertainty, "parameters": orm.Dict(ASE_TF)})
    assert found is not None and f"was built for the model with sha256 {model.sha256[:12]}" in found


def test_md_workchain_refuses_gamma_through_native_lammps(grace_codes, fake_model_and_artifacts):
    from aiida_grace.workflows.md import GraceMdWorkChain

    model, uncertainty = fake_model_and_artifacts
    error = GraceMdWorkChain.spec().inputs.validate({
        "lammps_code": grace_codes["driver"],
        "md": {"model": model, "structure": cu_cell(), "uncertainty": uncertainty,
               "parameters": orm.Dict(ASE_TF)}})
    assert error is not None and "γ (md.uncertainty) needs the aiida-grace driver" in str(error)


def test_prepare_for_submission_copies_the_artifacts_and_the_checkpoint(prepare_calc_job, grace_codes,
                                                                          fake_model_and_artifacts):
    import yaml

    model, uncertainty = fake_model_and_artifacts
    calcinfo, sandbox = prepare_calc_job("grace.md", {
        "code": grace_codes["driver"], "model": model, "structure": cu_cell(), "uncertainty": uncertainty,
        "parameters": orm.Dict({**ASE_TF, "gamma_stop": 4.0, "steps": 20})})
    targets = {target for _, _, target in calcinfo.local_copy_list}
    assert {"model/model.yaml", "model/checkpoint/checkpoint.index", "gmm_artifacts.npz"} <= targets
    assert any(target.startswith("model/final_model/") for target in targets)
    written = yaml.safe_load((sandbox / "md.yaml").read_text())
    assert written["uncertainty"] == {"model_yaml": "model/model.yaml", "checkpoint": "model/checkpoint/checkpoint",
                                      "artifacts": "gmm_artifacts.npz"}
    assert written["gamma_stop"] == 4.0 and written["gamma_dump"] is None
    assert {"gamma.npz", "extrapolative.extxyz"} <= set(calcinfo.retrieve_list)


# -- real runs (slow) ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def artifacts(grace_codes, trained_model, cu_al_datasets):
    """The tiny model's UQ artifacts (grace.uncertainty on its training set, one cluster, 16 features)."""
    from aiida_grace.calculations.uncertainty import GraceUncertaintyCalculation

    results, node = run_get_node(GraceUncertaintyCalculation, code=grace_codes["driver"], model=trained_model,
                                 dataset=cu_al_datasets["train"],
                                 parameters=orm.Dict({"n_clusters": 1, "rp_dim": 16}))
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    return results["uncertainty"]


def hot_cell():
    """32-atom fcc Cu with every fourth atom Al, rattled (Å)."""
    atoms = bulk("Cu", "fcc", a=3.65, cubic=True).repeat((2, 2, 2))
    atoms.symbols[::4] = "Al"
    atoms.rattle(0.05, seed=3)
    return orm.StructureData(ase=atoms)


HOT = {**ASE_TF, "ensemble": "nve", "temperature": 3000.0, "timestep": 2.0, "steps": 40, "thermo_interval": 1,
       "dump_interval": 10}


def run_md(codes, model, uncertainty, **settings):
    results, node = run_get_node(GraceMdCalculation, code=codes["driver"], model=model, structure=hot_cell(),
                                 uncertainty=uncertainty, parameters=orm.Dict({**HOT, **settings}))
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    return results


@pytest.fixture(scope="module")
def reference(grace_codes, trained_model, artifacts):
    """The 40 hot steps watched only: γ of every step (thermo_interval 1), nothing stops or dumps."""
    results = run_md(grace_codes, trained_model, artifacts)
    gamma = results["gamma"]
    np.testing.assert_array_equal(gamma.get_array("step"), np.arange(41))
    series = gamma.get_array("gamma_max")
    # the run leaves the training set: γ of the last steps well above that of the (training-like) start
    assert np.all(series > 0) and series.max() > 1.5 * series[0], series
    return results


@pytest.mark.slow
def test_gamma_series_without_stop_or_dump(reference):
    summary = reference["output_parameters"].get_dict()
    series = reference["gamma"].get_array("gamma_max")
    assert summary["stopped_by_gamma"] is False and summary["last_step"] == 40 and summary["gamma_stop_step"] is None
    assert summary["gamma_max_step"] == int(np.argmax(series))
    assert summary["gamma_max"] == pytest.approx(series.max(), rel=1e-12)  # a Dict keeps 14 digits
    assert "extrapolative_frames" not in reference and "n_extrapolative_frames" not in summary
    np.testing.assert_array_equal(reference["trajectory"].get_stepids(), [0, 10, 20, 30, 40])


@pytest.mark.slow
def test_gamma_stop_ends_the_run_at_the_first_step_above_it_in_base_md(grace_codes, trained_model, artifacts,
                                                                      reference):
    """gamma_stop between the start's γ and the run's largest: the run ends at the first step above it (the
    same step as in the uninterrupted run), with that step's thermo and γ rows (trajectory frames stay on the
    dump grid); grace.base_md takes it as done (one job, exit 0). gamma_dump below it with a cap of 2 frames
    keeps the first two steps above gamma_dump, counts all of them up to the stop, and the stopping step's
    structure is kept as well."""
    from aiida_grace.workflows.base_md import GraceBaseMdWorkChain

    series = reference["gamma"].get_array("gamma_max")
    threshold = series[0] + 0.6 * (series.max() - series[0])
    dump = series[0] + 0.2 * (series.max() - series[0])
    first_above = int(np.argmax(series > threshold))
    assert 0 < first_above < 40
    parameters = {**HOT, "gamma_stop": float(threshold), "gamma_dump": float(dump), "gamma_dump_max_frames": 2}
    results, node = run_get_node(GraceBaseMdWorkChain, md={
        "code": grace_codes["driver"], "model": trained_model, "structure": hot_cell(), "uncertainty": artifacts,
        "parameters": orm.Dict(parameters)})
    assert node.is_finished_ok, node.exit_message
    assert len(node.called) == 1 and node.called[0].exit_status == 0

    gamma = results["gamma"]
    steps, values = gamma.get_array("step"), gamma.get_array("gamma_max")
    np.testing.assert_array_equal(steps, np.arange(first_above + 1))
    assert np.all(values[:-1] <= threshold) and values[-1] > threshold
    np.testing.assert_allclose(values, series[:first_above + 1], rtol=1e-9)  # the same trajectory
    summary = results["output_parameters"].get_dict()
    assert summary["stopped_by_gamma"] is True and summary["last_step"] == first_above
    assert summary["gamma_stop_step"] == first_above
    assert summary["gamma_stop_value"] == pytest.approx(values[-1], rel=1e-12)
    np.testing.assert_array_equal(results["thermo"].get_array("step"), np.arange(first_above + 1))
    np.testing.assert_array_equal(results["trajectory"].get_stepids(), np.arange(0, first_above + 1, 10))

    above = np.flatnonzero(values > dump)
    np.testing.assert_array_equal(gamma.get_array("above_dump_step"), above)
    assert summary["n_steps_above_gamma_dump"] == len(above) > 2 and summary["n_extrapolative_frames"] == 3
    dumped = results["extrapolative_frames"].to_ase()
    assert [a.info["md_step"] for a in dumped] == [*above[:2], first_above]
    assert [a.info.get("stopped_here", False) for a in dumped] == [False, False, True]
    assert dumped[-1].info["gamma_max"] == values[-1] > threshold


@pytest.mark.slow
def test_gamma_dump_writes_every_step_above_it(grace_codes, trained_model, artifacts, reference, tmp_path):
    """gamma_dump halfway between the middle two γ: one unlabelled frame per step above it (their count equals
    the steps above it in the series), each with gamma_max > gamma_dump; a dumped frame evaluated here with the
    same model and artifacts gives the same γ."""
    from aiida_grace.common.model_files import SAVED_MODEL
    from aiida_grace.driver.uncertainty import uncertainty_calculator

    series = reference["gamma"].get_array("gamma_max")
    middle = np.sort(series)[19:21]
    dump = float(middle.mean())  # far from every γ of the run next to the 14 digits a Dict keeps
    assert middle[1] - middle[0] > 1e-6 * dump
    results = run_md(grace_codes, trained_model, artifacts, gamma_dump=dump)
    values = results["gamma"].get_array("gamma_max")
    np.testing.assert_allclose(values, series, rtol=1e-9)  # dumping does not change the run
    above = np.flatnonzero(values > dump)
    summary = results["output_parameters"].get_dict()
    assert summary["stopped_by_gamma"] is False and summary["last_step"] == 40
    assert summary["n_steps_above_gamma_dump"] == summary["n_extrapolative_frames"] == len(above) > 0

    dataset = results["extrapolative_frames"]
    frames = dataset.to_ase()
    assert dataset.n_structures == len(above) and dataset.base.attributes.get("labels") == []
    assert [a.info["md_step"] for a in frames] == list(above)
    for frame in frames:
        step = frame.info["md_step"]
        assert frame.info["gamma_max"] > dump and frame.info["gamma_max"] == pytest.approx(values[step], rel=1e-12)
        assert frame.arrays["gamma"].max() == frame.info["gamma_max"] and len(frame) == 32
        assert frame.info["time_ps"] == pytest.approx(step * 2.0 / 1000.0)

    # γ of a dumped frame, independently: the model and artifacts exported here, a fresh calculator
    folder = trained_model.export(tmp_path / "model")
    calc = uncertainty_calculator(str(folder / SAVED_MODEL), {
        "artifacts": str(artifacts.export(tmp_path)), "model_yaml": str(folder / "model.yaml"),
        "checkpoint": str(folder / "checkpoints" / "checkpoint.best_test_loss")})
    frame = frames[-1].copy()
    frame.calc = calc
    frame.get_potential_energy()
    gamma = np.asarray(calc.results["gamma"], dtype=float).reshape(len(frame))
    assert gamma.max() == pytest.approx(frames[-1].info["gamma_max"], rel=1e-6)
    np.testing.assert_allclose(gamma, frames[-1].arrays["gamma"], rtol=1e-6)
