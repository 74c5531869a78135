"""Elastic constants as calcfunctions: strained cells, the stress–strain fit, scores against references."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..common import elastic
from ..common.structures import labels_of
from ..data import GraceDatasetData

__all__ = ("fit_elastic_constants", "score_elastic", "strained_dataset", "strained_structures")


@calcfunction
def strained_structures(structure: orm.StructureData, strains: orm.Dict) -> dict:
    """The structure under each independent strain of ``strains`` = {normal: [...], shear: [...]} (fractions;
    engineering shears), atoms moved with the cell. Outputs are named ``e1_00``... in the order of
    :func:`aiida_grace.common.elastic.strain_set`."""
    cells = elastic.strained_cells(structure.get_ase(), strains["normal"], strains["shear"])
    return {name: orm.StructureData(ase=atoms) for name, atoms in cells}


@calcfunction
def strained_dataset(structure: orm.StructureData, strains: orm.Dict) -> GraceDatasetData:
    """The strained cells of :func:`strained_structures` as one (unlabelled) dataset, in the same order: one node
    per structure instead of one per cell, for batches of many structures."""
    cells = elastic.strained_cells(structure.get_ase(), strains["normal"], strains["shear"])
    return GraceDatasetData([atoms for _, atoms in cells])


@calcfunction
def fit_elastic_constants(structure: orm.StructureData, dataset: GraceDatasetData) -> dict:
    """Fit σ = C·e + σ0 to the stresses of ``dataset`` (the strained cells of ``structure``, ions relaxed).

    Strains are recovered from the cells, so the fit needs no bookkeeping of names. Outputs ``elastic_tensor``
    (ArrayData: ``elastic_tensor`` symmetrised 6×6 GPa, ``raw_tensor``, ``residual_stress`` GPa, ``strains``,
    ``stresses`` GPa) and ``output_parameters`` (VRH moduli, Young's modulus, Poisson ratio, Born stability,
    fit residual and asymmetry in GPa).
    """
    reference = structure.cell
    strains, stresses = [], []
    for index, atoms in enumerate(dataset.to_ase()):
        stress = labels_of(atoms).get("stress")
        if stress is None:
            raise ValueError(f"strained structure {index} has no stress label")
        strains.append(elastic.strain_of_cell(reference, atoms.cell.array))
        stresses.append(np.asarray(stress, dtype=float).reshape(-1)[:6] * elastic.EV_PER_A3_IN_GPA)
    fit = elastic.fit_elastic_tensor(strains, stresses)

    arrays = orm.ArrayData()
    for key in ("elastic_tensor", "raw_tensor", "residual_stress"):
        arrays.set_array(key, np.asarray(fit[key]))
    arrays.set_array("strains", np.asarray(strains))
    arrays.set_array("stresses", np.asarray(stresses))
    c = fit["elastic_tensor"]
    parameters = {
        **elastic.elastic_properties(c),
        "elastic_tensor": c.tolist(),
        "fit_residual": fit["fit_residual"],
        "asymmetry": fit["asymmetry"],
        "n_strains": len(strains),
        "units": {"elastic_tensor": "GPa", "moduli": "GPa", "fit_residual": "GPa", "poisson_ratio": "1"},
    }
    return {"elastic_tensor": arrays, "output_parameters": orm.Dict(parameters)}


@calcfunction
def score_elastic(reference: orm.ArrayData, failed: orm.List | None = None, **predicted: orm.ArrayData) -> orm.Dict:
    """SRME and MAE (GPa) per C_ij group of predicted tensors (outputs of :func:`fit_elastic_constants`, keyed
    by structure name) against ``reference`` (an ArrayData with one 6×6 GPa array per structure name).

    ``failed``: names of structures the workflow could not compute; like the paper (scores over the structures
    every model computed) they are left out of the scores and counted in ``n_failed``/``failed``."""
    scores = elastic.score_elastic_tensors(
        {name: node.get_array("elastic_tensor") for name, node in predicted.items()},
        {name: reference.get_array(name) for name in reference.get_arraynames()},
    )
    names = sorted(failed.get_list()) if failed is not None else []
    return orm.Dict({**scores, "n_failed": len(names), "failed": names})
