"""A real remote computer: SSH (core.ssh) into SLURM (core.slurm), running a compute-only install (slow).

The "cluster" is this machine: ``scripts/sshd_localhost.sh`` starts an sshd on 127.0.0.1 with a dedicated client
key, ``scripts/slurm_localhost.sh`` a one-node SLURM, and ``scripts/install.sh --compute-only`` the compute side
without aiida-core (in ``<repo>/.venv-compute``, or ``AIIDA_GRACE_COMPUTE_VENV``). The Codes point into that venv
(``setup_codes(computer, bin_dir=...)``), so every job below runs there, never in this test's environment.
Training, then evaluation and κ (the grace.thermal_conductivity WorkChain: relaxation and forces with grace.evaluate,
fc2/fc3 and κ with grace.kappa) go through that computer, and each result is compared with the same inputs run on
the local computer. Where sshd, SLURM or the compute-only install cannot be set up, the tests are skipped with the
reason (shown by ``pytest -rs``).
"""

from __future__ import annotations

import getpass
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from conftest import SMALL_CASE, run_training, script_or_skip, training_parameters

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SSHD_LOG = Path("/var/log/aiida-grace-sshd.log")  # where scripts/sshd_localhost.sh has its sshd log
# The three set-ups below are session-scoped: pytest makes session fixtures first, so a module that cannot get a
# cluster is skipped before the local training (the session's ``trained``) is run for nothing.
@pytest.fixture(scope="session")
def compute_venv():
    """The compute-only venv, built or brought up to date by the install script (minutes the first time)."""
    venv = Path(os.environ.get("AIIDA_GRACE_COMPUTE_VENV", ROOT / ".venv-compute"))
    start = time.monotonic()
    script_or_skip("the compute-only install cannot be made", ["bash", str(ROOT / "scripts/install.sh"), "--compute-only"],
               timeout=3600, env={**os.environ, "AIIDA_GRACE_VENV": str(venv)})
    print(f"compute-only venv {venv} ready in {time.monotonic() - start:.0f} s")
    return venv


@pytest.fixture(scope="session")
def sshd():
    """(port, client key) of an sshd on localhost that accepts the dedicated key."""
    script = ROOT / "scripts/sshd_localhost.sh"
    script_or_skip("sshd cannot start on this machine", ["bash", str(script)], timeout=600)
    key = script_or_skip("sshd_localhost.sh has no key", ["bash", str(script), "key"], timeout=10)
    return int(os.environ.get("AIIDA_GRACE_SSH_PORT", 2222)), key


@pytest.fixture(scope="session")
def slurm():
    script_or_skip("SLURM cannot start on this machine", ["bash", str(ROOT / "scripts/slurm_localhost.sh")], timeout=900)


@pytest.fixture(scope="module")
def cluster(compute_venv, sshd, slurm, aiida_profile, tmp_path_factory):
    """A Computer reached over SSH with SLURM as its scheduler, and the Codes of the compute-only venv on it."""
    from aiida_grace.cli import setup_codes

    port, key = sshd
    computer = orm.Computer(
        label="grace-test-ssh-slurm", hostname="localhost", transport_type="core.ssh", scheduler_type="core.slurm",
        workdir=str(tmp_path_factory.mktemp("cluster_work")),
    ).store()
    computer.configure(username=getpass.getuser(), port=port, key_filename=key, look_for_keys=False,
                       allow_agent=False, load_system_host_keys=False, key_policy="AutoAddPolicy", timeout=30,
                       safe_interval=0.1)
    computer.set_minimum_job_poll_interval(1.0)
    computer.set_default_mpiprocs_per_machine(1)
    return setup_codes(computer, bin_dir=str(compute_venv / "bin"))


def logins() -> int:
    """Public-key logins the sshd of sshd_localhost.sh has accepted so far."""
    return SSHD_LOG.read_text(errors="replace").count("Accepted publickey") if SSHD_LOG.is_file() else 0


