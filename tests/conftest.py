"""Fixtures: a real AiiDA profile, real Codes for gracemaker and the driver, tiny models trained once."""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.engine import run_get_node

pytest_plugins = ["aiida.tools.pytest_fixtures"]

TINY_1L = {"lmax": 3, "n_rad_max": 16, "max_order": 3, "n_mlp_dens": 8, "n_rad_base": 8, "embedding_size": 16}
TINY_FS = {"lmax": [4, 4, 3], "n_rad_max": [12, 8, 6], "embedding_size": 16, "n_rad_base": 8}
LOSS_EFS = {
    "energy": {"weight": 1.0, "type": "huber", "delta": 0.01},
    "forces": {"weight": 5.0, "type": "huber", "delta": 0.01},
    "stress": {"weight": 1.0, "type": "huber", "delta": 0.01},
}


def training_parameters(epochs: int = 4, preset: str = "GRACE_1LAYER_latest", kwargs=None, **fit) -> dict:
    """Settings of the tiny float64 models the tests train (seconds per epoch on 2 cores)."""
    return {
        "seed": 1,
        "cutoff": 4.5,
        "potential": {"preset": preset, "kwargs": kwargs if kwargs is not None else TINY_1L,
                      "param_dtype": "float64"},
        "fit": {"maxiter": epochs, "loss": LOSS_EFS, "batch_size": 4, "test_batch_size": 8, **fit},
    }


@pytest.fixture(scope="session")
def grace_computer(aiida_profile, tmp_path_factory):
    """localhost with the direct scheduler, polling without delay."""
    computer = orm.Computer(
        label="grace-test-localhost", hostname="localhost", transport_type="core.local",
        scheduler_type="core.direct", workdir=str(tmp_path_factory.mktemp("aiida_work")),
    ).store()
    computer.configure(safe_interval=0.0)
    computer.set_minimum_job_poll_interval(0.0)
    computer.set_default_mpiprocs_per_machine(1)
    return computer


@pytest.fixture(scope="session")
def grace_codes(grace_computer):
    """InstalledCodes of this environment's gracemaker and aiida-grace-driver (as `aiida-grace setup` makes)."""
    from aiida_grace.cli import setup_codes

    return setup_codes(grace_computer)


def make_dataset(elements=("Cu", "Al"), n=12, seed=0, rattle=0.05, max_strain=0.03):
    from aiida_grace.data import GraceDatasetData
    from aiida_grace.functions.synthetic import emt_structures

    return GraceDatasetData(emt_structures(list(elements), n, seed, rattle, max_strain)).store()


@pytest.fixture(scope="session")
def cu_al_datasets(aiida_profile):
    """EMT Cu/Al sets of 4- and 8-atom cells: train (16), test (4), fine-tune (8, hotter and Cu-rich)."""
    return {
        "train": make_dataset(n=16, seed=10),
        "test": make_dataset(n=4, seed=11),
        "finetune": make_dataset(elements=("Cu", "Cu", "Al"), n=8, seed=12, rattle=0.12),
    }


def run_training(codes, dataset, test_dataset, parameters, parent=None):
    from aiida_grace.calculations.train import GraceTrainCalculation

    inputs = {"code": codes["gracemaker"], "driver_code": codes["driver"], "dataset": dataset,
              "test_dataset": test_dataset, "parameters": orm.Dict(parameters)}
    if parent is not None:
        inputs["parent_model"] = parent
    results, node = run_get_node(GraceTrainCalculation, **inputs)
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    return results, node


@pytest.fixture(scope="session")
def trained(grace_codes, cu_al_datasets):
    """A tiny float64 GRACE-1L model trained with the real gracemaker through grace.train."""
    return run_training(grace_codes, cu_al_datasets["train"], cu_al_datasets["test"], training_parameters())


@pytest.fixture(scope="session")
def trained_model(trained):
    return trained[0]["model"]


@pytest.fixture(scope="session")
def finetuned_frozen(grace_codes, cu_al_datasets, trained_model):
    """The tiny model fine-tuned on the fine-tune set with strategy 2a (only rho/reducing_ trains)."""
    parameters = training_parameters(epochs=3)
    parameters["finetune"] = {"strategy": "frozen_2a"}
    parameters["fit"]["opt_params"] = {"learning_rate": 0.01}
    return run_training(grace_codes, cu_al_datasets["finetune"], cu_al_datasets["test"], parameters,
                        parent=trained_model)
