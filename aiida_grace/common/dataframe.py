"""Conversion between labelled ASE structures and the pandas DataFrame that gracemaker reads."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from ase import Atoms

from .structures import labels_of, with_labels


def structures_to_dataframe(structures: Sequence[Atoms]) -> pd.DataFrame:
    """gracemaker's columns: ``ase_atoms``, ``energy`` (eV, total), ``forces`` (N×3 eV/Å), ``stress``
    (ASE Voigt, eV/Å³) and, where present, ``energy_weight``/``force_weight`` (per atom)/``virial_weight``."""
    rows = []
    for atoms in structures:
        labels = labels_of(atoms)
        bare = atoms.copy()
        bare.calc = None
        bare.info = {k: v for k, v in atoms.info.items() if not k.endswith("_weight")}
        row = {"ase_atoms": bare, "energy": labels.get("energy", np.nan), "forces": labels.get("forces")}
        if "stress" in labels:
            row["stress"] = np.asarray(labels["stress"], dtype=float)
        if "energy_weight" in atoms.info:
            row["energy_weight"] = float(atoms.info["energy_weight"])
        if "force_weight" in atoms.info:
            row["force_weight"] = np.broadcast_to(np.asarray(atoms.info["force_weight"], float), (len(atoms),)).copy()
        if "virial_weight" in atoms.info:
            row["virial_weight"] = float(atoms.info["virial_weight"])
        rows.append(row)
    frame = pd.DataFrame(rows)
    if "forces" in frame and frame["forces"].isna().all():
        frame = frame.drop(columns="forces")
    return frame


def dataframe_to_structures(frame: pd.DataFrame) -> list[Atoms]:
    """Inverse of :func:`structures_to_dataframe`; accepts any gracemaker DataFrame.

    ``energy_corrected`` is ignored (it is what gracemaker fits after reference-energy subtraction);
    ``energy`` is taken as the total energy.
    """
    if "ase_atoms" not in frame.columns:
        raise ValueError("the DataFrame has no 'ase_atoms' column; gracemaker datasets always do")
    structures = []
    for _, row in frame.iterrows():
        atoms = row["ase_atoms"]

        def present(key):
            value = row.get(key)
            return None if value is None or (np.isscalar(value) and pd.isna(value)) else value

        labelled = with_labels(
            atoms,
            energy=present("energy"),
            forces=None if present("forces") is None else np.asarray(row["forces"], float),
            stress=None if present("stress") is None else np.asarray(row["stress"], float),
        )
        for key in ("energy_weight", "force_weight", "virial_weight"):
            if present(key) is not None:
                value = np.asarray(row[key], float)
                labelled.info[key] = float(value) if value.ndim == 0 else value
        structures.append(labelled)
    return structures
