"""Symmetric tilt grain-boundary energies of fcc Cu (Σ5 [001] (310) and (210)) with grace.grain_boundary.

    verdi run examples/grain_boundary.py                # trains the EMT Cu defects model first (~5 min)
    verdi run examples/grain_boundary.py --model PK     # a stored GraceModelData with Cu instead

Prints γ_GB of every boundary in meV/Å² and J/m² against EMT's own (same bicrystals, relaxed directly with ase),
writes the plot and the commands to look further.
"""

from aiida_grace.common import grain_boundary
from aiida_grace.examples import copper_validation, emt_interface_energies, how_to_look, print_interface_energies
from aiida_grace.workflows.grain_boundary import GraceGrainBoundaryWorkChain


def emt_boundary_energies(atoms, settings: dict, cutoff: float) -> dict:
    """EMT's own γ_GB (meV/Å²) of the same bicrystals, relaxed as the workflow relaxes them."""
    return emt_interface_energies(atoms, lambda bulk: {
        grain_boundary.boundary_key(boundary): grain_boundary.bicrystal(bulk, boundary, settings["min_grain_thickness"],
                                                                        cutoff)
        for boundary in settings["boundaries"]}, settings["relax"])


def main():
    results, node, emt = copper_validation(
        __doc__, GraceGrainBoundaryWorkChain, "grace.grain_boundary", emt_boundary_energies,
        lambda emt: {"grain_boundary_energy": {f"Cu/{key}": value for key, value in emt.items()}})
    print_interface_energies("Cu boundary", results["output_parameters"]["Cu"]["boundaries"], emt,
                             results["scores"]["grain_boundary_energy"], "grain-boundary energy")
    print(how_to_look(node, plot="validation"))


if __name__ == "__main__":
    main()
