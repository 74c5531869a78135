"""Validate training parameters and render gracemaker's ``input.yaml`` (pure; no aiida).

The parameters mirror gracemaker's input.yaml sections (``seed``, ``cutoff``, ``data``, ``potential``,
``fit``) plus one section of our own, ``finetune``:

    finetune: {strategy: naive | frozen_2a | frozen_2b | frozen_fs | custom,
               trainable_variables: [...]  # custom only: substrings of variable names left trainable
               reduce_elements: false}      # shrink the parent model to the training data's elements

File names (datasets, parent model, checkpoint) are filled in by the CalcJob, never by the user.
"""

from __future__ import annotations

import copy
import difflib

KNOWN_KEYS = {
    "top": {"seed", "cutoff", "data", "potential", "fit", "finetune", "export_fs"},
    "data": {"test_size", "reference_energy", "save_dataset", "stress_units", "train_size", "max_workers"},
    "potential": {"preset", "kwargs", "elements", "param_dtype", "float_dtype", "scale", "shift", "avg_n_neigh",
                  "custom", "communicated_keys"},
    "fit": {
        "loss", "maxiter", "target_total_updates", "optimizer", "opt_params", "scheduler", "scheduler_params",
        "learning_rate_reduction", "batch_size", "test_batch_size", "jit_compile", "checkpoint_freq",
        "checkpoint_freq_steps", "trainable_variable_names", "reset_epoch_and_step", "reset_optimizer",
        "eval_init_stats", "weighting", "compute_convex_hull", "normalize_weights", "loss_norm_by_batch_size",
        "train_max_n_buckets", "test_max_n_buckets", "auto_bucket_max_padding", "progressbar", "train_shuffle",
        "test_shuffle", "group_similar_batches", "save_all_regular_checkpoints", "strategy",
    },
    "finetune": {"strategy", "trainable_variables", "reduce_elements"},
}
# Set by the CalcJob from input nodes; a user value would point outside the provenance graph.
RESERVED = {
    "data": {"filename", "test_filename", "path", "test_path"},
    "potential": {"filename", "checkpoint_name", "finetune_foundation_model", "reduce_elements"},
}
PRESETS = ("FS", "GRACE_1LAYER_latest", "GRACE_2LAYER_latest", "GRACE_1LAYER_v1_24", "GRACE_2LAYER_v1_24",
           "GRACE_1LAYER", "GRACE_2LAYER")
OPTIMIZERS = ("Adam", "L-BFGS-B", "BFGS")
LOSS_TYPES = ("square", "huber", "mae", "piecewise_linear")
PARAM_DTYPES = ("float32", "float64")

# The paper's fine-tuning strategies: substrings of the variables that stay trainable.
FREEZE_STRATEGIES = {
    "naive": None,                                                # 1: all weights
    "frozen_2a": ["rho/reducing_"],                               # 2a: final ACE expansion coefficients
    "frozen_2b": ["I1/reducing_", "I2/reducing_", "rho/reducing_"],  # 2b: also the message coefficients (2L)
    "frozen_fs": ["E/reducing_"],                                 # GRACE-FS: the energy expansion coefficients
}

DEFAULTS = {
    "seed": 1,
    "cutoff": 6.0,
    "data": {"test_size": 0.1, "reference_energy": 0},
    "potential": {"preset": "GRACE_1LAYER_latest"},  # param_dtype: float32, or the parent model's
    "fit": {
        "loss": {
            "energy": {"weight": 1.0, "type": "huber", "delta": 0.01},
            "forces": {"weight": 5.0, "type": "huber", "delta": 0.01},
        },
        "maxiter": 100,
        "optimizer": "Adam",
        "opt_params": {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.99},
        "scheduler": "cosine_decay",
        "scheduler_params": {"minimum_learning_rate": 0.001},
        "batch_size": 8,
        "test_batch_size": 8,
        "jit_compile": True,
        "checkpoint_freq": 1,
        "progressbar": False,
    },
}


class TrainParametersError(ValueError):
    """The training parameters are not something gracemaker understands."""


