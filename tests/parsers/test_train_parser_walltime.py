"""grace.train parser: a SLURM time limit is recognised from the job's scheduler stderr (fast)."""

import pytest
from aiida import orm

from conftest import make_dataset, write_fake_model

SLURM_TIME_LIMIT = "slurmstepd-vm: error: *** JOB 7 ON vm CANCELLED AT 2026-11-25T02:07:24 DUE TO TIME LIMIT ***\n"


@pytest.fixture
def train_inputs(grace_codes):
    return {"code": grace_codes["gracemaker"], "driver_code": grace_codes["driver"],
            "dataset": make_dataset(n=2, seed=21), "parameters": orm.Dict({"fit": {"maxiter": 3}})}


def test_time_limit_in_the_scheduler_stderr_keeps_the_checkpoint(parse_recorded, train_inputs, tmp_path):
    """slurmstepd writes the message to the batch script's stderr, not to gracemaker's; the driver's
    warnings may come first, so AiiDA's own SLURM check (first line only) can miss it."""
    retrieved = write_fake_model(tmp_path / "r")
    (retrieved / "final_model" / "saved_model.pb").unlink()
    (retrieved / "log.txt").write_text("Iteration #1/3 TRAIN(TEST): total_loss: 1.0e-02 (1.1e-02)\n")
    (retrieved / "_scheduler-stderr.txt").write_text("UserWarning: pandas ...\n" + SLURM_TIME_LIMIT)
    outputs, call = parse_recorded("grace.train", train_inputs, retrieved)
    assert call.exit_status == 400 and outputs["checkpoint"].has_checkpoint


def test_time_limit_before_gracemaker_started(parse_recorded, train_inputs, tmp_path):
    retrieved = tmp_path / "r"
    retrieved.mkdir()
    (retrieved / "_scheduler-stderr.txt").write_text(SLURM_TIME_LIMIT)
    outputs, call = parse_recorded("grace.train", train_inputs, retrieved)
    assert call.exit_status == 400 and "checkpoint" not in outputs


def test_a_killed_job_without_time_limit_is_not_a_walltime(parse_recorded, train_inputs, tmp_path):
    retrieved = tmp_path / "r"
    retrieved.mkdir()
    (retrieved / "log.txt").write_text("Iteration #1/3 TRAIN(TEST): total_loss: 1.0e-02 (1.1e-02)\n")
    (retrieved / "_scheduler-stderr.txt").write_text("/bin/bash: line 12: 4242 Killed gracemaker input.yaml\n")
    _, call = parse_recorded("grace.train", train_inputs, retrieved)
    assert call.exit_status == 302
