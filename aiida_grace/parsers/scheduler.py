"""What the scheduler says about a finished job, for the parsers."""

from __future__ import annotations

SLURM_TIME_LIMIT = "DUE TO TIME LIMIT"  # slurmstepd's "*** JOB n CANCELLED AT ... DUE TO TIME LIMIT ***"


def stopped_at_time_limit(node, retrieved, job_stderr: str = "") -> bool:
    """The scheduler stopped the job at its time limit: exit status 120 from the scheduler parser, or SLURM's
    time-limit line in the job's stderr (where slurmstepd writes it) or in the retrieved scheduler stderr."""
    if node.exit_status == 120:
        return True
    repository = retrieved.base.repository
    name = node.get_option("scheduler_stderr") or "_scheduler-stderr.txt"
    scheduler_stderr = repository.get_object_content(name) if name in repository.list_object_names() else ""
    return SLURM_TIME_LIMIT in job_stderr + scheduler_stderr
