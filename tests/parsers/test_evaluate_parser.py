"""grace.evaluate parser on recorded outputs: errors against references, and each declared failure."""

import json

import numpy as np
import pytest
from ase.io import write as write_extxyz

from aiida_grace.common.structures import labels_of, with_labels
from aiida_grace.data import GraceModelData
from conftest import make_dataset, write_fake_model


@pytest.fixture
def evaluate_inputs(grace_codes, tmp_path):
    model = GraceModelData.from_directory(write_fake_model(tmp_path / "m"))
    return {"code": grace_codes["driver"], "model": model, "dataset": make_dataset(n=3, seed=30)}


def recorded(folder, structures, summary):
    folder.mkdir(parents=True, exist_ok=True)
    if structures is not None:
        write_extxyz(folder / "results.extxyz", structures, format="extxyz")
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def shifted(dataset, de=0.0, df=0.0):
    """The dataset's structures with energies shifted by ``de`` eV per atom and forces by ``df`` eV/Å."""
    out = []
    for atoms in dataset.to_ase():
        labels = labels_of(atoms)
        out.append(with_labels(atoms, labels["energy"] + de * len(atoms), labels["forces"] + df, labels["stress"]))
    return out


def test_errors_against_reference_labels(parse_recorded, evaluate_inputs, tmp_path):
    results = shifted(evaluate_inputs["dataset"], de=0.002, df=-0.01)
    folder = recorded(tmp_path / "r", results, {"mode": "static", "not_converged": []})
    outputs, call = parse_recorded("grace.evaluate", evaluate_inputs, folder)
    assert call.exit_status == 0
    errors = outputs["errors"].get_dict()
    assert errors["energy_per_atom_mae"] == pytest.approx(0.002, abs=1e-9)
    assert errors["forces_mae"] == pytest.approx(0.01, abs=1e-7)
    assert errors["stress_mae"] == pytest.approx(0.0, abs=1e-9)
    assert errors["n_forces"] == 3
    assert outputs["output_dataset"].n_structures == 3


def test_missing_results(parse_recorded, evaluate_inputs, tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "driver.err").write_text("ImportError: No module named 'tensorpotential'\n")
    _, call = parse_recorded("grace.evaluate", evaluate_inputs, folder)
    assert call.exit_status == 301 and "No module named" in call.exit_message


