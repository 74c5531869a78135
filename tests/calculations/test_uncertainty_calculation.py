"""grace.uncertainty / grace.select / grace.evaluate with γ: what is refused before submission, what is written
to the job folder, and the settings mapped onto grace_uq's options (fast; real runs in test_active_learning)."""

from __future__ import annotations

import pytest
import yaml
from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk

from aiida_grace.common.active_learning import ActiveLearningSettingsError, active_learning_settings
from aiida_grace.common.uncertainty_input import (
    UncertaintySettingsError,
    build_arguments,
    build_settings,
    select_arguments,
    select_settings,
)
from aiida_grace.data import GraceModelData, GraceUncertaintyData

from conftest import make_dataset, write_fake_model


@pytest.fixture
def models(aiida_profile, tmp_path):
    with_checkpoint = GraceModelData.from_directory(write_fake_model(tmp_path / "a", elements=("Al", "Cu")))
    other = GraceModelData.from_directory(write_fake_model(tmp_path / "b", elements=("Al", "Cu"), cutoff=4.0))
    bare = GraceModelData.from_directory(write_fake_model(tmp_path / "c", elements=("Al", "Cu"), with_checkpoint=False))
    return {"model": with_checkpoint, "other": other, "no_checkpoint": bare}


def artifacts_of(model) -> GraceUncertaintyData:
    return GraceUncertaintyData(b"npz bytes", model=model, summary={"elements": ["Al", "Cu"]}).store()


def refused(process_entry_point: str, inputs: dict, message: str) -> None:
    from aiida.plugins import CalculationFactory

    with pytest.raises(ValueError, match=message):
        run_get_node(CalculationFactory(process_entry_point), **inputs)


def test_build_settings_map_onto_grace_uq_options():
    settings = build_settings({"n_clusters": [4, 1, 4], "threshold_percentile": 99, "rp_dim": 32})
    assert build_arguments(settings) == ["--n-clusters", "1", "4", "--regularization", "1e-06", "--seed", "42",
                                         "--threshold-percentile", "99", "--rp-dim", "32"]
    selection = select_settings({"n_structures": 5, "strategy": "calm-greedy", "gamma_max": 20.0,
                                 "element_stratified": False})
    assert select_arguments(selection) == ["-n", "5", "--strategy", "calm-greedy", "--seed", "42", "--gamma-min",
                                           "1.5", "--gamma-max", "20.0", "--no-element-stratified"]


@pytest.mark.parametrize("settings, message", [
    ({"n_cluster": 2}, "unknown uncertainty build setting"),
    ({"n_clusters": 0}, "n_clusters must be a positive int"),
    ({"threshold_percentile": 120}, r"threshold_percentile must be in \(0, 100\]"),
    ({"rp_dim": 2.5}, "rp_dim must be a positive int"),
])
def test_bad_build_settings_are_refused(settings, message):
    with pytest.raises(UncertaintySettingsError, match=message):
        build_settings(settings)


@pytest.mark.parametrize("settings, message", [
    ({"strategy": "best"}, "strategy must be one of"),
    ({"n_structures": 0}, "n_structures must be a positive int"),
    ({"gamma_min": 3.0, "gamma_max": 2.0}, r"gamma_max \(2.0\) must exceed gamma_min \(3.0\)"),
])
def test_bad_select_settings_are_refused(settings, message):
    with pytest.raises(UncertaintySettingsError, match=message):
        select_settings(settings)


def test_build_needs_the_checkpoint_and_every_element(grace_codes, models):
    refused("grace.uncertainty", {"code": grace_codes["driver"], "model": models["no_checkpoint"],
                                  "dataset": make_dataset(n=2, seed=3)}, "has no model.yaml \\+ checkpoint")
    refused("grace.uncertainty", {"code": grace_codes["driver"], "model": models["model"],
                                  "dataset": make_dataset(elements=("Cu", "Ni"), n=2, seed=3)},
            r"the training set contains element\(s\) Ni")


def test_artifacts_of_another_model_are_refused(grace_codes, models):
    foreign = artifacts_of(models["other"])
    dataset = make_dataset(n=2, seed=4)
    refused("grace.select", {"code": grace_codes["driver"], "model": models["model"], "dataset": dataset,
                             "uncertainty": foreign}, "was built for the model with sha256")
    refused("grace.evaluate", {"code": grace_codes["driver"], "model": models["model"], "dataset": dataset,
                               "uncertainty": foreign}, "was built for the model with sha256")
    refused("grace.evaluate", {"code": grace_codes["driver"], "model": models["model"], "dataset": dataset,
                               "uncertainty": artifacts_of(models["model"]),
                               "parameters": orm.Dict({"calculator": "fs_cpp"})}, "needs the tensorflow calculator")


