"""MD benchmark and NVE drift of a GRACE model, through the compute-side driver (no aiida needed).

1. Time per atom per step, in one run: LAMMPS path (Python module, ``fix external``) against ASE path, each with
   the GRACE-FS C++ evaluator (python-ace) and with TensorFlow (TPCalculator on the SavedModel). Each case runs
   in its own fresh process (as a ``grace.md`` job would); the timing excludes start-up (imports, model load,
   first compile) and covers the MD steps only.
2. NVE energy drift (eV/atom/ns) of a hot solid over a few thousand steps with the FS model in LAMMPS (the drift
   table of docs/md.md, with a model trained for it and two timesteps, comes from ``md_drift.py``).

Run: ``python benchmarks/md.py MODEL_DIR`` where MODEL_DIR holds ``final_model/`` and ``FS_model.yaml`` (a
gracemaker ``seed/1`` folder, or ``GraceModelData.export(dir)`` of an FS model). Options: ``--atoms-repeat 3``
(3×3×3 cubic fcc cells = 108 atoms), ``--drift-steps 3000``, ``--timestep 1.0`` (fs).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from ase.build import bulk
from ase.io import write

CASES = [("lammps", "fs_cpp", 300), ("ase", "fs_cpp", 300), ("lammps", "tensorflow", 100), ("ase", "tensorflow", 100)]


def cell(repeat: int):
    """fcc Cu (a = 3.65 Å) with every fourth atom Al: 4·repeat³ atoms."""
    atoms = bulk("Cu", "fcc", a=3.65, cubic=True).repeat((repeat,) * 3)
    atoms.symbols[::4] = "Al"
    return atoms


def run_case(model_dir: Path, atoms, workdir: Path, **settings) -> dict:
    """One driver run in a fresh process; returns its summary and the thermo arrays."""
    import numpy as np

    workdir.mkdir(parents=True)
    write(workdir / "structure.extxyz", atoms, format="extxyz")
    elements = yaml.safe_load((model_dir / "FS_model.yaml").read_text())["elements"]
    settings = {**settings, "model": {"saved_model": str(model_dir / "final_model"),
                                      "fs_yaml": str(model_dir / "FS_model.yaml")},
                "elements": elements, "cutoff": 4.5}
    (workdir / "md.yaml").write_text(yaml.safe_dump(settings))
    subprocess.run([sys.executable, "-m", "aiida_grace.driver", "md", "md.yaml"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    summary = json.loads((workdir / "summary.json").read_text())
    return summary, dict(np.load(workdir / "thermo.npz"))


def main() -> None:
    from aiida_grace.common.md_analysis import energy_drift

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--atoms-repeat", type=int, default=3)
    parser.add_argument("--drift-steps", type=int, default=3000)
    parser.add_argument("--drift-temperature", type=float, default=1200.0)
    parser.add_argument("--timestep", type=float, default=1.0)
    args = parser.parse_args()
    model_dir = args.model_dir.resolve()
    atoms = cell(args.atoms_repeat)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for index, (engine, calculator, steps) in enumerate(CASES):
            summary, _ = run_case(model_dir, atoms, Path(tmp) / f"case{index}", engine=engine,
                                  calculator=calculator, ensemble="nve", temperature=600.0,
                                  timestep=args.timestep, steps=steps, thermo_interval=10, dump_interval=100)
            rows.append((engine, summary.get("pair_style", "-"), calculator, steps,
                         summary["seconds_per_atom_step"] * 1e6, summary["wall_seconds"]))
        print(f"\n## Speed: {len(atoms)} atoms, NVE, {args.timestep} fs, 2-core CPU\n")
        print("| engine | pair | calculator | steps | µs/atom/step | wall (s) |\n|---|---|---|---|---|---|")
        for row in rows:
            print("| {} | {} | {} | {} | {:.0f} | {:.1f} |".format(*row))
        speed = {(r[0], r[2]): r[4] for r in rows}
        print(f"\nLAMMPS/ASE: FS C++ {speed['lammps', 'fs_cpp'] / speed['ase', 'fs_cpp']:.2f}, "
              f"TF {speed['lammps', 'tensorflow'] / speed['ase', 'tensorflow']:.2f};  "
              f"TF/FS C++: LAMMPS {speed['lammps', 'tensorflow'] / speed['lammps', 'fs_cpp']:.1f}, "
              f"ASE {speed['ase', 'tensorflow'] / speed['ase', 'fs_cpp']:.1f}")

        summary, thermo = run_case(model_dir, atoms, Path(tmp) / "drift", engine="lammps", calculator="fs_cpp",
                                   ensemble="nve", temperature=args.drift_temperature, timestep=args.timestep,
                                   steps=args.drift_steps, thermo_interval=10, dump_interval=args.drift_steps)
        drift = energy_drift(thermo["time"], thermo["total_energy"], summary["n_atoms"])
        precision = yaml.safe_load((model_dir / "FS_model.yaml").read_text()).get("dtype", "float64 (C++)")
        print(f"\n## NVE drift: {summary['n_atoms']} atoms, T0 = {args.drift_temperature:g} K, "
              f"{args.drift_steps} steps of {args.timestep} fs ({drift['duration']:.1f} ps), FS C++ ({precision}), "
              f"LAMMPS {summary.get('pair_style')}\n")
        print(f"drift {drift['drift']:.3g} eV/atom/ns; max |E(t) - E(0)| {drift['max_deviation']:.3g} eV/atom; "
              f"fluctuation {drift['fluctuation']:.3g} eV/atom; mean T {thermo['temperature'][1:].mean():.0f} K; "
              f"E_pot range {(thermo['potential_energy'].max() - thermo['potential_energy'].min()) / len(atoms):.3g}"
              f" eV/atom")


if __name__ == "__main__":
    main()
