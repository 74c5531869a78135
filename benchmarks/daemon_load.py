"""Daemon load: a few hundred processes submitted at once to several daemon workers, optionally disturbed.

    python benchmarks/daemon_load.py --storage psql [--disturb] [--workers 4] [--model-dir DIR] [--output FILE]
    python benchmarks/daemon_load.py --storage sqlite ...

Makes its own profile in a temporary AIIDA_PATH (``--aiida-path`` to choose one, ``--keep`` to keep it): ``psql``
is ``aiida-grace setup --production`` (PostgreSQL + RabbitMQ, both up on localhost: ``bash scripts/services.sh``),
``sqlite`` is ``aiida-grace setup`` (SQLite + the built-in ZeroMQ broker). The load, heavy processes first:

- ``--batches`` grace.evaluate.batch work chains, each over one dataset of 8 Cu/Al cells cut into jobs of 4
  (cut_dataset, two grace.base_evaluate → grace.evaluate jobs, join_parts, summarize_batch: 8 processes, 2 jobs);
- ``--base-evaluate`` grace.base_evaluate work chains (a grace.evaluate job each: 2 processes);
- ``--evaluate`` grace.evaluate jobs;
- calcfunctions of the plugin (emt_dataset, split_dataset, merge_datasets in turn) up to ``--processes`` in all.

The load is submitted by ``--submitters`` client processes side by side (4; one client alone is the bottleneck on
2 cores) while this process watches. Every job runs the aiida-grace driver (TensorFlow, a tiny GRACE-1L model)
through a Code whose prepend_text appends the job's working directory to a ledger file: a directory written twice is
a job run twice. ``--disturb`` SIGKILLs one daemon worker once ``--kill-at`` of the processes have terminated (circus
starts another) and restarts RabbitMQ (``scripts/services.sh restart-broker``, root) at ``--restart-broker-at`` (0:
not) of the processes terminated. ``--broker-restart planned`` (the default) waits until every process is submitted,
stops the daemon (its workers hand their tasks back), restarts RabbitMQ and starts the daemon again, as an operator
does (docs/setups.md); ``live`` restarts RabbitMQ under the running workers, then stops the daemon, repairs the
broker's tasks (as ``verdi process repair``) and starts it again (``--no-recovery``: not), which aiida-core 2.9.4
does not survive cleanly. Each event records what was still active.

Printed (JSON, last line of stdout; also to ``--output``): processes (process nodes created by the load),
finished_ok, failed (pk, process, state, exit status), not_terminated, jobs, ledger entries, duplicates, jobs
missing from the ledger, nodes and links created by the load (total and per type), wall time from the first
submission to the last termination, processes per minute, load averages, the events, and what the daemon log says
(``database is locked``, tracebacks, lines with errors).

The model: ``--model-dir`` holds an exported model (reused), or a tiny one is trained (``grace.train`` run in this
process, before the clock starts, ~1-2 min) and exported there.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "scripts" / "services.sh"
BIN = Path(sys.executable).parent
PROCESSES_PER_BATCH = 8  # batch, cut_dataset, 2 × (base_evaluate, evaluate), join_parts, summarize_batch


def log(message: str) -> None:
    print(f"[daemon_load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", choices=("psql", "sqlite"), default="psql",
                        help="psql: PostgreSQL + RabbitMQ (aiida-grace setup --production); sqlite: SQLite + ZeroMQ")
    parser.add_argument("--profile", default=None, help="profile name (default: load-<storage>-<pid>)")
    parser.add_argument("--aiida-path", default=None, help="AIIDA_PATH to use (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary AIIDA_PATH and the database")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--submitters", type=int, default=4, help="client processes submitting side by side")
    parser.add_argument("--processes", type=int, default=200, help="processes in all (calcfunctions fill up)")
    parser.add_argument("--batches", type=int, default=4, help="grace.evaluate.batch work chains (2 jobs each)")
    parser.add_argument("--base-evaluate", type=int, default=4, help="grace.base_evaluate work chains")
    parser.add_argument("--evaluate", type=int, default=4, help="grace.evaluate jobs")
    parser.add_argument("--disturb", action="store_true", help="SIGKILL a worker and restart RabbitMQ mid-run")
    parser.add_argument("--kill-at", type=float, default=0.3, help="fraction terminated at the SIGKILL (0: none)")
    parser.add_argument("--restart-broker-at", type=float, default=0.6, help="fraction terminated at the restart (0: none)")
    parser.add_argument("--broker-restart", choices=("planned", "live"), default="planned",
                        help="planned: daemon stopped around the restart; live: under the running workers")
    parser.add_argument("--no-recovery", dest="recovery", action="store_false",
                        help="after the RabbitMQ restart, do not stop the daemon, run `verdi process repair` and "
                             "start it again (see what AiiDA does on its own)")
    parser.add_argument("--model-dir", default=None, help="exported model to reuse, or where to export the trained one")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the load to terminate")
    parser.add_argument("--output", default=None, help="also write the JSON summary here")
    return parser.parse_args(argv)


# -- profile, codes, model --------------------------------------------------------------------------------------
def make_profile(args) -> None:
    command = [str(BIN / "aiida-grace"), "setup", "--profile", args.profile]
    if args.storage == "psql":
        command.append("--production")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}").splitlines()
        raise SystemExit(f"aiida-grace setup failed: {lines[-1]}")


def ledger_code(ledger: Path):
    """The driver Code again, its prepend_text appending the job's working directory to ``ledger``."""
    from aiida import orm

    from aiida_grace.cli.setup import CODE_PREPEND

    driver = orm.load_code("grace-driver@localhost")
    return orm.InstalledCode(
        label="grace-driver-ledger", computer=driver.computer, filepath_executable=str(driver.filepath_executable),
        description="aiida-grace driver; every job appends its working directory to a ledger",
        prepend_text=f'{CODE_PREPEND}\necho "$PWD" >> "{ledger}"',
    ).store()