@pytest.fixture(scope="module")
def remote_trained(cluster, cu_al_datasets):
    """The ``trained`` fixture's training (same datasets, same parameters), run on the cluster."""
    before = logins()
    start = time.monotonic()
    results, node = run_training(cluster, cu_al_datasets["train"], cu_al_datasets["test"], training_parameters())
    print(f"remote training: {time.monotonic() - start:.0f} s")
    return results, node, logins() - before, slurm_records([node])


@pytest.fixture(scope="module")
def remote_kappa(cluster, remote_trained, cu_unitcell):
    """The local ``small_kappa_run`` (fcc Cu, SMALL_CASE) with the cluster-trained model, on the cluster."""
    from aiida_grace.workflows.thermal_conductivity import GraceThermalConductivityWorkChain

    builder = GraceThermalConductivityWorkChain.get_builder_from_protocol(
        cluster["driver"], remote_trained[0]["model"], cu_unitcell, overrides=SMALL_CASE)
    start = time.monotonic()
    results, node = run_get_node(builder)
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    print(f"κ on the cluster: {time.monotonic() - start:.0f} s")
    return results, node, slurm_records(calls(node).values())


@pytest.fixture(scope="module")
def local_kappa(small_kappa_run):
    return small_kappa_run


def slurm_records(jobs) -> dict[int, str]:
    """``scontrol show job`` of each job, taken as soon as a run ends: SLURM forgets a job MinJobAge (300 s with
    slurm_localhost.sh's configuration) after its end, so the last job of a run is always still known."""
    return {job.pk: subprocess.run(["scontrol", "show", "job", job.get_job_id()], capture_output=True,
                                   text=True).stdout for job in jobs}


def assert_ran_on_the_cluster(job, records: dict[int, str]):
    """``job`` went through SSH to SLURM: transport and scheduler of its computer, a SLURM job id, COMPLETED in the
    job's remote folder where SLURM still knew it, the compute-only venv's executable in the submit script."""
    computer = job.computer
    assert (computer.transport_type, computer.scheduler_type) == ("core.ssh", "core.slurm")
    job_id = job.get_job_id()
    assert job_id and job_id.isdigit()
    if records[job.pk]:
        assert f"JobId={job_id} " in records[job.pk] and "JobState=COMPLETED" in records[job.pk]
        assert f"WorkDir={job.get_remote_workdir()}" in records[job.pk]
    retrieved = job.outputs.retrieved.base.repository.list_object_names()
    assert "_scheduler-stdout.txt" in retrieved and "_scheduler-stderr.txt" in retrieved
    script = job.base.repository.get_object_content("_aiidasubmit.sh")
    assert "#SBATCH" in script and f"'{job.inputs.code.filepath_executable}'" in script


