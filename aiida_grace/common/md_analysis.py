"""MD stability analysis in plain numpy: energy drift, radial distribution functions, MSD and diffusion.

Units: time ps, lengths Å, energies eV. Positions are unwrapped (continuous across periodic boundaries).
"""

from __future__ import annotations

import itertools

import numpy as np

A2_PER_PS_IN_CM2_PER_S = 1.0e-4  # 1 Å²/ps = 1e-16 cm² / 1e-12 s


def energy_drift(time_ps, total_energy, n_atoms: int) -> dict:
    """Least-squares slope of the total energy per atom: ``drift`` in eV/atom/ns; also the largest deviation
    from the first value (eV/atom) and the standard deviation about the fit (eV/atom)."""
    time_ps = np.asarray(time_ps, dtype=float)
    per_atom = np.asarray(total_energy, dtype=float) / n_atoms
    slope, intercept = np.polyfit(time_ps, per_atom, 1)
    residual = per_atom - (slope * time_ps + intercept)
    return {
        "drift": float(slope * 1000.0),
        "max_deviation": float(np.abs(per_atom - per_atom[0]).max()),
        "fluctuation": float(residual.std()),
        "duration": float(time_ps[-1] - time_ps[0]),
        "units": {"drift": "eV/atom/ns", "max_deviation": "eV/atom", "fluctuation": "eV/atom", "duration": "ps"},
    }


def _image_shifts(cell: np.ndarray, r_max: float) -> np.ndarray:
    """Lattice translations (Å) that can bring an image within ``r_max`` of any atom in the cell."""
    volume = abs(np.linalg.det(cell))
    widths = [volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)]
    reach = [int(np.ceil(r_max / w)) + 1 for w in widths]
    grid = np.array(list(itertools.product(*(range(-n, n + 1) for n in reach))), dtype=float)
    return grid @ cell


def pair_distances(positions: np.ndarray, cell: np.ndarray, first, second, r_max: float) -> np.ndarray:
    """All distances (Å) below ``r_max`` from atoms ``first`` to atoms ``second`` and their periodic images,
    excluding each atom's zero distance to itself."""
    fractional = np.linalg.solve(cell.T, positions.T).T
    wrapped = (fractional - np.floor(fractional)) @ cell
    a, b = wrapped[first], wrapped[second]
    shifts = _image_shifts(cell, r_max)
    delta = b[None, :, None, :] - a[:, None, None, :] + shifts[None, None, :, :]
    distance = np.linalg.norm(delta, axis=-1).ravel()
    return distance[(distance < r_max) & (distance > 1e-8)]


def rdf(frames, cells, symbols, r_max: float = 6.0, n_bins: int = 120) -> dict:
    """g(r) per element pair ('Al-Cu', ...) averaged over ``frames`` (positions, Å) with ``cells`` (Å).

    Normalised by the ideal-gas count: g → 1 at large r in a liquid; ∫ρ_B g_AB 4πr² dr counts B neighbours of A.
    Returns ``r`` (bin centres, Å) and one array per pair.
    """
    symbols = np.asarray(symbols)
    elements = sorted(set(symbols))
    edges = np.linspace(0.0, r_max, n_bins + 1)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    result = {"r": 0.5 * (edges[1:] + edges[:-1])}
    for a, b in itertools.combinations_with_replacement(elements, 2):
        first, second = np.flatnonzero(symbols == a), np.flatnonzero(symbols == b)
        total = np.zeros(n_bins)
        for positions, cell in zip(frames, cells):
            counts, _ = np.histogram(pair_distances(np.asarray(positions), np.asarray(cell), first, second, r_max),
                                     bins=edges)
            density = len(second) / abs(np.linalg.det(cell))
            total += counts / (len(first) * density * shell)
        result[f"{a}-{b}"] = total / len(frames)
    return result


def main_peak(r: np.ndarray, g: np.ndarray) -> float:
    """Position (Å) of the highest maximum of g(r): the first coordination shell in liquids and close-packed
    solids (robust to the few-count noise of small cells at short r)."""
    return float(r[int(np.argmax(g))])


def msd(times, frames, symbols) -> dict:
    """Mean-square displacement (Å²) per element against lag time (ps), averaged over all time origins.

    ``frames`` are unwrapped positions at evenly spaced ``times``. Returns ``lag`` and one array per element.
    """
    frames = np.asarray(frames, dtype=float)
    symbols = np.asarray(symbols)
    times = np.asarray(times, dtype=float)
    n = len(frames)
    result = {"lag": times[:n] - times[0]}
    for element in sorted(set(symbols)):
        positions = frames[:, symbols == element]
        values = np.zeros(n)
        for lag in range(1, n):
            displacement = positions[lag:] - positions[:-lag]
            values[lag] = np.mean(np.sum(displacement ** 2, axis=-1))
        result[element] = values
    return result


def diffusion_coefficient(lag, msd_values, fit_from: float = 0.2) -> float:
    """D = slope/6 (Å²/ps) of a straight-line fit to MSD(lag) over lags past ``fit_from`` of the longest lag."""
    lag, msd_values = np.asarray(lag, dtype=float), np.asarray(msd_values, dtype=float)
    keep = lag >= fit_from * lag[-1] * (1 - 1e-9)  # a lag on the window edge counts, whatever the rounding
    keep[0] = False
    if keep.sum() < 2:
        raise ValueError(f"too few frames ({len(lag)}) to fit a diffusion coefficient")
    slope, _ = np.polyfit(lag[keep], msd_values[keep], 1)
    return float(slope / 6.0)
