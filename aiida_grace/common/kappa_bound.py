"""Flag a lattice thermal conductivity no crystal can have (pure; no aiida).

The highest known bulk κ is diamond's: ~2000-2300 W/m/K at 300 K, ~3300 W/m/K isotopically enriched, rising as
the temperature falls. :data:`KAPPA_MAX` = 1e4 W/m/K at and above :data:`BOUND_FROM_K` = 250 K is a few times
that; below 250 K κ of a pure crystal can legitimately pass it (boundary-limited with the protocol's 1 m mean free
path), so there only non-finite and negative κ are flagged. A κ beyond the bound means broken inputs, typically
a supercell too small for the third-order force constants (:mod:`aiida_grace.common.supercell`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

KAPPA_MAX = 1.0e4  # W/m/K
BOUND_FROM_K = 250.0  # K


def unphysical_kappa(temperatures: Sequence[float], kappa: Sequence[float]) -> str | None:
    """Why κ (W/m/K, one value per temperature in K, e.g. the mean of xx, yy, zz) is unphysical, or None."""
    problems = []
    for temperature, value in zip(np.asarray(temperatures, dtype=float), np.asarray(kappa, dtype=float)):
        if not np.isfinite(value):
            problems.append(f"κ = {value} at {temperature:g} K is not finite")
        elif value < 0:
            problems.append(f"κ = {value:.4g} W/m/K at {temperature:g} K is negative")
        elif temperature >= BOUND_FROM_K and value > KAPPA_MAX:
            problems.append(f"κ = {value:.4g} W/m/K at {temperature:g} K is above {KAPPA_MAX:g} W/m/K, more than "
                            f"any known crystal (diamond: ~2000-3300 W/m/K at 300 K)")
    return "; ".join(problems) or None