def test_partial_results_after_walltime(parse_recorded, evaluate_inputs, tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    write_extxyz(folder / "results.partial.extxyz", shifted(evaluate_inputs["dataset"])[:2], format="extxyz")
    _, call = parse_recorded("grace.evaluate", evaluate_inputs, folder, exit_status=120)
    assert call.exit_status == 400 and "after 2 of 3 structures" in call.exit_message


def test_non_finite_results_are_refused_not_stored(parse_recorded, evaluate_inputs, tmp_path):
    results = shifted(evaluate_inputs["dataset"])
    results[1] = with_labels(results[1], energy=float("nan"), forces=np.zeros((len(results[1]), 3)))
    folder = recorded(tmp_path / "r", results, {"mode": "static", "not_converged": []})
    outputs, call = parse_recorded("grace.evaluate", evaluate_inputs, folder)
    assert call.exit_status == 302 and "non-finite energy" in call.exit_message
    assert "output_dataset" not in outputs


def test_wrong_number_of_results(parse_recorded, evaluate_inputs, tmp_path):
    folder = recorded(tmp_path / "r", shifted(evaluate_inputs["dataset"])[:1], {"mode": "static"})
    _, call = parse_recorded("grace.evaluate", evaluate_inputs, folder)
    assert call.exit_status == 302 and "1 results for 3 input structures" in call.exit_message


def test_unconverged_relaxations_keep_outputs_and_exit_410(parse_recorded, evaluate_inputs, tmp_path):
    results = shifted(evaluate_inputs["dataset"])
    folder = recorded(tmp_path / "r", results, {"mode": "relax", "not_converged": [2]})
    outputs, call = parse_recorded("grace.evaluate", evaluate_inputs, folder)
    assert call.exit_status == 410 and "structure_0002" in call.exit_message
    assert sorted(outputs["relaxed_structures"]) == ["structure_0000", "structure_0001", "structure_0002"]


def test_pooled_datasets_come_back_labelled_per_name(parse_recorded, grace_codes, tmp_path):
    """Results of a job given datasets {b: 2 cells, a: 3 cells} are split back by name in sorted order."""
    model = GraceModelData.from_directory(write_fake_model(tmp_path / "m"))
    pooled = {"a": make_dataset(n=3, seed=31), "b": make_dataset(n=2, seed=32)}
    results = shifted(pooled["a"], de=0.5) + shifted(pooled["b"], de=-0.5)
    inputs = {"code": grace_codes["driver"], "model": model, "datasets__b": pooled["b"], "datasets__a": pooled["a"]}
    folder = recorded(tmp_path / "r", results, {"mode": "relax", "not_converged": [4]})
    outputs, call = parse_recorded("grace.evaluate", inputs, folder)
    assert call.exit_status == 410 and "b/1" in call.exit_message
    assert outputs["output_parameters"]["not_converged_names"] == ["b/1"]
    assert "output_dataset" not in outputs and "relaxed_structures" not in outputs
    for name, shift in (("a", 0.5), ("b", -0.5)):
        labelled, given = outputs["output_datasets"][name].to_ase(), pooled[name].to_ase()
        assert len(labelled) == len(given)
        for after, before in zip(labelled, given):
            assert labels_of(after)["energy"] == pytest.approx(labels_of(before)["energy"] + shift * len(before),
                                                               abs=1e-9)


def test_a_broken_structure_fails_alone_411(parse_recorded, grace_codes, tmp_path):
    """Relax mode, structures a, b, c: b broke (the driver returned it unlabelled with the reason)."""
    from aiida import orm

    model = GraceModelData.from_directory(write_fake_model(tmp_path / "m"))
    given = make_dataset(n=3, seed=33).to_ase()
    inputs = {"code": grace_codes["driver"], "model": model,
              **{f"structures__{name}": orm.StructureData(ase=a) for name, a in zip("abc", given)}}
    results = shifted(make_dataset(n=3, seed=33))
    results[1] = given[1].copy()
    results[1].info["grace_failed"] = "the relax result has atoms 0 and 2 only 0.010 Å apart (below 0.5 Å)"
    folder = recorded(tmp_path / "r", results, {"mode": "relax", "not_converged": [],
                                                 "failed": {"1": results[1].info["grace_failed"]}})
    outputs, call = parse_recorded("grace.evaluate", inputs, folder)
    assert call.exit_status == 411
    assert "b: the relax result has atoms 0 and 2 only 0.010 Å apart" in call.exit_message
    assert sorted(outputs["relaxed_structures"]) == ["a", "c"]
    assert outputs["output_parameters"]["failed_names"] == {"b": results[1].info["grace_failed"]}


def test_the_batch_summary_names_broken_and_unconverged_items(aiida_profile):
    from aiida import orm

    from aiida_grace.functions.batching import summarize_batch

    jobs = {"jobs": [{"label": "job_000", "pk": 1, "names": ["x", "y"]}, {"label": "job_001", "pk": 2,
                                                                         "names": ["z"]}],
            "failed": {"z": "job_001 <2> excepted"}}
    summary = summarize_batch(orm.Dict(jobs), job_000=orm.Dict({
        "n_structures": 48, "load_seconds": 4.0, "compute_seconds": 10.0,
        "not_converged_names": ["x/3", "y/1"], "failed_names": {"y/7": "the relax result has atoms 0 and 1 only"}}))
    assert summary["failed"] == {"z": "job_001 <2> excepted", "y": "y/7: the relax result has atoms 0 and 1 only"}
    assert summary["not_converged"] == ["x"]  # y counts as failed, not twice
    assert summary["n_structures"] == 48 and summary["n_jobs"] == 2 and summary["compute_seconds"] == 10.0
