"""Scale: the batch WorkChains through the daemon against one plain process doing the same N structures.

    verdi run benchmarks/scale.py [--model PK] [--sizes 1 4 16 64] [--kappa-sizes 1 4] [--protocol fast]

Elastic: ``grace.elastic.batch`` over N distinct Cu/Al cells (random occupations of 4- and 8-atom fcc cells,
lattice parameter by Vegard's law ±1%), submitted to the daemon, against ONE fresh Python process that loads the
model once and, structure after structure, relaxes (cell + ions, symmetry kept), strains and relaxes the ions
with a default ``TPCalculator`` and fits C_ij (same settings, same strains, same fit). κ:
``grace.thermal_conductivity.batch`` over N Cu/Al crystals against one process running
``benchmarks/plain_kappa.py`` for each (the WorkChain skips its PNG, ``kappa.plot: false``; it still computes
bands and DOS). Each row: wall times side by side, the ratio, the AiiDA cost per structure ((WorkChain −
plain) / N, s) and the largest difference of the results; the load average beside them. The time for the
paper's 7,962 elastic tensors is extrapolated from the largest N on this machine (one job per stage; on HPC
the stage's jobs run side by side, ``batching``).

The daemon must run (``verdi daemon start``); without ``--model`` a tiny float64 Cu/Al model is trained first.
The plain side is this file run as ``python benchmarks/scale.py --plain-elastic|--plain-kappa ...``: no aiida.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SCRIPT = Path(sys.argv[0]).resolve()  # `verdi run` sets __file__ to the bare file name
LATTICE = {"Cu": 3.61, "Al": 4.05}  # Å, fcc
KAPPA_CELL = {"fc3_supercell": [[-1, 1, 1], [1, -1, 1], [1, 1, -1]], "fc2_supercell": [2, 2, 2], "mesh": [6, 6, 6]}
PAPER_ELASTIC = 7962


# -- structures --------------------------------------------------------------------------------------------
def alloy_cells(n: int, seed: int = 0) -> dict:
    """``n`` distinct Cu/Al fcc cells by name: 4-atom conventional and 8-atom (2×1×1) cells with random
    occupations (at least one of each element where the cell allows), a from Vegard's law, scaled ±1%."""
    from ase.build import bulk

    rng = np.random.default_rng(seed)
    cells, seen = {}, set()
    while len(cells) < n:
        repeat = (1, 1, 1) if len(cells) % 2 == 0 else (2, 1, 1)
        atoms = bulk("Cu", "fcc", a=1.0, cubic=True).repeat(repeat)
        symbols = rng.choice(["Cu", "Al"], size=len(atoms)).tolist()
        scale = round(float(rng.uniform(0.99, 1.01)), 3)
        key = (repeat, tuple(symbols), scale)
        if key in seen:
            continue
        seen.add(key)
        a = np.mean([LATTICE[s] for s in symbols]) * scale
        atoms.set_cell(atoms.cell.array * a, scale_atoms=True)
        atoms.set_chemical_symbols(symbols)
        cells[f"cell_{len(cells):03d}_{atoms.get_chemical_formula()}"] = atoms
    return cells


def kappa_crystals(n: int) -> dict:
    """Up to 4 cubic Cu/Al crystals (4-atom cells): fcc Cu, fcc Al, L1₂ Cu₃Al and L1₂ Al₃Cu."""
    from ase.build import bulk

    crystals = {}
    for name, symbols in (("Cu", "CuCuCuCu"), ("Al", "AlAlAlAl"), ("Cu3Al", "AlCuCuCu"), ("Al3Cu", "CuAlAlAl")):
        atoms = bulk("Cu", "fcc", a=1.0, cubic=True)
        atoms.set_chemical_symbols([symbols[i:i + 2] for i in range(0, 8, 2)])
        a = np.mean([LATTICE[s] for s in atoms.get_chemical_symbols()])
        atoms.set_cell(atoms.cell.array * a, scale_atoms=True)
        crystals[name] = atoms
    return dict(list(crystals.items())[:n])


