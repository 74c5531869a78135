"""Evaluate or relax many structures with one model in one process, grouped by size.

Reads ``evaluate.yaml`` and the structure files it names (``structure_files``, read in order and concatenated;
default ``structures.extxyz``); writes ``results.extxyz`` (labelled, input order, floats exact)
and ``summary.json``. Structures are processed smallest first so each padded shape compiles once (XLA);
each finished structure is appended to ``results.partial.extxyz`` so a job cut by the walltime keeps
its work.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import yaml

from ..common.extxyz import read_extxyz, write_extxyz
from ..common.files import EVALUATE
from ..common.structures import with_labels
from .relax import relax

PARTIAL = EVALUATE.partial


def make_calculator(settings: dict):
    """The ASE calculator: TensorFlow ``TPCalculator`` (SavedModel) or the C++ GRACE-FS evaluator."""
    model = settings["model"]
    if settings.get("calculator", "tensorflow") == "fs_cpp":
        from .fs_calculator import FSCalculator

        return FSCalculator(model["fs_yaml"])
    from tensorpotential.calculator import TPCalculator

    return TPCalculator(model["saved_model"])


def evaluate_one(atoms, calc, settings: dict):
    """Label (and relax) one structure; returns the labelled copy."""
    work = atoms.copy()
    work.info = {k: v for k, v in atoms.info.items()}
    work.calc = calc
    if settings.get("mode") == "relax":
        converged, steps = relax(work, settings.get("relax", {}))
        work.info["relax_converged"] = converged
        work.info["relax_steps"] = steps
    energy = work.get_potential_energy()
    forces = work.get_forces()
    stress = work.get_stress() if work.pbc.all() and settings.get("compute_stress", True) else None
    return with_labels(work, energy=float(energy), forces=np.array(forces), stress=stress)


def read_structures(settings: dict, workdir: Path) -> list:
    """The job's structures: every file of ``settings['structure_files']`` in order, concatenated."""
    structures = []
    for name in settings.get("structure_files") or [EVALUATE.structures]:
        structures.extend(read_extxyz(workdir / name))
    return structures


def run(settings: dict, workdir: Path = Path(".")) -> dict:
    structures = read_structures(settings, workdir)
    start = time.perf_counter()
    calc = make_calculator(settings)
    load_seconds = time.perf_counter() - start

    done = _resume(workdir / PARTIAL, len(structures))
    order = sorted(range(len(structures)), key=lambda i: (len(structures[i]), i))
    compute_start = time.perf_counter()
    seconds = [None] * len(structures)  # wall time of each structure (s), first calls include XLA compilation
    with open(workdir / PARTIAL, "a") as partial:
        for index in order:
            if index in done:
                continue
            started = time.perf_counter()
            result = evaluate_one(structures[index], calc, settings)
            seconds[index] = time.perf_counter() - started
            result.info["grace_index"] = index
            write_extxyz(partial, result)
            partial.flush()
            done[index] = result
    compute_seconds = time.perf_counter() - compute_start

    results = [done[i] for i in range(len(structures))]
    for atoms in results:
        atoms.info.pop("grace_index", None)
    with open(workdir / EVALUATE.results, "w") as handle:
        write_extxyz(handle, results)
    (workdir / PARTIAL).unlink()
    not_converged = [i for i, a in enumerate(results) if a.info.get("relax_converged") is False]
    summary = {
        "n_structures": len(results),
        "mode": settings.get("mode", "static"),
        "calculator": settings.get("calculator", "tensorflow"),
        "n_sizes": len({len(a) for a in structures}),
        "not_converged": not_converged,
        "load_seconds": load_seconds,
        "compute_seconds": compute_seconds,
        "seconds_per_atom": compute_seconds / max(1, sum(len(a) for a in structures)),
        "structure_seconds": seconds,
    }
    (workdir / EVALUATE.summary).write_text(json.dumps(summary, indent=1))
    return summary


def _resume(path: Path, count: int) -> dict:
    """Structures finished by an earlier, interrupted run of this job (keyed by input index)."""
    if not path.is_file() or path.stat().st_size == 0:
        return {}
    try:
        finished = read_extxyz(path)
    except Exception:  # a frame cut mid-write: start over rather than trust it
        path.unlink()
        return {}
    return {int(a.info["grace_index"]): a for a in finished if 0 <= int(a.info.get("grace_index", -1)) < count}


def run_from_settings(settings_path: str) -> int:
    with open(settings_path) as handle:
        settings = yaml.safe_load(handle)
    os.environ.setdefault("GRACE_NO_UPDATE_CHECK", "1")
    summary = run(settings, Path(settings_path).resolve().parent)
    print(json.dumps(summary), flush=True)
    return 0
