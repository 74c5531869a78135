"""A training work chain on the daemon survives SIGKILL of the daemon mid-run (slow, ZeroMQ broker)."""

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from aiida import orm
from aiida.common.datastructures import CalcJobState
from aiida.engine import submit

from aiida_grace.workflows.base_train import GraceBaseTrainWorkChain
from conftest import training_parameters

pytestmark = pytest.mark.slow


def wait_for(condition, timeout: float, what: str, interval: float = 0.5):
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"not reached within {timeout:.0f} s: {what}")
        time.sleep(interval)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def training_job_running(workflow) -> bool:
    """The work chain's grace.train job is with the scheduler and gracemaker has started its log."""
    jobs = [n for n in workflow.called if isinstance(n, orm.CalcJobNode)]
    if not jobs or jobs[0].get_state() != CalcJobState.WITHSCHEDULER:
        return False
    return os.path.isfile(os.path.join(jobs[0].get_remote_workdir(), "seed", "1", "log.txt"))


@pytest.fixture
def daemon(daemon_client, monkeypatch):
    """The session's daemon client, patient with a loaded machine (circus calls time out after 60 s, not 2 s),
    starting ``verdi`` of this Python (the venv need not be on PATH); the daemon is stopped afterwards."""
    from aiida.engine.daemon import client
    from aiida.engine.daemon.client import DaemonNotRunningException

    verdi = Path(sys.executable).with_name("verdi")
    if client.VERDI_BIN is None and verdi.is_file():
        monkeypatch.setattr(client, "VERDI_BIN", str(verdi))
    monkeypatch.setattr(daemon_client, "_daemon_timeout", 60)
    yield daemon_client
    try:
        daemon_client.stop_daemon(wait=True)
    except DaemonNotRunningException:
        pass


def test_killed_daemon_loses_nothing(daemon, grace_codes, cu_al_datasets, trained):
    """Same inputs as the undisturbed ``trained`` run: SIGKILL the worker and circus while gracemaker runs,
    start the daemon again; the same single job finishes and gives the same model metrics."""
    reference, _ = trained
    inputs = {"train": {"code": grace_codes["gracemaker"], "driver_code": grace_codes["driver"],
                        "dataset": cu_al_datasets["train"], "test_dataset": cu_al_datasets["test"],
                        "parameters": orm.Dict(training_parameters())}}
    if not daemon.is_daemon_running:
        daemon.start_daemon(number_workers=1)
    workflow = submit(GraceBaseTrainWorkChain, **inputs)
    wait_for(lambda: training_job_running(workflow), 240, "the training job running under the scheduler")

    workers = [int(pid) for pid, info in daemon.get_worker_info()["info"].items()
               if isinstance(info, dict)]
    circus = daemon.get_daemon_pid()
    for pid in [*workers, circus]:  # the worker first, then circus so it cannot respawn one
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not any(alive(pid) for pid in [*workers, circus]), 30, "the daemon processes gone")
    assert not workflow.is_terminated

    daemon.start_daemon(number_workers=1)
    wait_for(lambda: workflow.is_terminated, 300, f"work chain <{workflow.pk}> terminated")

    assert workflow.is_finished_ok, (workflow.exit_status, workflow.exit_message)
    jobs = [n for n in workflow.called if isinstance(n, orm.CalcJobNode)]
    assert len(jobs) == 1 and jobs[0].is_finished_ok  # the running job was picked up again, not resubmitted
    job = jobs[0]
    assert set(job.outputs) >= {"remote_folder", "retrieved", "model", "output_parameters", "learning_curve", "log"}
    for label in ("model", "output_parameters", "learning_curve"):  # returned by the work chain, same nodes
        assert workflow.outputs[label].uuid == job.outputs[label].uuid

    # the same result as the undisturbed run of the same inputs
    metrics, expected = workflow.outputs.output_parameters.get_dict(), reference["output_parameters"].get_dict()
    assert metrics["n_epochs"] == expected["n_epochs"] == 4
    for key in ("train_energy_per_atom_mae", "test_energy_per_atom_mae", "test_forces_rmse", "best_test_loss"):
        assert metrics[key] == pytest.approx(expected[key], rel=1e-6), key
    assert workflow.outputs.model.elements == reference["model"].elements

    # no node lost: every node created since the submission belongs to this work chain's graph
    graph = {workflow.pk, *(n.pk for n in workflow.called_descendants)}
    graph |= {link.node.pk for pk in list(graph) for link in orm.load_node(pk).base.links.get_outgoing().all()}
    query = orm.QueryBuilder().append(orm.Node, filters={"ctime": {">=": workflow.ctime}}, project="id")
    created = query.all(flat=True)
    assert set(created) <= graph, set(created) - graph
