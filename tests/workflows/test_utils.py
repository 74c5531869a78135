"""Workflow helpers: the failure reason of a child, bare job or restart wrapper (fast)."""

from aiida_grace.workflows.utils import failure_reason
from restart_helpers import failed_child, failed_wrapper


def test_a_wrapper_failure_names_its_last_job_and_why(grace_computer):
    wrapper = failed_wrapper("grace.base_md")
    job = failed_child(grace_computer, "grace.md", "ERROR_NON_FINITE_ENERGY", caller=wrapper, step=30)
    assert failure_reason(job) == "exit status 410: the total energy became non-finite at step 30 (the run blew up)"
    assert failure_reason(wrapper) == (
        f"exit status 402: The process failed with an unhandled failure.; its last job <{job.pk}>: "
        "exit status 410: the total energy became non-finite at step 30 (the run blew up)")
