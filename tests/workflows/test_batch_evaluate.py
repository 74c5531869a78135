"""grace.evaluate.batch: jobs cut by count, run side by side through grace.base_evaluate; a job stopped mid-way
(its driver killed, as a scheduler does at the walltime) continues with the structures not yet done."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.common.structures import labels_of
from conftest import make_dataset

pytestmark = pytest.mark.slow

RELAX = {"mode": "relax", "relax": {"optimizer": "FIRE", "fmax": 1e-3, "steps": 300}}


@pytest.fixture(scope="module")
def rattled(aiida_profile):
    """12 rattled EMT Cu/Al cells (4 and 8 atoms) by name: each relaxation takes some tens of steps."""
    dataset = make_dataset(n=12, seed=70, rattle=0.05)
    return {f"cell_{i:02d}": orm.StructureData(ase=atoms) for i, atoms in enumerate(dataset.to_ase())}


def run_batch(codes, model, structures, **batching):
    from aiida_grace.workflows.batch_evaluate import GraceBatchEvaluateWorkChain, batch_inputs

    return run_get_node(GraceBatchEvaluateWorkChain,
                        **batch_inputs(codes["driver"], model, RELAX, structures=structures, batching=batching))


def driver_jobs() -> list[tuple[int, Path]]:
    """(pid, working directory) of every running aiida-grace evaluate driver."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if any(b"aiida-grace-driver" in part for part in command) and b"evaluate" in command:
                found.append((int(entry.name), Path(os.readlink(entry / "cwd"))))
        except OSError:
            continue
    return found


def kill_first_driver_after(frames: int, killed: list, stop: threading.Event):
    """SIGKILL the first evaluate driver whose partial results hold ``frames`` structures (once)."""
    while not stop.is_set() and not killed:
        for pid, workdir in driver_jobs():
            partial = workdir / "results.partial.extxyz"
            if partial.is_file() and partial.read_text().count("Properties=") >= frames:
                os.kill(pid, signal.SIGKILL)
                killed.append(workdir)
                return
        time.sleep(0.02)


@pytest.fixture(scope="module")
def undisturbed(grace_codes, trained_model, rattled):
    return run_batch(grace_codes, trained_model, rattled, max_structures_per_job=6)


def test_jobs_are_cut_by_count_and_every_structure_comes_back(undisturbed, rattled):
    results, node = undisturbed
    assert node.is_finished_ok, node.exit_message
    summary = results["output_parameters"]
    assert summary["n_jobs"] == 2 and summary["n_structures"] == 12
    assert sorted(n for job in summary["jobs"] for n in job["names"]) == sorted(rattled)
    assert sorted(results["relaxed_structures"]) == sorted(rattled)
    assert summary["failed"] == {} and summary["not_converged"] == []
    jobs = [n for n in node.called_descendants if n.process_label == "GraceEvaluateCalculation"]
    assert len(jobs) == 2 and all(len(job.inputs.structures) == 6 for job in jobs)


def test_a_job_killed_mid_way_continues_and_the_batch_finishes_with_every_structure(
        grace_codes, trained_model, rattled, undisturbed):
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=kill_first_driver_after, args=(2, killed, stop), daemon=True)
    killer.start()
    try:
        results, node = run_batch(grace_codes, trained_model, rattled, max_structures_per_job=6)
    finally:
        stop.set()
        killer.join()
    assert killed, "no driver was caught mid-way (the jobs finished before two structures were written?)"
    assert node.is_finished_ok, node.exit_message
    wrappers = [n for n in node.called if n.process_label == "GraceBaseEvaluateWorkChain"]
    chains = sorted((sorted(wrapper.called, key=lambda n: n.ctime) for wrapper in wrappers), key=len)
    assert [len(chain) for chain in chains] == [1, 2]  # the killed job was continued once
    stopped, continued = chains[1]
    assert stopped.exit_status == 400  # ERROR_OUT_OF_WALLTIME: the partial results were kept
    assert continued.inputs.parent_folder.uuid == stopped.outputs.remote_folder.uuid
    assert continued.outputs.output_parameters["n_structures"] == 6
    # every structure relaxed, equal to the undisturbed batch
    expected = undisturbed[0]["relaxed_structures"]
    assert sorted(results["relaxed_structures"]) == sorted(rattled)
    for name, structure in results["relaxed_structures"].items():
        np.testing.assert_allclose(structure.get_ase().positions, expected[name].get_ase().positions,
                                   rtol=0, atol=1e-8, err_msg=name)
    energies = {labels_of(a)["energy"] for d in results["job_datasets"].values() for a in d.to_ase()}
    assert len(energies) == 12


def test_one_large_dataset_is_cut_labelled_and_joined_back_in_order(grace_codes, trained_model):
    """10 structures cut into jobs of at most 4: the joined output equals one grace.evaluate job on the whole set."""
    from aiida_grace.calculations.evaluate import GraceEvaluateCalculation
    from aiida_grace.workflows.batch_evaluate import GraceBatchEvaluateWorkChain, batch_inputs

    dataset = make_dataset(n=10, seed=71)
    results, node = run_get_node(GraceBatchEvaluateWorkChain, **batch_inputs(
        grace_codes["driver"], trained_model, {"mode": "static"}, dataset=dataset,
        batching={"max_structures_per_job": 4}))
    assert node.is_finished_ok, node.exit_message
    assert results["output_parameters"]["n_jobs"] == 3 and results["output_parameters"]["n_structures"] == 10
    one_job, _ = run_get_node(GraceEvaluateCalculation, code=grace_codes["driver"], model=trained_model,
                              dataset=dataset)
    joined, direct, given = (results["output_dataset"].to_ase(), one_job["output_dataset"].to_ase(),
                             dataset.to_ase())
    assert len(joined) == 10
    for a, b, c in zip(joined, direct, given):
        assert "grace_source_index" not in a.info
        np.testing.assert_array_equal(a.positions, c.positions)  # the input order, positions exact
        assert labels_of(a)["energy"] == pytest.approx(labels_of(b)["energy"], abs=1e-9)
        np.testing.assert_allclose(labels_of(a)["forces"], labels_of(b)["forces"], rtol=0, atol=1e-9)
