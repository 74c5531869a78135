"""Elastic constants from finite strains (pure numpy; no aiida, no calculator).

Conventions: Voigt order xx, yy, zz, yz, xz, xy; engineering shear strains (e4 = 2 ε_yz); stresses with the
ASE sign (positive under tension), so σ = C·e + σ0. A strain e deforms a cell whose rows are lattice vectors as
``cell @ (I + ε)`` with ε the symmetric small-strain tensor. Elastic constants and moduli in GPa.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

__all__ = (
    "GROUPS", "ElasticFitError", "born_stable", "deformation", "elastic_properties", "fit_elastic_tensor",
    "score_elastic_tensors", "strain_of_cell", "strain_set", "strained_cells", "voigt_to_tensor", "vrh_moduli",
)

EV_PER_A3_IN_GPA = 160.21766208  # 1 eV/Å³ in GPa (ase.units.GPa = 1 / this)
VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
GROUPS = {  # the GRACE paper's Fig. 2: longitudinal, Poisson-ratio related, shear (0-based Voigt indices)
    "C11_C22_C33": ((0, 0), (1, 1), (2, 2)),
    "C12_C13_C23": ((0, 1), (0, 2), (1, 2)),
    "C44_C55_C66": ((3, 3), (4, 4), (5, 5)),
}


class ElasticFitError(ValueError):
    """The strained stresses cannot determine a 6×6 tensor (too few or dependent strains)."""


def voigt_to_tensor(voigt: Sequence[float]) -> np.ndarray:
    """Symmetric 3×3 small-strain tensor from a Voigt strain with engineering shears."""
    e = np.asarray(voigt, dtype=float)
    return np.array([[e[0], e[5] / 2, e[4] / 2], [e[5] / 2, e[1], e[3] / 2], [e[4] / 2, e[3] / 2, e[2]]])


def deformation(voigt: Sequence[float]) -> np.ndarray:
    """Deformation gradient I + ε for a Voigt strain (symmetric, no rotation)."""
    return np.eye(3) + voigt_to_tensor(voigt)


def strain_of_cell(reference_cell, strained_cell) -> np.ndarray:
    """Voigt strain (engineering shears) that takes ``reference_cell`` to ``strained_cell`` (rows = vectors)."""
    f = np.linalg.solve(np.asarray(reference_cell, dtype=float), np.asarray(strained_cell, dtype=float)).T
    eps = 0.5 * (f + f.T) - np.eye(3)
    return np.array([eps[0, 0], eps[1, 1], eps[2, 2], 2 * eps[1, 2], 2 * eps[0, 2], 2 * eps[0, 1]])


def strain_set(normal: Iterable[float], shear: Iterable[float]) -> list[tuple[str, np.ndarray]]:
    """Independent strains: every magnitude of ``normal`` on e1..e3 and of ``shear`` on e4..e6 (fractions).

    Returns ``(name, voigt_strain)`` pairs whose names sort in list order (``e1_00``, ``e1_01``, ...).
    """
    normal, shear = [float(x) for x in normal], [float(x) for x in shear]
    for label, values in (("normal", normal), ("shear", shear)):
        if len(values) < 2 or any(abs(x) < 1e-8 for x in values) or len(set(values)) != len(values):
            raise ElasticFitError(f"{label} strains need at least two distinct non-zero values, got {values}")
        if any(abs(x) > 0.1 for x in values):
            raise ElasticFitError(f"{label} strains above 10% are not small strains: {values}")
    strains = []
    for component in range(6):
        for index, magnitude in enumerate(normal if component < 3 else shear):
            voigt = np.zeros(6)
            voigt[component] = magnitude
            strains.append((f"e{component + 1}_{index:02d}", voigt))
    return strains


def strained_cells(atoms, normal: Iterable[float], shear: Iterable[float]) -> list[tuple[str, object]]:
    """``(name, strained copy)`` of ASE ``atoms`` for every strain of :func:`strain_set`, atoms moved with the cell."""
    cells = []
    for name, voigt in strain_set(normal, shear):
        strained = atoms.copy()
        strained.set_cell(atoms.cell.array @ deformation(voigt), scale_atoms=True)
        cells.append((name, strained))
    return cells


def fit_elastic_tensor(strains, stresses) -> dict:
    """Least-squares fit of σ = C·e + σ0 over all strained cells.

    strains: (n, 6) Voigt strains (engineering shears). stresses: (n, 6) Voigt stresses in GPa, ASE sign.
    Returns ``elastic_tensor`` (symmetrised 6×6, GPa), ``raw_tensor`` (as fitted), ``residual_stress`` (σ0, GPa),
    ``fit_residual`` (RMS of σ − fit over all components, GPa) and ``asymmetry`` (max |C − Cᵀ|/2, GPa).
    """
    e = np.asarray(strains, dtype=float)
    s = np.asarray(stresses, dtype=float)
    if e.ndim != 2 or e.shape[1] != 6 or s.shape != e.shape:
        raise ElasticFitError(f"strains and stresses must both be (n, 6), got {e.shape} and {s.shape}")
    design = np.hstack([e, np.ones((len(e), 1))])
    if np.linalg.matrix_rank(design) < 7:
        raise ElasticFitError(f"{len(e)} strains do not span all six Voigt components (plus the offset)")
    coefficients, *_ = np.linalg.lstsq(design, s, rcond=None)
    raw = coefficients[:6].T  # σ_i = Σ_j C_ij e_j
    residual = s - design @ coefficients
    return {
        "elastic_tensor": 0.5 * (raw + raw.T),
        "raw_tensor": raw,
        "residual_stress": coefficients[6],
        "fit_residual": float(np.sqrt(np.mean(residual**2))),
        "asymmetry": float(np.max(np.abs(raw - raw.T)) / 2),
    }


def vrh_moduli(c) -> dict[str, float]:
    """Voigt, Reuss and Hill bulk (K) and shear (G) moduli of a 6×6 tensor, in its units."""
    c = np.asarray(c, dtype=float)
    s = np.linalg.inv(c)
    c_diag, c_off, c_shear = np.trace(c[:3, :3]), c[0, 1] + c[0, 2] + c[1, 2], np.trace(c[3:, 3:])
    s_diag, s_off, s_shear = np.trace(s[:3, :3]), s[0, 1] + s[0, 2] + s[1, 2], np.trace(s[3:, 3:])
    k_v = (c_diag + 2 * c_off) / 9
    g_v = (c_diag - c_off + 3 * c_shear) / 15
    k_r = 1 / (s_diag + 2 * s_off)
    g_r = 15 / (4 * s_diag - 4 * s_off + 3 * s_shear)
    values = {"bulk_modulus_voigt": k_v, "bulk_modulus_reuss": k_r, "bulk_modulus_vrh": (k_v + k_r) / 2,
              "shear_modulus_voigt": g_v, "shear_modulus_reuss": g_r, "shear_modulus_vrh": (g_v + g_r) / 2}
    return {key: float(value) for key, value in values.items()}


def born_stable(c, tolerance: float = 0.0) -> bool:
    """Born stability for any symmetry: the symmetrised tensor is positive definite (eigenvalues > tolerance)."""
    c = np.asarray(c, dtype=float)
    return bool(np.min(np.linalg.eigvalsh(0.5 * (c + c.T))) > tolerance)


def elastic_properties(c) -> dict:
    """VRH moduli, Young's modulus and Poisson ratio (isotropic, from the Hill averages), Born stability and
    the smallest eigenvalue of a 6×6 tensor in GPa. Moduli in GPa; Poisson ratio dimensionless."""
    c = np.asarray(c, dtype=float)
    moduli = vrh_moduli(c)
    k, g = moduli["bulk_modulus_vrh"], moduli["shear_modulus_vrh"]
    return {
        **moduli,
        "youngs_modulus": float(9 * k * g / (3 * k + g)),
        "poisson_ratio": float((3 * k - 2 * g) / (2 * (3 * k + g))),
        "born_stable": born_stable(c),
        "min_eigenvalue": float(np.min(np.linalg.eigvalsh(0.5 * (c + c.T)))),
    }


def score_elastic_tensors(predicted: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray]) -> dict:
    """SRME and MAE (GPa) per group C11/C22/C33, C12/C13/C23, C44/C55/C66 over the structures in both.

    Per component, the symmetric relative error is 2|p − r| / (|p| + |r|) (0 where both are 0); SRME is its
    mean over the group's components and structures, MAE the mean |p − r|. Also returns ``n_structures`` and
    ``missing`` (reference names without a prediction, left out of the scores).
    """
    names = sorted(set(predicted) & set(reference))
    if not names:
        raise ValueError("no structure has both a predicted and a reference tensor")
    scores = {"n_structures": len(names), "missing": sorted(set(reference) - set(predicted))}
    for group, indices in GROUPS.items():
        p = np.array([[np.asarray(predicted[n])[i, j] for i, j in indices] for n in names])
        r = np.array([[np.asarray(reference[n])[i, j] for i, j in indices] for n in names])
        denominator = np.abs(p) + np.abs(r)
        sre = np.divide(2 * np.abs(p - r), denominator, out=np.zeros_like(p), where=denominator > 0)
        scores[group] = {"srme": float(np.mean(sre)), "mae": float(np.mean(np.abs(p - r)))}
    return scores
