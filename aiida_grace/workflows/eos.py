"""``grace.eos``: equation of state of bulk crystals (Birch–Murnaghan V0, B0, B′), batched across structures,
with the Δ-gauge against ASE's ``dcdft`` WIEN2k references. Science: :mod:`aiida_grace.common.eos`."""

from __future__ import annotations

from aiida import orm

from ..common import eos
from ..functions.eos import eos_cells, fit_eos, score_eos
from .bulk_property import GraceBulkPropertyWorkChain

__all__ = ("GraceEosWorkChain",)


class GraceEosWorkChain(GraceBulkPropertyWorkChain):
    """Relax every bulk (cell + ions, symmetry kept) → ``points`` cells scaled over ±``volume_range`` of the
    relaxed volume (atoms scaled with the cell; ions relaxed at fixed volume when ``relax`` is given) in one
    pooled stage → Birch–Murnaghan fit per structure → SRME/MAE of V0, B0, B′ and the Δ-gauge (meV/atom)
    against ``reference`` (default for :meth:`get_builder_for_dcdft`: ASE's dcdft WIEN2k table)."""

    PROTOCOL, NOUN, QUANTITIES = "eos", "volume-scaled cells", eos.QUANTITIES
    build_cells, analyse, score = staticmethod(eos_cells), staticmethod(fit_eos), staticmethod(score_eos)

    check_settings = staticmethod(eos.validate_eos_settings)

    @classmethod
    def get_builder_for_dcdft(cls, code, model, protocol=None, overrides=None, options=None, batching=None,
                              elements=None):
        """A builder for every element of ASE's ``dcdft`` collection that ``model`` has (or of ``elements``),
        each in the collection's crystal structure, scored against its WIEN2k V0, B0, B′ (and Δ)."""
        structures = eos.dcdft_structures(elements or model.elements)
        if not structures:
            raise ValueError(f"model <{model.pk}> has no element of ASE's dcdft collection")
        return cls.get_builder_from_protocol(code, model, structures, protocol, overrides, options,
                                             reference=orm.Dict(eos.dcdft_reference()), batching=batching)
