"""grace.base_md: handlers on faked failed grace.md children, and the copy of a stopped job's files (fast).
A real run continued after a stop is in test_md.py (slow)."""

import numpy as np
import pytest
from aiida import orm
from ase.build import bulk

from aiida_grace.data import GraceModelData
from aiida_grace.parsers.md import trajectory_node
from aiida_grace.workflows.base_md import GraceBaseMdWorkChain, last_frame_step
from conftest import write_fake_model
from restart_helpers import after_child, failed_child, workchain


@pytest.fixture
def process(grace_codes, tmp_path):
    structure = orm.StructureData(ase=bulk("Cu", "fcc", a=3.6, cubic=True))
    inputs = {"md": {"code": grace_codes["driver"], "structure": structure,
                     "model": GraceModelData.from_directory(write_fake_model(tmp_path / "m")),
                     "parameters": orm.Dict({"steps": 1000, "dump_interval": 100}),
                     "metadata": {"options": {"max_wallclock_seconds": 60}}}}
    return workchain(GraceBaseMdWorkChain, inputs)


def frames(last_step: int, interval: int = 100) -> orm.TrajectoryData:
    """A 4-atom trajectory with frames every ``interval`` steps up to ``last_step``."""
    steps = np.arange(0, last_step + 1, interval)
    positions = np.zeros((len(steps), 4, 3))
    cells = np.tile(np.eye(3) * 3.6, (len(steps), 1, 1))
    return trajectory_node(["Cu"] * 4, steps, positions, cells, steps * 1e-3)


def stopped(computer, last_step: int):
    return failed_child(computer, "grace.md", "ERROR_OUT_OF_WALLTIME", {"trajectory": frames(last_step)})


def test_walltime_continues_from_the_last_frame(process, grace_computer):
    first = stopped(grace_computer, 300)
    assert last_frame_step(first) == 300
    assert after_child(process, first).inspect_process().status == 0  # handled: the loop runs again
    assert process.ctx.inputs.parent_folder.uuid == first.outputs.remote_folder.uuid
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 60
    assert process.ctx.inputs.parameters.get_dict() == {"steps": 1000, "dump_interval": 100}  # same run, same end

    # the continuation was stopped before its first new frame: more time, same parent folder
    process.handle_out_of_walltime(stopped(grace_computer, 300))
    assert process.ctx.inputs.parent_folder.uuid == first.outputs.remote_folder.uuid
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 120

    # further on: continue from that job
    third = stopped(grace_computer, 700)
    process.handle_out_of_walltime(third)
    assert process.ctx.inputs.parent_folder.uuid == third.outputs.remote_folder.uuid


def test_walltime_before_any_frame_doubles_the_walltime(process, grace_computer):
    for node in (failed_child(grace_computer, "grace.md", "ERROR_OUT_OF_WALLTIME"), stopped(grace_computer, 0)):
        process.handle_out_of_walltime(node)
        assert "parent_folder" not in process.ctx.inputs
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 240


def test_a_run_that_blew_up_is_not_retried(process, grace_computer):
    node = failed_child(grace_computer, "grace.md", "ERROR_NON_FINITE_ENERGY", {"trajectory": frames(300)}, step=250)
    assert process.handle_out_of_walltime(node) is None
    exit_code = after_child(process, node).inspect_process()
    assert exit_code.status == GraceBaseMdWorkChain.exit_codes.ERROR_UNHANDLED_FAILURE.status
    assert "parent_folder" not in process.ctx.inputs


def test_parent_folder_copies_the_stopped_run(prepare_calc_job, process, grace_computer):
    remote = orm.RemoteData(computer=grace_computer, remote_path="/scratch/md-1").store()
    calcinfo, _ = prepare_calc_job("grace.md", {**process.ctx.inputs, "parent_folder": remote})
    assert calcinfo.remote_copy_list == [(grace_computer.uuid, "/scratch/md-1/thermo.npz", "thermo.npz"),
                                         (grace_computer.uuid, "/scratch/md-1/trajectory.npz", "trajectory.npz")]
    calcinfo, _ = prepare_calc_job("grace.md", dict(process.ctx.inputs))
    assert not calcinfo.remote_copy_list
