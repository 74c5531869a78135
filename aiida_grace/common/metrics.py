"""Errors of predicted labels against reference labels (pure numpy)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms

from .structures import labels_of

EV_PER_A3_TO_GPA = 160.21766208


def _mae_rmse(differences: list[np.ndarray]) -> tuple[float, float]:
    flat = np.concatenate([np.ravel(d) for d in differences])
    return float(np.mean(np.abs(flat))), float(np.sqrt(np.mean(flat**2)))


def label_errors(reference: Sequence[Atoms], predicted: Sequence[Atoms]) -> dict:
    """MAE and RMSE of energy per atom (eV/atom), force components (eV/Å) and stress components (GPa),
    over the structures where both sides carry the label. Keys: ``energy_per_atom_mae`` etc., and
    ``n_<label>`` counting the structures used. Missing labels are simply absent from the result."""
    if len(reference) != len(predicted):
        raise ValueError(f"{len(reference)} reference structures but {len(predicted)} predictions")
    diffs: dict[str, list] = {"energy_per_atom": [], "forces": [], "stress": []}
    for ref_atoms, pred_atoms in zip(reference, predicted):
        ref, pred = labels_of(ref_atoms), labels_of(pred_atoms)
        if "energy" in ref and "energy" in pred:
            diffs["energy_per_atom"].append(np.array([(pred["energy"] - ref["energy"]) / len(ref_atoms)]))
        if "forces" in ref and "forces" in pred:
            diffs["forces"].append(np.asarray(pred["forces"]) - np.asarray(ref["forces"]))
        if "stress" in ref and "stress" in pred:
            diffs["stress"].append((np.asarray(pred["stress"]) - np.asarray(ref["stress"])) * EV_PER_A3_TO_GPA)
    errors = {}
    for key, values in diffs.items():
        if values:
            errors[f"{key}_mae"], errors[f"{key}_rmse"] = _mae_rmse(values)
            errors[f"n_{key}"] = len(values)
    return errors
