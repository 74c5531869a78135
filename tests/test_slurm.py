"""Training and evaluation through a real SLURM on localhost, a SLURM time limit included (slow).

The module brings SLURM up itself with scripts/slurm_localhost.sh (idempotent; apt-get installs slurm-wlm and
munge when root and missing). Where SLURM cannot start, the tests are skipped with the script's reason
(shown by ``pytest -rs``).
"""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.workflows.base_evaluate import GraceBaseEvaluateWorkChain
from aiida_grace.workflows.base_train import GraceBaseTrainWorkChain
from conftest import make_dataset, script_or_skip, training_parameters

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "slurm_localhost.sh"


@pytest.fixture(scope="module")
def slurm():
    """SLURM up on localhost, or the module skipped with the reason."""
    return script_or_skip("SLURM cannot start on this machine", ["bash", str(SCRIPT)], timeout=900)


@pytest.fixture(scope="module")
def slurm_codes(slurm, aiida_profile, tmp_path_factory):
    """gracemaker and the driver as Codes on a localhost Computer with the core.slurm scheduler."""
    from aiida_grace.cli import setup_codes

    computer = orm.Computer(
        label="grace-test-slurm", hostname="localhost", transport_type="core.local", scheduler_type="core.slurm",
        workdir=str(tmp_path_factory.mktemp("slurm_work")),
    ).store()
    computer.configure(safe_interval=0.0)
    computer.set_minimum_job_poll_interval(1.0)
    computer.set_default_mpiprocs_per_machine(1)
    return setup_codes(computer)


def gracemaker_pids(folder: str) -> list[int]:
    """Processes running gracemaker in ``folder`` (the job's working directory)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.readlink(proc / "cwd") == folder and b"gracemaker" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:  # gone, or not ours to look at
            continue
    return pids


class TimeLimitAfterCheckpoint(threading.Thread):
    """Once a running SLURM job under ``workdir`` has written a training checkpoint, freeze its gracemaker
    (SIGSTOP, as a slow machine would) and lower the job's time limit to 1 minute with ``scontrol``: SLURM
    stops the job DUE TO TIME LIMIT (SIGCONT, SIGTERM, then SIGKILL) at its next limit check, whatever the
    speed of this machine. A ``max_wallclock_seconds`` of 60 could instead stop the job before gracemaker's
    first checkpoint (XLA compilation takes 20-90 s here) or never reach it (SLURM counts whole minutes)."""

    def __init__(self, workdir: str, timeout: float = 600):
        super().__init__(daemon=True)
        self.workdir, self.timeout, self.job_id = workdir, timeout, None

    def run(self):
        start = time.monotonic()
        while self.job_id is None and time.monotonic() - start < self.timeout:
            jobs = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i|%Z"], capture_output=True, text=True)
            for line in jobs.stdout.splitlines():
                job_id, folder = line.split("|", 1)
                if folder.startswith(self.workdir) and (Path(folder) / "seed/1/checkpoints/checkpoint.index").is_file():
                    for pid in gracemaker_pids(folder):
                        os.kill(pid, signal.SIGSTOP)
                    subprocess.run(["scontrol", "update", f"JobId={job_id}", "TimeLimit=1"], check=True)
                    self.job_id = job_id
            time.sleep(0.2)


def test_training_stopped_by_slurm_time_limit_continues_from_its_checkpoint(slurm_codes, cu_al_datasets):
    parameters = training_parameters(epochs=40)
    inputs = {"train": {"code": slurm_codes["gracemaker"], "driver_code": slurm_codes["driver"],
                        "dataset": cu_al_datasets["train"], "test_dataset": cu_al_datasets["test"],
                        "parameters": orm.Dict(parameters),
                        "metadata": {"options": {"max_wallclock_seconds": 600}}}}
    stopper = TimeLimitAfterCheckpoint(slurm_codes["gracemaker"].computer.get_workdir())
    stopper.start()
    results, workflow = run_get_node(GraceBaseTrainWorkChain, **inputs)
    stopper.join(timeout=1)
    assert stopper.job_id is not None, "the time limit of the first job was never lowered"

    assert workflow.is_finished_ok, (workflow.exit_status, workflow.exit_message)
    first, *rest = sorted(workflow.called, key=lambda n: n.ctime)
    assert first.get_job_id() == stopper.job_id
    assert first.exit_status == 400  # ERROR_OUT_OF_WALLTIME, from SLURM's "DUE TO TIME LIMIT"
    assert "DUE TO TIME LIMIT" in first.outputs.retrieved.base.repository.get_object_content("_scheduler-stderr.txt")
    assert first.outputs.checkpoint.has_checkpoint
    last = rest[-1]
    assert last.is_finished_ok and rest[0].inputs.parent_folder.uuid == first.outputs.remote_folder.uuid
    # continued, not restarted: the learning curve of the final job holds every epoch once
    epochs = results["learning_curve"].get_array("epoch").tolist()
    assert epochs[-1] == 40 and sorted(set(epochs)) == list(range(1, 41))  # (an epoch cut mid-way runs twice)
    epochs_before_stop = len(first.outputs.learning_curve.get_array("epoch"))
    assert 0 < epochs_before_stop < 40
    assert "Loaded checkpoint" in last.outputs.log.get_content()

    # the model evaluates through SLURM too
    evaluated, evaluation = run_get_node(GraceBaseEvaluateWorkChain, evaluate={
        "code": slurm_codes["driver"], "model": results["model"], "dataset": make_dataset(n=3, seed=80)})
    assert evaluation.is_finished_ok, evaluation.exit_message
    assert evaluated["output_dataset"].n_structures == 3
    job = evaluation.called[0]
    assert job.computer.scheduler_type == "core.slurm" and job.get_job_id() is not None
    assert evaluated["errors"]["energy_per_atom_mae"] < 0.05  # eV/atom: 40 epochs on this kind of data
