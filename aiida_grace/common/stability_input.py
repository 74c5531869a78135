"""Settings and reference inputs of ``grace.stability``, checked before anything runs (pure; no aiida).

    calculator: tensorflow | fs_cpp
    relax: {optimizer: FIRE | BFGS, fmax: 0.05 eV/Å, steps: 500}   # always with FrechetCellFilter (cell + ions)
    threshold: 0.0                      # eV/atom: stable when the energy above the hull is ≤ it

Reference hull entries: ``{composition: energy per atom (eV/atom)}``, a composition being any formula pymatgen
reads ("AuCu3", "Au2Cu6"), or ``{entry id: [composition, eV/atom]}`` (polymorphs of one composition under their
own ids, e.g. "mp-30"); or a CSV file with a header row holding ``composition`` and ``energy_per_atom``
columns (one entry per row; polymorphs of one composition may repeat in a CSV). Elemental references:
``{element: energy per atom (eV/atom)}``.
"""

from __future__ import annotations

import csv
import io
import math

from pymatgen.core import Composition

from .evaluate_input import EvaluateSettingsError, validate_settings
from .property_input import check_known_keys
from .train_input import merge

# Matbench Discovery's relaxation: FIRE + FrechetCellFilter to 0.05 eV/Å, at most 500 steps
DEFAULTS = {"calculator": "tensorflow", "relax": {"optimizer": "FIRE", "fmax": 0.05, "steps": 500}, "threshold": 0.0}


class StabilityInputError(ValueError):
    """A setting or reference input of grace.stability is invalid."""


def check_stability_settings(settings: dict) -> dict:
    """``settings`` merged over :data:`DEFAULTS`; unknown keys, bad relaxation settings and a non-numeric
    threshold refused by name."""
    check_known_keys(settings, DEFAULTS, "stability", StabilityInputError)
    merged = merge(DEFAULTS, settings)
    energy_value("threshold", merged["threshold"], "setting")
    try:
        relax_parameters(merged)
    except EvaluateSettingsError as exception:
        raise StabilityInputError(str(exception)) from exception
    return merged


def relax_parameters(settings: dict) -> dict:
    """``grace.evaluate`` parameters of the candidates' (and elements') relaxation: cell + ions, no symmetry kept."""
    return validate_settings({"mode": "relax", "calculator": settings["calculator"],
                              "relax": {**settings["relax"], "cell_filter": True, "fix_symmetry": False}})


def energy_value(key: str, value, what: str) -> float:
    """``value`` as a finite float (eV/atom), else StabilityInputError naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise StabilityInputError(f"{what} '{key}': must be a finite energy in eV/atom, got {value!r}")
    return float(value)


def check_elemental_references(references: dict) -> dict[str, float]:
    """``{element: eV/atom}`` checked: known element symbols, finite numbers, not empty."""
    if not references:
        raise StabilityInputError("the elemental references are empty")
    checked = {}
    for element, value in references.items():
        composition = parse_composition(element, "elemental reference")
        if len(composition.elements) != 1 or composition.reduced_formula != element:
            raise StabilityInputError(f"elemental reference '{element}' is not an element symbol")
        checked[element] = energy_value(element, value, "elemental reference")
    return checked


def parse_composition(formula: str, what: str) -> Composition:
    try:
        composition = Composition(formula)
    except (ValueError, KeyError, AttributeError) as exception:
        raise StabilityInputError(f"{what} '{formula}' is not a composition: {exception}") from exception
    if not composition.valid:
        raise StabilityInputError(f"{what} '{formula}' is not a composition: it names no real element")
    if composition.num_atoms <= 0:
        raise StabilityInputError(f"{what} '{formula}' has no atoms")
    return composition


def read_entries_csv(text: str) -> list[tuple[str, float]]:
    """(composition, eV/atom) rows of a CSV with ``composition`` and ``energy_per_atom`` columns."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"composition", "energy_per_atom"} - set(reader.fieldnames or [])
    if missing:
        raise StabilityInputError(f"the reference entries CSV lacks the column(s) {', '.join(sorted(missing))} "
                                  f"(header: {', '.join(reader.fieldnames or []) or 'none'})")
    rows = []
    for line, row in enumerate(reader, start=2):
        try:
            value = float(row["energy_per_atom"])
        except (TypeError, ValueError):
            raise StabilityInputError(f"reference entries CSV line {line}: energy_per_atom "
                                      f"{row['energy_per_atom']!r} is not a number") from None
        rows.append((row["composition"], value))
    return rows


def check_reference_entries(entries, elements: set[str] | None = None) -> list[tuple[str, float]]:
    """Reference hull entries (``{composition: eV/atom}``, ``{id: [composition, eV/atom]}`` or (composition,
    eV/atom) pairs) checked:
    not empty, each a composition with a finite energy, and an elemental entry for every element in ``elements``
    (the candidates') and in the entries themselves. Returns the pairs."""
    if isinstance(entries, dict):
        pairs = [tuple(value) if isinstance(value, (list, tuple)) and len(value) == 2 else (key, value)
                 for key, value in entries.items()]
    else:
        pairs = list(entries)
    if not pairs:
        raise StabilityInputError("the reference entries are empty")
    checked, covered, needed = [], set(), set(elements or ())
    for formula, value in pairs:
        composition = parse_composition(formula, "reference entry")
        checked.append((formula, energy_value(formula, value, "reference entry")))
        symbols = {el.symbol for el in composition.elements}
        needed |= symbols
        if len(symbols) == 1:
            covered |= symbols
    missing = sorted(needed - covered)
    if missing:
        raise StabilityInputError(f"the reference entries have no elemental entry for {', '.join(missing)} "
                                  "(the hull needs each element's own energy)")
    return checked


def candidate_names(infos: list[dict]) -> list[str]:
    """Each candidate's name: ``info['name']`` where given, else ``candidate_<index>``; unique or refused."""
    names = [str(info.get("name", f"candidate_{index:05d}")) for index, info in enumerate(infos)]
    seen, repeated = set(), set()
    for name in names:
        (repeated if name in seen else seen).add(name)
    if repeated:
        raise StabilityInputError(f"candidate names repeat: {', '.join(sorted(repeated)[:10])}")
    return names
