"""The fine-tuning study (paper Figs. 8-9): settings, nested training subsets, errors split by element group and
the forgetting Pareto front (pure; no aiida).

Settings (``grace.finetune_study`` ``parameters``)::

    strategies: [zero_shot, naive, frozen_2a, frozen_2b, frozen_fs, from_scratch]  # any non-empty subset
    fractions: [0.25, 0.5, 1.0]   # of the downstream training set; subsets are nested per seed
    seeds: [1]                    # subset draw and gracemaker seed
    validation_fraction: 0.1      # held out of the training set before subsets are drawn: gracemaker's test set
    reduce_elements: false        # fine-tuned models keep only the downstream data's elements (grace.train's)
    training: {...}               # grace.train parameters of every fine-tuning job (finetune and seed are set here)
    scratch: {...}                # from_scratch: merged over `training` and the parent's architecture
    probes: {point_defects: {protocol: fast, overrides: {...}}, ...}  # property workflows run on every model

Element groups: the *new* elements are those of the downstream training data. Energies per atom are split by
structure (``new``: containing a new element; ``other``: none), force components by atom (``new``: atoms of a
new element; ``other``: the rest), as the paper splits H/O from the other elements.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms

from .structures import labels_of
from .train_input import FREEZE_STRATEGIES, TrainParametersError, merge, validate_parameters

FINETUNE_STRATEGIES = tuple(FREEZE_STRATEGIES)  # naive, frozen_2a, frozen_2b, frozen_fs
STRATEGIES = ("zero_shot", *FINETUNE_STRATEGIES, "from_scratch")
# which frozen strategy fits which architecture (the trainable variables must exist in the parent)
FROZEN_ARCHITECTURES = {"frozen_2a": ("GRACE-1L", "GRACE-2L"), "frozen_2b": ("GRACE-2L",), "frozen_fs": ("GRACE-FS",)}
KNOWN_KEYS = {"strategies", "fractions", "seeds", "validation_fraction", "reduce_elements", "training", "scratch",
              "probes"}
# property probes: the validation workflows run on every model of the study (probe name → entry point)
PROBES = {"elastic": "grace.elastic.batch", "eos": "grace.eos", "point_defects": "grace.point_defects",
          "surface_energy": "grace.surface_energy", "grain_boundary": "grace.grain_boundary"}
DEFAULTS = {"strategies": ["zero_shot", "naive", "frozen_2a", "from_scratch"], "fractions": [0.25, 0.5, 1.0],
            "seeds": [1], "validation_fraction": 0.1, "reduce_elements": False, "training": {}, "scratch": {},
            "probes": {}}
GROUPS = ("all", "new", "other")


class StudySettingsError(ValueError):
    """The fine-tuning study's settings are inconsistent."""


