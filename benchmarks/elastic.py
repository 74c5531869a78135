"""Benchmark of grace.elastic on fcc Cu with a GRACE model trained on EMT-labelled Cu.

1. Wall time of the WorkChain (two grace.evaluate jobs: relax, then all strained cells in one job) against a plain
   ASE script doing the same work (same model, structure, relaxations, strains) in one fresh process; one run
   of each, measured back to back, and their ratio.
2. C11, C12, C44 from the WorkChain against EMT's own values computed directly with ase (same strains).

Run: ``verdi run benchmarks/elastic.py [--model PK] [--protocol balanced]`` (without --model it trains the
model of examples/elastic.py first). The plain script is this file run as
``python benchmarks/elastic.py --plain MODEL_DIR SETTINGS_JSON``: it imports no aiida.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

START = {"element": "Cu", "a": 3.6}  # primitive fcc cell, Å
SCRIPT = Path(sys.argv[0]).resolve()  # `verdi run` sets __file__ to the bare file name


def plain_elastic(model_dir: str, settings: dict) -> dict:
    """The plain script: load the model, relax (cell + ions, symmetry kept), strain, relax ions, fit. GPa."""
    started = time.perf_counter()
    from ase.build import bulk
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS, FIRE
    from ase.units import GPa
    from tensorpotential.calculator import TPCalculator

    from aiida_grace.common.elastic import deformation, fit_elastic_tensor, strain_set

    optimizers = {"BFGS": BFGS, "FIRE": FIRE}
    calc = TPCalculator(str(Path(model_dir) / "final_model"))
    atoms = bulk(START["element"], "fcc", a=START["a"])
    atoms.calc = calc
    relax = settings["relax"]
    atoms.set_constraint(FixSymmetry(atoms, symprec=relax["symprec"]))
    optimizers[relax["optimizer"]](FrechetCellFilter(atoms), logfile=None).run(fmax=relax["fmax"],
                                                                               steps=relax["steps"])
    atoms.set_constraint()
    strains, stresses = [], []
    for _, voigt in strain_set(settings["strains"]["normal"], settings["strains"]["shear"]):
        strained = atoms.copy()
        strained.set_cell(atoms.cell.array @ deformation(voigt), scale_atoms=True)
        strained.calc = calc
        ions = settings["strained_relax"]
        optimizers[ions["optimizer"]](strained, logfile=None).run(fmax=ions["fmax"], steps=ions["steps"])
        strains.append(voigt)
        stresses.append(strained.get_stress() / GPa)
    c = fit_elastic_tensor(np.array(strains), np.array(stresses))["elastic_tensor"]
    return {"elastic_tensor": c.tolist(), "seconds": time.perf_counter() - started}


def main():
    import argparse

    from aiida import orm
    from aiida.engine import run_get_node
    from ase.build import bulk

    sys.path.insert(0, str(SCRIPT.parents[1] / "examples"))
    from elastic import emt_elastic_constants

    from aiida_grace.examples import emt_copper_model
    from aiida_grace.workflows.elastic import GraceElasticWorkChain

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=int, help="pk of a GraceModelData with Cu (default: train one)")
    parser.add_argument("--gracemaker", default="gracemaker@localhost")
    parser.add_argument("--driver", default="grace-driver@localhost")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--protocol", default="balanced", choices=("fast", "balanced", "stringent"))
    args = parser.parse_args()

    driver = orm.load_code(args.driver)
    if args.model is not None:
        model = orm.load_node(args.model)
    else:
        started = time.perf_counter()
        model = emt_copper_model(orm.load_code(args.gracemaker), driver, args.epochs)
        print(f"trained model <{model.pk}> on EMT Cu in {time.perf_counter() - started:.0f} s")

    structure = orm.StructureData(ase=bulk(START["element"], "fcc", a=START["a"]))
    builder = GraceElasticWorkChain.get_builder_from_protocol(driver, model, structure, protocol=args.protocol)
    settings = builder.parameters.get_dict()
    started = time.perf_counter()
    results, node = run_get_node(builder)
    workchain_seconds = time.perf_counter() - started
    if not node.is_finished_ok:
        raise SystemExit(f"grace.elastic <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    c = results["elastic_tensor"].get_array("elastic_tensor")

    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp)
        settings_file = Path(tmp) / "settings.json"
        settings_file.write_text(json.dumps(settings))
        started = time.perf_counter()
        output = subprocess.run([sys.executable, str(SCRIPT), "--plain", tmp, str(settings_file)], check=True,
                                capture_output=True, text=True).stdout
        plain_seconds = time.perf_counter() - started
    plain = json.loads(output.strip().splitlines()[-1])
    c_plain = np.array(plain["elastic_tensor"])
    emt = emt_elastic_constants(settings["strains"])

    jobs = {n.label: n.outputs.output_parameters.get_dict() for n in node.called if n.label in ("relax", "strained")}
    n_strained = jobs["strained"]["n_structures"]
    print(f"\nfcc Cu, protocol {args.protocol} ({n_strained} strained cells), model <{model.pk}>, "
          f"grace.elastic <{node.pk}>")
    print("| run | wall (s) |\n|---|---|")
    print(f"| grace.elastic WorkChain (2 grace.evaluate jobs) | {workchain_seconds:.1f} |")
    print(f"| plain ASE script, one fresh process | {plain_seconds:.1f} |")
    print(f"| ratio WorkChain / plain | {workchain_seconds / plain_seconds:.2f} |")
    compute = sum(j["compute_seconds"] for j in jobs.values())
    load = sum(j["load_seconds"] for j in jobs.values())
    print(f"(inside the jobs: model load {load:.1f} s, compute {compute:.1f} s; plain script without its "
          f"subprocess start: {plain['seconds']:.1f} s)")
    print("\n| GPa | WorkChain | plain script | EMT (ase) | WorkChain vs EMT |\n|---|---|---|---|---|")
    for label, (i, j) in (("C11", (0, 0)), ("C12", (0, 1)), ("C44", (3, 3))):
        print(f"| {label} | {c[i, j]:.1f} | {c_plain[i, j]:.1f} | {emt[i, j]:.1f} | "
              f"{100 * (c[i, j] / emt[i, j] - 1):+.1f}% |")
    print(f"\nmax |WorkChain - plain| over all C_ij: {np.max(np.abs(c - c_plain)):.2e} GPa")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--plain":
        print(json.dumps(plain_elastic(sys.argv[2], json.loads(Path(sys.argv[3]).read_text()))))
    else:
        main()
