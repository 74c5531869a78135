"""Calcfunctions of ``grace.stability``: elemental phases to relax, energies per relaxed chunk, the elements' lowest
energies, formation energies and energies above the reference hull with the discovery metrics, the geometry of
the relaxed candidates, the hull plot. The science is in :mod:`aiida_grace.common.stability`."""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..common.stability import (
    ReferenceHull,
    discovery_metrics,
    formation_energy_per_atom,
    make_entries,
    place_against_hull,
)
from ..common.stability_input import candidate_names, check_reference_entries, read_entries_csv
from ..common.structures import labels_of
from ..data import GraceDatasetData
from .batching import SOURCE_INDEX

__all__ = ("chunk_energies", "elemental_phases_dataset", "lowest_elemental_energies", "reference_entries_of",
           "relaxed_geometry", "stability_analysis", "stability_plot")

UNITS = {"energy_per_atom": "eV/atom", "e_form": "eV/atom", "e_above_hull": "eV/atom", "threshold": "eV/atom"}


def finite_or_none(value):
    """A float for a Dict (JSON has no NaN): None where it is NaN."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def reference_entries_of(node) -> list[tuple[str, float]]:
    """(composition, eV/atom) pairs of a reference-entries Dict or CSV SinglefileData, checked."""
    if isinstance(node, orm.SinglefileData):
        return check_reference_entries(read_entries_csv(node.get_content()))
    return check_reference_entries(node.get_dict())


def name_of(atoms) -> str:
    """A relaxed candidate's name: its own ``info['name']``, else by its index in the candidates."""
    return str(atoms.info.get("name", f"candidate_{int(atoms.info[SOURCE_INDEX]):05d}"))


@calcfunction
def elemental_phases_dataset(elements: orm.List) -> GraceDatasetData:
    """fcc, bcc (and ASE's own crystal) of each element, to relax for the elemental references."""
    from ..common.binary_prototypes import elemental_phases

    return GraceDatasetData([atoms for element in elements.get_list() for atoms in elemental_phases(element)])


@calcfunction
def chunk_energies(relaxed: GraceDatasetData) -> orm.Dict:
    """Per structure of one relaxed chunk (keyed by name): formula, atoms, energy per atom (eV/atom; None when it
    broke), index in the candidates, relaxation converged and steps; ``failed``: name → why it broke."""
    rows, failed = {}, {}
    for atoms in relaxed.to_ase():
        name = name_of(atoms)
        if "grace_failed" in atoms.info:
            failed[name] = str(atoms.info["grace_failed"])
        energy = labels_of(atoms).get("energy") if name not in failed else None
        rows[name] = {"formula": atoms.get_chemical_formula(mode="metal"), "n_atoms": len(atoms),
                      "index": int(atoms.info[SOURCE_INDEX]),
                      "energy_per_atom": None if energy is None else float(energy) / len(atoms),
                      "converged": bool(atoms.info.get("relax_converged", False)),
                      "steps": int(atoms.info.get("relax_steps", 0))}
    return orm.Dict({"structures": rows, "failed": failed, "units": {"energy_per_atom": "eV/atom"}})


@calcfunction
def lowest_elemental_energies(**chunks: orm.Dict) -> orm.Dict:
    """The elemental references: per element the lowest energy per atom (eV/atom) of its relaxed phases."""
    from pymatgen.core import Composition

    lowest: dict[str, float] = {}
    for chunk in chunks.values():
        for row in chunk["structures"].values():
            elements = Composition(row["formula"]).elements
            if len(elements) == 1 and row["energy_per_atom"] is not None:
                symbol = elements[0].symbol
                lowest[symbol] = min(lowest.get(symbol, math.inf), row["energy_per_atom"])
    return orm.Dict(dict(sorted(lowest.items())))


def reference_labels(candidates: GraceDatasetData) -> tuple[list[str], np.ndarray]:
    """The candidates' names and reference energies per atom (eV/atom; NaN where a candidate has no energy)."""
    structures = candidates.to_ase()
    energies = [labels_of(atoms).get("energy", np.nan) / len(atoms) for atoms in structures]
    return candidate_names([atoms.info for atoms in structures]), np.array(energies, dtype=float)


