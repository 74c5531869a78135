"""Symmetric tilt grain-boundary energies of fcc Cu (Σ5 [001] (310) and (210)) with grace.grain_boundary.

    verdi run examples/grain_boundary.py                # trains the EMT Cu defects model first (~5 min)
    verdi run examples/grain_boundary.py --model PK     # a stored GraceModelData with Cu instead

Prints γ_GB of every boundary in meV/Å² and J/m² against EMT's own (same bicrystals, relaxed directly with ase),
writes the plot and the commands to look further.
"""

from aiida_grace.common import grain_boundary, surface_energy
from aiida_grace.examples import copper_validation, emt_relaxed, how_to_look
from aiida_grace.workflows.grain_boundary import GraceGrainBoundaryWorkChain


def emt_boundary_energies(atoms, settings: dict, cutoff: float) -> dict:
    """EMT's own γ_GB (meV/Å²) of the same bicrystals, relaxed as the workflow relaxes them."""
    relaxed = emt_relaxed(atoms, cell=True)
    epsilon = relaxed.get_potential_energy() / len(relaxed)
    gammas = {}
    for boundary in settings["boundaries"]:
        cell = emt_relaxed(grain_boundary.bicrystal(relaxed, boundary, settings["min_grain_thickness"], cutoff),
                           settings["relax"])
        gammas[grain_boundary.boundary_key(boundary)] = surface_energy.interface_energy(
            cell.get_potential_energy(), len(cell), epsilon, surface_energy.area(cell))["meV_per_A2"]
    return gammas


def main():
    results, node, emt = copper_validation(
        __doc__, GraceGrainBoundaryWorkChain, "grace.grain_boundary", emt_boundary_energies,
        lambda emt: {"grain_boundary_energy": {f"Cu/{key}": value for key, value in emt.items()}})
    print(f"{'Cu boundary':<14} {'atoms':>5} {'γ_GB GRACE (meV/Å²)':>19} {'J/m²':>6} {'EMT':>7} {'diff':>7}")
    for key, row in results["output_parameters"]["Cu"]["boundaries"].items():
        print(f"{key:<14} {row['n_atoms']:5d} {row['meV_per_A2']:19.1f} {row['J_per_m2']:6.3f} {emt[key]:7.1f} "
              f"{100 * (row['meV_per_A2'] / emt[key] - 1):+6.1f}%")
    score = results["scores"]["grain_boundary_energy"]
    print(f"grain-boundary energy SRME {score['srme']:.3f}, MAE {score['mae']:.1f} meV/Å² against EMT\n")
    print(how_to_look(node, plot="validation"))


if __name__ == "__main__":
    main()
