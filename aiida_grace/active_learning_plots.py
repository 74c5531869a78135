"""The pictures of ``grace.active_learning``: γ of the explored frames per iteration, test errors per iteration."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .plots import _pyplot, _save


def gamma_distribution(frame_gammas: dict[int, np.ndarray], threshold: float, path: str | Path,
                       title: str = "") -> Path:
    """Max γ of every explored frame, one column of points (and its box) per iteration, log scale, with the
    threshold: the cloud should sink below the line as the training set grows."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    iterations = sorted(frame_gammas)
    data = [np.clip(frame_gammas[k], 1e-3, None) for k in iterations]
    axis.boxplot(data, positions=iterations, widths=0.5, showfliers=False)
    rng = np.random.default_rng(0)
    for k, values in zip(iterations, data):
        axis.scatter(k + rng.uniform(-0.18, 0.18, values.size), values, s=10, alpha=0.5, color="#1f77b4")
    axis.axhline(threshold, color="#d62728", linestyle="--", label=f"threshold γ = {threshold:g}")
    axis.set_yscale("log")
    axis.set_xticks(iterations)
    axis.set_xlabel("iteration (model k explores)")
    axis.set_ylabel("max γ per explored frame")
    axis.legend(loc="upper right")
    return _save(figure, path, title or "Extrapolation grade of fresh exploration")


def errors_per_iteration(rows: list[dict], path: str | Path, title: str = "") -> Path | None:
    """Test-set force RMSE/MAE (eV/Å) and energy MAE (meV/atom) of every iteration's model; None without a test
    set."""
    rows = [row for row in rows if row.get("test_errors")]
    if not rows:
        return None
    plt = _pyplot()
    figure, forces = plt.subplots(figsize=(6.4, 4.2))
    iterations = [row["iteration"] for row in rows]
    for key, marker in (("forces_rmse", "o"), ("forces_mae", "s")):
        forces.plot(iterations, [row["test_errors"][key] for row in rows], marker=marker,
                    label=key.replace("_", " ").replace("forces", "force"))
    forces.set_xlabel("iteration (model k)")
    forces.set_ylabel("test force error (eV/Å)")
    forces.set_xticks(iterations)
    energy = forces.twinx()
    energy.plot(iterations, [1000 * row["test_errors"]["energy_per_atom_mae"] for row in rows], marker="^",
                color="#2ca02c", label="energy MAE")
    energy.set_ylabel("test energy MAE (meV/atom)")
    lines = forces.get_legend_handles_labels()[0] + energy.get_legend_handles_labels()[0]
    labels = forces.get_legend_handles_labels()[1] + energy.get_legend_handles_labels()[1]
    forces.legend(lines, labels, loc="upper right")
    return _save(figure, path, title or "Held-out errors per iteration")
