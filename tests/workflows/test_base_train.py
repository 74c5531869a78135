"""grace.base_train: each restart handler on a faked failed grace.train child (fast)."""

import pytest
from aiida import orm

from aiida_grace.common.train_input import validate_parameters
from aiida_grace.data import GraceModelData
from aiida_grace.workflows.base_train import GraceBaseTrainWorkChain
from conftest import make_dataset, training_parameters, write_fake_model
from restart_helpers import after_child, failed_child, workchain


@pytest.fixture
def process(grace_codes):
    """The work chain on a small training input with a 60 s walltime, before its first child."""
    inputs = {"train": {"code": grace_codes["gracemaker"], "driver_code": grace_codes["driver"],
                        "dataset": make_dataset(n=2, seed=40), "parameters": orm.Dict(training_parameters(epochs=3)),
                        "metadata": {"options": {"max_wallclock_seconds": 60}}}}
    return workchain(GraceBaseTrainWorkChain, inputs)


def checkpoint(tmp_path, cutoff=5.0):
    model_dir = write_fake_model(tmp_path / f"ckpt{cutoff}", cutoff=cutoff)
    (model_dir / "final_model" / "saved_model.pb").unlink()  # mid-training: model.yaml + checkpoint only
    return GraceModelData(model_dir, origin={"kind": "checkpoint"})


def test_handlers_run_in_priority_order():
    handlers = sorted(GraceBaseTrainWorkChain.get_process_handlers(), key=lambda h: -h.priority)
    assert [h.__name__ for h in handlers] == ["handle_out_of_walltime", "handle_nan_loss", "handle_out_of_memory"]


def test_walltime_continues_from_the_checkpoint_then_doubles_without_progress(process, grace_computer, tmp_path):
    first = failed_child(grace_computer, "grace.train", "ERROR_OUT_OF_WALLTIME",
                         {"checkpoint": checkpoint(tmp_path)})
    report = process.handle_out_of_walltime(first)
    assert report.do_break and report.exit_code.status == 0
    assert process.ctx.inputs.parent_folder.uuid == first.outputs.remote_folder.uuid
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 60

    # the restart was cut again before writing a new checkpoint (same content): more time, same start
    second = failed_child(grace_computer, "grace.train", "ERROR_OUT_OF_WALLTIME",
                          {"checkpoint": checkpoint(tmp_path)})
    process.handle_out_of_walltime(second)
    assert process.ctx.inputs.parent_folder.uuid == first.outputs.remote_folder.uuid
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 120

    # a newer checkpoint: continue from that job
    third = failed_child(grace_computer, "grace.train", "ERROR_OUT_OF_WALLTIME",
                         {"checkpoint": checkpoint(tmp_path, cutoff=5.5)})
    process.handle_out_of_walltime(third)
    assert process.ctx.inputs.parent_folder.uuid == third.outputs.remote_folder.uuid


def test_walltime_before_any_checkpoint_doubles_the_walltime(process, grace_computer):
    node = failed_child(grace_computer, "grace.train", "ERROR_OUT_OF_WALLTIME")
    process.handle_out_of_walltime(node)
    assert "parent_folder" not in process.ctx.inputs
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 120


def test_nan_loss_halves_the_learning_rate_until_the_floor(process, grace_computer):
    node = failed_child(grace_computer, "grace.train", "ERROR_NAN_LOSS", epoch=2)
    report = process.handle_nan_loss(node)
    assert report.exit_code.status == 0
    fit = validate_parameters(process.ctx.inputs.parameters.get_dict())["fit"]
    assert fit["opt_params"]["learning_rate"] == pytest.approx(0.005)          # default 0.01 halved
    assert fit["scheduler_params"]["minimum_learning_rate"] == pytest.approx(0.0005)
    assert fit["opt_params"]["use_ema"] is True and fit["maxiter"] == 3 and fit["batch_size"] == 4  # rest kept
    for _ in range(12):  # 0.005 / 2**12 ≈ 1.2e-6: still allowed; the next is below 1e-6
        assert process.handle_nan_loss(node).exit_code.status == 0
    report = process.handle_nan_loss(node)
    assert report.exit_code.status == 410 and "1.2207e-06" in report.exit_code.message


def test_out_of_memory_halves_the_batches_down_to_one(process, grace_computer):
    node = failed_child(grace_computer, "grace.train", "ERROR_OUT_OF_MEMORY")
    process.handle_out_of_memory(node)
    fit = process.ctx.inputs.parameters.get_dict()["fit"]
    assert (fit["batch_size"], fit["test_batch_size"]) == (2, 4)
    process.handle_out_of_memory(node)
    assert process.ctx.inputs.parameters.get_dict()["fit"]["batch_size"] == 1
    report = process.handle_out_of_memory(node)
    assert report.exit_code.status == 411


def test_inspect_dispatches_by_exit_code_and_aborts_on_unhandled_failures(process, grace_computer):
    nan = failed_child(grace_computer, "grace.train", "ERROR_NAN_LOSS", epoch=1)
    assert after_child(process, nan).inspect_process().status == 0  # handled: the loop runs again
    assert process.ctx.inputs.parameters.get_dict()["fit"]["opt_params"]["learning_rate"] == pytest.approx(0.005)
    assert "parent_folder" not in process.ctx.inputs and not process.ctx.is_finished

    broken = failed_child(grace_computer, "grace.train", "ERROR_MISSING_MODEL", detail="Segmentation fault")
    assert process.handle_out_of_walltime(broken) is None  # a handler ignores other exit codes
    exit_code = after_child(process, broken).inspect_process()
    assert exit_code.status == GraceBaseTrainWorkChain.exit_codes.ERROR_UNHANDLED_FAILURE.status
