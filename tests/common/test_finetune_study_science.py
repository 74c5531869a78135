"""The fine-tuning study's pure parts: nested subsets, errors by element group (by hand), the Pareto front, the
energy change of structures without new elements, settings checks."""

import numpy as np
import pytest
from ase.build import bulk

from aiida_grace.common.finetune_study import (
    StudySettingsError,
    energy_change,
    grouped_errors,
    nested_subsets,
    pareto_front,
    strategy_problem,
    subset_name,
    validate_study_settings,
)
from aiida_grace.common.structures import with_labels


def test_subsets_are_nested_per_seed_and_differ_between_seeds():
    subsets = nested_subsets(40, [0.1, 0.5, 1.0], [1, 2])
    assert [len(subsets[subset_name(f, 1)]) for f in (0.1, 0.5, 1.0)] == [4, 20, 40]
    assert set(subsets["pct10_seed1"]) < set(subsets["pct50_seed1"]) < set(subsets["pct100_seed1"])
    assert subsets["pct50_seed1"] != subsets["pct50_seed2"]
    assert subsets == nested_subsets(40, [0.1, 0.5, 1.0], [1, 2])  # reproducible
    assert subset_name(0.125, 3) == "pct12p5_seed3" and len(nested_subsets(3, [0.01], [0])["pct1_seed0"]) == 1


def labelled(symbols, energy, forces):
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.set_chemical_symbols(symbols)
    return with_labels(atoms, energy, np.asarray(forces, dtype=float))


def test_grouped_errors_split_energies_by_structure_and_forces_by_atom():
    zeros = np.zeros((4, 3))
    reference = [labelled(["Cu"] * 4, 0.0, zeros), labelled(["Cu", "Cu", "Ni", "Ni"], 0.0, zeros)]
    pure_forces = np.zeros((4, 3))
    pure_forces[0, 0] = 0.4
    mixed_forces = np.zeros((4, 3))
    mixed_forces[1, 1], mixed_forces[2, 2] = -0.2, 0.6  # a Cu atom and a Ni atom
    predicted = [labelled(["Cu"] * 4, 0.8, pure_forces), labelled(["Cu", "Cu", "Ni", "Ni"], -0.4, mixed_forces)]
    errors = grouped_errors(reference, predicted, ["Ni"])
    # energies per atom: Cu-only cell 0.2, mixed cell -0.1 (structure with a new element)
    assert errors["other"]["energy_per_atom"] == pytest.approx({"mae": 0.2, "rmse": 0.2, "n": 1}, abs=1e-12)
    assert errors["new"]["energy_per_atom"] == pytest.approx({"mae": 0.1, "rmse": 0.1, "n": 1}, abs=1e-12)
    assert errors["all"]["energy_per_atom"]["mae"] == pytest.approx(0.15, abs=1e-12)
    # forces: 2 Ni atoms (6 components, one 0.6), 6 Cu atoms (18 components: 0.4 and -0.2)
    assert errors["new"]["forces"] == pytest.approx({"mae": 0.1, "rmse": np.sqrt(0.36 / 6), "n": 6}, abs=1e-12)
    assert errors["other"]["forces"] == pytest.approx({"mae": 0.6 / 18, "rmse": np.sqrt(0.2 / 18), "n": 18},
                                                      abs=1e-12)
    assert errors["all"]["forces"]["mae"] == pytest.approx(1.2 / 24, abs=1e-12)
    assert set(grouped_errors(reference[:1], predicted[:1], ["Ni"])) == {"all", "other"}  # no new-element data
    with pytest.raises(ValueError, match="different atoms"):
        grouped_errors(reference[:1], predicted[1:], ["Ni"])


def test_energy_change_looks_only_at_structures_without_new_elements():
    zeros = np.zeros((4, 3))
    before = [labelled(["Cu"] * 4, 1.0, zeros), labelled(["Cu", "Cu", "Ni", "Ni"], 1.0, zeros)]
    after = [labelled(["Cu"] * 4, 1.25, zeros), labelled(["Cu", "Cu", "Ni", "Ni"], 9.0, zeros)]
    assert energy_change(before, after, ["Ni"]) == pytest.approx(0.25, abs=1e-12)
    assert energy_change(before[1:], after[1:], ["Ni"]) is None


def test_pareto_front_keeps_only_undominated_points():
    points = {"a": (1.0, 5.0), "b": (2.0, 2.0), "c": (3.0, 3.0), "d": (4.0, 1.0), "e": (2.0, 2.5), "f": (1.0, 5.0)}
    assert pareto_front(points) == ["a", "f", "b", "d"]  # c and e are beaten by b; equal points both stay


@pytest.mark.parametrize("settings, message", [
    ({"strategies": []}, "non-empty list"),
    ({"strategies": ["naive", "naive"]}, "strategies repeat"),
    ({"fractions": [0.0]}, "(0, 1]"),
    ({"fractions": [0.5, 0.5]}, "fractions repeat"),
    ({"seeds": [1.5]}, "non-negative integers"),
    ({"validation_fraction": 1.0}, "validation_fraction must lie in (0, 1)"),
    ({"scratch": {"finetune": {"strategy": "naive"}}}, "'scratch' must not set finetune"),
    ({"training": {"fit": {"maxiter": 0}}}, "fit.maxiter must be a positive integer"),
    ({"fraction": [0.5]}, "unknown key(s) fraction"),
])
def test_bad_settings_say_what_is_wrong(settings, message):
    with pytest.raises(StudySettingsError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        validate_study_settings(settings)


def test_settings_are_sorted_and_frozen_strategies_match_architectures():
    assert validate_study_settings({"fractions": [1.0, 0.25]})["fractions"] == [0.25, 1.0]
    assert strategy_problem("frozen_2a", "GRACE-1L") is None and strategy_problem("naive", "GRACE-FS") is None
    assert "GRACE-FS models only" in strategy_problem("frozen_fs", "GRACE-2L")
