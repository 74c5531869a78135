"""The κ_SRME benchmark: ``grace.thermal_conductivity`` over the phononDB structures, scored against DFT.

    verdi run benchmarks/kappa_srme.py --model <PK|UUID|label>                    # all 103 materials
    verdi run benchmarks/kappa_srme.py --model GRACE-2L-OAM --first 5
    verdi run benchmarks/kappa_srme.py --model <PK> --materials MgO,mp-1265 --output table.md

All materials run in one ``grace.thermal_conductivity.batch`` (relaxations in one job, the displaced supercells of
all materials pooled into force jobs, κ per material side by side) with the protocol's settings (fc2/fc3
supercells and q-mesh from each structure's ``info``); each material is scored by :mod:`aiida_grace.common.kappa_srme`: SRE and SRME at 300 K, 2 for a broken symmetry,
imaginary modes, a failed run or elements the model lacks. Writes a Markdown table (per material and the mean)
and a CSV beside it. ``--structures``/``--reference`` take other files of the same layout (an extxyz with the
phononDB ``info`` keys; a json.gz with ``mp_id``, ``name``, ``weights``, ``mode_kappa_TOT_ave``, ...). By default
they are the phononDB files of ../shared/data/phonondb beside the clone where that exists, else those that

    aiida-grace data fetch phonondb-structures phonondb-kappa

downloaded (sha256-checked, stored as nodes) into the reference cache folder (docs/reference_data.md).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import sys
from pathlib import Path

import numpy as np
from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.common.kappa_srme import Score, kappa_srme, score
from aiida_grace.common.reference_data import REGISTRY, cached_path
from aiida_grace.workflows.thermal_conductivity_batch import GraceThermalConductivityBatchWorkChain

# ../shared/data/phonondb beside the clone (`verdi run` sets __file__ to the bare file name: use argv[0])
PHONONDB = Path(sys.argv[0] if __name__ == "__main__" else __file__).resolve().parents[1].parent / "shared" / "data" / \
    "phonondb"


def default_file(name: str) -> str:
    """The data set's file in ../shared/data/phonondb when there, else where `aiida-grace data fetch` puts it."""
    shared = PHONONDB / REGISTRY[name].filename
    return str(shared if shared.is_file() else cached_path(name))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="GraceModelData PK, UUID or label")
    parser.add_argument("--driver", default="grace-driver@localhost", help="aiida-grace driver Code label")
    parser.add_argument("--structures", default=default_file("phonondb-structures"))
    parser.add_argument("--reference", default=default_file("phonondb-kappa"))
    parser.add_argument("--first", type=int, help="only the first N structures")
    parser.add_argument("--materials", help="comma-separated names or mp-ids (e.g. MgO,mp-1265)")
    parser.add_argument("--protocol", default="balanced", help="protocol of grace.thermal_conductivity")
    parser.add_argument("--overrides", default="{}", help="JSON merged over the protocol's parameters")
    parser.add_argument("--temperature", type=float, default=300.0, help="K")
    parser.add_argument("--output", default="kappa_srme.md", help="Markdown table (a .csv is written beside it)")
    return parser.parse_args()


def load_model(identifier: str):
    from aiida_grace.data import GraceModelData

    try:
        return orm.load_node(identifier)
    except Exception:  # noqa: BLE001 - fall back to a label lookup
        found = orm.QueryBuilder().append(GraceModelData, filters={"label": identifier}).first()
        if not found:
            raise SystemExit(f"no GraceModelData with PK, UUID or label '{identifier}'")
        return found[0]


def load_reference(path: str) -> dict:
    """Reference rows by mp_id: the json.gz of a column-wise pandas DataFrame (keys '0', '1', ...)."""
    with gzip.open(path) as handle:
        table = json.load(handle)
    return {table["mp_id"][row]: {column: table[column][row] for column in table} for row in table["mp_id"]}


def select(structures: list, first: int | None, materials: str | None) -> list:
    if materials:
        wanted = {m.strip() for m in materials.split(",")}
        structures = [a for a in structures if a.info.get("name") in wanted or a.info.get("mp_id") in wanted]
    return structures[:first] if first else structures


def score_outputs(outputs: dict, reference: dict, temperature: float) -> Score:
    """Score one material from its outputs (``symmetry``, ``output_parameters``, ``kappa_hdf5``: those it has;
    a material whose run failed has fewer) against one reference row."""
    import h5py

    weights = np.asarray(reference["weights"], dtype=float)
    t_ref = int(np.argmin(np.abs(np.asarray(reference["temperatures"]) - temperature)))
    mode_dft = np.asarray(reference["mode_kappa_TOT_ave"], dtype=float)[t_ref]
    if "symmetry" in outputs and not outputs["symmetry"]["kept"]:
        return score(mode_kappa_dft=mode_dft, weights=weights, symmetry_broken=True)
    if "kappa_hdf5" not in outputs:
        return score(mode_kappa_dft=mode_dft, weights=weights)
    if outputs["output_parameters"]["has_imaginary_modes"]:
        return score(mode_kappa_dft=mode_dft, weights=weights, imaginary_modes=True)
    with h5py.File(io.BytesIO(outputs["kappa_hdf5"].get_content(mode="rb"))) as handle:
        t_ml = int(np.argmin(np.abs(handle["temperature"][:] - temperature)))
        mode_ml, weights_ml = handle["mode_kappa_TOT_ave"][t_ml], handle["weight"][:]
    if weights_ml.shape != weights.shape or not np.array_equal(weights_ml, weights):
        raise ValueError(f"the irreducible q-grid differs from the reference's ({weights_ml.shape} vs "
                         f"{weights.shape} points); use the reference's q-mesh")
    return score(mode_kappa_ml=mode_ml, mode_kappa_dft=mode_dft, weights=weights)


