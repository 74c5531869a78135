"""check-checkpoint: a regular checkpoint broken by a kill mid-write is replaced by the best one (real TF)."""

import shutil

import numpy as np
import pytest
from aiida import orm

from aiida_grace.driver.__main__ import main
from conftest import make_dataset, training_parameters

tf = pytest.importorskip("tensorflow")


def save(prefix, value):
    """A TF checkpoint at ``prefix`` holding one 1000-float variable of ``value``."""
    checkpoint = tf.train.Checkpoint(weights=tf.Variable(np.full(1000, value)))
    checkpoint.write(str(prefix))


def restored(prefix) -> float:
    return float(tf.train.load_checkpoint(str(prefix)).get_tensor("weights/.ATTRIBUTES/VARIABLE_VALUE")[0])


@pytest.fixture
def checkpoints(tmp_path):
    folder = tmp_path / "seed" / "1" / "checkpoints"
    folder.mkdir(parents=True)
    save(folder / "checkpoint.best_test_loss", 1.0)
    save(folder / "checkpoint", 2.0)
    return folder


def test_a_whole_checkpoint_is_left_alone(checkpoints, capsys):
    assert main(["check-checkpoint", str(checkpoints)]) == 0
    assert restored(checkpoints / "checkpoint") == 2.0
    assert "reads back" in capsys.readouterr().out


def test_index_and_data_from_different_saves_fall_back_to_the_best(checkpoints, tmp_path, capsys):
    """What a kill between TF's two renames leaves: the new index beside the old data (gracemaker then dies
    with DataLossError: Checksum does not match)."""
    save(tmp_path / "older", 3.0)
    shutil.copyfile(tmp_path / "older.data-00000-of-00001", checkpoints / "checkpoint.data-00000-of-00001")
    assert main(["check-checkpoint", str(checkpoints)]) == 0
    assert "replaced by checkpoint.best_test_loss" in capsys.readouterr().out
    assert restored(checkpoints / "checkpoint") == 1.0
    assert restored(checkpoints / "checkpoint.best_test_loss") == 1.0


def test_both_broken_is_reported(checkpoints, capsys):
    for prefix in ("checkpoint", "checkpoint.best_test_loss"):
        (checkpoints / f"{prefix}.data-00000-of-00001").write_bytes(b"\0" * 100)
    assert main(["check-checkpoint", str(checkpoints)]) == 1
    assert "too" in capsys.readouterr().out


def test_restart_jobs_check_the_checkpoint_before_gracemaker(prepare_calc_job, grace_codes, grace_computer):
    remote = orm.RemoteData(computer=grace_computer, remote_path="/scratch/stopped").store()
    inputs = {"code": grace_codes["gracemaker"], "driver_code": grace_codes["driver"],
              "dataset": make_dataset(n=2, seed=90), "parameters": orm.Dict(training_parameters()),
              "parent_folder": remote}
    calcinfo, _ = prepare_calc_job("grace.train", inputs)
    assert [c.cmdline_params for c in calcinfo.codes_info][1:] == [
        ["check-checkpoint", "seed/1/checkpoints"], ["input.yaml", "-rl"]]
    assert calcinfo.remote_copy_list == [(grace_computer.uuid, "/scratch/stopped/seed", "seed")]
