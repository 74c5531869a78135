"""Evaluate or relax many structures with one model in one process.

Reads ``evaluate.yaml`` and the structure files it names (``structure_files``, read in order and concatenated;
default ``structures.extxyz``); writes ``results.extxyz`` (labelled, input order, floats exact) and
``summary.json``. Static TensorFlow jobs run many structures per forward pass, all passes padded to one shape
(:mod:`.batched`: one XLA compilation); TensorFlow relaxations of the ions run side by side in lockstep, one
padded pass per optimizer step for all of them (:mod:`.lockstep`); cell relaxations, GRACE-FS and structures too
big for a pass run one at a time, largest first, so that smaller ones reuse a compiled padded shape. Each finished
pass is appended to ``results.partial.extxyz`` so a job cut by the walltime keeps its work.
"""

from __future__ import annotations

import json
import re
import os
import time
from pathlib import Path

import numpy as np
import yaml

from ..common.extxyz import read_extxyz, write_extxyz
from ..common.files import EVALUATE
from ..common.structures import StructureError, validate_structures, with_labels
from . import compile_cache
from .batched import can_batch, label_in_batches
from .lockstep import relax_in_lockstep
from .relax import relax

PARTIAL = EVALUATE.partial


def make_calculator(settings: dict):
    """The ASE calculator: TensorFlow ``TPCalculator`` (SavedModel) or the C++ GRACE-FS evaluator."""
    model = settings["model"]
    if settings.get("calculator", "tensorflow") == "fs_cpp":
        from .fs_calculator import FSCalculator

        return FSCalculator(model["fs_yaml"])
    compile_cache.enable()  # before TensorFlow is imported: compiled shapes on disk for later jobs
    if settings.get("uncertainty"):
        from .uncertainty import uncertainty_calculator

        return uncertainty_calculator(model["saved_model"], settings["uncertainty"])
    from tensorpotential.calculator import TPCalculator

    return TPCalculator(model["saved_model"])


def evaluate_one(atoms, calc, settings: dict):
    """Label (and relax) one structure; returns the labelled copy. A relaxation that breaks the structure (atoms
    collapsed closer than 0.5 Å, non-finite energy or forces) returns the input, unlabelled, with the reason in
    ``info['grace_failed']``: that structure fails alone, the job goes on."""
    work = atoms.copy()
    work.info = {k: v for k, v in atoms.info.items()}
    work.calc = calc
    if settings.get("mode") == "relax":
        converged, steps = relax(work, settings.get("relax", {}))
        work.info["relax_converged"] = converged
        work.info["relax_steps"] = steps
    energy = work.get_potential_energy()
    forces = work.get_forces()
    stress = work.get_stress() if atoms.pbc.all() and settings.get("compute_stress", True) else None
    work.pbc = atoms.pbc  # TPCalculator makes a non-periodic structure periodic in place (in a box around it)
    result = with_labels(work, energy=float(energy), forces=np.array(forces), stress=stress)
    if "gamma" in calc.results:  # with UQ artifacts: the extrapolation grade of every atom
        result.arrays["gamma"] = np.asarray(calc.results["gamma"], dtype=float).reshape(len(work))
        result.info["gamma_max"] = float(np.max(result.arrays["gamma"]))
    return checked(atoms, result, settings)


def checked(atoms, result, settings: dict):
    """``result`` (the labelled ``atoms``), or ``atoms`` unlabelled with the reason in ``info['grace_failed']``
    when the result is broken (atoms closer than 0.5 Å, non-finite energy, forces or stress)."""
    try:
        validate_structures([result])
    except StructureError as exception:
        failed = atoms.copy()
        reason = re.sub(r"^structure \d+ \([^)]*\) ", "", str(exception))
        failed.info = {**atoms.info, "grace_failed": f"the {settings.get('mode', 'static')} result {reason}"}
        return failed
    return result


def read_structures(settings: dict, workdir: Path) -> list:
    """The job's structures: every file of ``settings['structure_files']`` in order, concatenated."""
    structures = []
    for name in settings.get("structure_files") or [EVALUATE.structures]:
        structures.extend(read_extxyz(workdir / name))
    return structures


