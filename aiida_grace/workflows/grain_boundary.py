"""``grace.grain_boundary``: symmetric tilt grain-boundary energies of cubic crystals, batched across structures.
Science: :mod:`aiida_grace.common.grain_boundary`."""

from __future__ import annotations

from ..common import grain_boundary
from ..functions.grain_boundary import boundary_cells, boundary_energies
from .bulk_property import GraceBulkPropertyWorkChain

__all__ = ("GraceGrainBoundaryWorkChain",)


class GraceGrainBoundaryWorkChain(GraceBulkPropertyWorkChain):
    """Relax every bulk → one periodic bicrystal per boundary {sigma, rotation_axis, plane} (boundary plane normal
    to z, grains of ``min_grain_thickness`` Å) → all bicrystals relaxed in one pooled stage (the paper's FIRE +
    FrechetCellFilter, 0.01 eV/Å, 500 steps) → γ_GB = (E − N ε_bulk) / 2A in meV/Å² and J/m²; scored per
    '<name>/<key>' (key like S5_001_310) against ``reference``."""

    PROTOCOL, NOUN, QUANTITIES = "grain_boundary", "bicrystals", grain_boundary.QUANTITIES
    build_cells, analyse = staticmethod(boundary_cells), staticmethod(boundary_energies)

    check_settings = staticmethod(grain_boundary.validate_boundary_settings)

    @classmethod
    def check_structure(cls, atoms, settings: dict, cutoff: float | None) -> str | None:
        """Grains thicker than the model's cutoff; every boundary can be built with its plane normal to z."""
        if cutoff and settings["min_grain_thickness"] <= cutoff:
            return (f"min_grain_thickness {settings['min_grain_thickness']} Å is not more than the model's cutoff "
                    f"{cutoff:.2f} Å: an atom at one boundary would see the other")
        for boundary in settings["boundaries"]:
            try:
                grain_boundary.bicrystal(atoms, boundary, settings["min_grain_thickness"], cutoff)
            except ValueError as exception:
                return str(exception)
        return None
