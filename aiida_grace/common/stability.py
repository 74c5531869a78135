"""Thermodynamic stability of candidate crystals, Matbench Discovery's conventions (pure; no aiida).

Energies are per atom (eV/atom) throughout. A candidate's predicted energy is placed against the convex hull of
*reference* (DFT) entries only: the hull is never rebuilt with the model's energies, so a prediction below it gets a
negative energy above the hull. A structure counts as stable when its energy above the hull is ≤ the threshold
(0 eV/atom by default); F1, precision, recall, accuracy and DAF (precision / prevalence of reference-stable
structures) follow from that classification, and MAE, RMSE and R² are those of the energy above the hull.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

import numpy as np
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition

STABILITY_THRESHOLD = 0.0  # eV/atom


def composition_of(item) -> Composition:
    """A pymatgen Composition from a Composition, a formula string, ase Atoms or a pymatgen Structure."""
    if isinstance(item, Composition):
        return item
    if isinstance(item, str):
        return Composition(item)
    if hasattr(item, "get_chemical_formula"):  # ase Atoms
        return Composition(item.get_chemical_formula(mode="metal"))
    return item.composition


def formation_energy_per_atom(composition, energy_per_atom: float, references: Mapping[str, float]) -> float:
    """E_f = E/N − Σ_el x_el μ_el (eV/atom) from the energy per atom and the elemental references μ_el (eV/atom)."""
    fractions = composition_of(composition).fractional_composition.get_el_amt_dict()
    missing = sorted(set(fractions) - set(references))
    if missing:
        raise ValueError(f"no elemental reference energy for {', '.join(missing)} "
                         f"(references given for {', '.join(sorted(references)) or 'none'})")
    return float(energy_per_atom - sum(x * references[el] for el, x in fractions.items()))


def make_entries(compositions: Sequence, energies_per_atom: Sequence[float],
                 names: Sequence[str] | None = None) -> list[PDEntry]:
    """PDEntries (total energy = energy per atom × atoms of the composition as given)."""
    if len(compositions) != len(energies_per_atom):
        raise ValueError(f"{len(compositions)} compositions but {len(energies_per_atom)} energies")
    names = names if names is not None else [None] * len(compositions)
    entries = []
    for item, energy, name in zip(compositions, energies_per_atom, names):
        composition = composition_of(item)
        entries.append(PDEntry(composition, float(energy) * composition.num_atoms, name=name))
    return entries


class ReferenceHull:
    """The convex hulls of a set of reference entries, one PhaseDiagram per chemical system asked for (built once,
    from the references whose elements lie within it), and hull energies cached per reduced composition."""

    def __init__(self, entries: Iterable[PDEntry]):
        self.by_system: dict[frozenset, list[PDEntry]] = {}
        for entry in entries:
            self.by_system.setdefault(frozenset(el.symbol for el in entry.elements), []).append(entry)
        self.diagrams: dict[frozenset, PhaseDiagram] = {}
        self.hull_energies: dict[str, float] = {}

    def diagram(self, system: frozenset) -> PhaseDiagram:
        """The PhaseDiagram of the references within ``system`` (a set of element symbols)."""
        if system not in self.diagrams:
            missing = sorted(el for el in system if frozenset([el]) not in self.by_system)
            if missing:
                raise ValueError(f"the reference entries have no elemental entry for {', '.join(missing)}")
            entries = [entry for size in range(1, len(system) + 1) for subset in combinations(sorted(system), size)
                       for entry in self.by_system.get(frozenset(subset), [])]
            self.diagrams[system] = PhaseDiagram(entries)
        return self.diagrams[system]

    def hull_energy_per_atom(self, composition) -> float:
        """Energy per atom of the reference hull at this composition (eV/atom)."""
        composition = composition_of(composition)
        key = composition.reduced_formula
        if key not in self.hull_energies:
            system = frozenset(el.symbol for el in composition.elements)
            self.hull_energies[key] = float(self.diagram(system).get_hull_energy_per_atom(composition))
        return self.hull_energies[key]

    def e_above_hull(self, compositions: Sequence, energies_per_atom: Sequence[float]) -> np.ndarray:
        """Energy above this hull (eV/atom) of each candidate; negative below it; NaN for a NaN energy."""
        if len(compositions) != len(energies_per_atom):
            raise ValueError(f"{len(compositions)} compositions but {len(energies_per_atom)} energies")
        energies = np.asarray(energies_per_atom, dtype=float)
        hull = np.array([self.hull_energy_per_atom(item) for item in compositions], dtype=float)
        return energies - hull


    def elemental_energies(self) -> dict[str, float]:
        """Lowest energy per atom of each element among the reference entries (eV/atom): the reference's μ_el."""
        return {next(iter(system)): min(entry.energy_per_atom for entry in entries)
                for system, entries in self.by_system.items() if len(system) == 1}

    def hull_formation_energy_per_atom(self, composition) -> float:
        """Formation energy of this hull at the composition (eV/atom), against the reference's own elements."""
        composition = composition_of(composition)
        return formation_energy_per_atom(composition, self.hull_energy_per_atom(composition),
                                         self.elemental_energies())


