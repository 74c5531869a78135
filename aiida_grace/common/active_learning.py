"""Active learning's bookkeeping (no aiida): settings, γ statistics of an exploration, the per-iteration table.

One iteration k: explore with model k (MD at the given temperatures) → γ of every frame → if the largest γ is
below ``gamma_threshold``: converged; else select up to ``select.n_structures`` frames → reference labels →
retrain (fine-tune model k, or train from scratch) on the grown training set → model k + 1.
"""

from __future__ import annotations

import numpy as np

from .md_input import MdSettingsError, validate_settings as validate_md_settings
from .train_input import merge
from .uncertainty_input import UncertaintySettingsError, build_settings, select_settings

DEFAULTS = {
    "max_iterations": 3,  # retrainings at most; exploration k = max_iterations only measures γ
    "gamma_threshold": 2.0,  # converged when every fresh exploration frame has max γ below this
    "retrain": "finetune",  # finetune: from the previous model (all weights); scratch: a new model each time
    "uncertainty": {},  # grace.uncertainty parameters (grace_uq build)
    "select": {},  # grace.select parameters; gamma_min defaults to gamma_threshold
    "explore": {"temperatures": [1000.0], "engine": "ase", "ensemble": "nvt", "steps": 500, "dump_interval": 10,
                "thermo_interval": 10, "timestep": 2.0},
    "train": {},  # grace.train parameters of every retraining (epochs, loss, ...)
}


class ActiveLearningSettingsError(ValueError):
    """Settings the active-learning loop cannot run with."""


def active_learning_settings(settings: dict | None) -> dict:
    """``settings`` merged over :data:`DEFAULTS` and checked; raises :class:`ActiveLearningSettingsError`."""
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ActiveLearningSettingsError(f"unknown active-learning setting(s) {', '.join(unknown)}; "
                                          f"known: {', '.join(DEFAULTS)}")
    merged = merge(DEFAULTS, settings)
    if not isinstance(merged["max_iterations"], int) or isinstance(merged["max_iterations"], bool) \
            or merged["max_iterations"] < 1:
        raise ActiveLearningSettingsError(f"max_iterations must be a positive integer, got {merged['max_iterations']!r}")
    threshold = merged["gamma_threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold <= 0:
        raise ActiveLearningSettingsError(f"gamma_threshold must be a positive number, got {threshold!r}")
    if merged["retrain"] not in ("finetune", "scratch"):
        raise ActiveLearningSettingsError(f"retrain must be 'finetune' or 'scratch', got {merged['retrain']!r}")
    merged["select"] = {"gamma_min": float(threshold), **merged["select"]}
    try:
        build_settings(merged["uncertainty"])
        select_settings(merged["select"])
    except UncertaintySettingsError as exception:
        raise ActiveLearningSettingsError(str(exception)) from None
    temperatures = merged["explore"].get("temperatures")
    if not temperatures or any(isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0
                               for t in temperatures):
        raise ActiveLearningSettingsError(f"explore.temperatures must be positive temperatures in K, "
                                          f"got {temperatures!r}")
    md = md_settings(merged["explore"], temperatures[0])
    if md["engine"] != "ase" or md["calculator"] != "tensorflow":
        raise ActiveLearningSettingsError("exploration runs ASE MD with the TensorFlow model (engine: ase)")
    if "finetune" in merged["train"]:
        raise ActiveLearningSettingsError("train must not set finetune: the loop sets it (see retrain)")
    return merged


def md_settings(explore: dict, temperature: float) -> dict:
    """The grace.md parameters of one exploration run at ``temperature`` (K), validated."""
    settings = {key: value for key, value in explore.items() if key != "temperatures"}
    try:
        return validate_md_settings({**settings, "temperature": float(temperature)})
    except MdSettingsError as exception:
        raise ActiveLearningSettingsError(f"explore: {exception}") from None


def exploration_statistics(gamma_max, threshold: float) -> dict:
    """What the γ of an exploration says: frames, how many above ``threshold``, largest and median γ."""
    gamma_max = np.asarray(gamma_max, dtype=float)
    return {"n_frames": int(gamma_max.size), "n_extrapolative": int(np.sum(gamma_max > threshold)),
            "gamma_max": float(gamma_max.max()) if gamma_max.size else None,
            "gamma_median": float(np.median(gamma_max)) if gamma_max.size else None}


def is_converged(statistics: dict) -> bool:
    """Whether no explored frame is extrapolative."""
    return statistics["n_frames"] > 0 and statistics["n_extrapolative"] == 0


def force_error_reduction(rows: list[dict], metric: str = "forces_rmse") -> float | None:
    """Test-set force error of the first model over that of the last (> 1: the loop improved the model)."""
    values = [row["test_errors"][metric] for row in rows if row.get("test_errors")]
    if len(values) < 2 or values[-1] == 0:
        return None
    return float(values[0] / values[-1])
