"""``grace.point_defects``: vacancy and self-interstitial formation energies of fcc and bcc metals, batched across
structures. Science: :mod:`aiida_grace.common.point_defects`."""

from __future__ import annotations

from ..common import point_defects
from ..functions.point_defects import defect_cells, formation_energies
from .bulk_property import GraceBulkPropertyWorkChain

__all__ = ("GracePointDefectsWorkChain",)


class GracePointDefectsWorkChain(GraceBulkPropertyWorkChain):
    """Relax every bulk → vacancy and interstitial supercells of each (``supercell`` × the conventional cube)
    → ions (optionally the cell) of all defect cells relaxed in one pooled stage → E_f = E_defect − (N ± 1) ε_bulk
    per defect; ``vacancy`` and ``sia`` (lowest interstitial) scored against ``reference``."""

    PROTOCOL, NOUN, QUANTITIES = "point_defects", "defect supercells", point_defects.QUANTITIES
    build_cells, analyse = staticmethod(defect_cells), staticmethod(formation_energies)

    check_settings = staticmethod(point_defects.validate_defect_settings)

    @classmethod
    def check_structure(cls, atoms, settings: dict, cutoff: float | None) -> str | None:
        """An elemental fcc or bcc crystal whose defect supercell keeps a defect beyond the cutoff of its image."""
        return point_defects.supercell_too_small(atoms, settings["supercell"], cutoff)
