"""A κ reference in the phononDB layout computed with ASE's EMT, to exercise the κ_SRME machinery offline.

    python benchmarks/emt_reference.py OUTDIR [--elements Cu,Al]

Writes ``OUTDIR/structures.extxyz`` (fcc conventional cells with the phononDB ``info`` keys) and
``OUTDIR/reference.json.gz`` (the column-wise table ``benchmarks/kappa_srme.py --reference`` reads), κ from the
plain phono3py script with EMT forces. EMT stands in for DFT here: a GRACE model trained on EMT data is then
scored against the potential it learned (this demonstrates the workflow and the metric, not the paper's numbers).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path


from plain_kappa import plain_kappa

SETTINGS = {"fc3_supercell": [[2, 0, 0], [0, 2, 0], [0, 0, 2]], "fc2_supercell": [[3, 0, 0], [0, 3, 0], [0, 0, 3]],
            "mesh": [11, 11, 11]}


def main():
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.io import write

    from aiida_grace.functions.synthetic import EMT_LATTICE

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("--elements", default="Cu,Al")
    args = parser.parse_args()
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    structures, table = [], {}
    for row, element in enumerate(args.elements.split(",")):
        atoms = bulk(element, "fcc", a=EMT_LATTICE[element], cubic=True)
        atoms.info.update({"fc3_supercell": SETTINGS["fc3_supercell"], "fc2_supercell": SETTINGS["fc2_supercell"],
                           "q_mesh": SETTINGS["mesh"], "mp_id": f"emt-{element}", "name": element, "symm.no": 225})
        structures.append(atoms)
        result = plain_kappa(EMT(), atoms, **SETTINGS, distance=0.03)
        columns = {"mp_id": f"emt-{element}", "name": element, "symm.no": 225, "q_mesh": SETTINGS["mesh"],
                   "temperatures": result["temperatures"].tolist(), "qpoints": result["qpoints"].tolist(),
                   "weights": result["weights"].tolist(), "frequencies": result["frequencies"].tolist(),
                   "heat_capacity": result["heat_capacity"].tolist(),
                   "kappa_TOT_ave": result["kappa_TOT_ave"].tolist(),
                   "mode_kappa_TOT_ave": result["mode_kappa_TOT_ave"].tolist()}
        for column, value in columns.items():
            table.setdefault(column, {})[str(row)] = value
        print(f"{element}: EMT κ_TOT = {result['kappa_TOT_ave'][0]:.3f} W/m/K ({result['n_supercells']} supercells)")
    write(outdir / "structures.extxyz", structures, format="extxyz")
    with gzip.open(outdir / "reference.json.gz", "wt") as handle:
        json.dump(table, handle)


if __name__ == "__main__":
    main()
