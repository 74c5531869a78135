"""NVE energy drift of a GRACE-FS model (float64, C++ evaluator) at two timesteps, reproducibly.

    verdi run benchmarks/md_drift.py                    # trains the model first (EMT Cu/Al, ~5 min on 2 cores)
    verdi run benchmarks/md_drift.py --model <PK> --timesteps 0.5 1.0 --duration 3.0

Trains a tiny FS model (lmax [4,4,3], float64) for ``--epochs`` on EMT-labelled Cu/Al fcc cells, half of them
rattled by 0.05 Å and half by 0.15 Å (hot configurations), exports it, then runs NVE of a 108-atom Cu₃Al-like
fcc cell started at ``--temperature`` through the driver (LAMMPS Python module, fix external, python-ace FS
evaluator in float64) for ``--duration`` ps at each timestep, and prints drift (eV/atom/ns), the largest
|E(t) − E(0)| and the fluctuation about the fit (eV/atom).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.calculations.train import GraceTrainCalculation
from aiida_grace.cli import setup_codes
from aiida_grace.common.demo import TINY_FS, training_parameters
from aiida_grace.common.md_analysis import energy_drift
from aiida_grace.functions import emt_dataset, merge_datasets, split_dataset

# `verdi run` sets __file__ to the bare file name: find this folder from argv[0] instead
sys.path.insert(0, str(Path(sys.argv[0] if __name__ == "__main__" else __file__).resolve().parent))
from md import cell, run_case  # noqa: E402


def train_fs_model(codes: dict, epochs: int):
    """A float64 FS model trained on 40 cool (0.05 Å rattle) and 40 hot (0.15 Å) EMT Cu/Al cells."""
    cool = emt_dataset(orm.List(["Cu", "Al"]), orm.Int(40), orm.Int(20), orm.Float(0.05), orm.Float(0.03))
    hot = emt_dataset(orm.List(["Cu", "Al"]), orm.Int(40), orm.Int(21), orm.Float(0.15), orm.Float(0.03))
    split = split_dataset(merge_datasets(cool=cool, hot=hot), orm.Float(0.1), orm.Int(0))
    parameters = training_parameters(epochs, preset="FS", kwargs=TINY_FS, learning_rate=0.01)
    results, node = run_get_node(GraceTrainCalculation, code=codes["gracemaker"], driver_code=codes["driver"],
                                 dataset=split["train"], test_dataset=split["test"],
                                 parameters=orm.Dict(parameters))
    if not node.is_finished_ok:
        raise SystemExit(f"training <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    test = node.outputs.output_parameters.get_dict()
    print(f"trained FS model <{results['model'].pk}> ({epochs} epochs): {test}")
    return results["model"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="PK/UUID of a GraceModelData with an FS yaml (default: train one)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--timesteps", type=float, nargs="+", default=[0.5, 1.0], help="fs")
    parser.add_argument("--duration", type=float, default=3.0, help="ps of NVE per timestep")
    parser.add_argument("--temperature", type=float, default=1200.0, help="K, initial")
    parser.add_argument("--atoms-repeat", type=int, default=3)
    args = parser.parse_args()
    codes = setup_codes(orm.load_computer("localhost"))
    model = orm.load_node(args.model) if args.model else train_fs_model(codes, args.epochs)
    atoms = cell(args.atoms_repeat)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = model.export(Path(tmp) / "model")
        print(f"\n## NVE drift: model <{model.pk}> (FS, float64 weights, python-ace C++ in float64), {len(atoms)}"
              f" atoms, T0 = {args.temperature:g} K, LAMMPS fix external\n")
        print("| timestep (fs) | steps | ps | mean T (K) | drift (eV/atom/ns) | max abs(E(t)-E(0)) (eV/atom) "
              "| fluctuation (eV/atom) |\n|---|---|---|---|---|---|---|")
        for timestep in args.timesteps:
            steps = round(args.duration * 1000 / timestep / 10) * 10
            summary, thermo = run_case(model_dir, atoms, Path(tmp) / f"dt{timestep}", engine="lammps",
                                       calculator="fs_cpp", ensemble="nve", temperature=args.temperature,
                                       timestep=timestep, steps=steps, thermo_interval=10, dump_interval=steps)
            drift = energy_drift(thermo["time"], thermo["total_energy"], summary["n_atoms"])
            print(f"| {timestep:g} | {steps} | {drift['duration']:.1f} | {thermo['temperature'][1:].mean():.0f} | "
                  f"{drift['drift']:.2g} | {drift['max_deviation']:.2g} | {drift['fluctuation']:.2g} |", flush=True)


if __name__ == "__main__":
    main()
