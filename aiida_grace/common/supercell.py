"""Is a force-constant supercell big enough? (pure; no aiida)

A finite displacement in a periodic supercell moves every image of the atom with it, so force constants come out
summed over images. Two cases make κ nonsense rather than approximate, and :func:`supercell_too_small` refuses
them (L: the supercell's shortest periodic image distance):

- **L ≤ the model's cutoff** (fc2 and fc3): an atom sees its own periodic image inside its cutoff sphere.
- **L ≤ 2 × the nearest-neighbour distance** (fc3): a bond and the opposite bond are one pair of the supercell.
  Third-order constants are odd under inversion, so those of the first shell cancel, the anharmonic scattering
  that limits κ vanishes and κ diverges. Primitive fcc Cu with fc3 2×2×2 (L = 5.09 Å = 2 d_nn) gives
  κ ≈ 1e6 W/m/K with EMT (6.8e8 W/m/K was reported with a GRACE model), fc3 3×3×3 (L = 7.64 Å) 12.8 W/m/K.
  fc2 is spared this rule: harmonic constants are even and phonopy shares them among equidistant images
  (EMT Cu with fc2 2×2×2 and fc3 3×3×3: 12.4 W/m/K, with fc2 3×3×3: 12.4 W/m/K).

Not refused: a supercell holding every interaction once needs L > 2 × the model's reach (the cutoff for a GRACE-1L,
the receptive field n_layers × cutoff = 12 Å for a 6 Å GRACE-2L, hence L > 24 Å). The κ_SRME protocol the paper
ran (GRACE-2L-OAM, 6 Å) uses the phononDB fc3 supercells, L = 7.25-15.0 Å (fc2: 12.7-30 Å), and relies on force
constants decaying within L/2, as DFT does there; refusing those would refuse the published protocol. Its fc3
cells clear both rules above (L ≥ 1.2 × 6 Å, L ≥ 4 d_nn).
"""

from __future__ import annotations

import itertools

import numpy as np

TOLERANCE = 0.01  # Å: an image distance within this of a limit counts as at the limit
LARGEST_SUGGESTION = 8  # repetitions per axis tried when suggesting a supercell


def supercell_matrix(supercell) -> np.ndarray:
    """3×3 integer matrix of ``supercell`` (3 integers: a diagonal; or 3×3)."""
    matrix = np.asarray(supercell)
    if matrix.shape == (3,):
        matrix = np.diag(matrix)
    if matrix.shape != (3, 3) or not np.allclose(matrix, np.round(matrix)):
        raise ValueError(f"a supercell is 3 integers or a 3×3 integer matrix, got {supercell!r}")
    if round(abs(np.linalg.det(matrix))) == 0:
        raise ValueError(f"supercell matrix {supercell!r} is singular")
    return np.round(matrix).astype(int)


def shortest_image_distance(cell, supercell=(1, 1, 1)) -> float:
    """Shortest periodic image distance (Å) of ``cell`` (rows: lattice vectors, Å) repeated by ``supercell``:
    min |n·A| over integer n ≠ 0, A = supercell matrix @ cell. Exact for skewed cells: after Minkowski reduction a
    vector no longer than the shortest row has |n_i| ≤ length / (perpendicular width i)."""
    from ase.geometry.minkowski_reduction import minkowski_reduce

    lattice, _ = minkowski_reduce(supercell_matrix(supercell) @ np.asarray(cell, dtype=float))
    bound = np.linalg.norm(lattice, axis=1).min()
    reach = np.floor(bound * np.linalg.norm(np.linalg.inv(lattice), axis=0) + 1e-9).astype(int)
    ranges = [range(-r, r + 1) for r in reach]
    vectors = np.array([n for n in itertools.product(*ranges) if any(n)]) @ lattice
    return float(np.linalg.norm(vectors, axis=1).min())


def nearest_neighbour_distance(atoms) -> float:
    """Shortest distance (Å) between two atoms of the periodic crystal ``atoms``, images included."""
    from ase.neighborlist import neighbor_list

    limit = shortest_image_distance(atoms.cell.array)  # an atom's own image is a neighbour at most this far
    distances = neighbor_list("d", atoms, limit + TOLERANCE)
    return float(distances.min()) if len(distances) else limit


def _limits(atoms, cutoff: float | None, role: str) -> list[tuple[float, str]]:
    limits = []
    if cutoff:
        limits.append((float(cutoff), f"the model's cutoff ({float(cutoff):.2f} Å; else an atom sees its own image)"))
    if role == "fc3":
        nearest = nearest_neighbour_distance(atoms)
        limits.append((2 * nearest, f"twice the nearest-neighbour distance (2 × {nearest:.2f} = {2 * nearest:.2f} Å; "
                                    f"else a bond and its opposite are one pair and their third-order terms cancel)"))
    return limits


def _suggest(atoms, limit: float) -> tuple[list[int], float] | None:
    """The diagonal supercell with fewest cells whose image distance clears ``limit``, and that distance."""
    candidates = itertools.product(range(1, LARGEST_SUGGESTION + 1), repeat=3)
    for repeat in sorted(candidates, key=lambda n: (np.prod(n), n[::-1])):
        distance = shortest_image_distance(atoms.cell.array, repeat)
        if distance > limit + TOLERANCE:
            return list(repeat), distance
    return None


def supercell_too_small(atoms, supercell, cutoff: float | None, *, role: str = "fc3") -> str | None:
    """Why ``supercell`` of the unit cell ``atoms`` gives nonsense force constants for ``role`` ('fc2' or 'fc3')
    with a model of ``cutoff`` (Å; None: the fc3 rule only), or None when it is big enough (see the module)."""
    if role not in ("fc2", "fc3"):
        raise ValueError(f"role must be 'fc2' or 'fc3', got {role!r}")
    distance = shortest_image_distance(atoms.cell.array, supercell)
    limits = _limits(atoms, cutoff, role)
    failed = [reason for limit, reason in limits if distance <= limit + TOLERANCE]
    if not failed:
        return None
    given = np.asarray(supercell).tolist()
    model = f" (model cutoff {float(cutoff):.2f} Å)" if cutoff else ""
    message = (f"{role}_supercell {given} of {atoms.get_chemical_formula()} is too small{model}: its shortest "
               f"periodic image distance is {distance:.2f} Å and must exceed {' and '.join(failed)}")
    suggestion = _suggest(atoms, max(limit for limit, _ in limits))
    if suggestion:
        repeat, suggested = suggestion
        message += f". Use e.g. {role}_supercell {repeat} ({suggested:.2f} Å) or a larger one"
    return message


def kappa_supercells_too_small(atoms, parameters: dict, cutoff: float | None) -> str | None:
    """:func:`supercell_too_small` for ``fc3_supercell`` and ``fc2_supercell`` of κ ``parameters`` (those given)."""
    for role in ("fc3", "fc2"):
        if f"{role}_supercell" in parameters:
            message = supercell_too_small(atoms, parameters[f"{role}_supercell"], cutoff, role=role)
            if message:
                return message
    return None