@calcfunction
def stability_analysis(candidates: GraceDatasetData, elemental_references: orm.Dict, reference_entries: orm.Data,
                       parameters: orm.Dict, **chunks: orm.Dict) -> dict:
    """Formation energies (against ``elemental_references``) and energies above the hull of ``reference_entries``
    of every relaxed candidate; the same of the candidates' reference energies (their energy labels, against the
    reference entries' own elements) and the discovery metrics of one against the other (stable: ≤ threshold).
    A whole batch at once (one calcfunction per candidate would cost more than the arithmetic).

    Returns ``results`` (per candidate, eV/atom; None where unknown) and ``metrics``."""
    threshold = float(parameters["threshold"])
    names, reference_energy = reference_labels(candidates)
    rows = {name: row for chunk in chunks.values() for name, row in chunk["structures"].items()}
    failed = {name: reason for chunk in chunks.values() for name, reason in chunk["failed"].items()}
    failed.update({name: "no result: its chunk's job failed" for name in names if name not in rows})
    formulas = [rows[name]["formula"] if name in rows else atoms.get_chemical_formula(mode="metal")
                for name, atoms in zip(names, candidates.to_ase())]
    predicted = np.array([np.nan if name in failed or rows[name]["energy_per_atom"] is None
                          else rows[name]["energy_per_atom"] for name in names], dtype=float)
    pairs = reference_entries_of(reference_entries)
    hull = ReferenceHull(make_entries([c for c, _ in pairs], [e for _, e in pairs]))
    e_form, e_hull = place_against_hull(formulas, predicted, elemental_references.get_dict(), hull)
    ref_form, ref_hull = place_against_hull(formulas, reference_energy, mu_reference := hull.elemental_energies(),
                                            hull)
    results = {}
    for i, name in enumerate(names):
        row = rows.get(name, {})
        results[name] = {
            "formula": formulas[i], "energy_per_atom": finite_or_none(float(predicted[i])),
            "e_form": finite_or_none(float(e_form[i])), "e_above_hull": finite_or_none(float(e_hull[i])),
            "stable": bool(e_hull[i] <= threshold),
            "reference_energy_per_atom": finite_or_none(float(reference_energy[i])),
            "reference_e_form": finite_or_none(float(ref_form[i])),
            "reference_e_above_hull": finite_or_none(float(ref_hull[i])),
            "reference_stable": None if np.isnan(ref_hull[i]) else bool(ref_hull[i] <= threshold),
            "converged": row.get("converged", False), "steps": row.get("steps", 0)}
    not_converged = sorted(name for name in names if name in rows and name not in failed
                           and not rows[name]["converged"])
    metrics = {"n_candidates": len(names), "n_failed": len(failed), "failed": failed,
               "n_not_converged": len(not_converged), "not_converged": not_converged,
               "n_predicted_stable": int(np.sum(e_hull <= threshold)), "threshold": threshold,
               "n_with_reference": int(np.sum(~np.isnan(reference_energy))), "units": UNITS}
    if metrics["n_with_reference"]:
        metrics.update({key: finite_or_none(value) for key, value in
                        discovery_metrics(e_hull, ref_hull, threshold=threshold).items()})
    reference_points = [[formula, formation_energy_per_atom(formula, energy, mu_reference)] for formula, energy in pairs]
    return {"results": orm.Dict({"candidates": results, "reference_entries": reference_points,
                                 "elemental_references": elemental_references.get_dict(),
                                 "threshold": threshold, "units": UNITS}),
            "metrics": orm.Dict(metrics)}


@calcfunction
def relaxed_geometry(reference_structures: GraceDatasetData, **chunks: GraceDatasetData) -> orm.Dict:
    """RMSD (StructureMatcher, dimensionless) and space group kept (spglib, symprec in Å) of every relaxed candidate
    against its reference relaxed structure (same position in ``reference_structures``); broken ones left out."""
    from ..common.stability_geometry import geometry_metrics

    references = reference_structures.to_ase()
    relaxed = {name_of(a): a for chunk in chunks.values() for a in chunk.to_ase() if "grace_failed" not in a.info}
    indices = {name: int(atoms.info[SOURCE_INDEX]) for name, atoms in relaxed.items()}
    names = sorted(relaxed, key=indices.get)
    found = geometry_metrics([relaxed[n] for n in names], [references[indices[n]] for n in names])
    items = {name: {"rmsd": finite_or_none(item["rmsd"]),
                    "space_group": {str(p): value for p, value in item["space_group"].items()}}
             for name, item in zip(names, found["items"])}
    return orm.Dict({"items": items, "mean_rmsd": finite_or_none(found["mean_rmsd"]),
                     "fraction_matched": found["fraction_matched"],
                     "fraction_space_group_kept": {str(p): v for p, v in found["fraction_space_group_kept"].items()}})


@calcfunction
def stability_plot(results: orm.Dict, title: orm.Str) -> orm.SinglefileData:
    """The hull plot (PNG) of :func:`aiida_grace.stability_plots.hull_plot`."""
    from ..stability_plots import hull_plot

    with tempfile.TemporaryDirectory() as folder:
        path = hull_plot(results.get_dict(), Path(folder) / "stability.png", title.value)
        return orm.SinglefileData(io.BytesIO(path.read_bytes()), filename="stability.png")
