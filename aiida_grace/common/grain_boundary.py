"""Grain boundaries (``grace.grain_boundary``): symmetric tilt boundaries of cubic crystals from Σ, rotation axis
and boundary plane (pymatgen's coincidence-site-lattice generator), the boundary plane normal to z, and
γ_GB = (E_bicrystal − N · ε_bulk) / (2 A) (pure; no aiida).

The periodic bicrystal holds two boundaries. Indices refer to the conventional standard cell (spglib). The rotation
angle is the one of Σ about the axis for which the plane is a symmetric tilt plane; a plane that is not one, or a
boundary whose third cell vector is not normal to the plane (what the paper left out), is refused. Each grain is
at least ``min_grain_thickness`` Å thick and the plane's cell is repeated past the model's cutoff. γ in meV/Å²
and J/m².
"""

from __future__ import annotations

import math

import numpy as np

from .property_input import BULK_RELAX, DEFECT_RELAX, check_settings
from .surface_energy import area, conventional_cell, in_plane_repeat

QUANTITIES = {"grain_boundary_energy": "meV/Å²"}
MAX_ATOMS = 2000  # refuse a bicrystal larger than this (a high Σ can give tens of thousands of atoms)

DEFAULTS = {
    "calculator": "tensorflow",
    "bulk_relax": BULK_RELAX,
    "boundaries": [{"sigma": 5, "rotation_axis": [0, 0, 1], "plane": [3, 1, 0]},
                   {"sigma": 5, "rotation_axis": [0, 0, 1], "plane": [2, 1, 0]}],
    "min_grain_thickness": 10.0,  # Å per grain, along the boundary normal
    # the paper's boundary relaxation: FIRE + FrechetCellFilter, 0.01 eV/Å, 500 steps; the cell relaxes along the
    # boundary normal only (mask): free in-plane and shear strains let a thin bicrystal shear into a single crystal
    # (EMT Cu Σ5(210), 72 atoms: γ 93 → −0.6 meV/Å² with a free cell, 66 meV/Å² with the normal free)
    "relax": {**DEFECT_RELAX, "cell_filter": True, "mask": [0, 0, 1, 0, 0, 0]},
}


class BoundaryError(ValueError):
    """A grain boundary cannot be built as asked."""


def validate_boundary_settings(settings: dict) -> dict:
    """``settings`` merged over :data:`DEFAULTS`; BoundaryError for malformed boundaries."""
    merged = check_settings(settings, DEFAULTS, "grain-boundary")
    if not merged["boundaries"]:
        raise BoundaryError("give at least one boundary")
    for boundary in merged["boundaries"]:
        boundary_key(boundary)
    if not (isinstance(merged["min_grain_thickness"], (int, float)) and merged["min_grain_thickness"] > 0):
        raise BoundaryError(f"min_grain_thickness must be a positive length in Å, "
                            f"got {merged['min_grain_thickness']!r}")
    return merged


def _indices(value, what: str) -> list[int]:
    if not (isinstance(value, (list, tuple)) and len(value) == 3 and all(isinstance(i, int) for i in value)
            and any(value)):
        raise BoundaryError(f"{what} must be three integers, not all zero; got {value!r}")
    return list(value)


def boundary_key(boundary: dict) -> str:
    """'S5_001_310' for {sigma: 5, rotation_axis: [0, 0, 1], plane: [3, 1, 0]}; BoundaryError if malformed."""
    if set(boundary) != {"sigma", "rotation_axis", "plane"}:
        raise BoundaryError(f"a boundary is {{sigma, rotation_axis, plane}}, got {boundary!r}")
    sigma = boundary["sigma"]
    if not (isinstance(sigma, int) and sigma >= 3 and sigma % 2 == 1):
        raise BoundaryError(f"sigma must be an odd integer ≥ 3 (cubic lattices), got {sigma!r}")
    axis, plane = _indices(boundary["rotation_axis"], "rotation_axis"), _indices(boundary["plane"], "plane")
    if int(np.dot(axis, plane)) != 0:
        raise BoundaryError(f"plane {plane} does not contain the rotation axis {axis}: not a tilt boundary")
    name = lambda v: "".join(str(i) for i in v).replace("-", "m")  # noqa: E731 (an output-name-safe key)
    return f"S{sigma}_{name(axis)}_{name(plane)}"


