"""grace.evaluate: validation before submission and the files prepare_for_submission writes (fast)."""

import pytest
import yaml
from aiida import orm
from ase.build import bulk

from aiida_grace.data import GraceModelData
from conftest import make_dataset, write_fake_model


@pytest.fixture
def fake_model(aiida_profile, tmp_path):
    return GraceModelData.from_directory(write_fake_model(tmp_path / "m", elements=("Al", "Cu")))


def run_refused(inputs, message):
    from aiida.engine import run_get_node

    from aiida_grace.calculations.evaluate import GraceEvaluateCalculation

    with pytest.raises(ValueError, match=message):
        run_get_node(GraceEvaluateCalculation, **inputs)


def test_prepare_copies_dataset_and_saved_model_only(prepare_calc_job, grace_codes, fake_model, file_regression):
    dataset = make_dataset(n=3, seed=4)
    inputs = {"code": grace_codes["driver"], "model": fake_model, "dataset": dataset,
              "parameters": orm.Dict({"mode": "relax", "relax": {"fmax": 0.005, "cell_filter": True}})}
    calcinfo, sandbox = prepare_calc_job("grace.evaluate", inputs)
    file_regression.check((sandbox / "evaluate.yaml").read_text(), extension=".yaml")
    targets = {target for _, _, target in calcinfo.local_copy_list}
    assert "structures.extxyz" in targets
    assert "model/final_model/saved_model.pb" in targets
    assert not any(t.startswith("model/checkpoint") or t == "model/model.yaml" for t in targets)
    assert calcinfo.codes_info[0].cmdline_params == ["evaluate", "evaluate.yaml"]


def test_prepare_writes_named_structures_in_sorted_order(prepare_calc_job, grace_codes, fake_model):
    from ase.io import read

    structures = {"b_al": orm.StructureData(ase=bulk("Al", cubic=True)),
                  "a_cu": orm.StructureData(ase=bulk("Cu", cubic=True).repeat((2, 1, 1)))}
    calcinfo, sandbox = prepare_calc_job("grace.evaluate", {"code": grace_codes["driver"], "model": fake_model,
                                                            "structures": structures})
    written = read(sandbox / "structures.extxyz", index=":")
    assert [a.get_chemical_formula() for a in written] == ["Cu8", "Al4"]
    assert yaml.safe_load((sandbox / "evaluate.yaml").read_text())["mode"] == "static"


def test_element_missing_from_the_model_is_refused(grace_codes, fake_model):
    inputs = {"code": grace_codes["driver"], "model": fake_model,
              "structures": {"nickel": orm.StructureData(ase=bulk("Ni", cubic=True))}}
    run_refused(inputs, r"element\(s\) Ni that model .* does not have \(it has Al, Cu\)")


def test_fs_calculator_without_fs_yaml_is_refused(grace_codes, fake_model):
    inputs = {"code": grace_codes["driver"], "model": fake_model, "dataset": make_dataset(n=2, seed=5),
              "parameters": orm.Dict({"calculator": "fs_cpp"})}
    run_refused(inputs, "calculator 'fs_cpp' needs an FS yaml")


@pytest.mark.parametrize("parameters, message", [
    ({"mode": "md"}, "mode must be one of static, relax"),
    ({"relax": {"fmax": -1}}, "relax.fmax must be a positive force"),
    ({"relax": {"max_steps": 3}}, "unknown evaluation setting 'relax.max_steps'.*'relax.steps'"),
    ({"calculater": "tensorflow"}, "did you mean 'calculator'"),
])
def test_bad_settings_are_refused(grace_codes, fake_model, parameters, message):
    inputs = {"code": grace_codes["driver"], "model": fake_model, "dataset": make_dataset(n=2, seed=6),
              "parameters": orm.Dict(parameters)}
    run_refused(inputs, message)


def test_both_or_neither_structure_source_is_refused(grace_codes, fake_model):
    message = "exactly one of 'dataset', 'structures' or 'datasets'"
    run_refused({"code": grace_codes["driver"], "model": fake_model}, message)
    dataset = make_dataset(n=2, seed=6)
    run_refused({"code": grace_codes["driver"], "model": fake_model, "dataset": dataset,
                 "datasets": {"a": dataset}}, message)


def test_prepare_pools_named_datasets_in_sorted_order(prepare_calc_job, grace_codes, fake_model):
    first, second = make_dataset(n=2, seed=7), make_dataset(n=3, seed=8)
    inputs = {"code": grace_codes["driver"], "model": fake_model, "datasets": {"zeta": first, "alpha": second}}
    calcinfo, sandbox = prepare_calc_job("grace.evaluate", inputs)
    settings = yaml.safe_load((sandbox / "evaluate.yaml").read_text())
    assert settings["structure_files"] == ["structures_00000.extxyz", "structures_00001.extxyz"]
    copies = {target: uuid for uuid, _, target in calcinfo.local_copy_list if target.startswith("structures")}
    assert copies == {"structures_00000.extxyz": second.uuid, "structures_00001.extxyz": first.uuid}
