"""Validate the settings of an elastic-constant workflow (pure; no aiida) and derive the evaluate settings.

    calculator: tensorflow | fs_cpp
    relax: {optimizer: BFGS, fmax: 1e-4 eV/Å, steps: 1000, symprec: 1e-5, pressure: 0.0 GPa}
                                          # cell and ions, symmetry kept (FrechetCellFilter + FixSymmetry)
    strains: {normal: [-0.01, -0.005, 0.005, 0.01], shear: [-0.01, -0.005, 0.005, 0.01]}   # fractions
    strained_relax: {optimizer: FIRE, fmax: 1e-4 eV/Å, steps: 1000}   # ions only, cell fixed
"""

from __future__ import annotations

from .elastic import ElasticFitError, strain_set
from .evaluate_input import EvaluateSettingsError, validate_settings
from .property_input import check_known_keys
from .train_input import merge

DEFAULTS = {
    "calculator": "tensorflow",
    "relax": {"optimizer": "BFGS", "fmax": 1e-4, "steps": 1000, "symprec": 1e-5, "pressure": 0.0},
    "strains": {"normal": [-0.01, -0.005, 0.005, 0.01], "shear": [-0.01, -0.005, 0.005, 0.01]},
    "strained_relax": {"optimizer": "FIRE", "fmax": 1e-4, "steps": 1000},
}


class ElasticSettingsError(ValueError):
    """The elastic workflow settings are invalid."""


def validate_elastic_settings(settings: dict) -> dict:
    """Check ``settings`` and return them merged over :data:`DEFAULTS`; raise ElasticSettingsError."""
    check_known_keys(settings, DEFAULTS, "elastic", ElasticSettingsError)
    merged = merge(DEFAULTS, settings)
    try:
        strain_set(merged["strains"]["normal"], merged["strains"]["shear"])
        relax_parameters(merged)
        strained_parameters(merged)
    except (ElasticFitError, EvaluateSettingsError) as exception:
        raise ElasticSettingsError(str(exception)) from exception
    return merged


def relax_parameters(settings: dict) -> dict:
    """``grace.evaluate`` parameters of the initial relaxation: cell and ions, symmetry kept."""
    return validate_settings({"mode": "relax", "calculator": settings["calculator"],
                              "relax": {**settings["relax"], "cell_filter": True, "fix_symmetry": True}})


def strained_parameters(settings: dict) -> dict:
    """``grace.evaluate`` parameters of the strained cells: ions relaxed at fixed cell, no symmetry constraint."""
    return validate_settings({"mode": "relax", "calculator": settings["calculator"],
                              "relax": {**settings["strained_relax"], "cell_filter": False,
                                        "fix_symmetry": False}})
