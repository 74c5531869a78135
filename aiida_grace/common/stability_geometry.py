"""Geometry of relaxed candidates against their reference (DFT-relaxed) structures (pure; no aiida).

RMSD from pymatgen's StructureMatcher as Matbench Discovery configures it (stol=1.0, scale=False; ``get_rms_dist``:
dimensionless, normalised by (V/N)^(1/3)); NaN where the matcher finds no match (Matbench fills those with 1.0 in
its mean; here the mean is over the matched ones, with the fraction matched beside it). Space group kept: spglib's
number of the relaxed and the reference cell agree, at a strict and a loose ``symprec`` (Å).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .symmetry import space_group_number

SYMPRECS = (1e-3, 1e-2)  # Å: strict and loose


def to_structure(item):
    """A pymatgen Structure from ase Atoms (a Structure passes through)."""
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    return item if isinstance(item, Structure) else AseAtomsAdaptor.get_structure(item)


def to_atoms(item):
    """ase Atoms from a pymatgen Structure (Atoms pass through)."""
    from pymatgen.core import Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_atoms(item) if isinstance(item, Structure) else item


def structure_rmsd(relaxed, reference, matcher=None) -> float:
    """RMS displacement of ``relaxed`` from ``reference`` after StructureMatcher's best mapping; NaN without one."""
    from pymatgen.analysis.structure_matcher import StructureMatcher

    matcher = matcher or StructureMatcher(stol=1.0, scale=False)
    found = matcher.get_rms_dist(to_structure(relaxed), to_structure(reference))
    return float("nan") if found is None else float(found[0])


def space_group_kept(relaxed, reference, symprecs: Sequence[float] = SYMPRECS) -> dict:
    """Per symprec: the space-group numbers of both cells and whether they agree."""
    relaxed, reference = to_atoms(relaxed), to_atoms(reference)
    result = {}
    for symprec in symprecs:
        numbers = space_group_number(relaxed, symprec), space_group_number(reference, symprec)
        result[symprec] = {"relaxed": numbers[0], "reference": numbers[1], "kept": numbers[0] == numbers[1]}
    return result


def geometry_metrics(relaxed: Sequence, reference: Sequence, symprecs: Sequence[float] = SYMPRECS) -> dict:
    """Per structure RMSD and space groups (``items``) and their summary: mean RMSD over the matched structures,
    the fraction matched and, per symprec, the fraction whose space group was kept."""
    if len(relaxed) != len(reference):
        raise ValueError(f"{len(relaxed)} relaxed but {len(reference)} reference structures")
    if not relaxed:
        raise ValueError("no structures to compare")
    items = [{"rmsd": structure_rmsd(r, ref), "space_group": space_group_kept(r, ref, symprecs)}
             for r, ref in zip(relaxed, reference)]
    rmsd = np.array([item["rmsd"] for item in items])
    matched = ~np.isnan(rmsd)
    return {
        "items": items,
        "mean_rmsd": float(rmsd[matched].mean()) if matched.any() else float("nan"),
        "fraction_matched": float(matched.mean()),
        "fraction_space_group_kept": {symprec: float(np.mean([item["space_group"][symprec]["kept"]
                                                              for item in items])) for symprec in symprecs},
    }