def tilt_angle(sigma: int, axis, plane) -> float:
    """The rotation angle (degrees) of Σ ``sigma`` about ``axis`` for which ``plane`` is a symmetric tilt plane
    of a cubic lattice; BoundaryError when there is none."""
    from pymatgen.core.interface import GrainBoundaryGenerator

    angles = GrainBoundaryGenerator.enum_sigma_cubic(cutoff=sigma, r_axis=list(axis)).get(sigma, [])
    if not angles:
        raise BoundaryError(f"a cubic lattice has no Σ{sigma} boundary about {list(axis)}")
    wanted = {tuple(plane), tuple(-i for i in plane)}
    for angle in sorted(a for a in angles if a < 180):
        planes = GrainBoundaryGenerator.enum_possible_plane_cubic(
            plane_cutoff=max(abs(i) for i in plane) + 1, r_axis=list(axis), r_angle=angle)
        for first, _ in planes.get("Symmetric tilt", []):
            if tuple(int(i) for i in first) in wanted:
                return float(angle)
    raise BoundaryError(f"{list(plane)} is not a symmetric tilt plane of Σ{sigma} about {list(axis)}")


def bicrystal(atoms, boundary: dict, min_grain_thickness: float, cutoff: float | None = None):
    """The periodic bicrystal (two boundaries) of the cubic crystal ``atoms`` for ``boundary`` ({sigma,
    rotation_axis, plane}): boundary plane spanned by the first two cell vectors, the third along z;
    ``info``: the boundary, its key, rotation angle (degrees), area (Å²)."""
    from pymatgen.core.interface import GrainBoundaryGenerator
    from pymatgen.io.ase import AseAtomsAdaptor

    key = boundary_key(boundary)
    conventional = conventional_cell(atoms)
    lengths, angles = conventional.cell.cellpar()[:3], conventional.cell.cellpar()[3:]
    if np.ptp(lengths) > 1e-6 * lengths[0] or np.abs(angles - 90).max() > 1e-6:
        raise BoundaryError(f"{atoms.get_chemical_formula()} is not cubic: boundaries here are of cubic crystals")
    angle = tilt_angle(boundary["sigma"], boundary["rotation_axis"], boundary["plane"])
    generator = GrainBoundaryGenerator(AseAtomsAdaptor.get_structure(conventional))

    def generate(expand: int):
        import warnings

        with warnings.catch_warnings():  # pymatgen's notes on merged sites at the boundary
            warnings.simplefilter("ignore")
            return AseAtomsAdaptor.get_atoms(generator.gb_from_parameters(
                boundary["rotation_axis"], angle, expand_times=expand, plane=boundary["plane"], normal=True))

    cell = generate(1)
    grain = np.linalg.norm(cell.cell[2]) / 2
    if grain < min_grain_thickness:
        cell = generate(math.ceil(min_grain_thickness / grain))
    cell = to_plane_normal_z(cell, key)
    repeat = in_plane_repeat(cell.cell.array, cutoff)
    cell = cell.repeat((*repeat, 1))
    if len(cell) > MAX_ATOMS:
        raise BoundaryError(f"{key} of {atoms.get_chemical_formula()} needs {len(cell)} atoms (more than "
                            f"{MAX_ATOMS}): choose a lower Σ")
    cell.info = {**boundary, "key": key, "rotation_angle": angle, "in_plane_repeat": list(repeat),
                 "area": area(cell)}
    return cell


def to_plane_normal_z(cell, key: str):
    """``cell`` rotated so that its first two vectors lie in the xy plane and the third is along z; BoundaryError
    when the third is not normal to the first two (a boundary plane not orthogonal to z)."""
    a, b, c = cell.cell.array
    normal = np.cross(a, b)
    if abs(np.dot(normal, c)) < (1 - 1e-8) * np.linalg.norm(normal) * np.linalg.norm(c):
        raise BoundaryError(f"{key}: the generated boundary's third cell vector is not normal to the boundary "
                            f"plane (a plane not orthogonal to z, which the paper's set leaves out)")
    standard, rotation = cell.cell.standard_form()
    rotated = cell.copy()
    rotated.set_cell(standard)
    rotated.positions = cell.positions @ rotation.T
    rotated.wrap()
    return rotated
