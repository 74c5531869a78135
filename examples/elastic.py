"""Elastic constants of fcc Cu with grace.elastic, from a GRACE model trained on EMT-labelled Cu.

Run with ``verdi run examples/elastic.py`` (trains a small model first, ~3 min on 2 cores) or
``verdi run examples/elastic.py --model PK`` to use a stored GraceModelData. Prints C11, C12, C44 and the
moduli against EMT's own values, computed directly with ase.
"""

import argparse

from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk

from aiida_grace.calculations.train import GraceTrainCalculation
from aiida_grace.common.demo import training_parameters
from aiida_grace.functions import emt_dataset, merge_datasets, split_dataset
from aiida_grace.workflows.elastic import GraceElasticWorkChain


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=int, help="pk of a GraceModelData with Cu (default: train one on EMT Cu)")
    parser.add_argument("--gracemaker", default="gracemaker@localhost", help="gracemaker Code label")
    parser.add_argument("--driver", default="grace-driver@localhost", help="aiida-grace driver Code label")
    parser.add_argument("--epochs", type=int, default=150, help="epochs when training the model")
    parser.add_argument("--protocol", default="balanced", choices=("fast", "balanced", "stringent"))
    return parser.parse_args()


def train_emt_copper(gracemaker, driver, epochs: int = 150):
    """A small float64 GRACE-1L model (cutoff 5 Å) trained on EMT-labelled fcc Cu cells (4 and 8 atoms):
    strained by up to 3% and rattled by 0.03 Å, plus gently strained ones for the elastic regime."""
    wide = emt_dataset(orm.List(["Cu"]), orm.Int(48), orm.Int(21), orm.Float(0.03), orm.Float(0.03))
    near = emt_dataset(orm.List(["Cu"]), orm.Int(24), orm.Int(22), orm.Float(0.01), orm.Float(0.01))
    split = split_dataset(merge_datasets(wide=wide, near=near), orm.Float(0.15), orm.Int(0))
    parameters = training_parameters(epochs, cutoff=5.0, stress_weight=10.0, learning_rate=0.01)
    results, node = run_get_node(GraceTrainCalculation, code=gracemaker, driver_code=driver, dataset=split["train"],
                                 test_dataset=split["test"], parameters=orm.Dict(parameters))
    if not node.is_finished_ok:
        raise SystemExit(f"training <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    return results["model"]


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
    driver = orm.load_code(args.driver)
    if args.model is not None:
        model = orm.load_node(args.model)
    else:
        model = train_emt_copper(orm.load_code(args.gracemaker), driver, args.epochs)
        print(f"trained model <{model.pk}> on EMT Cu")
    builder = GraceElasticWorkChain.get_builder_from_protocol(driver, model, orm.StructureData(ase=bulk("Cu", a=3.6)),
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
    print(f"Provenance: verdi node graph generate -f png {results['output_parameters'].pk}")


if __name__ == "__main__":
    main()
