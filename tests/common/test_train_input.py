"""Training parameters: validation with helpful messages and input.yaml rendering (pure, fast)."""

import pytest

from aiida_grace.common.train_input import (
    FREEZE_STRATEGIES,
    TrainParametersError,
    loss_labels,
    render_input,
    validate_parameters,
    wants_fs_export,
)


def test_defaults_fill_a_complete_gracemaker_input():
    merged = validate_parameters({"fit": {"maxiter": 3}})
    assert merged["fit"]["maxiter"] == 3
    assert merged["fit"]["optimizer"] == "Adam"
    assert merged["fit"]["scheduler_params"] == {"minimum_learning_rate": 0.001}  # gracemaker requires it
    assert loss_labels(merged) == {"energy", "forces"}


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"fitt": {}}, "unknown key 'fitt' in top level.*did you mean 'fit'"),
        ({"fit": {"max_iter": 3}}, "unknown key 'max_iter' in section 'fit'.*did you mean 'maxiter'"),
        ({"data": {"filename": "x.pkl"}}, "'data.filename' is set by aiida-grace"),
        ({"potential": {"preset": "GRACE_7LAYER"}}, "preset 'GRACE_7LAYER' is not one of"),
        ({"fit": {"optimizer": "SGD"}}, "optimizer 'SGD'"),
        ({"fit": {"loss": {"energy": {"weight": 1}, "force": {"weight": 1}}}}, "unknown loss component 'force'.*'forces'"),
        ({"fit": {"batch_size": 0}}, "batch_size must be a positive integer"),
        ({"fit": {"opt_params": {"learning_rate": -1}}}, "learning_rate must be positive"),
        ({"finetune": {"strategy": "frozen_3"}}, "finetune.strategy 'frozen_3'"),
        ({"finetune": {"strategy": "custom"}}, "needs a non-empty trainable_variables"),
        ({"fit": {"trainable_variable_names": ["rho"]}}, "finetune.strategy"),
        ({"cutoff": -1}, "cutoff must be a positive"),
    ],
)
def test_bad_parameters_are_refused(parameters, message):
    with pytest.raises(TrainParametersError, match=message):
        validate_parameters(parameters)


def test_finetune_render_uses_parent_files_and_frozen_variables():
    parameters = validate_parameters({"finetune": {"strategy": "frozen_2b", "reduce_elements": True}})
    config = render_input(parameters, train_file="train.pkl.gz", test_file="test.pkl.gz",
                          parent_yaml="parent_model/model.yaml", parent_checkpoint="parent_model/checkpoint",
                          parent_cutoff=5.5)
    assert config["potential"]["filename"] == "parent_model/model.yaml"
    assert config["potential"]["checkpoint_name"] == "parent_model/checkpoint"
    assert config["potential"]["reduce_elements"] is True
    assert "preset" not in config["potential"]
    assert config["cutoff"] == 5.5
    assert config["fit"]["trainable_variable_names"] == FREEZE_STRATEGIES["frozen_2b"]
    assert config["fit"]["reset_epoch_and_step"] is True
    assert config["data"]["test_filename"] == "test.pkl.gz" and "test_size" not in config["data"]


def test_naive_finetune_trains_everything_and_fs_export_follows_the_preset():
    parameters = validate_parameters({"finetune": {"strategy": "naive"}})
    config = render_input(parameters, train_file="t.pkl.gz", parent_yaml="p/model.yaml", parent_checkpoint="p/c")
    assert "trainable_variable_names" not in config["fit"]
    assert wants_fs_export(validate_parameters({"potential": {"preset": "FS"}}))
    assert not wants_fs_export(validate_parameters({}))
    assert wants_fs_export(validate_parameters({}), parent_architecture="GRACE-FS")


def test_demo_parameters_are_valid_and_carry_their_options():
    from aiida_grace.common.demo import TINY_FS, training_parameters

    merged = validate_parameters(training_parameters(7, cutoff=5.0, stress_weight=10.0, learning_rate=0.01))
    assert merged["fit"]["maxiter"] == 7 and merged["cutoff"] == 5.0
    assert merged["fit"]["loss"]["stress"]["weight"] == 10.0 and merged["fit"]["opt_params"]["learning_rate"] == 0.01
    assert loss_labels(merged) == {"energy", "forces", "stress"}
    fs = validate_parameters(training_parameters(preset="FS", kwargs=TINY_FS, batch_size=8))
    assert fs["potential"]["kwargs"] == TINY_FS and fs["fit"]["batch_size"] == 8
    assert "opt_params" not in training_parameters()["fit"]