def validate_study_settings(settings: dict) -> dict:
    """Check ``settings`` and return them over :data:`DEFAULTS`; raise StudySettingsError."""
    unknown = set(settings) - KNOWN_KEYS
    if unknown:
        raise StudySettingsError(f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KNOWN_KEYS))}")
    merged = {**DEFAULTS, **settings}
    strategies = merged["strategies"]
    if not strategies or not isinstance(strategies, list):
        raise StudySettingsError("strategies must be a non-empty list")
    bad = [s for s in strategies if s not in STRATEGIES]
    if bad:
        raise StudySettingsError(f"unknown strategy {', '.join(map(str, bad))}; choose from {', '.join(STRATEGIES)}")
    if len(set(strategies)) != len(strategies):
        raise StudySettingsError(f"strategies repeat: {strategies}")
    fractions = merged["fractions"]
    if not fractions or not all(isinstance(f, (int, float)) and 0 < f <= 1 for f in fractions):
        raise StudySettingsError(f"fractions must be a non-empty list of numbers in (0, 1], got {fractions!r}")
    if len(set(fractions)) != len(fractions):
        raise StudySettingsError(f"fractions repeat: {fractions}")
    seeds = merged["seeds"]
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise StudySettingsError(f"seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    if not isinstance(merged["validation_fraction"], (int, float)) or not 0 < merged["validation_fraction"] < 1:
        raise StudySettingsError(f"validation_fraction must lie in (0, 1), got {merged['validation_fraction']!r}")
    if not isinstance(merged["reduce_elements"], bool):
        raise StudySettingsError(f"reduce_elements must be true or false, got {merged['reduce_elements']!r}")
    for key in ("training", "scratch"):
        if not isinstance(merged[key], dict):
            raise StudySettingsError(f"'{key}' must be a dictionary of grace.train parameters")
        if "finetune" in merged[key] or "seed" in merged[key]:
            raise StudySettingsError(f"'{key}' must not set finetune or seed: the study sets them per job")
    _check_probes(merged["probes"])
    try:
        validate_parameters(merged["training"])
        validate_parameters(merge(merged["training"], merged["scratch"]))
    except TrainParametersError as exception:
        raise StudySettingsError(f"training parameters: {exception}") from exception
    merged["fractions"] = sorted(float(f) for f in fractions)
    return merged


def _check_probes(probes) -> None:
    if not isinstance(probes, dict):
        raise StudySettingsError("probes must map probe names to {protocol, overrides}")
    for name, probe in probes.items():
        if name not in PROBES:
            raise StudySettingsError(f"unknown probe {name!r}; choose from {', '.join(PROBES)}")
        if not isinstance(probe, dict) or set(probe) - {"protocol", "overrides"}:
            raise StudySettingsError(f"probes.{name} takes only 'protocol' and 'overrides', got {probe!r}")


def strategy_problem(strategy: str, parent_architecture: str | None) -> str | None:
    """Why ``strategy`` cannot fine-tune a parent of ``parent_architecture`` (None: it can)."""
    allowed = FROZEN_ARCHITECTURES.get(strategy)
    if allowed and parent_architecture not in allowed:
        return (f"strategy {strategy} trains variables of {' or '.join(allowed)} models only; the parent is "
                f"{parent_architecture or 'of unknown architecture'}")
    return None


def subset_name(fraction: float, seed: int) -> str:
    """'pct25_seed1' for 25 % drawn with seed 1 (a valid link label)."""
    percent = f"{100 * fraction:g}".replace(".", "p")
    return f"pct{percent}_seed{seed}"


def combination_name(strategy: str, subset: str | None) -> str:
    """'naive_pct25_seed1' (no double underscore: AiiDA reads it as a namespace); the zero-shot parent has no
    subset."""
    return strategy if subset is None else f"{strategy}_{subset}"


def subset_size(n_structures: int, fraction: float) -> int:
    """Structures in a ``fraction`` subset of ``n_structures``: rounded, at least one."""
    return max(1, int(round(fraction * n_structures)))


def nested_subsets(n_structures: int, fractions: Sequence[float], seeds: Sequence[int]) -> dict[str, list[int]]:
    """Indices of each (fraction, seed) subset: per seed one random order, each fraction its first
    ``subset_size`` indices, so that smaller subsets lie inside larger ones (data-efficiency curves differ
    only by the data added)."""
    subsets = {}
    for seed in seeds:
        order = np.random.default_rng(seed).permutation(n_structures).tolist()
        for fraction in fractions:
            subsets[subset_name(fraction, seed)] = sorted(order[: subset_size(n_structures, fraction)])
    return subsets


def _mae_rmse(values: list[np.ndarray]) -> dict:
    flat = np.concatenate([np.ravel(v) for v in values]) if values else np.array([])
    if not flat.size:
        return {}
    return {"mae": float(np.mean(np.abs(flat))), "rmse": float(np.sqrt(np.mean(flat**2))), "n": int(flat.size)}


def grouped_errors(reference: Sequence[Atoms], predicted: Sequence[Atoms], new_elements: Sequence[str]) -> dict:
    """Errors of ``predicted`` against ``reference`` per group (all, new, other): ``energy_per_atom`` (eV/atom,
    by structure) and ``forces`` (eV/Å, components, by atom), each {mae, rmse, n}; groups without data are
    left out. Structures are matched by position and must have the same atoms."""
    if len(reference) != len(predicted):
        raise ValueError(f"{len(reference)} reference structures but {len(predicted)} predictions")
    new = set(new_elements)
    energy = {group: [] for group in GROUPS}
    forces = {group: [] for group in GROUPS}
    for index, (ref_atoms, pred_atoms) in enumerate(zip(reference, predicted)):
        if ref_atoms.get_chemical_symbols() != pred_atoms.get_chemical_symbols():
            raise ValueError(f"structure {index}: reference and prediction have different atoms")
        ref, pred = labels_of(ref_atoms), labels_of(pred_atoms)
        is_new = np.array([symbol in new for symbol in ref_atoms.get_chemical_symbols()])
        if "energy" in ref and "energy" in pred:
            error = np.array([(pred["energy"] - ref["energy"]) / len(ref_atoms)])
            energy["all"].append(error)
            energy["new" if is_new.any() else "other"].append(error)
        if "forces" in ref and "forces" in pred:
            error = np.asarray(pred["forces"]) - np.asarray(ref["forces"])
            forces["all"].append(error)
            forces["new"].append(error[is_new])
            forces["other"].append(error[~is_new])
    result = {}
    for group in GROUPS:
        errors = {"energy_per_atom": _mae_rmse(energy[group]), "forces": _mae_rmse(forces[group])}
        errors = {label: values for label, values in errors.items() if values}
        if errors:
            result[group] = errors
    return result


def energy_change(before: Sequence[Atoms], after: Sequence[Atoms], new_elements: Sequence[str]) -> float | None:
    """Largest |ΔE| (eV, whole structure) between two models' predictions over the structures without a new
    element; None when there are none. A frozen fine-tuning leaves it at round-off."""
    new = set(new_elements)
    changes = [abs(labels_of(b)["energy"] - labels_of(a)["energy"]) for b, a in zip(before, after)
               if not new & set(b.get_chemical_symbols())]
    return float(max(changes)) if changes else None


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """Names of the points no other point beats in both coordinates (both to be minimised), sorted by the first."""
    front = [name for name, (x, y) in points.items()
             if not any((ox <= x and oy <= y) and (ox < x or oy < y) for ox, oy in points.values())]
    return sorted(front, key=lambda name: points[name])
