"""Speed of a distilled GRACE-FS student (C++ evaluator) against a GRACE-2L teacher (TensorFlow), per atom.

The paper (section "Model distillation") reports 34.48 ms/atom/core for GRACE-2L and 0.56 ms/atom/core for
GRACE-FS in C++: ~70x. Cost per atom depends on the architecture, not on the weights, so both models are built
untrained at the paper's sizes:

- teacher: GRACE_2LAYER_latest "small" settings = Table III's "2L" (rcut 6 Å, 8 Chebyshev functions, 32 radial
  functions, lmax 4, product order 4, 12+1 densities, 128-dim embedding), 89 elements, float64;
- students: the FS preset at its full default size, a smaller one (the ``balanced`` protocol's student), both with
  a 6 Å cutoff, and the tiny student of ``examples/distill.py`` (cutoff 5 Å); elements of the cells, float64.

Both are timed with aiida-grace's own compute-side driver (what ``grace.evaluate`` and the ``grace.distill``
speed step run: TensorFlow ``TPCalculator`` for the teacher, ``driver.fs_calculator.FSCalculator`` for the
student), each in its own process pinned to one core (``--core``; TensorFlow then runs one thread), on the same
cells: a random Cu/Al/Ni fcc alloy of 256 and 500 atoms (the teacher needs more than 20 GB at 2048;
``benchmarks/fs_student.py`` profiles the students up to 2048 atoms), ``--repeats`` timed evaluations (energy,
forces, stress) after one warm-up. The figures are therefore ms/atom/core, the paper's unit: wall time and the
process's CPU time (which another process on the same core does not stretch), with the load average (1, 5,
15 min) beside them.

The students here are untrained, so their error is not measured here: the error printed beside the figures is
that of the tiny student distilled by ``examples/distill.py`` (docs/distill.md: the extended student against its
GRACE-1L teacher, MAE on fresh structures), quoted from there; it belongs to the "tiny" row only.

    .venv/bin/python benchmarks/distill.py [--atoms 256 500] [--repeats 3] [--core 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ELEMENTS = ("Cu", "Al", "Ni")
TEACHER = {"preset": "GRACE_2LAYER_latest", "kwargs": {"lmax": [4, 3], "max_order": 4, "indicator_lmax": 1,
                                                       "n_rad_max": [32, 32], "prod_func_n_max": [32, 32],
                                                       "n_mlp_dens": 12, "n_rad_base": 8}}
STUDENTS = {
    "FS (preset full size)": {"preset": "FS", "kwargs": {}},
    "FS (balanced protocol)": {"preset": "FS", "kwargs": {"lmax": [5, 5, 4], "n_rad_max": [16, 12, 8],
                                                          "max_order": 3, "embedding_size": 32, "n_rad_base": 12}},
    # the student of examples/distill.py (aiida_grace.common.demo.TINY_FS, cutoff 5 Å), whose error is quoted
    "FS (tiny, 5 Å)": {"preset": "FS", "kwargs": {"lmax": [4, 4, 3], "n_rad_max": [12, 8, 6], "max_order": 3,
                                                  "embedding_size": 16, "n_rad_base": 8}, "rcut": 5.0},
}
# MAE of the extended distilled student against its teacher (examples/distill.py, docs/distill.md; tiny FS student
# of 1,848 parameters, 100 epochs, 120 fresh structures): downstream / unary / binary groups
STUDENT_ERROR = {"downstream": (20.5, 4.4), "unary": (6.1, 2.8), "binary": (4.4, 3.0)}  # meV/Å, meV/atom
# the driver's ``evaluate`` as aiida-grace-driver runs it, each structure's CPU time (s, all threads) noted as well:
# on a shared machine another process on the same core stretches wall time, not CPU time
DRIVER = r'''
import json, sys, time
from aiida_grace.driver import evaluate

cpu, evaluate_one = [], evaluate.evaluate_one
def timed(*args, **kwargs):
    started = time.process_time()
    result = evaluate_one(*args, **kwargs)
    cpu.append(time.process_time() - started)
    return result
evaluate.evaluate_one = timed
evaluate.run_from_settings(sys.argv[1])
print(json.dumps({"cpu_seconds": cpu}))
'''
BUILD = r'''
import sys, json, yaml
import tensorpotential  # noqa: F401  (sets TF up before it is imported)
import tensorflow as tf
from ase.data import chemical_symbols
from tensorpotential.cli.prepare import construct_model
from tensorpotential.tensorpot import TensorPotential

spec = json.loads(sys.argv[1])
elements = chemical_symbols[1:90] if spec["all_elements"] else spec["elements"]
pot, _ = construct_model({"preset": spec["preset"], "kwargs": spec["kwargs"]},
                         element_map={s: i for i, s in enumerate(sorted(elements))}, rcut=spec.get("rcut", 6.0))
tp = TensorPotential(potential=pot, param_dtype=tf.float64, seed=1)
n = int(sum(v.numpy().size for v in tp.model.trainable_variables))
tp.save_model_with_aux_computes(exact_path=spec["out"] + "/final_model")
if spec["preset"] == "FS":
    tp.export_to_yaml(spec["out"] + "/FS_model.yaml")
print(json.dumps({"n_parameters": n}))
'''


def build_model(name: str, spec: dict, folder: Path, all_elements: bool) -> dict:
    """Build an untrained model in a separate TF process (or reuse the one built in ``folder`` from the same spec,
    as with ``--keep``); returns its folder and parameter count."""
    out = folder / name.replace(" ", "_").replace("(", "").replace(")", "").replace(",", "")
    out.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({**spec, "out": str(out), "elements": list(ELEMENTS), "all_elements": all_elements})
    record = out / "build.json"
    if record.is_file() and json.loads(record.read_text())["payload"] == payload:
        return {"folder": out, **json.loads(record.read_text())["info"]}
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", BUILD, payload], capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"building {name} failed:\n{run.stderr[-3000:]}")
    info = json.loads(run.stdout.strip().splitlines()[-1])
    record.write_text(json.dumps({"payload": payload, "info": info}))
    print(f"built {name}: {info['n_parameters']:,} parameters in {time.perf_counter() - started:.0f} s", flush=True)
    return {"folder": out, **info}


def cells(n_atoms: int, repeats: int, seed: int = 1) -> list:
    """``repeats`` + 1 copies of one random Cu/Al/Ni fcc alloy with at least ``n_atoms`` atoms, rattled (each copy
    differently by 0.01 Å)."""
    from ase.build import bulk

    from aiida_grace.common.distill import supercell_to

    rng = np.random.default_rng(seed)
    atoms = supercell_to(bulk("Cu", "fcc", a=3.7, cubic=True), n_atoms)
    atoms.set_chemical_symbols(list(rng.choice(ELEMENTS, size=len(atoms))))
    atoms.positions += rng.normal(0, 0.05, size=atoms.positions.shape)
    copies = []
    for _ in range(repeats + 1):  # each copy moved a little: ASE calculators return cached results otherwise
        copy = atoms.copy()
        copy.positions += rng.normal(0, 0.01, size=copy.positions.shape)
        copies.append(copy)
    return copies


def time_model(folder: Path, calculator: str, structures: list, workdir: Path, core: int) -> dict:
    """Evaluate ``structures`` with the driver in its own process on core ``core``; warm time per atom (s/atom)
    and the load average (1, 5, 15 min) when it ended."""
    from ase.io import write

    from aiida_grace.common.distill import warm_seconds_per_atom
    from aiida_grace.common.evaluate_input import validate_settings

    workdir.mkdir(parents=True, exist_ok=True)
    write(workdir / "structures.extxyz", structures, format="extxyz")
    settings = validate_settings({"calculator": calculator})
    settings["model"] = {"saved_model": str(folder / "final_model"), "fs_yaml": str(folder / "FS_model.yaml")}
    (workdir / "evaluate.yaml").write_text(yaml.safe_dump(settings))
    run = subprocess.run([sys.executable, "-c", DRIVER, str(workdir / "evaluate.yaml")], capture_output=True,
                         text=True, env={**os.environ, "GRACE_NO_UPDATE_CHECK": "1"},
                         preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    if run.returncode:
        raise RuntimeError(f"evaluation failed (exit status {run.returncode}; -9: killed, e.g. out of memory):\n"
                           f"{run.stderr[-3000:]}")
    summary = json.loads((workdir / "summary.json").read_text())
    cpu = json.loads(run.stdout.strip().splitlines()[-1])["cpu_seconds"]
    return {"seconds_per_atom": warm_seconds_per_atom(summary["structure_seconds"], len(structures[0])),
            "cpu_seconds_per_atom": warm_seconds_per_atom(cpu, len(structures[0])),
            "first_seconds": summary["structure_seconds"][0], "load_seconds": summary["load_seconds"],
            "load": os.getloadavg()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--atoms", type=int, nargs="+", default=[256, 500],
                        help="cell sizes; the teacher needs > 20 GB of memory at 2048 atoms")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--core", type=int, default=0, help="the one core each timed process runs on")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the models and runs (default: temporary)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        teacher = build_model("teacher 2L", TEACHER, root, all_elements=True)
        students = {name: build_model(name, spec, root, all_elements=False) for name, spec in STUDENTS.items()}
        rows = []
        for n_atoms in args.atoms:
            structures = cells(n_atoms, args.repeats)
            size = len(structures[0])
            t = time_model(teacher["folder"], "tensorflow", structures, root / f"run_teacher_{size}", args.core)
            for name, student in students.items():
                s = time_model(student["folder"], "fs_cpp", structures,
                               root / f"run_{name[:12]}_{size}".replace(" ", "_"), args.core)
                rows.append((size, name, student["n_parameters"], t, s))
                print(f"  {size} atoms, {name}: teacher {t['seconds_per_atom'] * 1e3:.2f} ms/atom (load "
                      f"{t['load'][0]:.2f}), student {s['seconds_per_atom'] * 1e3:.3f} ms/atom (load "
                      f"{s['load'][0]:.2f})", flush=True)

    print(f"\nteacher: GRACE-2L (Table III '2L'), 89 elements, {teacher['n_parameters']:,} parameters, TensorFlow "
          f"(TPCalculator); students in python-ace's C++ evaluator (driver.fs_calculator.FSCalculator); float64; "
          f"each process pinned to core {args.core} of {os.cpu_count()}: ms/atom/core; warm median of "
          f"{args.repeats} evaluations (energy, forces, stress): wall time, and CPU time of the process")
    print(f"{'atoms':>5} | {'student':<24} | {'params':>8} | {'teacher ms/atom':>15} | {'student ms/atom':>15} | "
          f"{'speedup':>7} | {'CPU: teacher':>12} | {'student':>7} | {'speedup':>7} | load average at the end of "
          f"teacher / student (1, 5, 15 min)")
    print("-" * 170)
    for size, name, n_parameters, t, s in rows:
        wall = (t["seconds_per_atom"] * 1e3, s["seconds_per_atom"] * 1e3)
        cpu = (t["cpu_seconds_per_atom"] * 1e3, s["cpu_seconds_per_atom"] * 1e3)
        print(f"{size:>5} | {name:<24} | {n_parameters:>8,} | {wall[0]:>15.2f} | {wall[1]:>15.3f} | "
              f"{wall[0] / wall[1]:>6.1f}x | {cpu[0]:>12.2f} | {cpu[1]:>7.3f} | {cpu[0] / cpu[1]:>6.1f}x | "
              f"{' '.join(f'{x:.2f}' for x in t['load'])} / {' '.join(f'{x:.2f}' for x in s['load'])}")
    print("student error (not measured here, the students above are untrained): MAE of the extended distilled "
          "tiny student (the 'tiny' row's architecture) against its GRACE-1L teacher, examples/distill.py "
          "(docs/distill.md): "
          + "; ".join(f"{group} {f:.1f} meV/Å, {e:.1f} meV/atom" for group, (f, e) in STUDENT_ERROR.items()))


if __name__ == "__main__":
    main()
