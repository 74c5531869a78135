"""End to end with the real gracemaker, driver and TPCalculator on tiny models trained here (slow)."""

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.calculations.evaluate import GraceEvaluateCalculation
from aiida_grace.common.structures import labels_of
from conftest import TINY_FS, make_dataset, run_training, training_parameters

pytestmark = pytest.mark.slow


def evaluate(codes, model, dataset=None, structures=None, **settings):
    inputs = {"code": codes["driver"], "model": model, "parameters": orm.Dict(settings)}
    if dataset is not None:
        inputs["dataset"] = dataset
    if structures is not None:
        inputs["structures"] = structures
    return run_get_node(GraceEvaluateCalculation, **inputs)


def saved_model_variables(model, tmp_path):
    """{variable name: numpy value} of a model's SavedModel, loaded with TensorFlow."""
    import tensorpotential  # noqa: F401  (sets up TF before it is imported)
    import tensorflow as tf

    loaded = tf.saved_model.load(str(model.export(tmp_path / model.uuid) / "final_model"))
    return {v.name: v.numpy() for v in tf.train.TrackableView(loaded).descendants() if isinstance(v, tf.Variable)}


def test_training_outputs_and_provenance(trained, cu_al_datasets):
    results, node = trained
    model = results["model"]
    attrs = model.base.attributes.all
    assert attrs["elements"] == ["Al", "Cu"] and attrs["cutoff"] == 4.5
    assert attrs["architecture"] == "GRACE-1L" and attrs["param_dtype"] == "float64"
    assert attrs["n_parameters"] > 1000 and attrs["origin"] == {"kind": "trained", "calcjob_uuid": node.uuid}
    assert attrs["has_saved_model"] and attrs["has_checkpoint"] and not attrs["has_fs_yaml"]
    model.verify()
    metrics = results["output_parameters"].get_dict()
    assert metrics["n_epochs"] == 4 and 1 <= metrics["best_test_epoch"] <= 4
    for key in ("train_energy_per_atom_mae", "test_forces_mae", "test_stress_rmse"):
        assert np.isfinite(metrics[key]) and metrics[key] > 0
    curve = results["learning_curve"]
    assert curve.get_array("epoch").tolist() == [1, 2, 3, 4]
    assert np.all(np.isfinite(curve.get_array("train_loss")))
    assert "Number of trainable parameters" in results["log"].get_content()
    # dataset → train → model
    assert model.creator.uuid == node.uuid
    assert node.base.links.get_incoming().get_node_by_label("dataset").uuid == cu_al_datasets["train"].uuid


def test_evaluate_equals_tpcalculator_called_directly(grace_codes, trained_model, cu_al_datasets, tmp_path):
    """One batched job over 4- and 8-atom cells gives what TPCalculator gives (float64 model: 1e-6)."""
    from tensorpotential.calculator import TPCalculator

    dataset = cu_al_datasets["test"]
    results, node = evaluate(grace_codes, trained_model, dataset=dataset)
    assert node.is_finished_ok, node.exit_message
    summary = results["output_parameters"].get_dict()
    assert summary["n_structures"] == dataset.n_structures and summary["n_sizes"] == 2

    calc = TPCalculator(str(trained_model.export(tmp_path / "m") / "final_model"))
    predicted = results["output_dataset"].to_ase()
    energy_error, force_error, stress_error = [], [], []
    for atoms, job in zip(dataset.to_ase(), predicted):
        atoms.calc = calc
        label = labels_of(job)
        energy_error.append(abs(atoms.get_potential_energy() - label["energy"]))
        force_error.append(np.abs(atoms.get_forces() - label["forces"]).max())
        stress_error.append(np.abs(atoms.get_stress() - label["stress"]).max())
    assert max(energy_error) < 1e-6  # eV
    assert max(force_error) < 1e-6  # eV/Å
    assert max(stress_error) < 1e-8  # eV/Å³

    # the errors output is the job's predictions against the dataset's EMT labels
    errors = results["errors"].get_dict()
    reference = dataset.to_ase()
    direct = np.mean([abs(labels_of(p)["energy"] - labels_of(r)["energy"]) / len(r)
                      for p, r in zip(predicted, reference)])
    assert errors["energy_per_atom_mae"] == pytest.approx(direct, rel=1e-9)
    assert errors["n_energy_per_atom"] == dataset.n_structures
    # provenance: dataset and model → evaluate → labelled dataset and errors
    incoming = {link.link_label for link in node.base.links.get_incoming().all()}
    assert {"model", "dataset", "code"} <= incoming
    assert results["errors"].creator.uuid == node.uuid


