"""``GraceDatasetData``: a labelled set of structures stored as one extxyz file in the node's repository,
every float at full float64 precision (:mod:`aiida_grace.common.extxyz`)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
from aiida.orm import Data

from ..common.extxyz import read_extxyz, to_extxyz
from ..common.hashing import sha256_bytes
from ..common.structures import LABELS, WEIGHT_KEYS, label_counts, validate_structures

__all__ = ("GraceDatasetData",)


class GraceDatasetData(Data):
    """Structures with optional energy (eV), forces (eV/Å), stress (eV/Å³, ASE Voigt) and loss weights.

    Attributes: ``n_structures``, ``n_atoms`` (total), ``elements``, ``labels`` (labels every structure
    has), ``label_counts``, ``has_weights``, ``sha256`` (of the stored file). Build with
    :meth:`from_ase`, :meth:`from_extxyz`, :meth:`from_pymatgen` or :meth:`from_dataframe`.
    """

    FILENAME = "dataset.extxyz"

    def __init__(self, structures: Sequence | None = None, **kwargs):
        super().__init__(**kwargs)
        if structures is not None:
            self._set_structures(list(structures))

    # -- construction ---------------------------------------------------------------------------
    def _set_structures(self, structures: list) -> None:
        validate_structures(structures)
        text = to_extxyz(structures)
        content = text.encode()
        # Store what will be read back, so attributes describe the stored file exactly.
        stored = read_extxyz(io.StringIO(text))
        counts = label_counts(stored)
        self.base.repository.put_object_from_filelike(io.BytesIO(content), self.FILENAME)
        self.base.attributes.set_many(
            {
                "n_structures": len(stored),
                "n_atoms": int(sum(len(a) for a in stored)),
                "elements": sorted({s for a in stored for s in a.get_chemical_symbols()}),
                "label_counts": counts,
                "labels": [key for key in LABELS if counts[key] == len(stored)],
                "has_weights": any(k in a.info for a in stored for k in WEIGHT_KEYS),
                "sha256": sha256_bytes(content),
            }
        )

    @classmethod
    def from_ase(cls, structures: Sequence, **kwargs) -> "GraceDatasetData":
        """From ASE Atoms; labels are read from each one's (SinglePoint) calculator results."""
        return cls(structures=structures, **kwargs)

    @classmethod
    def from_extxyz(cls, path: str | Path, **kwargs) -> "GraceDatasetData":
        """From an extended-XYZ file (all frames)."""
        with open(path) as handle:
            return cls(structures=read_extxyz(handle), **kwargs)

    @classmethod
    def from_pymatgen(cls, structures: Sequence, energies=None, forces=None, stresses=None, **kwargs):
        """From pymatgen Structures with optional per-structure energies (eV), forces (eV/Å) and
        stresses (ASE Voigt order, eV/Å³)."""
        from pymatgen.io.ase import AseAtomsAdaptor

        from ..common.structures import with_labels

        def pick(values, index):
            return None if values is None else values[index]

        atoms = [
            with_labels(AseAtomsAdaptor.get_atoms(s), pick(energies, i), pick(forces, i), pick(stresses, i))
            for i, s in enumerate(structures)
        ]
        return cls(structures=atoms, **kwargs)

    @classmethod
    def from_dataframe(cls, frame, **kwargs) -> "GraceDatasetData":
        """From a gracemaker DataFrame, or the path of its pandas pickle (.pkl.gz).

        A pickle can run code when loaded: only read pickles you made or trust.
        """
        import pandas as pd

        from ..common.dataframe import dataframe_to_structures

        if not isinstance(frame, pd.DataFrame):
            frame = pd.read_pickle(frame)
        return cls(structures=dataframe_to_structures(frame), **kwargs)

    # -- views ----------------------------------------------------------------------------------
    @property
    def n_structures(self) -> int:
        return self.base.attributes.get("n_structures")

    @property
    def elements(self) -> list[str]:
        return self.base.attributes.get("elements")

    @property
    def labels(self) -> list[str]:
        return self.base.attributes.get("labels")

    @property
    def sha256(self) -> str:
        return self.base.attributes.get("sha256")

    def to_ase(self) -> list:
        """The structures as ASE Atoms with SinglePointCalculator labels."""
        with self.base.repository.open(self.FILENAME) as handle:
            return read_extxyz(handle)

    def to_dataframe(self):
        """A pandas DataFrame in gracemaker's format (``ase_atoms``, ``energy``, ``forces``, ``stress``, ...)."""
        from ..common.dataframe import structures_to_dataframe

        return structures_to_dataframe(self.to_ase())

    def energies_per_atom(self) -> np.ndarray:
        """Energy per atom (eV/atom) of each structure; NaN where a structure has no energy."""
        from ..common.structures import labels_of

        return np.array([labels_of(a).get("energy", np.nan) / len(a) for a in self.to_ase()])

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} ({self.n_structures} structures, {'-'.join(self.elements or [])}, labels {self.labels})"
