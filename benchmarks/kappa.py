"""Wall time of ``grace.thermal_conductivity`` against a plain phono3py script and against evaluating one
displacement per process (as aiida-phonopy does), same model, structure, supercells, displacement and mesh.

    verdi run benchmarks/kappa.py                      # trains a tiny float64 Cu/Al model first (EMT data)
    verdi run benchmarks/kappa.py --model <PK> --case rocksalt --per-process-sample 12

Cases: ``small`` (fcc Cu, 16-atom fc3 / 32-atom fc2 supercells, 6³ mesh; the test's case) and ``rocksalt``
(a B1 CuAl cell with the phononDB rocksalt settings: 64-atom fc3, 512-atom fc2 supercells, 19³ mesh). With
``--per-process-sample N`` only N single-displacement jobs are run and their mean time is scaled to all.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.calculations.evaluate import GraceEvaluateCalculation
from aiida_grace.calculations.train import GraceTrainCalculation
from aiida_grace.common.demo import training_parameters
from aiida_grace.functions import emt_dataset, split_dataset
from aiida_grace.workflows.thermal_conductivity import GraceThermalConductivityWorkChain

# `verdi run` sets __file__ to the bare file name: find this folder from argv[0] instead
sys.path.insert(0, str(Path(sys.argv[0] if __name__ == "__main__" else __file__).resolve().parent))
from plain_kappa import plain_kappa  # noqa: E402


def cases():
    from ase.build import bulk

    return {
        "small": (bulk("Cu", "fcc", a=3.63, cubic=True),
                  {"fc3_supercell": [[-1, 1, 1], [1, -1, 1], [1, 1, -1]], "fc2_supercell": [2, 2, 2],
                   "mesh": [6, 6, 6]}),
        "rocksalt": (bulk("CuAl", "rocksalt", a=5.0, cubic=True),
                     {"fc3_supercell": [2, 2, 2], "fc2_supercell": [4, 4, 4], "mesh": [19, 19, 19]}),
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--driver", default="grace-driver@localhost", help="aiida-grace driver Code label")
    parser.add_argument("--gracemaker", default="gracemaker@localhost", help="gracemaker Code (to train a model)")
    parser.add_argument("--model", help="PK/UUID of a GraceModelData with Cu and Al (default: train a tiny one)")
    parser.add_argument("--case", choices=("small", "rocksalt"), default="small")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the plain script and the WorkChain")
    parser.add_argument("--per-process-sample", type=int, default=0,
                        help="run only this many one-displacement jobs and scale their mean (0: all)")
    return parser.parse_args()


def tiny_model(gracemaker, driver):
    """A tiny float64 GRACE-1L model trained for 4 epochs on EMT Cu/Al cells (as the tests train)."""
    split = split_dataset(emt_dataset(orm.List(["Cu", "Al"]), orm.Int(20), orm.Int(10), orm.Float(0.05),
                                      orm.Float(0.03)), orm.Float(0.2), orm.Int(0))
    parameters = training_parameters(4)
    results, node = run_get_node(GraceTrainCalculation, code=gracemaker, driver_code=driver, dataset=split["train"],
                                 test_dataset=split["test"], parameters=orm.Dict(parameters))
    if not node.is_finished_ok:
        raise SystemExit(f"training <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    return results["model"]


def job_seconds(node) -> float:
    """Wall time of a finished process node (s), from creation to last modification."""
    return (node.mtime - node.ctime).total_seconds()


def called_jobs(node) -> dict:
    """The CalcJob of each step of the WorkChain by link label (through a restart wrapper: its last job)."""
    jobs = {}
    for link in node.base.links.get_outgoing().all():
        job = link.node
        if isinstance(job, orm.WorkflowNode):
            job = max((n for n in job.called if isinstance(n, orm.CalcJobNode)), key=lambda n: n.ctime, default=None)
        if isinstance(job, orm.CalcJobNode):
            jobs[link.link_label] = job
    return jobs


def per_process_forces(driver, model, supercells, sample: int) -> tuple[float, int]:
    """Seconds to evaluate the displaced supercells one grace.evaluate job each (scaled from ``sample`` jobs)."""
    cells = supercells.to_ase()
    chosen = cells[:sample] if sample else cells
    start = time.perf_counter()
    for atoms in chosen:
        _, node = run_get_node(GraceEvaluateCalculation, code=driver, model=model,
                               structures={"displaced": orm.StructureData(ase=atoms)},
                               parameters=orm.Dict({"compute_stress": False}))
        if not node.is_finished_ok:
            raise SystemExit(f"single-displacement job <{node.pk}> failed: {node.exit_message}")
    elapsed = time.perf_counter() - start
    return elapsed * len(cells) / len(chosen), len(chosen)


def main():
    args = parse_args()
    driver = orm.load_code(args.driver)
    model = orm.load_node(args.model) if args.model else tiny_model(orm.load_code(args.gracemaker), driver)
    atoms, settings = cases()[args.case]

    plain_times, workchain_times = [], []
    for _ in range(args.repeat):  # interleaved, the fastest of each counts (the machine is shared)
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = model.export(tmp)
            plain = plain_kappa(model_dir / "final_model", atoms, **settings, distance=0.03)
        plain_times.append(plain["seconds"])
        builder = GraceThermalConductivityWorkChain.get_builder_from_protocol(driver, model, atoms,
                                                                              overrides=settings)
        start = time.perf_counter()
        results, node = run_get_node(builder)
        workchain_times.append(time.perf_counter() - start)
        if not node.is_finished_ok:
            raise SystemExit(f"workchain <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    plain["seconds"], workchain_seconds = min(plain_times), min(workchain_times)
    calls = called_jobs(node)
    forces_job = calls["forces"]
    supercells = forces_job.inputs.dataset
    per_process, n_run = per_process_forces(driver, model, supercells, args.per_process_sample)
    per_process_workflow = workchain_seconds - job_seconds(forces_job) + per_process

    kappa_wc = results["kappa"].get_array("kappa_TOT_ave")[0]
    kappa_plain = plain["kappa_TOT_ave"][0]
    n = supercells.n_structures
    print(f"case {args.case}: {atoms.get_chemical_formula()}, {n} displaced supercells, mesh {settings['mesh']}, "
          f"model <{model.pk}>")
    print(f"κ_TOT  WorkChain {kappa_wc:.4f} W/m/K   plain script {kappa_plain:.4f} W/m/K   "
          f"({100 * (kappa_wc / kappa_plain - 1):+.3f} %)")
    print(f"plain phono3py script                    {plain['seconds']:8.1f} s   (best of {args.repeat}; "
          f"all: {', '.join(f'{t:.1f}' for t in plain_times)})")
    print(f"grace.thermal_conductivity (WorkChain)   {workchain_seconds:8.1f} s   "
          f"{workchain_seconds / plain['seconds']:.2f}× plain (all: {', '.join(f'{t:.1f}' for t in workchain_times)})")
    for label in ("relax", "forces", "kappa"):
        print(f"    {label:<8} job                         {job_seconds(calls[label]):8.1f} s")
    scaled = "" if n_run == n else f" (scaled from {n_run} jobs)"
    print(f"forces, one process per displacement     {per_process:8.1f} s   "
          f"{per_process / job_seconds(forces_job):.1f}× the batched job{scaled}")
    print(f"workflow with one process per displacement {per_process_workflow:6.1f} s   "
          f"{per_process_workflow / workchain_seconds:.2f}× the WorkChain, "
          f"{per_process_workflow / plain['seconds']:.2f}× plain")


if __name__ == "__main__":
    main()
