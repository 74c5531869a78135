"""Calcfunctions of grace.active_learning: the exploration pool, each iteration's record and the final table."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..common.active_learning import exploration_statistics, force_error_reduction
from ..common.metrics import label_errors
from ..data import GraceDatasetData


@calcfunction
def exploration_pool(**trajectories: orm.TrajectoryData) -> GraceDatasetData:
    """Every frame of the exploration trajectories (sorted by name), unlabelled, info ``source`` and ``step``."""
    frames = []
    for name in sorted(trajectories):
        trajectory = trajectories[name]
        for index, step in enumerate(trajectory.get_stepids()):
            atoms = trajectory.get_step_structure(index).get_ase()
            atoms.info = {"source": name, "step": int(step)}
            frames.append(atoms)
    return GraceDatasetData(frames)


@calcfunction
def iteration_record(pool_gamma: orm.ArrayData, threshold: orm.Float, n_selected: orm.Int,
                     training_set: GraceDatasetData, test_reference: GraceDatasetData | None = None,
                     test_predicted: GraceDatasetData | None = None) -> orm.Dict:
    """One iteration's numbers: γ of the exploration frames (statistics and the per-frame maxima), the largest γ
    over the model's training structures (``training_set``: evaluated with γ) and the test-set errors."""
    gamma_max = pool_gamma.get_array("gamma_max")
    record = {**exploration_statistics(gamma_max, threshold.value), "frame_gamma_max": gamma_max.tolist(),
              "n_selected": n_selected.value, "gamma_threshold": threshold.value,
              "training_gamma_max": max(float(a.info["gamma_max"]) for a in training_set.to_ase())}
    if test_reference is not None and test_predicted is not None:
        record["test_errors"] = label_errors(test_reference.to_ase(), test_predicted.to_ase())
    return orm.Dict(record)


@calcfunction
def active_learning_table(**records: orm.Dict) -> orm.Dict:
    """The iterations in order (keys ``iteration_<k>``), with the force-error reduction first → last model."""
    rows = [{"iteration": int(name.rsplit("_", 1)[1]), **records[name].get_dict()}
            for name in sorted(records, key=lambda n: int(n.rsplit("_", 1)[1]))]
    for row in rows:
        row.pop("frame_gamma_max", None)
    return orm.Dict({"iterations": rows, "force_rmse_reduction": force_error_reduction(rows),
                     "converged": bool(rows) and rows[-1]["n_extrapolative"] == 0,
                     "gamma_max_per_iteration": [row["gamma_max"] for row in rows],
                     "units": {"energy_per_atom": "eV/atom", "forces": "eV/Å", "stress": "GPa"}})


def frame_gammas(records: dict) -> dict[int, np.ndarray]:
    """Per iteration, the max γ of every explored frame (for the γ-distribution plot)."""
    return {int(name.rsplit("_", 1)[1]): np.asarray(record["frame_gamma_max"]) for name, record in records.items()}


@calcfunction
def active_learning_plots(table: orm.Dict, **records: orm.Dict) -> dict:
    """``gamma_distribution`` and (with a test set) ``errors`` PNGs of the loop."""
    import io
    import tempfile
    from pathlib import Path

    from ..active_learning_plots import errors_per_iteration, gamma_distribution

    summary = table.get_dict()
    threshold = summary["iterations"][0]["gamma_threshold"]
    plots = {}
    with tempfile.TemporaryDirectory() as folder:
        paths = {"gamma_distribution": gamma_distribution(
                     frame_gammas({name: record.get_dict() for name, record in records.items()}), threshold,
                     Path(folder) / "gamma_distribution.png"),
                 "errors": errors_per_iteration(summary["iterations"], Path(folder) / "errors.png")}
        for name, path in paths.items():
            if path is not None:
                plots[name] = orm.SinglefileData(io.BytesIO(path.read_bytes()), filename=path.name)
    return plots
