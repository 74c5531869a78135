"""calcfunctions of the thermal-conductivity workflow: phono3py displacements and the space-group check."""

from __future__ import annotations

import io

from aiida import orm
from aiida.engine import calcfunction

from ..common.files import KAPPA
from ..common.symmetry import space_group_number  # noqa: F401 (re-exported for the workflows)
from ..data import GraceDatasetData


@calcfunction
def phono3py_displacements(structure: orm.StructureData, parameters: orm.Dict) -> dict:
    """Displaced supercells for fc3 and fc2 (phono3py, ``is_plusminus='auto'``).

    ``parameters``: ``fc3_supercell``, ``fc2_supercell`` (3 ints or 3×3), ``distance`` (Å), ``symprec``.
    Returns ``supercells`` (GraceDatasetData, unlabelled, fc3 cells first, each with ``info`` ``phono3py_role``
    and ``phono3py_index``) and ``phono3py_yaml`` (phono3py_disp.yaml).
    """
    from ..driver.kappa import generate_displacements

    settings = parameters.get_dict()
    text, cells = generate_displacements(structure.get_ase(), settings["fc3_supercell"], settings["fc2_supercell"],
                                         distance=settings["distance"], symprec=settings["symprec"])
    return {
        "supercells": GraceDatasetData(cells),
        "phono3py_yaml": orm.SinglefileData(io.BytesIO(text.encode()), filename=KAPPA.phono3py_yaml),
    }


@calcfunction
def check_space_group(structure: orm.StructureData, reference: orm.Int, symprec: orm.Float) -> orm.Dict:
    """Space group of ``structure`` (spglib at ``symprec``) against ``reference``: ``{space_group, reference,
    symprec, kept}``."""
    number = space_group_number(structure.get_ase(), symprec.value)
    return orm.Dict({"space_group": number, "reference": reference.value, "symprec": symprec.value,
                     "kept": number == reference.value})
