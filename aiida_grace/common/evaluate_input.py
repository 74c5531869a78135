"""Validate the settings of an evaluation job (pure; no aiida).

    mode: static | relax
    calculator: tensorflow (SavedModel, TPCalculator) | fs_cpp (FS yaml, python-ace C++ evaluator)
    compute_stress: true                 # for fully periodic cells
    lockstep: true                       # TensorFlow ion relaxations side by side, one padded pass per step
    relax: {optimizer: FIRE | BFGS, fmax: 0.01 eV/Å, steps: 500, cell_filter: false,
            fix_symmetry: false, symprec: 1e-5, pressure: 0.0 GPa,
            mask: null,                  # cell-filter mask, 6 Voigt flags (e.g. [1,1,1,0,0,0]: no shear)
            free_second_stage: false}    # then relax again without FixSymmetry; keep it if the space group holds
"""

from __future__ import annotations

import difflib

from .train_input import merge

DEFAULTS = {
    "mode": "static",
    "calculator": "tensorflow",
    "compute_stress": True,
    "lockstep": True,
    "relax": {"optimizer": "FIRE", "fmax": 0.01, "steps": 500, "cell_filter": False, "fix_symmetry": False,
              "symprec": 1e-5, "pressure": 0.0, "mask": None, "free_second_stage": False},
}
CHOICES = {"mode": ("static", "relax"), "calculator": ("tensorflow", "fs_cpp")}


class EvaluateSettingsError(ValueError):
    """The evaluation settings are invalid."""


def _unknown(key: str, known) -> EvaluateSettingsError:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return EvaluateSettingsError(f"unknown evaluation setting '{key}'{hint}")


def validate_settings(settings: dict) -> dict:
    """Check ``settings`` and return them merged over :data:`DEFAULTS`."""
    for key in settings:
        if key not in DEFAULTS:
            raise _unknown(key, DEFAULTS)
    for key in settings.get("relax", {}) or {}:
        if key not in DEFAULTS["relax"]:
            raise _unknown(f"relax.{key}", [f"relax.{k}" for k in DEFAULTS["relax"]])
    merged = merge(DEFAULTS, settings)
    for key, choices in CHOICES.items():
        if merged[key] not in choices:
            raise EvaluateSettingsError(f"{key} must be one of {', '.join(choices)}, got {merged[key]!r}")
    if not isinstance(merged["lockstep"], bool):
        raise EvaluateSettingsError(f"lockstep must be true or false, got {merged['lockstep']!r}")
    relax = merged["relax"]
    if relax["optimizer"] not in ("FIRE", "BFGS"):
        raise EvaluateSettingsError(f"relax.optimizer must be FIRE or BFGS, got {relax['optimizer']!r}")
    if not (isinstance(relax["fmax"], (int, float)) and relax["fmax"] > 0):
        raise EvaluateSettingsError(f"relax.fmax must be a positive force in eV/Å, got {relax['fmax']!r}")
    if not (isinstance(relax["steps"], int) and relax["steps"] > 0):
        raise EvaluateSettingsError(f"relax.steps must be a positive integer, got {relax['steps']!r}")
    mask = relax["mask"]
    if mask is not None and not (isinstance(mask, (list, tuple)) and len(mask) == 6
                                 and all(m in (0, 1, True, False) for m in mask)):
        raise EvaluateSettingsError(f"relax.mask must be 6 flags (0/1) in Voigt order, got {mask!r}")
    if not isinstance(relax["free_second_stage"], bool):
        raise EvaluateSettingsError(f"relax.free_second_stage must be true or false, "
                                    f"got {relax['free_second_stage']!r}")
    if relax["free_second_stage"] and not relax["fix_symmetry"]:
        raise EvaluateSettingsError("relax.free_second_stage follows a symmetry-fixed stage: it needs "
                                    "relax.fix_symmetry: true")
    return merged
