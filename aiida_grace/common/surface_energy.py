"""Surface energies (``grace.surface_energy``): slabs of a relaxed bulk for given Miller indices, the surface plane
normal to z, and γ = (E_slab − N · ε_bulk) / (2 A) (pure; no aiida).

Miller indices refer to the conventional standard cell of the bulk (spglib), as in Materials Project/Crystalium.
A slab holds whole bulk repeats along the plane normal, at least ``min_thickness`` Å of material, with
``vacuum`` Å of empty space between periodic images; the in-plane cell is repeated until an atom is farther
than the model's cutoff from its own in-plane image. γ in meV/Å² and J/m².
"""

from __future__ import annotations

import math

import numpy as np

from .property_input import BULK_RELAX, DEFECT_RELAX, check_settings
from .supercell import shortest_image_distance

J_PER_M2_PER_EV_PER_A2 = 16.021766208  # 1 eV/Å² in J/m²
QUANTITIES = {"surface_energy": "meV/Å²"}

DEFAULTS = {
    "calculator": "tensorflow",
    "bulk_relax": BULK_RELAX,
    "miller_indices": [[1, 0, 0], [1, 1, 0], [1, 1, 1]],
    "min_thickness": 10.0,  # Å of material
    "vacuum": 15.0,         # Å between the slab and its periodic image along z
    "relax": {**DEFECT_RELAX, "cell_filter": False},  # the paper's slab relaxation: FIRE, 0.01 eV/Å, 500 steps
}


class SlabError(ValueError):
    """A slab cannot be built as asked."""


def validate_surface_settings(settings: dict) -> dict:
    """``settings`` merged over :data:`DEFAULTS`; SlabError for malformed Miller indices or sizes."""
    merged = check_settings(settings, DEFAULTS, "surface")
    for miller in merged["miller_indices"]:
        miller_key(miller)
    for key in ("min_thickness", "vacuum"):
        if not (isinstance(merged[key], (int, float)) and merged[key] > 0):
            raise SlabError(f"{key} must be a positive length in Å, got {merged[key]!r}")
    return merged


def miller_key(miller) -> str:
    """'111' or '1-10' for Miller indices; SlabError unless three integers, not all zero."""
    if not (isinstance(miller, (list, tuple)) and len(miller) == 3 and all(isinstance(i, int) for i in miller)):
        raise SlabError(f"Miller indices must be three integers, got {miller!r}")
    if not any(miller):
        raise SlabError("Miller indices (0, 0, 0) do not define a plane")
    if math.gcd(*miller) != 1:
        raise SlabError(f"Miller indices {list(miller)} share a factor; use {[i // math.gcd(*miller) for i in miller]}")
    return "".join(str(i) for i in miller)


def conventional_cell(atoms, symprec: float = 1e-3):
    """The conventional standard cell of ``atoms`` (spglib), in which Miller indices are given."""
    import spglib
    from ase import Atoms

    lattice, positions, numbers = spglib.standardize_cell(
        (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers), to_primitive=False, no_idealize=False,
        symprec=symprec)
    # keep the relaxed volume exactly: standardisation may idealise the cell
    cell = Atoms(numbers=numbers, scaled_positions=positions, cell=lattice, pbc=True)
    scale = (atoms.get_volume() / len(atoms) / (cell.get_volume() / len(cell))) ** (1 / 3)
    cell.set_cell(cell.cell.array * scale, scale_atoms=True)
    return cell


def slab(atoms, miller, min_thickness: float, vacuum: float, cutoff: float | None = None):
    """The slab of the bulk ``atoms`` for ``miller``: surface plane spanned by the first two cell vectors, normal to
    z; whole layers of the plane's repeat unit up to ``min_thickness`` Å; ``vacuum`` Å along z; the in-plane cell
    repeated until its shortest image distance exceeds ``cutoff``. ``info``: miller, layers, area (Å²)."""
    from ase.build import surface

    conventional = conventional_cell(atoms)
    one = surface(conventional, tuple(miller), 1, tol=1e-6, periodic=True)
    repeat_height = one.cell[2, 2]
    layers = max(1, math.ceil(min_thickness / repeat_height - 1e-9))
    cell = surface(conventional, tuple(miller), layers, tol=1e-6)  # periodic=True would wrap along z wrongly
    cell.cell[2] = [0.0, 0.0, layers * repeat_height + vacuum]
    cell.pbc = True
    cell.center(axis=2)
    repeat = in_plane_repeat(cell.cell.array, cutoff)
    cell = cell.repeat((*repeat, 1))
    cell.set_tags(0)
    check_normal_to_z(cell)
    cell.info = {"miller": list(miller), "layers": layers, "in_plane_repeat": list(repeat), "area": area(cell)}
    return cell


def in_plane_repeat(cell, cutoff: float | None) -> tuple[int, int]:
    """Fewest in-plane repetitions (n1, n2) whose shortest in-plane image distance exceeds ``cutoff`` (Å)."""
    if not cutoff:
        return 1, 1
    plane = np.array(cell, dtype=float)
    plane[2] = [0.0, 0.0, 1e6]  # only in-plane images
    for total in range(2, 65):
        for n1 in range(1, total):
            n2 = total - n1
            if shortest_image_distance(plane, (n1, n2, 1)) > float(cutoff):
                return n1, n2
    raise SlabError(f"no in-plane repetition up to 64 cells clears the cutoff {cutoff} Å")


def check_normal_to_z(cell) -> None:
    """SlabError unless the first two cell vectors lie in the xy plane and the third is along z."""
    a, b, c = np.asarray(cell.cell.array if hasattr(cell, "cell") else cell, dtype=float)
    if abs(a[2]) > 1e-8 or abs(b[2]) > 1e-8 or np.linalg.norm(c[:2]) > 1e-8:
        raise SlabError("the surface plane is not orthogonal to z: the first two cell vectors must lie in the xy "
                        "plane and the third along z")


def area(cell) -> float:
    """Area (Å²) of the plane spanned by the first two cell vectors."""
    a, b = np.asarray(cell.cell.array, dtype=float)[:2]
    return float(np.linalg.norm(np.cross(a, b)))


def interface_energy(energy: float, n_atoms: int, bulk_energy_per_atom: float, interface_area: float,
                     interfaces: int = 2) -> dict:
    """(E − N · ε_bulk) / (interfaces · A): a slab's two surfaces or a bicrystal's two boundaries; in meV/Å² and
    J/m² (energy eV, area Å²)."""
    per_area = (energy - n_atoms * bulk_energy_per_atom) / (interfaces * interface_area)
    return {"meV_per_A2": float(1000 * per_area), "J_per_m2": float(per_area * J_PER_M2_PER_EV_PER_A2)}
