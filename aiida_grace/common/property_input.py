"""Settings of the validation workflows (EOS, point defects, surfaces, grain boundaries): checked against each
property's defaults and turned into ``grace.evaluate`` relaxation parameters (pure; no aiida)."""

from __future__ import annotations

from .evaluate_input import EvaluateSettingsError, validate_settings
from .train_input import merge

# the paper's bulk reference relaxation: BFGS + FrechetCellFilter to 0.001 eV/Å (symmetry kept)
BULK_RELAX = {"optimizer": "BFGS", "fmax": 1e-3, "steps": 1000, "symprec": 1e-5}
# the paper's defect, surface and boundary relaxation: FIRE to 0.01 eV/Å, at most 500 steps
DEFECT_RELAX = {"optimizer": "FIRE", "fmax": 0.01, "steps": 500, "cell_filter": False, "mask": None}


class PropertySettingsError(ValueError):
    """The settings of a validation workflow are invalid."""


def check_known_keys(settings: dict, defaults: dict, what: str, error=PropertySettingsError) -> None:
    """Raise ``error`` naming a key of ``settings`` (or one level down) that ``defaults`` does not have."""
    for key, value in settings.items():
        if key not in defaults:
            raise error(f"unknown {what} setting '{key}' (known: {', '.join(defaults)})")
        if isinstance(defaults[key], dict) and isinstance(value, dict):
            unknown = set(value) - set(defaults[key])
            if unknown:
                raise error(f"unknown setting(s) {', '.join(sorted(unknown))} in '{key}' "
                            f"(known: {', '.join(defaults[key])})")


def check_settings(settings: dict, defaults: dict, what: str) -> dict:
    """``settings`` merged over ``defaults``; unknown keys (also one level down) refused by name, and both
    relaxations (the bulk's and the property cells') checked as ``grace.evaluate`` parameters."""
    check_known_keys(settings, defaults, what)
    merged = merge(defaults, settings)
    try:
        bulk_parameters(merged)
        derived_parameters(merged)
    except EvaluateSettingsError as exception:
        raise PropertySettingsError(str(exception)) from exception
    return merged


def bulk_parameters(settings: dict) -> dict:
    """``grace.evaluate`` parameters of the bulk relaxation: cell and ions, symmetry kept."""
    return validate_settings({"mode": "relax", "calculator": settings["calculator"],
                              "relax": {**settings["bulk_relax"], "cell_filter": True, "fix_symmetry": True}})


def derived_parameters(settings: dict) -> dict:
    """``grace.evaluate`` parameters of the property's cells (defects, slabs, boundaries): ``settings['relax']``
    (optimizer, fmax, steps, cell_filter, mask), no symmetry constraint; static when it is None."""
    if settings.get("relax") is None:
        return validate_settings({"mode": "static", "calculator": settings["calculator"]})
    return validate_settings({"mode": "relax", "calculator": settings["calculator"],
                              "relax": {**settings["relax"], "fix_symmetry": False}})
