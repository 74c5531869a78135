"""Where a GRACE-FS student's time goes in python-ace's C++ evaluator: neighbour list vs evaluator, per atom.

For each student of ``benchmarks/distill.py`` (untrained, the paper's sizes: cost does not depend on the weights)
and each cell size (random Cu/Al/Ni fcc alloys, as there), on one pinned core, the median CPU time of the process
over ``--repeats`` evaluations (energy, forces, stress; after one warm-up) of:

- ``PyGRACEFSCalculator`` (python-ace's ASE calculator) in total, and its ``build_atomic_env`` (pyace's C++
  neighbour list: every atom against every atom of the periodic cluster, quadratic);
- ``FSCalculator`` (aiida_grace.driver.fs_calculator, what the driver runs) in total, its ``atomic_environment``
  (matscipy's linked-cell neighbour list plus the hand-over to pyace) and the evaluator call alone (``compute``).

    .venv/bin/python benchmarks/fs_student.py [--atoms 256 500 2048] [--repeats 5] [--core 0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from distill import STUDENTS, build_model, cells


def median_ms_per_atom(function, structures) -> float:
    """Median CPU time of ``function(atoms)`` over ``structures`` (ms/atom): on a shared machine another process on
    the same core stretches wall time, not CPU time."""
    seconds = []
    for atoms in structures:
        started = time.process_time()
        function(atoms)
        seconds.append(time.process_time() - started)
    return float(np.median(seconds)) / len(structures[0]) * 1e3


def labels(calc):
    """Energy, forces and stress of one cell with ``calc``, as the evaluate driver asks for them."""
    def evaluate(atoms):
        atoms = atoms.copy()
        atoms.calc = calc
        atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    return evaluate


def profile(fs_yaml: str, structures: list) -> dict:
    """ms/atom of each piece on ``structures`` (the first one is the warm-up)."""
    from pyace.asecalc import PyGRACEFSCalculator
    from pyace.catomicenvironment import build_atomic_env

    from aiida_grace.driver.fs_calculator import FSCalculator, atomic_environment

    pyace, ours = PyGRACEFSCalculator(fs_yaml), FSCalculator(fs_yaml)
    for calc in (pyace, ours):
        labels(calc)(structures[0])
    timed = structures[1:]
    environments = [atomic_environment(a, ours.cutoff, ours.species_index) for a in timed]
    evaluated = iter(environments)
    return {
        "pyace total": median_ms_per_atom(labels(pyace), timed),
        "pyace neighbours": median_ms_per_atom(
            lambda a: build_atomic_env(a.positions, np.array(a.cell), a.numbers, True, pyace.cutoff), timed),
        "ours total": median_ms_per_atom(labels(ours), timed),
        "ours neighbours": median_ms_per_atom(lambda a: atomic_environment(a, ours.cutoff, ours.species_index),
                                              timed),
        "evaluator": median_ms_per_atom(lambda a: ours.engine.compute(next(evaluated)), timed),
        "neighbours per atom": float(np.mean([len(n) for n in environments[0].neighbour_list])),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--atoms", type=int, nargs="+", default=[256, 500, 2048])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--core", type=int, default=0, help="the one core everything runs on")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the models (default: temporary)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        students = {name: build_model(name, spec, root, all_elements=False) for name, spec in STUDENTS.items()}
        os.sched_setaffinity(0, {args.core})  # after the builds (TensorFlow, separate processes)
        print(f"\none pinned core ({args.core}); median CPU time of {args.repeats} evaluations (energy, forces, "
              f"stress) after a warm-up; ms/atom; float64; NL: neighbour list")
        print(f"{'student':<24} | {'atoms':>5} | {'nbrs':>4} | {'pyace total':>11} | {'its NL':>6} | "
              f"{'ours total':>10} | {'our NL':>6} | {'evaluator':>9} | {'speedup':>7} | {'NL share':>8} | load")
        print("-" * 122)
        for n_atoms in args.atoms:
            structures = cells(n_atoms, args.repeats)
            for name, student in students.items():
                p = profile(str(student["folder"] / "FS_model.yaml"), structures)
                print(f"{name:<24} | {len(structures[0]):>5} | {p['neighbours per atom']:>4.0f} | "
                      f"{p['pyace total']:>11.3f} | {p['pyace neighbours']:>6.3f} | {p['ours total']:>10.3f} | "
                      f"{p['ours neighbours']:>6.3f} | {p['evaluator']:>9.3f} | "
                      f"{p['pyace total'] / p['ours total']:>6.2f}x | "
                      f"{p['ours neighbours'] / p['ours total']:>8.0%} | "
                      f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