def test_select_job_gets_model_checkpoint_artifacts_and_pool(prepare_calc_job, grace_codes, models):
    model = models["model"]
    uq = artifacts_of(model)
    calcinfo, sandbox = prepare_calc_job("grace.select", {
        "code": grace_codes["driver"], "model": model, "dataset": make_dataset(n=3, seed=6), "uncertainty": uq,
        "parameters": orm.Dict({"n_structures": 2})})
    copied = {(uuid, target) for uuid, _, target in calcinfo.local_copy_list}
    assert (uq.uuid, "gmm_artifacts.npz") in copied
    assert {target for _, target in copied} >= {"model/model.yaml", "model/checkpoint/checkpoint.index",
                                                "dataset.extxyz"}
    assert not any("final_model" in target for _, target in copied)  # grace_uq rebuilds from yaml + checkpoint
    settings = yaml.safe_load((sandbox / "uq.yaml").read_text())
    assert settings == {"model": {"model_yaml": "model/model.yaml", "checkpoint": "model/checkpoint/checkpoint"},
                        "select": {"n_structures": 2}}
    assert calcinfo.codes_info[0].cmdline_params == ["uq-select", "uq.yaml"]


def test_evaluate_with_gamma_copies_what_grace_uq_needs(prepare_calc_job, grace_codes, models):
    model = models["model"]
    calcinfo, sandbox = prepare_calc_job("grace.evaluate", {
        "code": grace_codes["driver"], "model": model, "dataset": make_dataset(n=2, seed=7),
        "uncertainty": artifacts_of(model)})
    targets = {target for _, _, target in calcinfo.local_copy_list}
    assert {"model/final_model/saved_model.pb", "model/model.yaml", "model/checkpoint/checkpoint.index",
            "gmm_artifacts.npz"} <= targets
    settings = yaml.safe_load((sandbox / "evaluate.yaml").read_text())
    assert settings["uncertainty"] == {"model_yaml": "model/model.yaml", "checkpoint": "model/checkpoint/checkpoint",
                                       "artifacts": "gmm_artifacts.npz"}


@pytest.mark.parametrize("settings, message", [
    ({"max_iteration": 2}, "unknown active-learning setting"),
    ({"max_iterations": 0}, "max_iterations must be a positive integer"),
    ({"gamma_threshold": -1}, "gamma_threshold must be a positive number"),
    ({"retrain": "continue"}, "retrain must be 'finetune' or 'scratch'"),
    ({"explore": {"temperatures": []}}, "explore.temperatures must be positive"),
    ({"explore": {"engine": "lammps"}}, r"exploration runs ASE MD"),
    ({"explore": {"steps": 15}}, r"explore: steps \(15\) must be a multiple of thermo_interval"),
    ({"select": {"strategy": "best"}}, "strategy must be one of"),
    ({"train": {"finetune": {"strategy": "naive"}}}, "train must not set finetune"),
])
def test_bad_active_learning_settings_are_refused(settings, message):
    with pytest.raises(ActiveLearningSettingsError, match=message):
        active_learning_settings(settings)


def test_selection_threshold_defaults_to_the_loop_threshold():
    assert active_learning_settings({"gamma_threshold": 3.5})["select"]["gamma_min"] == 3.5
    assert active_learning_settings({"gamma_threshold": 3.5, "select": {"gamma_min": 5.0}})["select"]["gamma_min"] == 5.0


def test_active_learning_refuses_before_anything_runs(grace_codes, models):
    from aiida_grace.workflows.active_learning import GraceActiveLearningWorkChain

    base = {"code": grace_codes["gracemaker"], "driver_code": grace_codes["driver"], "model": models["model"],
            "dataset": make_dataset(n=2, seed=8),
            "structures": {"fcc": orm.StructureData(ase=bulk("Cu", cubic=True))},
            "reference": {"process": orm.Str("aiida.calculations:grace.emt_labels")}}
    cases = [
        ({"structures": {"ni": orm.StructureData(ase=bulk("Ni", cubic=True))}}, "contain Ni, which model"),
        ({"model": models["no_checkpoint"]}, "has no model.yaml \\+ checkpoint"),
        ({"reference": {"process": orm.Str("aiida.calculations:grace.no_such_thing")}}, "cannot be loaded"),
        ({"parameters": orm.Dict({"retrain": "scratch"})}, "needs train.potential"),
    ]
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            run_get_node(GraceActiveLearningWorkChain, **{**base, **change})


def test_both_jobs_declare_the_exit_codes_their_parser_returns():
    from aiida_grace.calculations.uncertainty import GraceSelectCalculation, GraceUncertaintyCalculation

    for process in (GraceUncertaintyCalculation, GraceSelectCalculation):
        codes = process.spec().exit_codes
        assert codes.ERROR_MISSING_RESULTS.status == 301 and codes.ERROR_INVALID_RESULTS.status == 302
