"""grace.train: input validation before submission and the files prepare_for_submission writes (fast)."""

import numpy as np
import pytest
from aiida import orm
from ase.build import bulk

from aiida_grace.common.structures import with_labels
from aiida_grace.data import GraceDatasetData, GraceModelData
from conftest import make_dataset, write_fake_model


@pytest.fixture
def inputs(grace_codes):
    return {
        "code": grace_codes["gracemaker"],
        "driver_code": grace_codes["driver"],
        "dataset": make_dataset(n=4, seed=1),
        "test_dataset": make_dataset(n=2, seed=2),
        "parameters": orm.Dict({"cutoff": 5.0, "fit": {"maxiter": 2}}),
        "metadata": {"options": {"resources": {"num_machines": 1}}},
    }


def test_prepare_writes_input_yaml_and_copies_datasets(prepare_calc_job, inputs, file_regression):
    calcinfo, sandbox = prepare_calc_job("grace.train", inputs)
    file_regression.check((sandbox / "input.yaml").read_text(), extension=".yaml")
    assert [c.cmdline_params for c in calcinfo.codes_info] == [
        ["to-dataframe", "train.extxyz", "train.pkl.gz", "test.extxyz", "test.pkl.gz"], ["input.yaml"]]
    assert {(uuid, target) for uuid, _, target in calcinfo.local_copy_list} == {
        (inputs["dataset"].uuid, "train.extxyz"), (inputs["test_dataset"].uuid, "test.extxyz")}
    assert "seed/1/final_model" in calcinfo.retrieve_list


def test_prepare_finetune_copies_the_parent_checkpoint(prepare_calc_job, inputs, tmp_path, file_regression):
    parent = GraceModelData.from_directory(write_fake_model(tmp_path / "parent", cutoff=4.0))
    inputs["parent_model"] = parent
    inputs["parameters"] = orm.Dict({"fit": {"maxiter": 2}, "finetune": {"strategy": "frozen_2a"}})
    calcinfo, sandbox = prepare_calc_job("grace.train", inputs)
    file_regression.check((sandbox / "input.yaml").read_text(), extension=".yaml")
    targets = {target for _, _, target in calcinfo.local_copy_list}
    assert {"parent_model/model.yaml", "parent_model/checkpoint.index",
            "parent_model/checkpoint.data-00000-of-00001"} <= targets


def test_fs_preset_asks_gracemaker_for_the_fs_yaml(prepare_calc_job, inputs):
    inputs["parameters"] = orm.Dict({"potential": {"preset": "FS"}, "fit": {"maxiter": 1}})
    calcinfo, _ = prepare_calc_job("grace.train", inputs)
    assert calcinfo.codes_info[1].cmdline_params == ["input.yaml", "-sf"]


def refused(inputs, message):
    from aiida.engine import run_get_node

    from aiida_grace.calculations.train import GraceTrainCalculation

    with pytest.raises(ValueError, match=message):
        run_get_node(GraceTrainCalculation, **inputs)


def test_unknown_parameter_is_refused_before_submission(inputs):
    inputs["parameters"] = orm.Dict({"fit": {"max_epochs": 3}})
    refused(inputs, "unknown key 'max_epochs' in section 'fit'")


def test_dataset_without_forces_is_refused_when_the_loss_uses_forces(inputs):
    energy_only = [with_labels(bulk("Cu", cubic=True).repeat((1, 1, 1)), energy=-14.0 + 0.1 * i)
                   for i in range(3)]
    inputs["dataset"] = GraceDatasetData.from_ase(energy_only).store()
    refused(inputs, "the loss uses forces but dataset .* does not carry it")
    inputs["parameters"] = orm.Dict({"fit": {"loss": {"energy": {"weight": 1.0}}, "maxiter": 1}})
    from aiida_grace.calculations.train import validate_inputs

    assert validate_inputs(inputs, None) is None  # an energy-only loss accepts it


def test_element_missing_from_the_parent_is_refused(inputs, tmp_path):
    inputs["parent_model"] = GraceModelData.from_directory(write_fake_model(tmp_path / "p", elements=("Cu",)))
    refused(inputs, r"element\(s\) Al that parent_model .* does not have \(Cu\)")


def test_finetune_section_without_parent_is_refused(inputs):
    inputs["parameters"] = orm.Dict({"finetune": {"strategy": "naive"}})
    refused(inputs, "'finetune' section but no parent_model")


def test_parent_without_checkpoint_is_refused(inputs, tmp_path):
    inputs["parent_model"] = GraceModelData.from_directory(
        write_fake_model(tmp_path / "p", with_checkpoint=False))
    refused(inputs, "has no model.yaml \\+ checkpoint")


def test_nan_label_never_reaches_a_job(aiida_profile):
    from aiida_grace.common.structures import StructureError

    bad = with_labels(bulk("Cu", cubic=True), energy=-1.0, forces=np.full((4, 3), np.nan))
    with pytest.raises(StructureError, match="structure 0 .*non-finite forces"):
        GraceDatasetData.from_ase([bad])
