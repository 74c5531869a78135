"""grace.train parser on recorded outputs: each failure it declares (success is tested end to end)."""

import pytest
from aiida import orm

from conftest import make_dataset, write_fake_model

LOG_HEAD = "2026-11-25 01:29:30,000 I - Number of trainable parameters: 1234\n"
GOOD_EPOCH = ("2026-11-25 01:29:31,000 I - Iteration #1/3 TRAIN(TEST): total_loss: 1.5e-02 (8.2e-03) "
              "mae/depa: 3.2e-02 (3.2e-02)\n")
NAN_EPOCH = "2026-11-25 01:29:32,000 I - Iteration #2/3 TRAIN(TEST): total_loss: nan (nan) mae/depa: nan (nan)\n"
METRICS = '- {"total_loss/train": 0.015, "mae/depa": 0.03, "rmse/depa": 0.04, "mae/f_comp": 0.3, "epoch": 1}\n'


@pytest.fixture
def train_inputs(grace_codes):
    return {"code": grace_codes["gracemaker"], "driver_code": grace_codes["driver"],
            "dataset": make_dataset(n=2, seed=20), "parameters": orm.Dict({"fit": {"maxiter": 3}})}


def write(folder, files: dict):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_nan_loss(parse_recorded, train_inputs, tmp_path):
    retrieved = write(tmp_path / "r", {"log.txt": LOG_HEAD + GOOD_EPOCH + NAN_EPOCH, "train_metrics.yaml": METRICS})
    outputs, call = parse_recorded("grace.train", train_inputs, retrieved)
    assert call.exit_status == 401
    assert "NaN at epoch 2" in call.exit_message
    assert "log" in outputs and "learning_curve" in outputs  # what there is, is kept
    assert outputs["learning_curve"].get_array("train_energy_per_atom_mae")[0] == pytest.approx(0.03)


def test_missing_log_reports_the_error_tail(parse_recorded, train_inputs, tmp_path):
    retrieved = write(tmp_path / "r", {"gracemaker.err": "Traceback ...\nKeyError: 'scheduler_params'\n"})
    _, call = parse_recorded("grace.train", train_inputs, retrieved)
    assert call.exit_status == 301
    assert "KeyError: 'scheduler_params'" in call.exit_message


def test_out_of_memory(parse_recorded, train_inputs, tmp_path):
    retrieved = write(tmp_path / "r", {"log.txt": LOG_HEAD,
                                       "gracemaker.err": "tensorflow.python.framework.errors_impl."
                                                         "ResourceExhaustedError: OOM when allocating tensor\n"})
    _, call = parse_recorded("grace.train", train_inputs, retrieved)
    assert call.exit_status == 402


def test_no_final_model_without_walltime(parse_recorded, train_inputs, tmp_path):
    retrieved = write(tmp_path / "r", {"log.txt": LOG_HEAD + GOOD_EPOCH + "Segmentation fault\n",
                                       "train_metrics.yaml": METRICS})
    _, call = parse_recorded("grace.train", train_inputs, retrieved)
    assert call.exit_status == 302
    assert "Segmentation fault" in call.exit_message


def test_walltime_keeps_the_checkpoint_for_a_restart(parse_recorded, train_inputs, tmp_path):
    retrieved = write(tmp_path / "r", {"log.txt": LOG_HEAD + GOOD_EPOCH, "train_metrics.yaml": METRICS,
                                       "gracemaker.err": "slurmstepd: error: *** JOB 12 CANCELLED DUE TO TIME LIMIT ***\n"})
    write_fake_model(retrieved)  # model.yaml + checkpoints/ as gracemaker leaves them mid-training
    (retrieved / "final_model" / "saved_model.pb").unlink()  # ... but no final SavedModel yet
    outputs, call = parse_recorded("grace.train", train_inputs, retrieved)
    assert call.exit_status == 400
    checkpoint = outputs["checkpoint"]
    assert checkpoint.has_checkpoint and not checkpoint.has_saved_model
    assert checkpoint.base.attributes.get("origin")["kind"] == "checkpoint"


def test_walltime_without_any_checkpoint(parse_recorded, train_inputs, tmp_path):
    retrieved = write(tmp_path / "r", {"log.txt": LOG_HEAD, "gracemaker.err": "CANCELLED DUE TO TIME LIMIT\n"})
    outputs, call = parse_recorded("grace.train", train_inputs, retrieved)
    assert call.exit_status == 400 and "checkpoint" not in outputs