def place_against_hull(compositions: Sequence, energies_per_atom: Sequence[float],
                       elemental_references: Mapping[str, float], hull: ReferenceHull) -> tuple[np.ndarray, np.ndarray]:
    """(formation energy, energy above the hull) per candidate, eV/atom. The formation energy is taken against
    ``elemental_references`` (the model's μ_el, or given), the hull is the reference's in formation-energy space:
    E_hull = E_f − E_f,hull(x). With the reference's own μ_el this is E/N − E_hull/N, as in Matbench Discovery;
    with the model's μ_el a constant per-element offset of the model cancels. NaN energies give NaN."""
    if len(compositions) != len(energies_per_atom):
        raise ValueError(f"{len(compositions)} compositions but {len(energies_per_atom)} energies")
    e_form = np.array([np.nan if np.isnan(energy) else formation_energy_per_atom(item, energy, elemental_references)
                       for item, energy in zip(compositions, np.asarray(energies_per_atom, dtype=float))])
    hull = np.array([hull.hull_formation_energy_per_atom(item) for item in compositions], dtype=float)
    return e_form, e_form - hull


def energies_above_hull(compositions: Sequence, energies_per_atom: Sequence[float],
                        reference_entries: Iterable[PDEntry]) -> np.ndarray:
    """Energy above the hull of ``reference_entries`` (eV/atom) of each candidate (see :class:`ReferenceHull`)."""
    return ReferenceHull(reference_entries).e_above_hull(compositions, energies_per_atom)


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0."""
    return float(numerator / denominator) if denominator else float("nan")


def discovery_metrics(predicted: Sequence[float], reference: Sequence[float], *,
                      threshold: float = STABILITY_THRESHOLD) -> dict:
    """Classification and regression metrics of predicted against reference energies above the hull (eV/atom).

    Stable means e_above_hull ≤ ``threshold``. A NaN prediction counts as predicted unstable and is left out of
    MAE/RMSE/R²; a NaN reference leaves the structure out altogether. Ratios with a zero denominator (no predicted
    positives, no reference positives, ...) are NaN, as F1 is when precision + recall is 0, and R² with fewer than
    two values or no variance. Returns TP, FP, TN, FN, n, prevalence, precision, recall, F1, accuracy, DAF, MAE,
    RMSE (eV/atom) and R2."""
    predicted, reference = np.asarray(predicted, dtype=float), np.asarray(reference, dtype=float)
    if predicted.shape != reference.shape or predicted.ndim != 1:
        raise ValueError(f"predicted and reference must be 1-D of one length, got {predicted.shape} and "
                         f"{reference.shape}")
    if not np.isfinite(threshold):
        raise ValueError(f"the stability threshold must be a real number, got {threshold!r}")
    known = ~np.isnan(reference)
    predicted, reference = predicted[known], reference[known]
    actual = reference <= threshold
    positive = np.nan_to_num(predicted, nan=np.inf) <= threshold
    tp, fp = int(np.sum(actual & positive)), int(np.sum(~actual & positive))
    fn, tn = int(np.sum(actual & ~positive)), int(np.sum(~actual & ~positive))
    n = tp + fp + tn + fn
    prevalence, precision, recall = ratio(tp + fn, n), ratio(tp, tp + fp), ratio(tp, tp + fn)
    f1 = ratio(2 * precision * recall, precision + recall)
    both = ~np.isnan(predicted)
    errors = predicted[both] - reference[both]
    spread = float(np.sum((reference[both] - reference[both].mean()) ** 2)) if both.any() else 0.0
    return {
        "TP": tp, "FP": fp, "TN": tn, "FN": fn, "n": n,
        "prevalence": prevalence, "precision": precision, "recall": recall, "F1": f1,
        "accuracy": ratio(tp + tn, n),
        "DAF": ratio(precision, prevalence),
        "MAE": float(np.mean(np.abs(errors))) if errors.size else float("nan"),
        "RMSE": float(np.sqrt(np.mean(errors ** 2))) if errors.size else float("nan"),
        "R2": 1 - float(np.sum(errors ** 2)) / spread if errors.size > 1 and spread > 0 else float("nan"),
    }