# -- the compute-only install ---------------------------------------------------------------------------------
def test_compute_only_install_has_no_aiida(compute_venv):
    python = str(compute_venv / "bin" / "python")
    missing = subprocess.run([python, "-c", "import aiida"], capture_output=True, text=True)
    assert missing.returncode != 0 and "No module named 'aiida'" in missing.stderr
    # the layers rule: every module of aiida_grace.driver and aiida_grace.common imports there, and none pulls aiida
    check = subprocess.run([python, "-c", """
import importlib, pkgutil, sys
import aiida_grace.common, aiida_grace.driver
names = [info.name for package in (aiida_grace.common, aiida_grace.driver)
         for info in pkgutil.iter_modules(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(len(names), sorted(m for m in sys.modules if m.split(".")[0] == "aiida"))
"""], capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert check.returncode == 0, check.stderr
    count, pulled = check.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(count) > 40 and pulled == "[]"
    for tool in ("aiida-grace-driver", "gracemaker", "grace_uq", "phono3py"):
        assert (compute_venv / "bin" / tool).is_file(), tool
    usage = subprocess.run([str(compute_venv / "bin" / "aiida-grace-driver"), "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "evaluate" in usage.stdout and "kappa" in usage.stdout
    # a second run is quick and leaves the venv as it is
    start = time.monotonic()
    again = subprocess.run(["bash", str(ROOT / "scripts/install.sh"), "--compute-only"], capture_output=True,
                           text=True, env={**os.environ, "AIIDA_GRACE_VENV": str(compute_venv)})
    assert again.returncode == 0 and "up to date" in again.stdout and time.monotonic() - start < 10


# -- jobs over SSH into SLURM ---------------------------------------------------------------------------------
def test_training_on_the_cluster_equals_the_local_training(remote_trained, trained, compute_venv):
    (results, node, ssh_logins, records), (local, local_node) = remote_trained, trained
    assert node.is_finished_ok
    assert records[node.pk], "SLURM does not know the training job"
    assert_ran_on_the_cluster(node, records)
    if SSHD_LOG.is_file():
        assert ssh_logins > 0  # AiiDA logged in through the test's sshd
    assert local_node.computer.transport_type == "core.local"
    assert node.inputs.code.filepath_executable == compute_venv / "bin" / "gracemaker"
    assert node.inputs.driver_code.filepath_executable == compute_venv / "bin" / "aiida-grace-driver"
    # CPU training in float64 with a fixed seed is deterministic: the same learning curve, epoch by epoch
    remote_curve, local_curve = results["learning_curve"], local["learning_curve"]
    assert sorted(remote_curve.get_arraynames()) == sorted(local_curve.get_arraynames())
    for name in local_curve.get_arraynames():
        np.testing.assert_allclose(remote_curve.get_array(name), local_curve.get_array(name), rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    assert results["model"].elements == local["model"].elements


def calls(workchain) -> dict:
    """The jobs of a grace.thermal_conductivity run by step: relax, forces (grace.evaluate), kappa (grace.kappa)."""
    from aiida.common.links import LinkType

    steps = {link.link_label: link.node for link in workchain.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()}
    return {step: steps[step].called[-1] for step in ("relax", "forces", "kappa")}  # inside the restart wrappers


def test_evaluation_and_kappa_on_the_cluster_equal_the_local_ones(remote_kappa, local_kappa):
    """The cluster's model on the cluster against the local model locally, job by job: the relaxation (grace.evaluate,
    relax mode), the forces of the displaced supercells (grace.evaluate), then fc2/fc3 and κ (grace.kappa)."""
    (remote, node, records), (local, local_node) = remote_kappa, local_kappa
    jobs, local_jobs = calls(node), calls(local_node)
    assert {job.process_label for job in jobs.values()} == {"GraceEvaluateCalculation", "GraceKappaCalculation"}
    assert records[jobs["kappa"].pk], "SLURM does not know the κ job"
    for job in jobs.values():
        assert job.is_finished_ok
        assert_ran_on_the_cluster(job, records)
    for job in local_jobs.values():
        assert job.computer.transport_type == "core.local"
    # relaxation: the same cell and energy
    relaxed, local_relaxed = remote["relaxed_structure"], local["relaxed_structure"]
    np.testing.assert_allclose(relaxed.cell, local_relaxed.cell, rtol=0, atol=1e-10)
    energy, local_energy = (j["relax"].outputs.output_dataset.to_ase()[0].get_potential_energy()
                            for j in (jobs, local_jobs))
    assert energy == pytest.approx(local_energy, rel=1e-12, abs=1e-12)
    # the forces of every displaced supercell
    forces, local_forces = (j["forces"].outputs.output_dataset.to_ase() for j in (jobs, local_jobs))
    assert len(forces) == len(local_forces) == 22  # 21 fc3 and 1 fc2 displacements of fcc Cu
    for a, b in zip(forces, local_forces):
        np.testing.assert_allclose(a.get_forces(), b.get_forces(), rtol=1e-8, atol=1e-10)
    # κ
    kappa, reference = remote["kappa"], local["kappa"]
    assert not local["output_parameters"]["has_imaginary_modes"]  # a stable lattice: κ means something
    assert 1 < reference.get_array("kappa_TOT_ave")[0] < 1000
    for name in ("kappa_TOT_ave", "kappa_P_RTA", "kappa_C", "kappa_TOT_RTA"):
        np.testing.assert_allclose(kappa.get_array(name), reference.get_array(name), rtol=1e-8, atol=1e-12,
                                   err_msg=name)
    assert remote["output_parameters"].get_dict() | {"seconds": None} == \
        local["output_parameters"].get_dict() | {"seconds": None}