def load_or_train_model(model_dir: str | None):
    """The model exported in ``model_dir``, or a tiny float64 GRACE-1L trained now (and exported there, with its
    parameter count beside it so that reusing it does not import TensorFlow)."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_grace.calculations.train import GraceTrainCalculation
    from aiida_grace.common.demo import training_parameters
    from aiida_grace.data import GraceDatasetData, GraceModelData
    from aiida_grace.functions.synthetic import emt_structures

    sidecar = Path(model_dir or ".") / "daemon_load_model.json"
    if model_dir and (Path(model_dir) / "final_model").is_dir():
        n_parameters = json.loads(sidecar.read_text())["n_parameters"] if sidecar.is_file() else None
        model = GraceModelData(model_dir, n_parameters=n_parameters)
        model.label = "daemon load model"
        return model.store()
    log("training a tiny model (grace.train, run in this process)")
    train = GraceDatasetData(emt_structures(["Cu", "Al"], 16, 10, 0.05, 0.03)).store()
    test = GraceDatasetData(emt_structures(["Cu", "Al"], 4, 11, 0.05, 0.03)).store()
    results, node = run_get_node(GraceTrainCalculation, code=orm.load_code("gracemaker@localhost"),
                                 driver_code=orm.load_code("grace-driver@localhost"), dataset=train,
                                 test_dataset=test, parameters=orm.Dict(training_parameters()))
    if not node.is_finished_ok:
        raise SystemExit(f"training <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    if model_dir:
        results["model"].export(model_dir)
        sidecar.write_text(json.dumps({"n_parameters": results["model"].base.attributes.get("n_parameters")}))
    return results["model"]


# -- the load ---------------------------------------------------------------------------------------------------
FUNCTIONS = ("emt_dataset", "split_dataset", "merge_datasets")


def prepare_load(args, code, model) -> list[dict]:
    """Every top-level submission as {kind, label, inputs: {port: pk}}, heavy ones first. The input nodes are
    stored now, before the clock starts: a dataset per job; the calcfunctions share theirs (caching is off, so
    each one runs)."""
    from aiida import orm

    from aiida_grace.data import GraceDatasetData
    from aiida_grace.functions.synthetic import emt_structures

    def dataset(n, seed):
        return GraceDatasetData(emt_structures(["Cu", "Al"], n, seed, 0.05, 0.03)).store().pk

    def stored(node):
        return node.store().pk

    shared = {"code": code.pk, "model": model.pk, "parameters": stored(orm.Dict({"mode": "static"}))}
    load = [{"kind": "batch", "label": f"batch_{i:02d}",
             "inputs": {**shared, "dataset": dataset(8, 1000 + i),
                        "batching": stored(orm.Dict({"max_structures_per_job": 4}))}} for i in range(args.batches)]
    load += [{"kind": "base_evaluate", "label": f"base_evaluate_{i:02d}",
              "inputs": {**shared, "dataset": dataset(4, 2000 + i)}} for i in range(args.base_evaluate)]
    load += [{"kind": "evaluate", "label": f"evaluate_{i:02d}", "inputs": {**shared, "dataset": dataset(4, 3000 + i)}}
             for i in range(args.evaluate)]
    function_inputs = {
        "emt_dataset": {"elements": stored(orm.List(["Cu"])), "n_structures": stored(orm.Int(2)),
                        "seed": stored(orm.Int(5)), "rattle": stored(orm.Float(0.02)),
                        "max_strain": stored(orm.Float(0.01))},
        "split_dataset": {"dataset": dataset(4, 4000), "test_fraction": stored(orm.Float(0.25)),
                          "seed": stored(orm.Int(6))},
        "merge_datasets": {"a": dataset(2, 4001), "b": dataset(1, 4002)},
    }
    for i in range(max(0, args.processes - expected_processes(args, heavy_only=True))):
        kind = FUNCTIONS[i % len(FUNCTIONS)]
        load.append({"kind": kind, "label": f"{kind}_{i:03d}", "inputs": function_inputs[kind]})
    return load


def expected_processes(args, heavy_only: bool = False) -> int:
    heavy = PROCESSES_PER_BATCH * args.batches + 2 * args.base_evaluate + args.evaluate
    return heavy if heavy_only else max(args.processes, heavy)


def launch(entry: dict):
    """(process, inputs) of one submission of :func:`prepare_load`."""
    from aiida import orm

    from aiida_grace.calculations.evaluate import GraceEvaluateCalculation
    from aiida_grace.functions.dataset import merge_datasets, split_dataset
    from aiida_grace.functions.synthetic import emt_dataset
    from aiida_grace.workflows.base_evaluate import GraceBaseEvaluateWorkChain
    from aiida_grace.workflows.batch_evaluate import GraceBatchEvaluateWorkChain

    inputs = {port: orm.load_node(pk) for port, pk in entry["inputs"].items()}
    metadata = {"label": entry["label"]}
    if entry["kind"] == "batch":
        return GraceBatchEvaluateWorkChain, {**inputs, "metadata": metadata}
    if entry["kind"] == "base_evaluate":
        return GraceBaseEvaluateWorkChain, {"evaluate": inputs, "metadata": metadata}
    if entry["kind"] == "evaluate":
        return GraceEvaluateCalculation, {**inputs, "metadata": metadata}
    function = {"emt_dataset": emt_dataset, "split_dataset": split_dataset, "merge_datasets": merge_datasets}
    return function[entry["kind"]], {**inputs, "metadata": metadata}


def submitter(profile: str, entries: list[dict], results, gate) -> None:
    """One submitting client (a process of its own): submits ``entries`` in order, puts their PKs on ``results``;
    each submission holds one slot of ``gate`` (a semaphore with a slot per client: a planned broker restart takes
    them all, pausing the submissions as an operator would)."""
    from aiida import load_profile
    from aiida.engine import submit

    load_profile(profile, allow_switch=True)
    pks, errors = [], []
    try:
        for entry in entries:
            process, inputs = launch(entry)
            try:
                with gate:
                    pks.append(submit(process, **inputs).pk)
            except Exception as exception:  # noqa: BLE001 (the broker away: the node may exist without its task)
                errors.append(f"{entry['label']}: {type(exception).__name__}: {exception}"[:300])
                time.sleep(2)
    finally:
        results.put((pks, errors))


def process_states(since) -> list[tuple]:
    """(pk, process_label, process_state, exit_status, node_type) of every process node created since ``since``."""
    from aiida import orm

    query = orm.QueryBuilder().append(orm.ProcessNode, filters={"ctime": {">=": since}}, project=[
        "id", "attributes.process_label", "attributes.process_state", "attributes.exit_status", "node_type"])
    return query.all()


TERMINAL = ("finished", "excepted", "killed")


def daemon_client():
    from aiida.engine.daemon.client import get_daemon_client

    client = get_daemon_client()
    client._daemon_timeout = 120  # circus answers slowly on a loaded machine
    return client


def worker_pids(client) -> list[int]:
    return sorted(int(pid) for pid, info in client.get_worker_info()["info"].items() if isinstance(info, dict))


def active_summary(states) -> dict:
    """Counts of the processes not yet terminated, by state, and of the active jobs."""
    active = [s for s in states if s[2] not in TERMINAL]
    return {"terminated": len(states) - len(active), "active": len(active),
            "active_by_state": dict(collections.Counter(s[2] or "created" for s in active)),
            "active_jobs": sum(1 for s in active if s[4].startswith("process.calculation.calcjob"))}


def disturb(what: str, client, args, gate) -> dict:
    if what == "sigkill_worker":
        pids = worker_pids(client)
        os.kill(pids[0], signal.SIGKILL)
        return {"pid": pids[0], "workers_before": pids}
    clock = time.monotonic()
    planned = args.broker_restart == "planned"
    if planned:  # submissions paused (every slot of the gate taken, in-flight ones finish first), the workers
        for _ in range(args.submitters):  # stopped: they hand their tasks back to RabbitMQ, which keeps them
            gate.acquire()
        client.stop_daemon(wait=True)
    result = subprocess.run(["bash", str(SERVICES), "restart-broker"], capture_output=True, text=True)
    if planned:
        client.start_daemon(number_workers=args.workers)
        for _ in range(args.submitters):
            gate.release()
    return {"rc": result.returncode, "output": (result.stdout + result.stderr).strip().splitlines()[-1:],
            "mode": args.broker_restart, "took_s": round(time.monotonic() - clock, 1)}


def repair() -> dict:
    """``verdi process repair`` without its first step (terminating the profile's other database connections,
    which would cut this script's and the submitting clients'): with the daemon stopped, acknowledge the broker's
    duplicate tasks and those of terminated processes, and send a task again for every active process without one."""
    from aiida.engine.processes.control import get_active_processes, get_process_tasks, iterate_process_tasks
    from aiida.manage import get_manager

    manager = get_manager()
    manager.reset_broker()  # a fresh connection to the restarted RabbitMQ
    broker = manager.get_broker()
    active, tasks = set(get_active_processes(project="id")), get_process_tasks(broker)
    dropped, seen = [], set()
    for task in iterate_process_tasks(broker):
        pid = task.body.get("args", {}).get("pid")
        if pid not in active or pid in seen:
            with task.processing() as outcome:
                outcome.set_result(False)
            dropped.append(pid)
        seen.add(pid)
    revived = sorted(active - set(tasks))
    controller = manager.get_process_controller()
    for pid in revived:
        controller.continue_process(pid, nowait=True, no_reply=True)
    return {"active": len(active), "tasks": len(tasks), "dropped_tasks": dropped, "revived": revived}


def recover(args, client, start: bool = True) -> dict:
    """What AiiDA needs after the broker restarted: the daemon stopped (its workers may still hold processes whose
    tasks RabbitMQ gave out again), the tasks repaired (:func:`repair`), the daemon started again."""
    clock = time.monotonic()
    if client.is_daemon_running:
        client.stop_daemon(wait=True)
    outcome = repair()
    if start:
        client.start_daemon(number_workers=args.workers)
    return {**outcome, "took_s": round(time.monotonic() - clock, 1)}


def run_load(args, load) -> dict:
    import multiprocessing

    from aiida.common import timezone

    client = daemon_client()
    log(f"starting the daemon with {args.workers} workers")
    client.start_daemon(number_workers=args.workers)
    for _ in range(120):
        try:
            if len(worker_pids(client)) >= args.workers:
                break
        except Exception:  # noqa: BLE001 (circus not answering yet)
            pass
        time.sleep(1)

    context = multiprocessing.get_context("spawn")
    results, gate = context.Queue(), context.Semaphore(args.submitters)
    slices = [load[k::args.submitters] for k in range(args.submitters)]  # heavy ones first in every slice
    clients = [context.Process(target=submitter, args=(args.profile, part, results, gate)) for part in slices if part]
    started = timezone.now()
    clock = time.monotonic()
    for process in clients:
        process.start()
    submitted, submit_errors, submit_s, reported = [], [], None, 0

    expected = expected_processes(args)
    events, loads = [], []
    pending = [(what, at) for what, at in (("sigkill_worker", args.kill_at), ("restart_rabbitmq", args.restart_broker_at))
               if args.disturb and at > 0]
    last, stuck_since = clock, None
    while True:
        time.sleep(2)
        while reported < len(clients) and not results.empty():
            pks, errors = results.get()
            submitted += pks
            submit_errors += errors
            reported += 1
        if submit_s is None and reported == len(clients):
            submit_s = time.monotonic() - clock
            log(f"{len(submitted)} submitted by {len(clients)} clients in {submit_s:.1f} s")
        states = process_states(started)
        loads.append(os.getloadavg()[0])
        summary = active_summary(states)
        if pending and summary["terminated"] >= pending[0][1] * expected:
            what = pending.pop(0)[0]
            event = {"event": what, "at_s": round(time.monotonic() - clock, 1), "submitted_so_far": len(states),
                     **summary}
            event.update(disturb(what, client, args, gate))
            if what == "restart_rabbitmq" and args.broker_restart == "live" and args.recovery:
                event["recovery"] = recover(args, client)
            log(f"{what}: {event}")
            events.append(event)
        if time.monotonic() - last > 30:
            log(f"{summary['terminated']} of {len(states)} terminated ({summary['active_by_state']})")
            last = time.monotonic()
        if submit_s is not None and summary["active"] == 0:
            break
        stuck = summary["active"] and set(summary["active_by_state"]) == {"created"}
        stuck_since = (stuck_since or time.monotonic()) if stuck else None
        if (args.disturb and args.broker_restart == "live" and args.recovery and submit_s is not None and not pending and stuck_since
                and time.monotonic() - stuck_since > 60 and not any(e["event"] == "repair" for e in events)):
            log(f"only processes in 'created' left for 60 s: repairing ({summary})")  # a task lost on the way
            events.append({"event": "repair", "at_s": round(time.monotonic() - clock, 1), **summary,
                           "recovery": recover(args, client)})
        if time.monotonic() - clock > args.timeout:
            log(f"timeout after {args.timeout:.0f} s: {summary}")
            break
    wall = time.monotonic() - clock
    log(f"load terminated after {wall:.1f} s; stopping the daemon")
    for process in clients:
        process.join(timeout=30)
    try:
        workers_after = worker_pids(client)
    except Exception as exception:  # noqa: BLE001
        workers_after = str(exception)
    client.stop_daemon(wait=True)
    return {"started": started, "submitted": submitted, "submit_errors": submit_errors, "submit_s": round(submit_s or wall, 1),
            "wall_s": round(wall, 1), "events": events, "workers_after": workers_after,
            "load_average": {"max": round(max(loads, default=0.0), 2),
                             "mean": round(sum(loads) / max(len(loads), 1), 2)}}


# -- counting -----------------------------------------------------------------------------------------------------
def graph_counts(since) -> dict:
    """Nodes created since ``since`` by type, and links touching them by type."""
    from aiida import orm

    nodes = orm.QueryBuilder().append(orm.Node, filters={"ctime": {">=": since}}, project=["id", "node_type"]).all()
    new = {pk for pk, _ in nodes}
    links = orm.QueryBuilder().append(orm.Node, tag="source", project="id").append(
        orm.Node, with_incoming="source", project="id", edge_project="type").all()
    touching = [kind for source, target, kind in links if source in new or target in new]
    return {"nodes": len(nodes), "nodes_by_type": dict(sorted(collections.Counter(t for _, t in nodes).items())),
            "links": len(touching), "links_by_type": dict(sorted(collections.Counter(touching).items()))}


def ledger_counts(ledger: Path, since) -> dict:
    from aiida import orm

    lines = ledger.read_text().split() if ledger.is_file() else []
    counted = collections.Counter(lines)
    workdirs = orm.QueryBuilder().append(orm.CalcJobNode, filters={"ctime": {">=": since}},
                                         project="attributes.remote_workdir").all(flat=True)
    return {"jobs": len(workdirs), "ledger_entries": len(lines),
            "duplicates": {path: n for path, n in counted.items() if n > 1},
            "jobs_not_in_ledger": sorted(str(w) for w in workdirs if w not in counted)}


def daemon_log_counts() -> dict:
    client = daemon_client()
    text = Path(client.daemon_log_file).read_text(errors="replace") if Path(client.daemon_log_file).is_file() else ""
    lines = text.splitlines()
    exceptions = collections.Counter(
        line.split(":")[0].strip() for line in lines
        if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt|Excepted)\b", line.strip()))
    return {"database_is_locked": text.count("database is locked"), "tracebacks": text.count("Traceback"),
            "exceptions": dict(exceptions.most_common(8)),
            "error_lines": sum(1 for line in lines if "| ERROR" in line or "| CRITICAL" in line),
            "warning_lines": sum(1 for line in lines if "| WARNING" in line),
            "sample_errors": [line[:300] for line in lines if "| ERROR" in line or "| CRITICAL" in line][:5]}


def summarise(args, run: dict, ledger: Path) -> dict:
    from aiida.manage import get_manager

    states = process_states(run["started"])
    failed = [{"pk": pk, "process": label, "state": state, "exit_status": status}
              for pk, label, state, status, _ in states if state in TERMINAL and not (state == "finished" and status == 0)]
    not_terminated = [{"pk": pk, "process": label, "state": state} for pk, label, state, _, _ in states
                      if state not in TERMINAL]
    profile = get_manager().get_profile()
    return {
        "profile": profile.name, "storage": profile.storage_backend, "broker": profile.process_control_backend,
        "workers": args.workers, "submitters": args.submitters, "disturbed": args.disturb,
        "submitted": len(run["submitted"]),
        "broker_restart": args.broker_restart if args.disturb and args.restart_broker_at > 0 else None,
        "recovery": args.recovery if args.disturb else None, "submit_errors": run["submit_errors"],
        "processes": len(states), "finished_ok": sum(1 for s in states if s[2] == "finished" and s[3] == 0),
        "failed": failed, "not_terminated": not_terminated,
        "processes_by_label": dict(sorted(collections.Counter(s[1] for s in states).items())),
        **ledger_counts(ledger, run["started"]), **graph_counts(run["started"]),
        "submit_s": run["submit_s"], "wall_s": run["wall_s"],
        "processes_per_minute": round(len(states) / (run["wall_s"] / 60), 1) if run["wall_s"] else None,
        "load_average": run["load_average"], "cpus": os.cpu_count(), "events": run["events"],
        "workers_after": run["workers_after"], "daemon_log": daemon_log_counts(),
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    args.profile = args.profile or f"load-{args.storage}-{os.getpid()}"
    temporary = args.aiida_path is None
    aiida_path = Path(args.aiida_path or tempfile.mkdtemp(prefix="daemon_load_"))
    os.environ["AIIDA_PATH"] = str(aiida_path)  # before aiida reads its configuration
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"  # verdi of this Python for the daemon
    try:
        log(f"profile {args.profile} ({args.storage}) in AIIDA_PATH={aiida_path}")
        make_profile(args)
        from aiida import load_profile

        load_profile(args.profile, allow_switch=True)
        ledger = aiida_path / f"ledger-{args.profile}.txt"
        code = ledger_code(ledger)
        model = load_or_train_model(args.model_dir)
        load = prepare_load(args, code, model)
        run = run_load(args, load)
        log("daemon stopped; counting")
        summary = summarise(args, run, ledger)
        log("counted")
    finally:
        if temporary and not args.keep:
            cleanup(args, aiida_path)
    text = json.dumps(summary, default=str)
    if args.output:
        Path(args.output).write_text(json.dumps(summary, indent=1, default=str))
    print(text, flush=True)
    return summary


def cleanup(args, aiida_path: Path) -> None:
    """Stop the daemon if still up, drop the profile's PostgreSQL database, remove the temporary AIIDA_PATH."""
    try:
        client = daemon_client()
        if client.is_daemon_running:
            client.stop_daemon(wait=True)
    except Exception as exception:  # noqa: BLE001 (no profile loaded: nothing to stop)
        log(f"daemon not stopped: {exception}")
    if args.storage == "psql":
        try:
            from aiida.manage import get_manager

            manager = get_manager()
            if manager.get_profile() is not None:
                manager.get_profile_storage().close()
            from aiida_grace.cli.production import drop_database

            drop_database(f"aiida-{args.profile}", {"host": "localhost", "port": 5432, "user": "postgres",
                                                    "password": ""})
        except Exception as exception:  # noqa: BLE001
            log(f"database aiida-{args.profile} not dropped: {exception}")
    shutil.rmtree(aiida_path, ignore_errors=True)
    log("cleaned up")


if __name__ == "__main__":
    main()
