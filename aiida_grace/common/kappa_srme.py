"""The κ_SRME metric of the thermal-conductivity benchmark (pure numpy; no aiida, no phono3py).

Definitions (Póta et al., arXiv:2408.00755; docs/thermal_conductivity.md):

- mode κ_TOT[q, s] = κ_P[q, s] + 2 Σ_{s'≠s} κ_C[q, s, s'] · Cv[q, s] / (Cv[q, s] + Cv[q, s']) (NaN → 0), in W/m/K,
  weighted by the q-point multiplicity as phono3py writes it, so Σ_{q,s} mode κ / Σ_q w = κ;
- κ̄ = mean of the xx, yy, zz components;
- SRE = |2 (κ̄_ML − κ̄_DFT) / (κ̄_ML + κ̄_DFT)|;
- SRME = 2 (Σ_{q,s} |κ̄_mode,ML − κ̄_mode,DFT| / Σ_q w) / (κ̄_ML + κ̄_DFT);
- a failure (the relaxation broke the symmetry, an imaginary mode, κ missing or not finite) scores
  SRE = SRME = 2; κ_SRME is the mean SRME over the materials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

FAILURE_SCORE = 2.0
ACOUSTIC_GAMMA_TOLERANCE = 0.01  # THz: an acoustic mode at Γ may be this negative before it counts as imaginary


@dataclass(frozen=True)
class Score:
    """Per-material result: SRE and SRME (dimensionless), κ̄ in W/m/K, and why it failed (None when it did not)."""

    sre: float
    srme: float
    kappa_ml: float | None = None
    kappa_dft: float | None = None
    failure: str | None = None


def voigt_average(kappa) -> np.ndarray:
    """Mean of the xx, yy, zz Voigt components (last axis of length 6) of a κ array, W/m/K."""
    kappa = np.asarray(kappa, dtype=float)
    if kappa.shape[-1] != 6:
        raise ValueError(f"κ needs 6 Voigt components on its last axis, got shape {kappa.shape}")
    return kappa[..., :3].mean(axis=-1)


def mode_kappa_total(mode_kappa_p, mode_kappa_c, heat_capacity) -> np.ndarray:
    """Mode-resolved Wigner κ_TOT (W/m/K, weighted by q multiplicity) from its population and coherence parts.

    ``mode_kappa_p``: (..., q, s, 6); ``mode_kappa_c``: (..., q, s, s', 6), band pairs (its diagonal is
    ignored); ``heat_capacity``: (..., q, s) mode heat capacities (any unit; only ratios enter).
    The coherence term of a pair is shared between its two modes in proportion to their heat capacity.
    """
    kp = np.asarray(mode_kappa_p, dtype=float)
    kc = np.array(mode_kappa_c, dtype=float)
    cv = np.asarray(heat_capacity, dtype=float)
    n_band = kc.shape[-2]
    kc[..., np.arange(n_band), np.arange(n_band), :] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = cv[..., :, None] / (cv[..., :, None] + cv[..., None, :])
        coherence = 2.0 * np.nan_to_num(kc * share[..., None], nan=0.0, posinf=0.0, neginf=0.0).sum(axis=-2)
    return np.nan_to_num(kp, nan=0.0) + coherence


def sre(kappa_ml: float, kappa_dft: float) -> float:
    """Symmetric relative error of two κ̄ (W/m/K); 2 when κ_ML is missing or not finite."""
    if kappa_ml is None or not np.isfinite(kappa_ml):
        return FAILURE_SCORE
    return float(abs(2.0 * (kappa_ml - kappa_dft) / (kappa_ml + kappa_dft)))


def srme(mode_kappa_ml, mode_kappa_dft, weights) -> float:
    """Symmetric relative mean error of mode-resolved κ̄ (arrays (q, s) or (q, s, 6), weighted, W/m/K).

    ``weights``: q-point multiplicities of the common irreducible grid. 2 when κ_ML is missing or not finite.
    """
    if mode_kappa_ml is None:
        return FAILURE_SCORE
    ml, dft = _averaged_modes(mode_kappa_ml), _averaged_modes(mode_kappa_dft)
    if ml.shape != dft.shape:
        raise ValueError(f"mode κ on different grids: ML {ml.shape} vs DFT {dft.shape}")
    if not np.all(np.isfinite(ml)):
        return FAILURE_SCORE
    total = float(np.sum(weights))
    kappa_ml, kappa_dft = ml.sum() / total, dft.sum() / total
    microscopic = np.abs(ml - dft).sum() / total
    return float(2.0 * microscopic / (kappa_ml + kappa_dft))


def _averaged_modes(mode_kappa) -> np.ndarray:
    array = np.asarray(mode_kappa, dtype=float)
    return voigt_average(array) if array.ndim == 3 else array


def has_imaginary_modes(frequencies, qpoints, *, acoustic_tolerance: float = ACOUSTIC_GAMMA_TOLERANCE) -> bool:
    """The κ_SRME imaginary-mode rule on frequencies (q, s) in THz at ``qpoints`` (q, 3, reduced):
    ν < 0 at q ≠ Γ, an optical ν < 0 at Γ, or an acoustic ν < −``acoustic_tolerance`` at Γ."""
    frequencies = np.asarray(frequencies, dtype=float)
    qpoints = np.asarray(qpoints, dtype=float)
    at_gamma = np.all(np.abs(qpoints - np.rint(qpoints)) < 1e-8, axis=1)
    if np.any(frequencies[~at_gamma] < 0):
        return True
    for row in frequencies[at_gamma]:  # bands in phonopy's (ascending) order: the first three are acoustic
        if np.any(row[:3] < -acoustic_tolerance) or np.any(row[3:] < 0):
            return True
    return False


def score(*, mode_kappa_ml=None, mode_kappa_dft, weights, symmetry_broken: bool = False,
          imaginary_modes: bool = False) -> Score:
    """Score one material; failures (in this order: broken symmetry, imaginary modes, missing or non-finite
    κ) give SRE = SRME = 2. Mode κ arrays are (q, s) Voigt-averaged or (q, s, 6), weighted, W/m/K."""
    total = float(np.sum(weights))
    kappa_dft = float(_averaged_modes(mode_kappa_dft).sum() / total)
    failure = None
    if symmetry_broken:
        failure = "symmetry broken by the relaxation"
    elif imaginary_modes:
        failure = "imaginary modes"
    elif mode_kappa_ml is None:
        failure = "κ missing"
    elif not np.all(np.isfinite(np.asarray(mode_kappa_ml, dtype=float))):
        failure = "κ not finite"
    if failure:
        return Score(FAILURE_SCORE, FAILURE_SCORE, None, kappa_dft, failure)
    kappa_ml = float(_averaged_modes(mode_kappa_ml).sum() / total)
    return Score(sre(kappa_ml, kappa_dft), srme(mode_kappa_ml, mode_kappa_dft, weights), kappa_ml, kappa_dft)


def kappa_srme(scores: Iterable[Score]) -> dict:
    """κ_SRME (mean SRME) and mean SRE over materials, with the count of failures."""
    scores = list(scores)
    if not scores:
        raise ValueError("no materials scored")
    return {
        "kappa_srme": float(np.mean([s.srme for s in scores])),
        "mean_sre": float(np.mean([s.sre for s in scores])),
        "n_materials": len(scores),
        "n_failed": sum(s.failure is not None for s in scores),
    }
