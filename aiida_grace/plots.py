"""Matplotlib figures people look at rather than read: learning curves and parity plots (PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .common.metrics import EV_PER_A3_TO_GPA
from .common.structures import labels_of


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


LEARNING_PANELS = (
    ("loss", "total loss", 1.0),
    ("energy_per_atom_mae", "energy MAE (meV/atom)", 1000.0),
    ("forces_mae", "force MAE (meV/Å)", 1000.0),
    ("stress_mae", "stress MAE (GPa)", 1.0),
)


def learning_curve(arrays: dict[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """Train and test metrics per epoch (``arrays`` as in grace.train's ``learning_curve`` output)."""
    plt = _pyplot()
    panels = [p for p in LEARNING_PANELS if np.isfinite(arrays.get(f"train_{p[0]}", [np.nan])).any()]
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
    epochs = arrays["epoch"]
    for axis, (key, label, scale) in zip(axes[0], panels):
        for prefix, style in (("train", "-o"), ("test", "-s")):
            values = np.asarray(arrays.get(f"{prefix}_{key}", []), dtype=float) * scale
            if len(values) and np.isfinite(values).any():
                axis.plot(epochs[: len(values)], values, style, markersize=3, label=prefix)
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.set_yscale("log")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)


def parity_data(reference: Sequence, predicted: Sequence) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Pairs (reference, predicted) of energy per atom (eV/atom), force components (eV/Å), stress (GPa)."""
    pairs: dict[str, list] = {"energy": [[], []], "forces": [[], []], "stress": [[], []]}
    for ref_atoms, pred_atoms in zip(reference, predicted):
        ref, pred = labels_of(ref_atoms), labels_of(pred_atoms)
        if "energy" in ref and "energy" in pred:
            pairs["energy"][0].append(ref["energy"] / len(ref_atoms))
            pairs["energy"][1].append(pred["energy"] / len(ref_atoms))
        for key, scale in (("forces", 1.0), ("stress", EV_PER_A3_TO_GPA)):
            if key in ref and key in pred:
                pairs[key][0].extend(np.ravel(ref[key]) * scale)
                pairs[key][1].extend(np.ravel(pred[key]) * scale)
    return {k: (np.array(v[0]), np.array(v[1])) for k, v in pairs.items() if v[0]}


PARITY_UNITS = {"energy": ("energy per atom", "eV/atom", 1000.0, "meV/atom"),
                "forces": ("force components", "eV/Å", 1000.0, "meV/Å"),
                "stress": ("stress components", "GPa", 1.0, "GPa")}


def parity(reference: Sequence, predicted: Sequence, path: str | Path, title: str = "") -> Path:
    """Predicted against reference labels, one panel per label, MAE in each panel's title."""
    plt = _pyplot()
    data = parity_data(reference, predicted)
    if not data:
        raise ValueError("no label is present on both the reference and the predicted structures")
    figure, axes = plt.subplots(1, len(data), figsize=(4 * len(data), 4), squeeze=False)
    for axis, (key, (ref, pred)) in zip(axes[0], data.items()):
        name, unit, mae_scale, mae_unit = PARITY_UNITS[key]
        low, high = min(ref.min(), pred.min()), max(ref.max(), pred.max())
        margin = 0.05 * (high - low or 1.0)
        axis.plot([low - margin, high + margin], [low - margin, high + margin], "k--", linewidth=0.8)
        axis.scatter(ref, pred, s=6, alpha=0.6)
        axis.set_xlabel(f"reference {name} ({unit})")
        axis.set_ylabel(f"predicted ({unit})")
        axis.set_title(f"MAE {mae_scale * np.mean(np.abs(pred - ref)):.3g} {mae_unit}")
        axis.set_aspect("equal", adjustable="datalim")
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return Path(path)
