"""``grace.evaluate`` against the loop a user writes: a default ``TPCalculator`` over the same cells, in one run.

    verdi run benchmarks/evaluate.py                  # trains a tiny float64 Cu/Al model first (EMT data)
    verdi run benchmarks/evaluate.py --model <PK> --repeat 3

The cells: ``--count`` (300) EMT-labelled random fcc Cu/Al cells of 4 to 32 atoms (eight sizes), shuffled. Three
contenders, each a fresh process that pays its Python, TensorFlow and model start-up, run interleaved
``--repeat`` times (the machine is shared; the best of each counts and every run is printed):

- plain: ``TPCalculator(saved_model)`` with its defaults, ``get_potential_energy/forces/stress`` per cell in
  input order: what a user writes;
- driver: ``aiida-grace-driver evaluate`` on the cells, as the job runs it, without AiiDA;
- job: a real ``grace.evaluate`` CalcJob through this profile (upload, direct scheduler, retrieval, parsing and
  storing the labelled dataset), caching off.

The driver and the job keep XLA's compiled shape on disk (``driver/compile_cache.py``); each gets its own empty
cache folder, so run 1 compiles ("cold") and later runs load the compiled shape ("warm", as every job after the
first of a campaign on one machine). Prints the wall times, the throughput ratios (plain ÷ driver, plain ÷ job),
max |ΔE| (eV) and max |ΔF| (eV/Å) of each against the plain loop, and the load average (1 min) before and after
each run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from aiida import orm
from aiida.engine import run_get_node
from aiida.manage.caching import disable_caching

from aiida_grace.calculations.evaluate import GraceEvaluateCalculation
from aiida_grace.common.extxyz import write_extxyz
from aiida_grace.data import GraceDatasetData
from aiida_grace.functions.synthetic import emt_structures

# `verdi run` sets __file__ to the bare file name: find this folder from argv[0] instead
sys.path.insert(0, str(Path(sys.argv[0] if __name__ == "__main__" else __file__).resolve().parent))
from kappa import tiny_model  # noqa: E402

SIZES = ((1, 1, 1), (2, 1, 1), (3, 1, 1), (2, 2, 1), (5, 1, 1), (3, 2, 1), (7, 1, 1), (2, 2, 2))  # 4..32 atoms
PLAIN_LOOP = """
import sys, time
start = time.perf_counter()
import numpy as np
from ase.io import read
from tensorpotential.calculator import TPCalculator

calc = TPCalculator(sys.argv[1])
loaded = time.perf_counter()
energies, forces = [], []
for atoms in read(sys.argv[2], index=":"):
    atoms.calc = calc
    energies.append(atoms.get_potential_energy())
    forces.append(atoms.get_forces())
    atoms.get_stress()
np.savez(sys.argv[3], energies=np.array(energies), forces=np.concatenate(forces),
         seconds=[loaded - start, time.perf_counter() - loaded])
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--driver", default="grace-driver@localhost", help="aiida-grace driver Code label")
    parser.add_argument("--gracemaker", default="gracemaker@localhost", help="gracemaker Code (to train a model)")
    parser.add_argument("--model", help="PK/UUID of a GraceModelData with Cu and Al (default: train a tiny one)")
    parser.add_argument("--count", type=int, default=300, help="number of cells")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved runs of each contender")
    return parser.parse_args()


def mixed_cells(count: int, seed: int = 5) -> list:
    """``count`` EMT-labelled fcc Cu/Al cells of 4-32 atoms in a shuffled order."""
    cells = emt_structures(["Cu", "Al"], count, seed, rattle=0.05, max_strain=0.03, supercells=SIZES)
    return [cells[i] for i in np.random.default_rng(seed).permutation(count)]


def timed(command: list[str], cwd: Path, **env) -> float:
    """Wall time (s) of a fresh process."""
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "GRACE_NO_UPDATE_CHECK": "1", "TF_CPP_MIN_LOG_LEVEL": "2", **env})
    return time.perf_counter() - start


def plain(saved_model: Path, cells_file: Path, workdir: Path) -> tuple[float, np.ndarray, np.ndarray, str]:
    seconds = timed([sys.executable, "-c", PLAIN_LOOP, str(saved_model), str(cells_file), "plain.npz"], workdir)
    arrays = np.load(workdir / "plain.npz")
    load, loop = arrays["seconds"]
    return seconds, arrays["energies"], arrays["forces"], f"imports and model load {load:.1f} s, loop {loop:.1f} s"


