"""Settings of ``grace.distill`` (pure; no aiida): check them and derive the child jobs' parameters.

    synthetic:  {extended: true,                 # false: the downstream structures only ("naive distilled")
                 unary_prototypes: [fcc, bcc, hcp], binary_prototypes: [B2, L12, L10],
                 eos_strains: [-0.04, -0.02, 0.02, 0.04],   # linear strains (fractions) of each ideal crystal
                 n_rattled: 2, rattle: 0.05 Å, rattle_strain: 0.02, min_atoms_rattled: 8,
                 volume_per_atom: {El: Å³}, seed: 1}
    labelling:  {max_structures_per_job: 200}    # teacher jobs, structures grouped by size
    validation: {held_out_fraction: 0.1, seed: 1}
    student:    {cutoff: 5.0 Å, epochs: 50, kwargs: {FS preset sizes}, param_dtype: float64, seed: 1,
                 fit: {other grace.train fit settings}}
    finetune:   {enabled: false, parameters: {grace.train parameters with the teacher as parent}}
    speed:      {enabled: true, min_atoms: 256, repeats: 3}   # same cells, teacher TF vs student C++ FS
"""

from __future__ import annotations

import copy
import difflib

from .distill import BINARY_PROTOTYPES, UNARY_PROTOTYPES
from .train_input import merge, validate_parameters

DEFAULTS = {
    "synthetic": {
        "extended": True,
        "unary_prototypes": ["fcc", "bcc", "hcp"],
        "binary_prototypes": ["B2", "L12", "L10"],
        "eos_strains": [-0.04, -0.02, 0.02, 0.04],
        "n_rattled": 2,
        "rattle": 0.05,
        "rattle_strain": 0.02,
        "min_atoms_rattled": 8,
        "volume_per_atom": {},
        "seed": 1,
    },
    "labelling": {"max_structures_per_job": 200},
    "validation": {"held_out_fraction": 0.1, "seed": 1},
    "student": {"cutoff": 5.0, "epochs": 50, "kwargs": {}, "param_dtype": "float64", "seed": 1, "fit": {}},
    "finetune": {"enabled": False, "parameters": {"fit": {"maxiter": 20, "opt_params": {"learning_rate": 1.0e-3}},
                                                  "finetune": {"strategy": "naive"}}},
    "speed": {"enabled": True, "min_atoms": 256, "repeats": 3},
}
STRESS_LOSS = {"weight": 1.0, "type": "huber", "delta": 0.01}


class DistillSettingsError(ValueError):
    """The distillation settings are invalid."""


def _check_keys(values: dict, known: dict, where: str) -> None:
    if not isinstance(values, dict):
        raise DistillSettingsError(f"{where or 'the settings'} must be a dictionary, got {type(values).__name__}")
    for key in values:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise DistillSettingsError(f"unknown distillation setting '{where}{key}'{hint}")


def _positive(value, name: str, integer: bool = False, allow_zero: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < 0 or (value == 0 and not allow_zero):
        raise DistillSettingsError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} "
                                   f"{'integer' if integer else 'number'}, got {value!r}")


def validate_distill_settings(settings: dict) -> dict:
    """Check ``settings`` and return them merged over :data:`DEFAULTS`; raise DistillSettingsError."""
    _check_keys(settings, DEFAULTS, "")
    for section, values in settings.items():
        _check_keys(values, DEFAULTS[section], f"{section}.")
    merged = merge(DEFAULTS, settings)
    synthetic = merged["synthetic"]
    for key, allowed in (("unary_prototypes", UNARY_PROTOTYPES), ("binary_prototypes", BINARY_PROTOTYPES)):
        unknown = set(synthetic[key]) - set(allowed)
        if unknown:
            raise DistillSettingsError(f"synthetic.{key}: unknown {', '.join(sorted(unknown))}; "
                                       f"choose from {', '.join(allowed)}")
    if not all(isinstance(s, (int, float)) and -0.5 < s < 0.5 for s in synthetic["eos_strains"]):
        raise DistillSettingsError(f"synthetic.eos_strains must be fractions in (-0.5, 0.5), "
                                   f"got {synthetic['eos_strains']!r}")
    _positive(synthetic["n_rattled"], "synthetic.n_rattled", integer=True, allow_zero=True)
    _positive(synthetic["rattle"], "synthetic.rattle (Å)")
    _positive(synthetic["rattle_strain"], "synthetic.rattle_strain", allow_zero=True)
    _positive(synthetic["min_atoms_rattled"], "synthetic.min_atoms_rattled", integer=True)
    for element, volume in synthetic["volume_per_atom"].items():
        _positive(volume, f"synthetic.volume_per_atom.{element} (Å³)")
    _positive(merged["labelling"]["max_structures_per_job"], "labelling.max_structures_per_job", integer=True)
    fraction = merged["validation"]["held_out_fraction"]
    if not (isinstance(fraction, float) and 0 < fraction < 1):
        raise DistillSettingsError(f"validation.held_out_fraction must lie strictly between 0 and 1, got {fraction!r}")
    _positive(merged["student"]["epochs"], "student.epochs", integer=True)
    _positive(merged["speed"]["min_atoms"], "speed.min_atoms", integer=True)
    _positive(merged["speed"]["repeats"], "speed.repeats", integer=True)
    try:
        student_parameters(merged)
        if merged["finetune"]["enabled"]:
            validate_parameters(merged["finetune"]["parameters"])
    except ValueError as exception:
        raise DistillSettingsError(str(exception)) from exception
    return merged


def student_parameters(settings: dict, stress: bool = True) -> dict:
    """``grace.train`` parameters of the FS student, trained from scratch: preset FS, the student's cutoff
    (Å), epochs, sizes (``kwargs``), dtype and seed; energy, force and (with ``stress``: the data carry it)
    stress losses unless ``student.fit.loss`` says otherwise."""
    student = settings["student"]
    fit = copy.deepcopy(student["fit"])
    fit.setdefault("maxiter", student["epochs"])
    parameters = {
        "seed": student["seed"],
        "cutoff": student["cutoff"],
        "potential": {"preset": "FS", "kwargs": copy.deepcopy(student["kwargs"]),
                      "param_dtype": student["param_dtype"]},
        "fit": fit,
    }
    defaults = validate_parameters({})["fit"]["loss"]
    parameters["fit"].setdefault("loss", {**defaults, **({"stress": STRESS_LOSS} if stress else {})})
    validate_parameters(parameters)
    return parameters


def finetune_parameters(settings: dict) -> dict:
    """``grace.train`` parameters of the optional first step (fine-tuning the teacher; it is the parent)."""
    parameters = copy.deepcopy(settings["finetune"]["parameters"])
    parameters.setdefault("finetune", {"strategy": "naive"})
    validate_parameters(parameters)
    return parameters
