"""Equation of state (``grace.eos``): volume-scaled cells, the Birch–Murnaghan fit and the Δ-gauge against ASE's
``dcdft`` collection (WIEN2k PBE V0, B0, B′ of 71 elemental solids). Pure; no aiida.

Per atom throughout: V0 in Å³/atom, E0 in eV/atom, B0 in GPa, B′ dimensionless, Δ in meV/atom.
"""

from __future__ import annotations

import numpy as np

from .property_input import BULK_RELAX, check_settings

EV_PER_A3_IN_GPA = 160.21766208
QUANTITIES = {"V0": "Å³/atom", "B0": "GPa", "Bp": "1"}

DEFAULTS = {
    "calculator": "tensorflow",
    "bulk_relax": BULK_RELAX,
    "volume_range": 0.06,   # volumes from (1 − range)·V to (1 + range)·V of the relaxed cell (the Δ protocol: ±6%)
    "points": 7,            # volumes on that range, evenly spaced
    "relax": None,          # None: the scaled cells are evaluated as they are (atoms scaled with the cell);
                            # or {optimizer, fmax, steps}: ions relaxed at each fixed volume
}


def validate_eos_settings(settings: dict) -> dict:
    """``settings`` merged over :data:`DEFAULTS`; ValueError when the range or the number of points is unusable."""
    merged = check_settings(settings, DEFAULTS, "eos")
    if not (isinstance(merged["points"], int) and merged["points"] >= 5):
        raise ValueError(f"points must be an integer ≥ 5 (a four-parameter fit), got {merged['points']!r}")
    if not (isinstance(merged["volume_range"], (int, float)) and 0.005 <= merged["volume_range"] <= 0.3):
        raise ValueError(f"volume_range must be a fraction between 0.005 and 0.3, got {merged['volume_range']!r}")
    return merged


def volume_scales(volume_range: float, points: int) -> np.ndarray:
    """Volume factors 1 − range … 1 + range, ``points`` of them."""
    return np.linspace(1 - volume_range, 1 + volume_range, points)


def scaled_cells(atoms, volume_range: float, points: int) -> list:
    """``atoms`` scaled isotropically to each volume of :func:`volume_scales` (atoms move with the cell); each
    copy has ``info['volume_scale']``."""
    cells = []
    for scale in volume_scales(volume_range, points):
        copy = atoms.copy()
        copy.set_cell(atoms.cell.array * scale ** (1 / 3), scale_atoms=True)
        copy.calc = None
        copy.info = {"volume_scale": float(scale)}
        cells.append(copy)
    return cells


def birch_murnaghan(volumes, energies) -> dict:
    """Birch–Murnaghan fit (ase.eos) of energies (eV/atom) against volumes (Å³/atom): V0, E0, B0 (GPa), B′
    and the fit's RMS residual (meV/atom). ValueError when the minimum is not inside the volumes."""
    from ase.eos import EquationOfState

    volumes, energies = np.asarray(volumes, dtype=float), np.asarray(energies, dtype=float)
    eos = EquationOfState(volumes, energies, eos="birchmurnaghan")
    eos.fit(warn=False)
    e0, b0, bp, v0 = (float(x) for x in eos.eos_parameters)
    if not volumes.min() < v0 < volumes.max():
        raise ValueError(f"the fitted V0 {v0:.4f} Å³/atom lies outside the volumes {volumes.min():.4f}-"
                         f"{volumes.max():.4f}: widen volume_range or relax the cell first")
    residual = energies - eos.func(volumes, *eos.eos_parameters)
    return {"V0": v0, "E0": e0, "B0": b0 * EV_PER_A3_IN_GPA, "Bp": bp,
            "residual_rms": float(np.sqrt(np.mean(residual**2)) * 1000)}


def delta_gauge(fit: dict, reference: dict) -> float:
    """Δ-gauge (meV/atom; ase.utils.deltacodesdft) between two EOS, each {V0 Å³/atom, B0 GPa, Bp}."""
    from ase.utils.deltacodesdft import delta

    return 1000 * float(delta(fit["V0"], fit["B0"] / EV_PER_A3_IN_GPA, fit["Bp"],
                              reference["V0"], reference["B0"] / EV_PER_A3_IN_GPA, reference["Bp"]))


def dcdft_reference(source: str = "wien2k") -> dict:
    """ASE's ``dcdft`` collection as a reference table: V0 (Å³/atom), B0 (GPa), Bp per element; ``source``
    'wien2k' (WIEN2k PBE, the Δ-gauge's reference) or 'exp'."""
    from ase.collections import dcdft

    if source not in ("wien2k", "exp"):
        raise ValueError(f"source must be 'wien2k' or 'exp', got {source!r}")
    key = {"V0": f"{source}_volume", "B0": f"{source}_B", "Bp": f"{source}_Bp"}
    table = {quantity: {} for quantity in key}
    for element in dcdft.names:
        row = dcdft.data[element]
        for quantity, column in key.items():
            if row.get(column) is not None:
                table[quantity][element] = float(row[column])
    return {"source": f"ase.collections.dcdft ({'WIEN2k PBE' if source == 'wien2k' else 'experiment'})",
            "units": dict(QUANTITIES), **table}


def dcdft_structures(elements) -> dict:
    """The ``dcdft`` crystal (ase.Atoms) of each of ``elements`` that the collection has, by element."""
    from ase.collections import dcdft

    return {element: dcdft[element] for element in sorted(elements) if element in dcdft.names}


def delta_table(fits: dict, reference: dict) -> dict:
    """Δ (meV/atom) per element with a fit and a complete reference (``reference`` as :func:`dcdft_reference`)."""
    return {name: delta_gauge(fit, {q: reference[q][name] for q in QUANTITIES})
            for name, fit in fits.items() if all(name in reference.get(q, {}) for q in QUANTITIES)}