def test_frozen_finetuning_changes_only_trainable_variables(finetuned_frozen, trained_model, tmp_path):
    results, node = finetuned_frozen
    child = results["model"]
    assert child.base.attributes.get("origin")["strategy"] == "frozen_2a"
    assert child.base.attributes.get("param_dtype") == "float64"  # from the parent
    before, after = saved_model_variables(trained_model, tmp_path), saved_model_variables(child, tmp_path)
    assert before.keys() == after.keys()
    trainable = [name for name in before if "rho/reducing_" in name]
    frozen = [name for name in before if name not in trainable]
    assert len(trainable) == 3 and len(frozen) >= 12
    for name in frozen:
        assert np.array_equal(before[name], after[name]), f"frozen variable {name} changed"
    for name in trainable:
        assert not np.array_equal(before[name], after[name]), f"trainable variable {name} did not change"


def test_relaxation_converges_and_reports_non_convergence(grace_codes, trained_model, cu_al_datasets):
    structures = {f"s{i}": orm.StructureData(ase=a) for i, a in enumerate(cu_al_datasets["test"].to_ase()[:2])}
    results, node = evaluate(grace_codes, trained_model, structures=structures, mode="relax",
                             relax={"optimizer": "BFGS", "fmax": 0.02, "steps": 200})
    assert node.is_finished_ok, node.exit_message
    assert sorted(results["relaxed_structures"]) == ["s0", "s1"]
    for atoms in results["output_dataset"].to_ase():
        assert np.linalg.norm(labels_of(atoms)["forces"], axis=1).max() < 0.02
        assert atoms.info["relax_converged"]
    _, stuck = evaluate(grace_codes, trained_model, structures=structures, mode="relax",
                        relax={"fmax": 1e-6, "steps": 2})
    assert stuck.exit_status == 410
    assert "2 relaxation(s) did not reach fmax" in stuck.exit_message


def test_fs_model_exports_yaml_and_cpp_evaluator_agrees(grace_codes, cu_al_datasets):
    parameters = training_parameters(epochs=2, preset="FS", kwargs=TINY_FS)
    results, _ = run_training(grace_codes, cu_al_datasets["test"], cu_al_datasets["test"], parameters)
    model = results["model"]
    assert model.has_fs_yaml and model.base.attributes.get("architecture") == "GRACE-FS"
    tf_results, _ = evaluate(grace_codes, model, dataset=cu_al_datasets["test"])
    cpp_results, cpp_node = evaluate(grace_codes, model, dataset=cu_al_datasets["test"], calculator="fs_cpp")
    assert cpp_node.is_finished_ok, cpp_node.exit_message
    for a, b in zip(tf_results["output_dataset"].to_ase(), cpp_results["output_dataset"].to_ase()):
        assert abs(labels_of(a)["energy"] - labels_of(b)["energy"]) / len(a) < 1e-5  # eV/atom
        assert np.abs(labels_of(a)["forces"] - labels_of(b)["forces"]).max() < 1e-5  # eV/Å


def test_reduce_elements_finetuning_keeps_only_the_data_elements(grace_codes, trained_model):
    copper = make_dataset(elements=("Cu",), n=4, seed=40)
    parameters = training_parameters(epochs=1)
    parameters["finetune"] = {"strategy": "naive", "reduce_elements": True}
    results, _ = run_training(grace_codes, copper, copper, parameters, parent=trained_model)
    assert results["model"].elements == ["Cu"]
    assert results["model"].base.attributes.get("origin")["parent_uuid"] == trained_model.uuid
