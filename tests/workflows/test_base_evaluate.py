"""grace.base_evaluate: handlers on faked failed grace.evaluate children (fast); resume from a parent folder
with the real driver (slow)."""

import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase.io import write as write_extxyz

from aiida_grace.common.structures import labels_of, with_labels
from aiida_grace.data import GraceModelData
from aiida_grace.workflows.base_evaluate import GraceBaseEvaluateWorkChain, count_finished
from conftest import make_dataset, write_fake_model
from restart_helpers import after_child, failed_child, workchain


@pytest.fixture
def dataset(aiida_profile):
    return make_dataset(n=4, seed=50)


@pytest.fixture
def process(grace_codes, dataset, tmp_path):
    model = GraceModelData.from_directory(write_fake_model(tmp_path / "m"))
    inputs = {"evaluate": {"code": grace_codes["driver"], "model": model, "dataset": dataset,
                           "metadata": {"options": {"max_wallclock_seconds": 60}}}}
    return workchain(GraceBaseEvaluateWorkChain, inputs)


def partial_results(folder, structures, indices, energy=None):
    """A driver's results.partial.extxyz holding ``structures[i]`` for ``i`` in ``indices`` (energy in eV
    replaced by ``energy`` when given, to tell copied results from recomputed ones)."""
    frames = []
    for index in indices:
        atoms = structures[index].copy()
        labels = labels_of(structures[index])
        atoms = with_labels(atoms, energy=labels["energy"] if energy is None else energy, forces=labels["forces"],
                            stress=labels["stress"])
        atoms.info["grace_index"] = index
        frames.append(atoms)
    folder.mkdir(parents=True, exist_ok=True)
    write_extxyz(folder / "results.partial.extxyz", frames, format="extxyz")
    return folder


def retrieved_with(folder):
    retrieved = orm.FolderData()
    retrieved.base.repository.put_object_from_tree(str(folder))
    return retrieved


def test_walltime_continues_with_the_structures_not_done(process, grace_computer, dataset, tmp_path):
    structures = dataset.to_ase()
    first = failed_child(grace_computer, "grace.evaluate", "ERROR_OUT_OF_WALLTIME", done=2, total=4,
                         outputs={"retrieved": retrieved_with(partial_results(tmp_path / "a", structures, [0, 3]))})
    assert count_finished(first) == 2
    after_child(process, first)
    assert process.inspect_process().status == 0
    assert process.ctx.inputs.parent_folder.uuid == first.outputs.remote_folder.uuid
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 60

    # the continuation was stopped before it finished another structure: more time, same parent folder
    stuck = failed_child(grace_computer, "grace.evaluate", "ERROR_OUT_OF_WALLTIME", done=2, total=4,
                         outputs={"retrieved": retrieved_with(partial_results(tmp_path / "b", structures, [0, 3]))})
    process.handle_out_of_walltime(stuck)
    assert process.ctx.inputs.parent_folder.uuid == first.outputs.remote_folder.uuid
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 120


def test_walltime_before_any_structure_doubles_the_walltime(process, grace_computer, tmp_path):
    (tmp_path / "empty").mkdir()
    node = failed_child(grace_computer, "grace.evaluate", "ERROR_OUT_OF_WALLTIME", done=0, total=4,
                        outputs={"retrieved": retrieved_with(tmp_path / "empty")})
    process.handle_out_of_walltime(node)
    assert "parent_folder" not in process.ctx.inputs
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 120


def test_unconverged_relaxations_stop_without_a_rerun(process, grace_computer):
    node = failed_child(grace_computer, "grace.evaluate", "ERROR_RELAXATION_NOT_CONVERGED", count=1,
                        which="structure_0002")
    exit_code = after_child(process, node).inspect_process()
    assert exit_code.status == 410 and "structure_0002" in exit_code.message
    assert process.ctx.is_finished


def test_parent_folder_copies_the_finished_structures(prepare_calc_job, process, grace_computer):
    remote = orm.RemoteData(computer=grace_computer, remote_path="/scratch/job-1").store()
    inputs = {**process.ctx.inputs, "parent_folder": remote}
    calcinfo, _ = prepare_calc_job("grace.evaluate", inputs)
    assert calcinfo.remote_copy_list == [
        (grace_computer.uuid, "/scratch/job-1/results.partial.extxyz", "results.partial.extxyz")]


@pytest.mark.slow
def test_a_continued_job_computes_only_the_structures_not_done(grace_codes, trained_model, tmp_path):
    """A job given the folder of a stopped one keeps its 2 finished structures (marked by energy 123 eV) and
    computes the other 2; results come back complete and in input order."""
    from aiida_grace.calculations.evaluate import GraceEvaluateCalculation

    dataset = make_dataset(n=4, seed=51)
    stopped = partial_results(tmp_path / "stopped", dataset.to_ase(), [1, 2], energy=123.0)
    parent = orm.RemoteData(computer=grace_codes["driver"].computer, remote_path=str(stopped)).store()
    results, node = run_get_node(GraceEvaluateCalculation, code=grace_codes["driver"], model=trained_model,
                                 dataset=dataset, parent_folder=parent)
    assert node.is_finished_ok, node.exit_message
    energies = [labels_of(a)["energy"] for a in results["output_dataset"].to_ase()]
    assert energies[1] == energies[2] == 123.0
    assert all(abs(e) < 100 for e in (energies[0], energies[3]))  # computed by the model (EMT-like, eV)
    assert results["output_parameters"]["n_structures"] == 4