def cu_al_model(gracemaker, driver, epochs: int = 40):
    """A tiny float64 GRACE-1L (cutoff 5 Å) trained on 96 EMT-labelled Cu/Al fcc cells of 4 and 8 atoms."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_grace.calculations.train import GraceTrainCalculation
    from aiida_grace.common.demo import training_parameters
    from aiida_grace.functions import emt_dataset, split_dataset

    split = split_dataset(emt_dataset(orm.List(["Cu", "Al"]), orm.Int(96), orm.Int(5), orm.Float(0.03),
                                      orm.Float(0.03)), orm.Float(0.15), orm.Int(0))
    parameters = training_parameters(epochs, cutoff=5.0, stress_weight=10.0, learning_rate=0.01)
    results, node = run_get_node(GraceTrainCalculation, code=gracemaker, driver_code=driver, dataset=split["train"],
                                 test_dataset=split["test"], parameters=orm.Dict(parameters))
    if not node.is_finished_ok:
        raise SystemExit(f"training <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    return results["model"]


# -- the plain side (no aiida) -----------------------------------------------------------------------------
def plain_elastic(model_dir: str, structures_file: str, settings: dict) -> dict:
    """One process: load the model, then for each structure relax, strain, relax ions, fit. C_ij in GPa."""
    started = time.perf_counter()
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.io import read
    from ase.optimize import BFGS, FIRE
    from ase.units import GPa
    from tensorpotential.calculator import TPCalculator

    from aiida_grace.common.elastic import fit_elastic_tensor, strain_of_cell, strained_cells

    optimizers = {"BFGS": BFGS, "FIRE": FIRE}
    calc = TPCalculator(str(Path(model_dir) / "final_model"))
    tensors = {}
    for atoms in read(structures_file, index=":"):
        name = atoms.info["name"]
        atoms.calc = calc
        relax, ions = settings["relax"], settings["strained_relax"]
        atoms.set_constraint(FixSymmetry(atoms, symprec=relax["symprec"]))
        optimizers[relax["optimizer"]](FrechetCellFilter(atoms), logfile=None).run(fmax=relax["fmax"],
                                                                                   steps=relax["steps"])
        atoms.set_constraint()
        strains, stresses = [], []
        for _, strained in strained_cells(atoms, settings["strains"]["normal"], settings["strains"]["shear"]):
            strained.calc = calc
            optimizers[ions["optimizer"]](strained, logfile=None).run(fmax=ions["fmax"], steps=ions["steps"])
            strains.append(strain_of_cell(atoms.cell.array, strained.cell.array))
            stresses.append(strained.get_stress() / GPa)
        tensors[name] = fit_elastic_tensor(np.array(strains), np.array(stresses))["elastic_tensor"].tolist()
    return {"tensors": tensors, "seconds": time.perf_counter() - started}


def plain_kappa_all(model_dir: str, structures_file: str, settings: dict) -> dict:
    """One process: κ of each crystal with benchmarks/plain_kappa.py and one TPCalculator. κ̄ in W/m/K."""
    started = time.perf_counter()
    from ase.io import read
    from tensorpotential.calculator import TPCalculator

    sys.path.insert(0, str(SCRIPT.parent))
    from plain_kappa import plain_kappa

    calc = TPCalculator(str(Path(model_dir) / "final_model"))
    kappa = {}
    for atoms in read(structures_file, index=":"):
        relax = {**settings["relax"], "mask": settings["relax"]["mask"]}
        result = plain_kappa(calc, atoms, fc3_supercell=KAPPA_CELL["fc3_supercell"],
                             fc2_supercell=KAPPA_CELL["fc2_supercell"], mesh=KAPPA_CELL["mesh"],
                             distance=settings["distance"], relax=relax)
        kappa[atoms.info["name"]] = float(result["kappa_TOT_ave"][0])
    return {"kappa": kappa, "seconds": time.perf_counter() - started}


def run_plain(kind: str, model_dir: Path, structures: dict, settings: dict) -> tuple[dict, float]:
    """The plain script in a fresh process (its Python and TensorFlow start counted); (results, wall s)."""
    from ase.io import write

    with tempfile.TemporaryDirectory() as tmp:
        frames = []
        for name, atoms in structures.items():
            atoms = atoms.copy()
            atoms.info["name"] = name
            frames.append(atoms)
        write(Path(tmp) / "structures.extxyz", frames)
        (Path(tmp) / "settings.json").write_text(json.dumps(settings))
        started = time.perf_counter()
        output = subprocess.run([sys.executable, str(SCRIPT), f"--plain-{kind}", str(model_dir),
                                 str(Path(tmp) / "structures.extxyz"), str(Path(tmp) / "settings.json")],
                                check=True, capture_output=True, text=True).stdout
        return json.loads(output.strip().splitlines()[-1]), time.perf_counter() - started


# -- the AiiDA side ----------------------------------------------------------------------------------------
def through_daemon(builder, poll: float = 0.2) -> tuple[object, float]:
    """Submit ``builder`` to the daemon and wait until it terminates; (node, wall s from submit to the end)."""
    from aiida.engine import submit

    started = time.perf_counter()
    node = submit(builder)
    while not node.is_terminated:
        time.sleep(poll)
    return node, time.perf_counter() - started


def elastic_row(n: int, model, driver, model_dir: Path, protocol: str) -> dict:
    from aiida import orm

    from aiida_grace.workflows.elastic_batch import GraceElasticBatchWorkChain

    cells = alloy_cells(n)
    builder = GraceElasticBatchWorkChain.get_builder_from_protocol(
        driver, model, {name: orm.StructureData(ase=a) for name, a in cells.items()}, protocol=protocol)
    plain, plain_seconds = run_plain("elastic", model_dir, cells, builder.parameters.get_dict())
    node, seconds = through_daemon(builder)
    if not node.is_finished_ok:
        raise SystemExit(f"grace.elastic.batch <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    tensors = node.outputs.elastic_tensors
    difference = max(np.abs(tensors[name].get_array("elastic_tensor") - np.array(c)).max()
                     for name, c in plain["tensors"].items())
    return {"n": n, "plain": plain_seconds, "workchain": seconds, "difference": difference, "pk": node.pk}


def kappa_row(n: int, model, driver, model_dir: Path) -> dict:
    from aiida import orm

    from aiida_grace.workflows.thermal_conductivity_batch import GraceThermalConductivityBatchWorkChain

    crystals = kappa_crystals(n)
    builder = GraceThermalConductivityBatchWorkChain.get_builder_from_protocol(
        driver, model, {name: orm.StructureData(ase=a) for name, a in crystals.items()},
        overrides={**KAPPA_CELL, "kappa": {"plot": False}})
    plain, plain_seconds = run_plain("kappa", model_dir, crystals, builder.parameters.get_dict())
    node, seconds = through_daemon(builder)
    done = getattr(node.outputs, "kappa", {})
    difference = max((abs(done[name].get_array("kappa_TOT_ave")[0] / k - 1) for name, k in plain["kappa"].items()
                      if name in done), default=float("nan"))
    return {"n": n, "plain": plain_seconds, "workchain": seconds, "difference": difference, "pk": node.pk,
            "failed": node.exit_message or ""}


def print_table(title: str, rows: list, unit: str) -> None:
    print(f"\n{title}\n| N | plain process (s) | WorkChain via daemon (s) | ratio | AiiDA cost per structure (s) | "
          f"max difference ({unit}) | load average (1, 5, 15 min) | pk |\n|---|---|---|---|---|---|---|---|")
    for row in rows:
        cost = (row["workchain"] - row["plain"]) / row["n"]
        print(f"| {row['n']} | {row['plain']:.1f} | {row['workchain']:.1f} | {row['workchain'] / row['plain']:.2f} | "
              f"{cost:+.2f} | {row['difference']:.2g} | {row['load']} | {row['pk']} |", flush=True)


def main():
    import argparse

    from aiida import orm
    from aiida.engine.daemon.client import get_daemon_client

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="PK/UUID of a GraceModelData with Cu and Al (default: train a tiny one)")
    parser.add_argument("--gracemaker", default="gracemaker@localhost")
    parser.add_argument("--driver", default="grace-driver@localhost")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 4, 16, 64])
    parser.add_argument("--kappa-sizes", type=int, nargs="*", default=[1, 4])
    parser.add_argument("--protocol", default="fast", choices=("fast", "balanced", "stringent"))
    args = parser.parse_args()

    if not get_daemon_client().is_daemon_running:
        raise SystemExit("start the daemon first: verdi daemon start")
    driver = orm.load_code(args.driver)
    model = orm.load_node(args.model) if args.model else cu_al_model(orm.load_code(args.gracemaker), driver)
    print(f"model <{model.pk}> ({', '.join(model.elements)}), cores {os.cpu_count()}, protocol {args.protocol}")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = model.export(tmp)
        rows = []
        for n in args.sizes:
            rows.append({**elastic_row(n, model, driver, model_dir, args.protocol), "load": loadavg()})
            print_table(f"grace.elastic.batch, protocol {args.protocol}", rows[-1:], "GPa")
        if rows:
            print_table(f"grace.elastic.batch, protocol {args.protocol}: all sizes", rows, "GPa")
            largest = rows[-1]
            hours = largest["workchain"] / largest["n"] * PAPER_ELASTIC / 3600
            print(f"extrapolated to the paper's {PAPER_ELASTIC} elastic tensors on this machine: {hours:.1f} h "
                  f"(from N = {largest['n']})")
        kappa_rows = []
        for n in args.kappa_sizes:
            kappa_rows.append({**kappa_row(n, model, driver, model_dir), "load": loadavg()})
            print_table("grace.thermal_conductivity.batch (κ̄ relative difference)", kappa_rows[-1:], "rel.")
        if kappa_rows:
            print_table("grace.thermal_conductivity.batch: all sizes (κ̄ relative difference)", kappa_rows, "rel.")


def loadavg() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] in ("--plain-elastic", "--plain-kappa"):
        function = plain_elastic if sys.argv[1] == "--plain-elastic" else plain_kappa_all
        print(json.dumps(function(sys.argv[2], sys.argv[3], json.loads(Path(sys.argv[4]).read_text()))))
    else:
        main()