def score_node(node, reference: dict, temperature: float) -> Score:
    """Score a finished (or failed) grace.thermal_conductivity run against one reference row."""
    ports = ("symmetry", "output_parameters", "kappa_hdf5")
    return score_outputs({port: node.outputs[port] for port in ports if port in node.outputs}, reference,
                         temperature)


def material_outputs(batch, name: str) -> dict:
    """One material's outputs of a grace.thermal_conductivity.batch run (only those it has)."""
    found = {}
    for port in ("symmetry", "output_parameters", "kappa_hdf5"):
        namespace = getattr(batch.outputs, port, {})
        if name in namespace:
            found[port] = namespace[name]
    return found


def run_batch(structures: dict, model, driver, protocol: str, overrides: dict):
    """All materials the model covers in one grace.thermal_conductivity.batch (relaxations and forces pooled)."""
    builder = GraceThermalConductivityBatchWorkChain.get_builder_from_protocol(
        driver, model, structures, protocol=protocol, overrides=overrides)
    _, node = run_get_node(builder)
    return node


def write_tables(rows: list, summary: dict, output: Path) -> None:
    header = ["material", "mp_id", "space group", "κ_ML (W/m/K)", "κ_DFT (W/m/K)", "SRE", "SRME", "failure",
              "workchain"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join("" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
                                       for v in row) + " |")
    lines.append("")
    lines.append(f"κ_SRME = {summary['kappa_srme']:.4f}, mean SRE = {summary['mean_sre']:.4f} over "
                 f"{summary['n_materials']} materials ({summary['n_failed']} scored 2 as failures)")
    output.write_text("\n".join(lines) + "\n")
    with output.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def main():
    from ase.io import read

    args = parse_args()
    for path in (args.structures, args.reference):
        if not Path(path).is_file():
            raise SystemExit(f"{path} does not exist: fetch the phononDB reference with "
                             "'aiida-grace data fetch phonondb-structures phonondb-kappa'")
    model, driver = load_model(args.model), orm.load_code(args.driver)
    reference = load_reference(args.reference)
    structures = select(read(args.structures, index=":"), args.first, args.materials)
    names = {atoms.info["mp_id"]: atoms for atoms in structures}
    lacking = {mp_id: sorted(set(a.get_chemical_symbols()) - set(model.elements)) for mp_id, a in names.items()}
    runnable = {mp_id.replace("-", "_"): a for mp_id, a in names.items() if not lacking[mp_id]}
    batch = run_batch(runnable, model, driver, args.protocol, json.loads(args.overrides)) if runnable else None
    rows, scores = [], []
    for mp_id, atoms in names.items():
        info, ref = atoms.info, reference[mp_id]
        if lacking[mp_id]:
            result = score(mode_kappa_dft=np.asarray(ref["mode_kappa_TOT_ave"])[0],
                           weights=np.asarray(ref["weights"], dtype=float))
            result = Score(result.sre, result.srme, None, result.kappa_dft, f"model lacks {', '.join(lacking[mp_id])}")
        else:
            result = score_outputs(material_outputs(batch, mp_id.replace("-", "_")), ref, args.temperature)
        scores.append(result)
        rows.append([info.get("name"), mp_id, info.get("symm.no"), result.kappa_ml, result.kappa_dft,
                     result.sre, result.srme, result.failure or "", batch.pk if batch is not None else ""])
        kappa_ml = "—" if result.kappa_ml is None else f"{result.kappa_ml:.3f}"
        print(f"{info.get('name'):>10} {mp_id:>12}  κ_ML {kappa_ml:>9}  κ_DFT {result.kappa_dft:9.3f}  "
              f"SRE {result.sre:.3f}  SRME {result.srme:.3f}  {result.failure or ''}", flush=True)
    summary = kappa_srme(scores)
    write_tables(rows, summary, Path(args.output))
    print(f"κ_SRME = {summary['kappa_srme']:.4f}  mean SRE = {summary['mean_sre']:.4f}  "
          f"({summary['n_materials']} materials, {summary['n_failed']} failures); table: {args.output}")
    if batch is not None:
        print(f"grace.thermal_conductivity.batch <{batch.pk}>: verdi process report {batch.pk}")


if __name__ == "__main__":
    main()