def driver(saved_model: Path, cells_file: Path, workdir: Path, run: int) -> tuple[float, list]:
    from aiida_grace.common.extxyz import read_extxyz

    folder = workdir / f"driver_{run}"
    folder.mkdir()
    (folder / "structures.extxyz").symlink_to(cells_file)
    (folder / "evaluate.yaml").write_text(yaml.safe_dump({"mode": "static", "model": {"saved_model": str(saved_model)}}))
    seconds = timed([sys.executable, "-m", "aiida_grace.driver", "evaluate", "evaluate.yaml"], folder,
                    AIIDA_GRACE_XLA_CACHE=str(workdir / "xla_driver"))
    return seconds, read_extxyz(folder / "results.extxyz")


def job(code, model, dataset, cache: Path) -> tuple[float, list, dict]:
    os.environ["AIIDA_GRACE_XLA_CACHE"] = str(cache)  # the job's driver inherits this process's environment
    start = time.perf_counter()
    with disable_caching():
        results, node = run_get_node(GraceEvaluateCalculation, code=code, model=model, dataset=dataset,
                                     parameters=orm.Dict({"mode": "static"}))
    seconds = time.perf_counter() - start
    if not node.is_finished_ok:
        raise SystemExit(f"grace.evaluate <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    return seconds, results["output_dataset"].to_ase(), results["output_parameters"].get_dict()


def deviations(labelled: list, energies: np.ndarray, forces: np.ndarray) -> tuple[float, float]:
    """max |ΔE| (eV) and max |ΔF| (eV/Å) of labelled structures against the plain loop's arrays."""
    return (float(np.abs(np.array([a.get_potential_energy() for a in labelled]) - energies).max()),
            float(np.abs(np.concatenate([a.get_forces() for a in labelled]) - forces).max()))


def main():
    args = parse_args()
    code = orm.load_code(args.driver)
    model = orm.load_node(args.model) if args.model else tiny_model(orm.load_code(args.gracemaker), code)
    cells = mixed_cells(args.count)
    dataset = GraceDatasetData.from_ase(cells).store()
    print(f"{len(cells)} cells, {sum(len(a) for a in cells)} atoms, sizes {sorted({len(a) for a in cells})}, "
          f"model <{model.pk}>, {os.cpu_count()} CPUs")
    times = {"plain": [], "driver": [], "job": []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        saved_model = model.export(workdir / "model") / "final_model"
        cells_file = workdir / "cells.extxyz"
        with open(cells_file, "w") as handle:
            write_extxyz(handle, cells)
        for run in range(args.repeat):
            for name in times:
                load_before = os.getloadavg()[0]
                if name == "plain":
                    seconds, energies, forces, detail = plain(saved_model, cells_file, workdir)
                elif name == "driver":
                    seconds, labelled = driver(saved_model, cells_file, workdir, run)
                    detail = "max |ΔE| %.1e eV, max |ΔF| %.1e eV/Å" % deviations(labelled, energies, forces)
                else:
                    seconds, labelled, summary = job(code, model, dataset, workdir / "xla_job")
                    detail = ("max |ΔE| %.1e eV, max |ΔF| %.1e eV/Å" % deviations(labelled, energies, forces)
                              + f"; in the job: load {summary['load_seconds']:.1f} s, "
                                f"compute {summary['compute_seconds']:.1f} s")
                times[name].append(seconds)
                cache = "" if name == "plain" else ("cold" if run == 0 else "warm")
                print(f"run {run + 1} {name:<6} {cache:<4} {seconds:6.1f} s   load {load_before:4.1f} → "
                      f"{os.getloadavg()[0]:4.1f}   {detail}", flush=True)
    plain_best = min(times["plain"])
    for label, runs in (("cold (run 1)", slice(0, 1)), (f"warm (best of runs 2-{args.repeat})", slice(1, None))):
        if times["job"][runs]:
            driver_best, job_best = min(times["driver"][runs]), min(times["job"][runs])
            print(f"{label}: plain loop {plain_best:.1f} s (best of {args.repeat}), driver {driver_best:.1f} s "
                  f"({plain_best / driver_best:.2f}×), grace.evaluate job {job_best:.1f} s "
                  f"({plain_best / job_best:.2f}×)")


if __name__ == "__main__":
    main()
