"""calcfunctions of the thermal-conductivity workflow: phono3py displacements and the space-group check."""

from __future__ import annotations

import io

from aiida import orm
from aiida.engine import calcfunction

from ..common.files import KAPPA
from ..common.symmetry import space_group_number  # noqa: F401 (re-exported for the workflows)
from ..data import GraceDatasetData


def unit_cell(structure, index) -> "ase.Atoms":  # noqa: F821
    """The ASE cell of a StructureData, or structure ``index`` (default 0) of a GraceDatasetData.

    A dataset keeps float64 positions and cell exactly; AiiDA rounds a StructureData's to 14 significant digits,
    and the κ of a symmetric cell can move by 0.2% with that rounding (its degenerate modes)."""
    if isinstance(structure, GraceDatasetData):
        return structure.to_ase()[index.value if index is not None else 0]
    return structure.get_ase()


@calcfunction
def phono3py_displacements(structure: orm.Data, parameters: orm.Dict, index: orm.Int | None = None) -> dict:
    """Displaced supercells for fc3 and fc2 (phono3py, ``is_plusminus='auto'``) of the unit cell ``structure``
    (a StructureData, or structure ``index`` of a relaxation's labelled dataset: exact, see :func:`unit_cell`).

    ``parameters``: ``fc3_supercell``, ``fc2_supercell`` (3 ints or 3×3), ``distance`` (Å), ``symprec``.
    Returns ``supercells`` (GraceDatasetData, unlabelled, fc3 cells first, each with ``info`` ``phono3py_role``
    and ``phono3py_index``) and ``phono3py_yaml`` (phono3py_disp.yaml).
    """
    from ..driver.kappa import generate_displacements

    settings = parameters.get_dict()
    text, cells = generate_displacements(unit_cell(structure, index), settings["fc3_supercell"], settings["fc2_supercell"],
                                         distance=settings["distance"], symprec=settings["symprec"])
    return {
        "supercells": GraceDatasetData(cells),
        "phono3py_yaml": orm.SinglefileData(io.BytesIO(text.encode()), filename=KAPPA.phono3py_yaml),
    }


@calcfunction
def check_space_group(structure: orm.Data, reference: orm.Int, symprec: orm.Float, index: orm.Int | None = None
                      ) -> orm.Dict:
    """Space group of ``structure`` (as in :func:`phono3py_displacements`; spglib at ``symprec``) against
    ``reference``: ``{space_group, reference, symprec, kept}``."""
    number = space_group_number(unit_cell(structure, index), symprec.value)
    return orm.Dict({"space_group": number, "reference": reference.value, "symprec": symprec.value,
                     "kept": number == reference.value})
