"""``grace.surface_energy``: surface energies of bulk crystals for given Miller indices, batched across
structures. Science: :mod:`aiida_grace.common.surface_energy`."""

from __future__ import annotations

from ..common import surface_energy
from ..functions.surface_energy import slab_cells, surface_energies
from .bulk_property import GraceBulkPropertyWorkChain

__all__ = ("GraceSurfaceEnergyWorkChain",)


class GraceSurfaceEnergyWorkChain(GraceBulkPropertyWorkChain):
    """Relax every bulk → one slab per Miller index (surface normal to z, ``min_thickness`` Å of material,
    ``vacuum`` Å) → ions of all slabs relaxed in one pooled stage (the paper's FIRE, 0.01 eV/Å, 500 steps) →
    γ = (E_slab − N ε_bulk) / 2A in meV/Å² and J/m²; scored per '<name>/<miller>' against ``reference``."""

    PROTOCOL, NOUN, QUANTITIES = "surface_energy", "slabs", surface_energy.QUANTITIES
    build_cells, analyse = staticmethod(slab_cells), staticmethod(surface_energies)

    check_settings = staticmethod(surface_energy.validate_surface_settings)

    @classmethod
    def check_structure(cls, atoms, settings: dict, cutoff: float | None) -> str | None:
        """Slab and vacuum thicker than the model's cutoff (else a surface sees the other one, or its image);
        every slab can be built."""
        for key, what in (("min_thickness", "the slab"), ("vacuum", "the vacuum")):
            if cutoff and settings[key] <= cutoff:
                return (f"{key} {settings[key]} Å is not more than the model's cutoff {cutoff:.2f} Å: an atom at "
                        f"one surface would see {'the other surface' if key == 'min_thickness' else 'the slab image'}")
        for miller in settings["miller_indices"]:
            try:
                surface_energy.slab(atoms, miller, settings["min_thickness"], settings["vacuum"], cutoff)
            except ValueError as exception:
                return f"slab {miller}: {exception}"
        return None
