"""Lattice thermal conductivity κ(T) of fcc Cu with grace.thermal_conductivity, from a GRACE model trained on
EMT-labelled Cu, against EMT's own κ computed with plain phono3py (same cell, supercells, displacement, mesh).

    verdi run examples/thermal_conductivity.py                # trains the EMT Cu demo model first (~3 min)
    verdi run examples/thermal_conductivity.py --model PK     # e.g. the model examples/elastic.py trained
    verdi run examples/thermal_conductivity.py --model PK --mesh 6 --temperatures 300    # a quick look

fc3 in a 16-atom supercell, fc2 in 32 atoms (the conventional cell doubled). Phonons only: a metal's
electrons, which carry most of copper's heat, are not in κ. Prints κ per temperature, writes the plot
``kappa_<PK>.png`` (bands, DOS, κ(T)) and the commands to look further.
"""

import sys
from pathlib import Path

from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk

from aiida_grace.examples import example_parser, how_to_look, model_from_args
from aiida_grace.plots import phonons_and_kappa_of
from aiida_grace.workflows.thermal_conductivity import GraceThermalConductivityWorkChain

SUPERCELLS = {"fc3_supercell": [[-1, 1, 1], [1, -1, 1], [1, 1, -1]], "fc2_supercell": [2, 2, 2]}


def parse_args():
    parser = example_parser(__doc__)
    parser.add_argument("--mesh", type=int, default=11, help="q-point mesh per direction (default: %(default)s)")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[100.0, 200.0, 300.0, 500.0, 800.0],
                        help="K (default: %(default)s)")
    parser.add_argument("--protocol", default="balanced", choices=("fast", "balanced", "stringent"))
    return parser.parse_args()


def emt_kappa(settings: dict):
    """EMT's κ_TOT (W/m/K, mean of xx, yy, zz) per temperature with the same settings, by the plain phono3py
    script of benchmarks/plain_kappa.py (no AiiDA)."""
    from ase.calculators.emt import EMT

    # `verdi run` sets __file__ to the bare file name: find the repository from argv[0]
    sys.path.insert(0, str(Path(sys.argv[0]).resolve().parents[1] / "benchmarks"))
    from plain_kappa import plain_kappa

    result = plain_kappa(EMT(), bulk("Cu", "fcc", a=3.6, cubic=True), fc3_supercell=settings["fc3_supercell"],
                         fc2_supercell=settings["fc2_supercell"], mesh=settings["mesh"],
                         distance=settings["distance"], relax=settings["relax"],
                         temperatures=settings["kappa"]["temperatures"], symprec=settings["symprec"])
    return result["kappa_TOT_RTA"][:, :3].mean(axis=1)


def main():
    args = parse_args()
    model = model_from_args(args)
    overrides = {**SUPERCELLS, "mesh": [args.mesh] * 3, "kappa": {"temperatures": args.temperatures}}
    builder = GraceThermalConductivityWorkChain.get_builder_from_protocol(
        orm.load_code(args.code), model, bulk("Cu", "fcc", a=3.6, cubic=True), protocol=args.protocol,
        overrides=overrides)
    results, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise SystemExit(f"grace.thermal_conductivity <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    summary = results["output_parameters"]
    emt = emt_kappa(builder.parameters.get_dict())
    print(f"\ngrace.thermal_conductivity <{node.pk}>, model <{model.pk}>, fcc Cu, {args.mesh}³ q-mesh, "
          f"{summary['n_displacements_fc3']} fc3 + {summary['n_displacements_fc2']} fc2 displaced supercells")
    print(f"{'T (K)':>7} {'κ GRACE':>9} {'κ EMT':>9} {'diff':>7}   (W/m/K, phonons only)")
    for temperature, kappa, reference in zip(summary["temperatures"], summary["kappa_TOT_ave"], emt):
        print(f"{temperature:7.0f} {kappa:9.2f} {reference:9.2f} {100 * (kappa / reference - 1):+6.1f}%")
    print(f"lowest frequency {summary['min_frequency']:.3f} THz, imaginary modes: {summary['has_imaginary_modes']}")
    plot = phonons_and_kappa_of(node, f"kappa_{node.pk}.png")
    print(f"phonon bands, DOS and κ(T): {plot}\n")
    print(how_to_look(node, plot="kappa"))


if __name__ == "__main__":
    main()
