"""Elastic constants of fcc Cu with grace.elastic, from a GRACE model trained on EMT-labelled Cu.

    verdi run examples/elastic.py                     # trains the EMT Cu demo model first (~3 min on 2 cores)
    verdi run examples/elastic.py --model PK          # a stored GraceModelData with Cu instead

Prints C11, C12, C44 and the moduli against EMT's own values (computed directly with ase, same strains), writes
the summary plot ``elastic_<PK>.png`` (C_ij heat map, moduli against EMT) and the commands to look further.
"""

from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk

from aiida_grace.examples import example_parser, how_to_look, model_from_args
from aiida_grace.plots import elastic_summary
from aiida_grace.workflows.elastic import GraceElasticWorkChain


def parse_args():
    parser = example_parser(__doc__)
    parser.add_argument("--protocol", default="balanced", choices=("fast", "balanced", "stringent"))
    return parser.parse_args()


def emt_elastic_constants(strains: dict):
    """EMT's own C_ij (GPa) of relaxed fcc Cu with the same strain set, straight from ase."""
    import numpy as np
    from ase.calculators.emt import EMT
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS
    from ase.units import GPa

    from aiida_grace.common.elastic import deformation, fit_elastic_tensor, strain_set

    atoms = bulk("Cu", "fcc", a=3.6)
    atoms.calc = EMT()
    BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-6, steps=500)
    voigt, stresses = [], []
    for _, strain in strain_set(strains["normal"], strains["shear"]):
        strained = atoms.copy()
        strained.set_cell(atoms.cell.array @ deformation(strain), scale_atoms=True)
        strained.calc = EMT()
        voigt.append(strain)
        stresses.append(strained.get_stress() / GPa)
    return fit_elastic_tensor(np.array(voigt), np.array(stresses))["elastic_tensor"]


def main():
    args = parse_args()
    model = model_from_args(args)
    builder = GraceElasticWorkChain.get_builder_from_protocol(orm.load_code(args.code), model,
                                                              orm.StructureData(ase=bulk("Cu", a=3.6)),
                                                              protocol=args.protocol)
    results, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise SystemExit(f"grace.elastic <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    c = results["elastic_tensor"].get_array("elastic_tensor")
    emt = emt_elastic_constants(builder.parameters["strains"])
    print(f"\ngrace.elastic <{node.pk}>, model <{model.pk}>, protocol {args.protocol}")
    print(f"{'GPa':<5} {'GRACE':>8} {'EMT':>8} {'diff':>7}")
    for label, (i, j) in (("C11", (0, 0)), ("C12", (0, 1)), ("C44", (3, 3))):
        print(f"{label:<5} {c[i, j]:8.1f} {emt[i, j]:8.1f} {100 * (c[i, j] / emt[i, j] - 1):+6.1f}%")
    p = results["output_parameters"]
    print(f"K_VRH {p['bulk_modulus_vrh']:.1f} GPa, G_VRH {p['shear_modulus_vrh']:.1f} GPa, E {p['youngs_modulus']:.1f} "
          f"GPa, Poisson {p['poisson_ratio']:.3f}, Born stable {p['born_stable']}, fit residual "
          f"{p['fit_residual']:.2g} GPa")
    plot = elastic_summary(c, f"elastic_{node.pk}.png", reference=emt, names=("GRACE", "EMT"),
                           title=f"fcc Cu, grace.elastic <{node.pk}>, model <{model.pk}>")
    print(f"summary plot (C_ij, moduli against EMT): {plot}\n")
    print(how_to_look(node, plot="elastic"))


if __name__ == "__main__":
    main()
