"""The κ_SRME benchmark: ``grace.thermal_conductivity`` over the phononDB structures, scored against DFT.

    verdi run benchmarks/kappa_srme.py --model <PK|UUID|label>                    # all 103 materials
    verdi run benchmarks/kappa_srme.py --model GRACE-2L-OAM --first 5
    verdi run benchmarks/kappa_srme.py --model <PK> --materials MgO,mp-1265 --output table.md

Each material runs the WorkChain with the protocol's settings (fc2/fc3 supercells and q-mesh from the structure's
``info``) and is scored by :mod:`aiida_grace.common.kappa_srme`: SRE and SRME at 300 K, 2 for a broken symmetry,
imaginary modes, a failed run or elements the model lacks. Writes a Markdown table (per material and the mean)
and a CSV beside it. ``--structures``/``--reference`` take other files of the same layout (an extxyz with the
phononDB ``info`` keys; a json.gz with ``mp_id``, ``name``, ``weights``, ``mode_kappa_TOT_ave``, ...).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
from pathlib import Path

import numpy as np
from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.common.kappa_srme import Score, kappa_srme, score
from aiida_grace.workflows.thermal_conductivity import GraceThermalConductivityWorkChain

PHONONDB = Path("/work/shared/data/phonondb")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="GraceModelData PK, UUID or label")
    parser.add_argument("--driver", default="grace-driver@localhost", help="aiida-grace driver Code label")
    parser.add_argument("--structures", default=str(PHONONDB / "phononDB-PBE-structures.extxyz"))
    parser.add_argument("--reference", default=str(PHONONDB / "kappas_phononDB_PBE_noNAC.json.gz"))
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


def score_node(node, reference: dict, temperature: float) -> Score:
    """Score a finished (or failed) grace.thermal_conductivity run against one reference row."""
    import h5py

    weights = np.asarray(reference["weights"], dtype=float)
    t_ref = int(np.argmin(np.abs(np.asarray(reference["temperatures"]) - temperature)))
    mode_dft = np.asarray(reference["mode_kappa_TOT_ave"], dtype=float)[t_ref]
    if node.exit_status == GraceThermalConductivityWorkChain.exit_codes.ERROR_SYMMETRY_BROKEN.status:
        return score(mode_kappa_dft=mode_dft, weights=weights, symmetry_broken=True)
    if not node.is_finished_ok:
        return score(mode_kappa_dft=mode_dft, weights=weights)
    if node.outputs.output_parameters["has_imaginary_modes"]:
        return score(mode_kappa_dft=mode_dft, weights=weights, imaginary_modes=True)
    with h5py.File(io.BytesIO(node.outputs.kappa_hdf5.get_content(mode="rb"))) as handle:
        t_ml = int(np.argmin(np.abs(handle["temperature"][:] - temperature)))
        mode_ml, weights_ml = handle["mode_kappa_TOT_ave"][t_ml], handle["weight"][:]
    if weights_ml.shape != weights.shape or not np.array_equal(weights_ml, weights):
        raise ValueError(f"<{node.pk}>: the irreducible q-grid differs from the reference's "
                         f"({weights_ml.shape} vs {weights.shape} points); use the reference's q-mesh")
    return score(mode_kappa_ml=mode_ml, mode_kappa_dft=mode_dft, weights=weights)


def run_material(atoms, model, driver, protocol: str, overrides: dict):
    """Run the WorkChain for one structure; None when the model lacks an element."""
    missing = sorted(set(atoms.get_chemical_symbols()) - set(model.elements))
    if missing:
        return None, f"model lacks {', '.join(missing)}"
    builder = GraceThermalConductivityWorkChain.get_builder_from_protocol(driver, model, atoms, protocol=protocol,
                                                                          overrides=overrides)
    _, node = run_get_node(builder)
    return node, None


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
    model, driver = load_model(args.model), orm.load_code(args.driver)
    reference = load_reference(args.reference)
    structures = select(read(args.structures, index=":"), args.first, args.materials)
    overrides = json.loads(args.overrides)
    rows, scores = [], []
    for atoms in structures:
        info = atoms.info
        node, reason = run_material(atoms, model, driver, args.protocol, overrides)
        ref = reference[info["mp_id"]]
        if node is None:
            weights = np.asarray(ref["weights"], dtype=float)
            result = score(mode_kappa_dft=np.asarray(ref["mode_kappa_TOT_ave"])[0], weights=weights)
            result = Score(result.sre, result.srme, None, result.kappa_dft, reason)
        else:
            result = score_node(node, ref, args.temperature)
        scores.append(result)
        rows.append([info.get("name"), info["mp_id"], info.get("symm.no"), result.kappa_ml, result.kappa_dft,
                     result.sre, result.srme, result.failure or "", node.pk if node is not None else ""])
        kappa_ml = "—" if result.kappa_ml is None else f"{result.kappa_ml:.3f}"
        print(f"{info.get('name'):>10} {info['mp_id']:>12}  κ_ML {kappa_ml:>9}  κ_DFT {result.kappa_dft:9.3f}  "
              f"SRE {result.sre:.3f}  SRME {result.srme:.3f}  {result.failure or ''}", flush=True)
    summary = kappa_srme(scores)
    write_tables(rows, summary, Path(args.output))
    print(f"κ_SRME = {summary['kappa_srme']:.4f}  mean SRE = {summary['mean_sre']:.4f}  "
          f"({summary['n_materials']} materials, {summary['n_failed']} failures); table: {args.output}")


if __name__ == "__main__":
    main()