def _suggest(key: str, known: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_keys(section: str, values: dict) -> None:
    if not isinstance(values, dict):
        raise TrainParametersError(f"'{section}' must be a dictionary, got {type(values).__name__}")
    reserved = RESERVED.get(section, set())
    for key in values:
        if key in reserved:
            raise TrainParametersError(
                f"'{section}.{key}' is set by aiida-grace from the input nodes (datasets, parent_model); remove it"
            )
        if key not in KNOWN_KEYS[section]:
            where = "top level" if section == "top" else f"section '{section}'"
            raise TrainParametersError(
                f"unknown key '{key}' in {where} of the training parameters{_suggest(key, KNOWN_KEYS[section])}"
            )


def merge(defaults: dict, overrides: dict) -> dict:
    """Recursive dict merge: ``overrides`` wins; nested dicts are merged, everything else replaced."""
    result = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict) and key != "loss":
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def validate_parameters(parameters: dict) -> dict:
    """Check ``parameters`` and return them merged over :data:`DEFAULTS`; raise TrainParametersError."""
    _check_keys("top", parameters)
    for section in ("data", "potential", "fit", "finetune"):
        if section in parameters:
            _check_keys(section, parameters[section])
    merged = merge(DEFAULTS, parameters)
    fit, potential = merged["fit"], merged["potential"]

    if potential.get("preset") not in PRESETS and not potential.get("custom"):
        raise TrainParametersError(f"potential.preset '{potential.get('preset')}' is not one of {', '.join(PRESETS)}")
    if potential.get("param_dtype", "float32") not in PARAM_DTYPES:
        raise TrainParametersError(f"potential.param_dtype must be one of {PARAM_DTYPES}")
    if not isinstance(merged["cutoff"], (int, float)) or merged["cutoff"] <= 0:
        raise TrainParametersError(f"cutoff must be a positive number of Å, got {merged['cutoff']!r}")
    if fit.get("optimizer") not in OPTIMIZERS:
        raise TrainParametersError(f"fit.optimizer '{fit.get('optimizer')}' is not one of {', '.join(OPTIMIZERS)}")
    loss = fit.get("loss")
    if not isinstance(loss, dict) or not loss:
        raise TrainParametersError("fit.loss must name at least one of energy, forces, stress")
    for component, settings in loss.items():
        if component not in ("energy", "forces", "stress", "switch"):
            raise TrainParametersError(
                f"unknown loss component '{component}'{_suggest(component, {'energy', 'forces', 'stress'})}"
            )
        if component != "switch" and settings.get("type", "square") not in LOSS_TYPES:
            raise TrainParametersError(f"fit.loss.{component}.type must be one of {LOSS_TYPES}")
        if component != "switch" and not settings.get("weight", 0) > 0:
            raise TrainParametersError(f"fit.loss.{component}.weight must be positive")
    if "maxiter" not in fit and "target_total_updates" not in fit:
        raise TrainParametersError("fit needs maxiter (epochs) or target_total_updates")
    for key in ("maxiter", "batch_size", "test_batch_size"):
        if key in fit and (not isinstance(fit[key], int) or fit[key] < 1):
            raise TrainParametersError(f"fit.{key} must be a positive integer, got {fit[key]!r}")
    learning_rate = fit.get("opt_params", {}).get("learning_rate")
    if learning_rate is not None and not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise TrainParametersError(f"fit.opt_params.learning_rate must be positive, got {learning_rate!r}")
    if "trainable_variable_names" in fit:
        raise TrainParametersError("set frozen weights with finetune.strategy (or finetune.trainable_variables)")

    finetune = merged.get("finetune")
    if finetune is not None:
        strategy = finetune.get("strategy", "naive")
        if strategy == "custom":
            if not finetune.get("trainable_variables"):
                raise TrainParametersError("finetune.strategy 'custom' needs a non-empty trainable_variables list")
        elif strategy not in FREEZE_STRATEGIES:
            raise TrainParametersError(
                f"finetune.strategy '{strategy}' is not one of {', '.join([*FREEZE_STRATEGIES, 'custom'])}"
            )
    return merged


def loss_labels(parameters: dict) -> set[str]:
    """Labels the loss needs from every training structure: a subset of {'energy','forces','stress'}."""
    return {c for c in parameters["fit"]["loss"] if c in ("energy", "forces", "stress")} | {"energy"}


def trainable_variables(parameters: dict) -> list[str] | None:
    """Substrings of the variables left trainable, or None when every weight trains."""
    finetune = parameters.get("finetune") or {}
    strategy = finetune.get("strategy", "naive")
    return finetune.get("trainable_variables") if strategy == "custom" else FREEZE_STRATEGIES[strategy]


def render_input(parameters: dict, *, train_file: str, test_file: str | None = None, parent_yaml: str | None = None,
                 parent_checkpoint: str | None = None, parent_cutoff: float | None = None,
                 parent_param_dtype: str | None = None) -> dict:
    """gracemaker's input.yaml as a dict, from validated ``parameters`` and the job's file names.

    With a parent model the architecture (preset, kwargs, cutoff) and, unless given, the parameter
    dtype come from the parent."""
    config = {key: copy.deepcopy(parameters[key]) for key in ("seed", "cutoff", "data", "potential", "fit")}
    config["data"]["filename"] = train_file
    if not parent_yaml:
        config["potential"].setdefault("param_dtype", "float32")
    if test_file:
        config["data"]["test_filename"] = test_file
        config["data"].pop("test_size", None)
    if parent_yaml:
        potential = config["potential"]
        potential.pop("preset", None)
        potential.pop("kwargs", None)
        potential["filename"] = parent_yaml
        potential["checkpoint_name"] = parent_checkpoint
        if parent_cutoff:
            config["cutoff"] = parent_cutoff
        potential.setdefault("param_dtype", parent_param_dtype or "float32")
        finetune = parameters.get("finetune") or {}
        if finetune.get("reduce_elements"):
            potential["reduce_elements"] = True
        config["fit"].setdefault("reset_epoch_and_step", True)
        config["fit"].setdefault("reset_optimizer", True)
        trainable = trainable_variables(parameters)
        if trainable:
            config["fit"]["trainable_variable_names"] = list(trainable)
    return config


def wants_fs_export(parameters: dict, parent_architecture: str | None = None) -> bool:
    """Export FS_model.yaml when asked, by default for FS models (gracemaker -sf works for FS only)."""
    is_fs = parameters["potential"].get("preset") == "FS" or parent_architecture == "GRACE-FS"
    return bool(parameters.get("export_fs", is_fs))
