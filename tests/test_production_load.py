"""The production engine under load (slow): 200 processes at once on 4 daemon workers, PostgreSQL + RabbitMQ, a worker
SIGKILLed and RabbitMQ restarted (daemon stopped around it, as planned maintenance) mid-run; the same load undisturbed
on SQLite + ZeroMQ, the embedded default, which is also the reference graph (processes, nodes and links by type).
Opt-in: RabbitMQ restarted under the running workers, which aiida-core 2.9.4 does not survive (BROKER_RESTART).

The module brings the services up with scripts/services.sh (idempotent; apt-get installs postgresql and
rabbitmq-server when root and missing); where they cannot start, it is skipped with the script's reason (shown by
``pytest -rs``). Each run is ``benchmarks/daemon_load.py`` in a subprocess with a profile of its own in a temporary
AIIDA_PATH (this process has the test profile loaded); the model is the session's tiny trained one, exported.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import script_or_skip

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "scripts" / "services.sh"
BENCHMARK = ROOT / "benchmarks" / "daemon_load.py"
LOAD = ["--workers", "4", "--processes", "200", "--batches", "3", "--base-evaluate", "3", "--evaluate", "3"]
HEAVY = {"GraceBatchEvaluateWorkChain": 3, "GraceBaseEvaluateWorkChain": 3 + 2 * 3, "GraceEvaluateCalculation": 3 + 3 + 2 * 3}


@pytest.fixture(scope="module")
def services():
    """PostgreSQL and RabbitMQ up on localhost, or the module skipped with the reason."""
    return script_or_skip("PostgreSQL/RabbitMQ cannot start on this machine", ["bash", str(SERVICES)], timeout=600)


@pytest.fixture(scope="module")
def model_dir(trained_model, tmp_path_factory):
    """The session's tiny model exported (with its parameter count, so the runs need not import TensorFlow)."""
    folder = trained_model.export(tmp_path_factory.mktemp("load_model") / "model")
    (folder / "daemon_load_model.json").write_text(
        json.dumps({"n_parameters": trained_model.base.attributes.get("n_parameters")}))
    return folder


def daemon_load(model_dir, *arguments, timeout=900) -> dict:
    """benchmarks/daemon_load.py's JSON summary (the last line of its output)."""
    env = {key: value for key, value in os.environ.items() if key not in ("AIIDA_PATH", "AIIDA_PROFILE")}
    result = subprocess.run([sys.executable, str(BENCHMARK), "--model-dir", str(model_dir), *LOAD, *arguments],
                            capture_output=True, text=True, timeout=timeout + 300, env=env, cwd=ROOT)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and lines, f"daemon_load failed ({result.returncode}): {result.stderr[-3000:]}"
    summary = json.loads(lines[-1])
    print(json.dumps(summary, indent=1))
    return summary


@pytest.fixture(scope="module")
def sqlite(model_dir):
    """The load undisturbed on the embedded default (SQLite + ZeroMQ): the reference run."""
    return daemon_load(model_dir, "--storage", "sqlite")


@pytest.fixture(scope="module")
def disturbed(services, model_dir, sqlite):
    """Production: a daemon worker SIGKILLed once 30% of the processes have terminated (circus starts another),
    RabbitMQ restarted at 60% with submissions paused and the daemon stopped around it."""
    return daemon_load(model_dir, "--storage", "psql", "--disturb")


@pytest.fixture(scope="module")
def broker_restarted(services, model_dir, sqlite):
    """A worker SIGKILLed at 30%, RabbitMQ restarted at 60% under the running workers (then the daemon stopped,
    the tasks repaired, the daemon started again). Opt-in: it fails on aiida-core 2.9.4 (BROKER_RESTART)."""
    if os.environ.get("AIIDA_GRACE_LOAD_BROKER_RESTART") != "1":
        pytest.skip("the RabbitMQ restart under running workers runs with AIIDA_GRACE_LOAD_BROKER_RESTART=1 (known "
                    "to fail on aiida-core 2.9.4, see BROKER_RESTART in this module)")
    return daemon_load(model_dir, "--storage", "psql", "--disturb", "--broker-restart", "live")


def assert_all_finished_once(summary):
    assert summary["processes"] >= 200, summary["processes"]
    assert summary["failed"] == [] and summary["not_terminated"] == []
    assert summary["finished_ok"] == summary["processes"]
    for label, count in HEAVY.items():
        assert summary["processes_by_label"][label] == count, label
    # each job ran exactly once: its working directory is in the ledger once, and no directory twice
    assert summary["jobs"] == HEAVY["GraceEvaluateCalculation"] == summary["ledger_entries"]
    assert summary["duplicates"] == {} and summary["jobs_not_in_ledger"] == []


def assert_same_graph(summary, reference):
    """No node or link lost, none made twice: the same processes, nodes and links by type as the reference run."""
    assert summary["processes_by_label"] == reference["processes_by_label"]
    assert summary["nodes_by_type"] == reference["nodes_by_type"]
    assert summary["links_by_type"] == reference["links_by_type"]


def test_a_killed_worker_and_a_restarted_broker_lose_nothing_and_run_nothing_twice(disturbed, sqlite):
    assert disturbed["storage"] == "core.psql_dos" and disturbed["broker"] == "core.rabbitmq"
    events = {event["event"]: event for event in disturbed["events"]}
    kill, restart = events["sigkill_worker"], events["restart_rabbitmq"]
    assert kill["active"] > 0 and kill["active_jobs"] > 0  # killed mid-run, jobs under way
    assert restart["active"] > 0 and restart["rc"] == 0 and restart["mode"] == "planned"  # processes in flight
    assert kill["pid"] not in disturbed["workers_after"] and len(disturbed["workers_after"]) == 4  # replaced
    assert_all_finished_once(disturbed)
    assert disturbed["submit_errors"] == []
    assert_same_graph(disturbed, sqlite)


BROKER_RESTART = (
    "measured with aiida-core 2.9.4 and Debian's RabbitMQ 3.10.8 (2 runs): after a RabbitMQ restart mid-load a few "
    "processes except (TimeoutError: add_broadcast_subscriber after 10 seconds, while the broker is away; a revived "
    "calcfunction 'does not have a saved checkpoint'), a work chain step runs twice (an extra join_parts; without "
    "the daemon restart, a batch excepts on a duplicate RETURN link) and a submission made while the broker is away "
    "fails, leaving its process in 'created'; no job ran twice (the ledger)")


@pytest.mark.xfail(reason=BROKER_RESTART, strict=False)
def test_a_broker_restarted_under_running_workers_loses_nothing(broker_restarted, sqlite):
    restart = {event["event"]: event for event in broker_restarted["events"]}["restart_rabbitmq"]
    assert restart["active"] > 0 and restart["rc"] == 0 and "revived" in restart["recovery"]
    assert broker_restarted["duplicates"] == {}  # no job ran twice, even here
    assert_all_finished_once(broker_restarted)
    assert_same_graph(broker_restarted, sqlite)


def test_the_same_load_on_sqlite_finishes_every_process_once(sqlite):
    """The embedded default takes the same load (measured: no 'database is locked' at 4 workers and 4 clients on
    2 cores); its daemon log's complaints are counted in the summary either way."""
    assert sqlite["storage"] == "core.sqlite_dos" and sqlite["broker"] == "core.zeromq"
    assert_all_finished_once(sqlite)
    assert sqlite["submit_errors"] == []
    print(f"SQLite: {sqlite['processes_per_minute']} processes per minute, 'database is locked' "
          f"{sqlite['daemon_log']['database_is_locked']} times in the daemon log")
