"""Surface energies of fcc Cu (100), (110), (111) with grace.surface_energy.

    verdi run examples/surface_energy.py                # trains the EMT Cu defects model first (~5 min)
    verdi run examples/surface_energy.py --model PK     # a stored GraceModelData with Cu instead

Prints γ of every slab in meV/Å² and J/m² against EMT's own (same slabs, relaxed directly with ase), writes the
plot and the commands to look further.
"""

from aiida_grace.common import surface_energy
from aiida_grace.examples import copper_validation, emt_interface_energies, how_to_look, print_interface_energies
from aiida_grace.workflows.surface_energy import GraceSurfaceEnergyWorkChain


def emt_surface_energies(atoms, settings: dict, cutoff: float) -> dict:
    """EMT's own γ (meV/Å²) of the same slabs, relaxed as the workflow relaxes them."""
    return emt_interface_energies(atoms, lambda bulk: {
        surface_energy.miller_key(miller): surface_energy.slab(bulk, miller, settings["min_thickness"],
                                                               settings["vacuum"], cutoff)
        for miller in settings["miller_indices"]}, settings["relax"])


def main():
    results, node, emt = copper_validation(
        __doc__, GraceSurfaceEnergyWorkChain, "grace.surface_energy", emt_surface_energies,
        lambda emt: {"surface_energy": {f"Cu/{key}": value for key, value in emt.items()}})
    surfaces = results["output_parameters"]["Cu"]["surfaces"]
    print_interface_energies("Cu (hkl)", {f"({key})": row for key, row in surfaces.items()},
                             {f"({key})": value for key, value in emt.items()}, results["scores"]["surface_energy"],
                             "surface energy")
    print(how_to_look(node, plot="validation"))


if __name__ == "__main__":
    main()