def batched(calc, settings: dict) -> bool:
    """Whether this job runs in padded batches (static mode with a TensorFlow calculator that allows it; not with
    γ, which the batched pass does not return)."""
    return settings.get("mode", "static") == "static" and not settings.get("uncertainty") and can_batch(calc)


def in_lockstep(calc, settings: dict) -> bool:
    """Whether this job's relaxations run in lockstep (:mod:`.lockstep`): ``lockstep`` on (default), ions only
    (with a cell filter, ASE's Python work per step outweighs the model's for small cells, and threads slow it
    down: measured 2.6× faster for ions, 1.2-2× slower with FrechetCellFilter), a batchable TensorFlow model."""
    relax = settings.get("relax", {})
    return (settings.get("mode") == "relax" and settings.get("lockstep", True) and not relax.get("cell_filter")
            and not settings.get("uncertainty") and can_batch(calc))


def labelled(structures: list, todo: list[int], calc, settings: dict):
    """Yield ``(indices, labelled Atoms)`` of ``structures[i] for i in todo`` as they are done: static
    TensorFlow jobs in padded batches, everything else (and what does not fit a batch) one at a time, largest
    first (TPCalculator's advice: the first, widest padded shape is then reused by the smaller ones)."""
    rest = todo
    if in_lockstep(calc, settings):
        for index, result in relax_in_lockstep(structures, todo, calc, lambda atoms, lockstep_calc: evaluate_one(
                atoms, lockstep_calc, settings), compute_stress=settings.get("compute_stress", True)):
            yield [index], [result]
        return
    if batched(calc, settings):
        rest = []
        for indices, results, plausible in label_in_batches(structures, todo, calc, rest,
                                                            compute_stress=settings.get("compute_stress", True)):
            yield indices, [result if sound else checked(structures[i], result, settings)
                            for i, result, sound in zip(indices, results, plausible)]
    for index in sorted(rest, key=lambda i: (-len(structures[i]), i)):
        yield [index], [evaluate_one(structures[index], calc, settings)]


def run(settings: dict, workdir: Path = Path(".")) -> dict:
    structures = read_structures(settings, workdir)
    start = time.perf_counter()
    calc = make_calculator(settings)
    load_seconds = time.perf_counter() - start

    done = _resume(workdir / PARTIAL, len(structures))
    todo = [i for i in range(len(structures)) if i not in done]
    compute_start = started = time.perf_counter()
    seconds = [None] * len(structures)  # wall time per structure (s; a batch's shared by atoms; with compiles)
    with open(workdir / PARTIAL, "a") as partial:
        for indices, results in labelled(structures, todo, calc, settings):
            elapsed, n_atoms = time.perf_counter() - started, sum(len(a) for a in results)
            for index, result in zip(indices, results):
                seconds[index] = elapsed * len(result) / n_atoms
                result.info["grace_index"] = index
                done[index] = result
            write_extxyz(partial, results)
            partial.flush()
            started = time.perf_counter()
    compute_seconds = time.perf_counter() - compute_start

    results = [done[i] for i in range(len(structures))]
    for atoms in results:
        atoms.info.pop("grace_index", None)
    with open(workdir / EVALUATE.results, "w") as handle:
        write_extxyz(handle, results)
    (workdir / PARTIAL).unlink()
    not_converged = [i for i, a in enumerate(results) if a.info.get("relax_converged") is False]
    failed = {i: a.info["grace_failed"] for i, a in enumerate(results) if "grace_failed" in a.info}
    summary = {
        "n_structures": len(results),
        "mode": settings.get("mode", "static"),
        "calculator": settings.get("calculator", "tensorflow"),
        "batched": batched(calc, settings) or in_lockstep(calc, settings),
        "n_sizes": len({len(a) for a in structures}),
        "not_converged": not_converged,
        "failed": failed,  # index → why the structure was broken (it comes back unlabelled)
        "load_seconds": load_seconds,
        "compute_seconds": compute_seconds,
        "seconds_per_atom": compute_seconds / max(1, sum(len(a) for a in structures)),
        "structure_seconds": seconds,
    }
    if settings.get("uncertainty"):  # γ_max per structure (input order; None where a structure broke)
        summary["gamma_max"] = [a.info.get("gamma_max") for a in results]
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
