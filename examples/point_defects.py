"""Vacancy and self-interstitial formation energies of fcc Cu with grace.point_defects.

    verdi run examples/point_defects.py                 # trains the EMT Cu defects model first (~5 min)
    verdi run examples/point_defects.py --model PK      # a stored GraceModelData with Cu instead

Prints E_f of every defect against EMT's own (same supercells, relaxed directly with ase), the scores of the
vacancy and the lowest interstitial against EMT's, writes the plot and the commands to look further.
"""

from aiida_grace.common import point_defects
from aiida_grace.examples import copper_validation, emt_relaxed, how_to_look
from aiida_grace.workflows.point_defects import GracePointDefectsWorkChain


def emt_formation_energies(atoms, settings: dict, cutoff: float) -> dict:
    """EMT's own E_f (eV) of the same defects, relaxed as the workflow relaxes them."""
    relaxed = emt_relaxed(atoms, cell=True)
    epsilon = relaxed.get_potential_energy() / len(relaxed)
    return {cell.info["defect"]: point_defects.formation_energy(
                emt_relaxed(cell, settings["relax"]).get_potential_energy(), len(cell), epsilon)
            for cell in point_defects.defect_cells(relaxed, settings["supercell"], settings["defects"])}


def main():
    results, node, emt = copper_validation(
        __doc__, GracePointDefectsWorkChain, "grace.point_defects", emt_formation_energies,
        lambda emt: {q: {"Cu": v} for q, v in point_defects.summarize(emt).items() if q in ("vacancy", "sia")})
    energies = results["output_parameters"]["Cu"]["formation_energies"]
    print(f"{'Cu defect':<14} {'E_f GRACE (eV)':>14} {'EMT':>7} {'diff':>7}")
    for defect, value in energies.items():
        print(f"{defect:<14} {value:14.3f} {emt[defect]:7.3f} {100 * (value / emt[defect] - 1):+6.1f}%")
    for quantity in ("vacancy", "sia"):
        score = results["scores"][quantity]
        print(f"{quantity}: SRME {score['srme']:.3f}, MAE {score['mae']:.3f} eV against EMT")
    print()
    print(how_to_look(node, plot="validation"))


if __name__ == "__main__":
    main()
