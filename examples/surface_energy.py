"""Surface energies of fcc Cu (100), (110), (111) with grace.surface_energy.

    verdi run examples/surface_energy.py                # trains the EMT Cu defects model first (~5 min)
    verdi run examples/surface_energy.py --model PK     # a stored GraceModelData with Cu instead

Prints γ of every slab in meV/Å² and J/m² against EMT's own (same slabs, relaxed directly with ase), writes the
plot and the commands to look further.
"""

from aiida_grace.common import surface_energy
from aiida_grace.examples import copper_validation, emt_relaxed, how_to_look
from aiida_grace.workflows.surface_energy import GraceSurfaceEnergyWorkChain


def emt_surface_energies(atoms, settings: dict, cutoff: float) -> dict:
    """EMT's own γ (meV/Å²) of the same slabs, relaxed as the workflow relaxes them."""
    relaxed = emt_relaxed(atoms, cell=True)
    epsilon = relaxed.get_potential_energy() / len(relaxed)
    gammas = {}
    for miller in settings["miller_indices"]:
        slab = surface_energy.slab(relaxed, miller, settings["min_thickness"], settings["vacuum"], cutoff)
        energy = emt_relaxed(slab, settings["relax"]).get_potential_energy()
        gammas[surface_energy.miller_key(miller)] = surface_energy.interface_energy(
            energy, len(slab), epsilon, surface_energy.area(slab))["meV_per_A2"]
    return gammas


def main():
    results, node, emt = copper_validation(
        __doc__, GraceSurfaceEnergyWorkChain, "grace.surface_energy", emt_surface_energies,
        lambda emt: {"surface_energy": {f"Cu/{key}": value for key, value in emt.items()}})
    print(f"{'Cu (hkl)':<9} {'atoms':>5} {'γ GRACE (meV/Å²)':>16} {'J/m²':>6} {'EMT':>7} {'diff':>7}")
    for key, row in results["output_parameters"]["Cu"]["surfaces"].items():
        print(f"({key}){'':<4} {row['n_atoms']:5d} {row['meV_per_A2']:16.1f} {row['J_per_m2']:6.3f} {emt[key]:7.1f} "
              f"{100 * (row['meV_per_A2'] / emt[key] - 1):+6.1f}%")
    score = results["scores"]["surface_energy"]
    print(f"surface energy SRME {score['srme']:.3f}, MAE {score['mae']:.1f} meV/Å² against EMT\n")
    print(how_to_look(node, plot="validation"))


if __name__ == "__main__":
    main()
