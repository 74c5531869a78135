"""Equation of state with grace.eos for every element of ASE's dcdft collection that the model has.

    verdi run examples/eos.py                     # trains the EMT Cu defects model first (~5 min on 2 cores)
    verdi run examples/eos.py --model PK          # a stored GraceModelData instead

Prints V0, B0, B′ per element against EMT's own (computed directly with ase) and WIEN2k's (dcdft), the Δ-gauge
against WIEN2k, writes the per-element plot and the commands to look further.
"""

from aiida import orm

from aiida_grace.common.eos import birch_murnaghan, scaled_cells
from aiida_grace.examples import (
    DEFECTS_MODEL_HELP,
    emt_defects_model,
    emt_relaxed,
    example_parser,
    how_to_look,
    model_from_args,
    run_validation,
)
from aiida_grace.workflows.eos import GraceEosWorkChain


def emt_eos(atoms, settings: dict) -> dict | None:
    """EMT's own Birch–Murnaghan fit over the same volumes (None where EMT has no parameters)."""
    from ase.calculators.emt import EMT

    try:
        relaxed = emt_relaxed(atoms, cell=True)
    except NotImplementedError:
        return None
    cells = scaled_cells(relaxed, settings["volume_range"], settings["points"])
    energies = []
    for cell in cells:
        cell.calc = EMT()
        energies.append(cell.get_potential_energy() / len(cell))
    return birch_murnaghan([c.get_volume() / len(c) for c in cells], energies)


def main():
    parser = example_parser(__doc__, model=DEFECTS_MODEL_HELP, epochs=200)
    parser.add_argument("--protocol", default="balanced", choices=("fast", "balanced", "stringent"))
    args = parser.parse_args()
    model = model_from_args(args, emt_defects_model, "EMT Cu defects model")
    builder = GraceEosWorkChain.get_builder_for_dcdft(orm.load_code(args.code), model, protocol=args.protocol)
    results, node = run_validation(builder, "grace.eos")
    scores, settings = results["scores"], builder.parameters.get_dict()
    print(f"{'element':<8} {'V0 Å³/atom':>10} {'EMT':>7} {'WIEN2k':>7} {'B0 GPa':>8} {'EMT':>7} {'WIEN2k':>7} "
          f"{'B′':>5} {'Δ meV/atom':>10}")
    for name, fit in sorted(results["output_parameters"].items()):
        emt = emt_eos(node.inputs.structures[name].get_ase(), settings) or {"V0": float("nan"), "B0": float("nan")}
        print(f"{name:<8} {fit['V0']:10.3f} {emt['V0']:7.3f} {scores['V0']['items'][name]['reference']:7.3f} "
              f"{fit['B0']:8.1f} {emt['B0']:7.1f} {scores['B0']['items'][name]['reference']:7.1f} {fit['Bp']:5.2f} "
              f"{scores['delta'][name]:10.1f}")
    print(f"Δ-gauge against WIEN2k (mean over {len(scores['delta'])} elements): {scores['delta_mean']:.1f} meV/atom; "
          f"V0 SRME {scores['V0']['srme']:.3f}, B0 SRME {scores['B0']['srme']:.3f}\n")
    print(how_to_look(node, plot="validation"))


if __name__ == "__main__":
    main()
