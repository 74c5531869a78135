"""grace.kappa parser: a job stopped at the scheduler's time limit before phono3py finished exits 400; a job
that died otherwise exits 301 with the tail of its stderr (fast)."""

SLURM_TIME_LIMIT = "slurmstepd-vm: error: *** JOB 9 ON vm CANCELLED AT 2026-11-25T02:07:24 DUE TO TIME LIMIT ***\n"


def stopped_job(tmp_path, scheduler_stderr: str):
    """The files a kappa job leaves when stopped while phono3py solves: the log, no results."""
    retrieved = tmp_path / "r"
    retrieved.mkdir()
    (retrieved / "driver.err").write_text("phono3py: computing fc3 ...\n")
    (retrieved / "_scheduler-stderr.txt").write_text(scheduler_stderr)
    return retrieved


def test_time_limit_is_a_walltime(parse_recorded, tmp_path):
    outputs, call = parse_recorded("grace.kappa", {}, stopped_job(tmp_path, "UserWarning: ...\n" + SLURM_TIME_LIMIT))
    assert call.exit_status == 400 and "walltime" in call.exit_message and outputs == {}


def test_scheduler_exit_status_120_is_a_walltime(parse_recorded, tmp_path):
    _, call = parse_recorded("grace.kappa", {}, stopped_job(tmp_path, ""), exit_status=120)
    assert call.exit_status == 400


def test_a_crash_is_not_a_walltime(parse_recorded, tmp_path):
    retrieved = stopped_job(tmp_path, "/bin/bash: line 12: 4242 Killed aiida-grace-driver kappa kappa.yaml\n")
    (retrieved / "driver.err").write_text("Traceback (most recent call last):\nKeyError: 'phono3py_role'\n")
    _, call = parse_recorded("grace.kappa", {}, retrieved)
    assert call.exit_status == 301 and "KeyError: 'phono3py_role'" in call.exit_message
