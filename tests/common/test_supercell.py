"""Shortest periodic image distance and the force-constant supercell check (pure, fast)."""

import itertools
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from aiida_grace.common.supercell import (
    kappa_supercells_too_small,
    nearest_neighbour_distance,
    shortest_image_distance,
    supercell_too_small,
)

PHONONDB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "phonondb"  # ../shared of the clone


def brute_force(cell, matrix) -> float:
    """min |n·A| over a box of n that provably holds the shortest vector (perpendicular widths of A)."""
    lattice = np.asarray(matrix) @ cell
    bound = np.linalg.norm(lattice, axis=1).min()
    reach = np.floor(bound * np.linalg.norm(np.linalg.inv(lattice), axis=0)).astype(int)
    grid = [n for n in itertools.product(*(range(-r, r + 1) for r in reach)) if any(n)]
    return np.linalg.norm(np.array(grid) @ lattice, axis=1).min()


def test_image_distance_of_simple_cells():
    cu = bulk("Cu", "fcc", a=3.6)  # primitive: vectors a/√2
    assert shortest_image_distance(cu.cell.array) == pytest.approx(3.6 / np.sqrt(2), abs=1e-12)
    assert shortest_image_distance(cu.cell.array, [2, 2, 2]) == pytest.approx(3.6 * np.sqrt(2), abs=1e-12)
    # [[-1,1,1],[1,-1,1],[1,1,-1]] of the cubic cell is a bcc lattice of edge 2a: shortest vector a√3
    cubic = bulk("Cu", "fcc", a=3.6, cubic=True).cell.array
    assert shortest_image_distance(cubic, [[-1, 1, 1], [1, -1, 1], [1, 1, -1]]) == pytest.approx(3.6 * np.sqrt(3))
    assert shortest_image_distance(cubic, [[1, 1, 0], [0, 1, 0], [0, 0, 1]]) == pytest.approx(3.6, abs=1e-12)
    # a sheared cell whose rows are all long: the short vector is a difference of rows
    sheared = np.array([[10.0, 0, 0], [10.5, 1.0, 0], [0, 0, 20.0]])
    assert shortest_image_distance(sheared) == pytest.approx(np.hypot(0.5, 1.0), abs=1e-12)


def test_image_distance_of_skewed_cells_equals_brute_force():
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 60:
        cell, matrix = rng.normal(size=(3, 3)) * 3, rng.integers(-2, 3, size=(3, 3))
        if abs(np.linalg.det(matrix)) < 0.5 or abs(np.linalg.det(cell)) < 2:
            continue
        assert shortest_image_distance(cell, matrix) == pytest.approx(brute_force(cell, matrix), abs=1e-10)
        checked += 1


def test_bad_supercells_are_refused():
    cell = np.eye(3)
    with pytest.raises(ValueError, match="singular"):
        shortest_image_distance(cell, [[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="3 integers"):
        shortest_image_distance(cell, [2, 2])


def test_nearest_neighbour_distance():
    assert nearest_neighbour_distance(bulk("Cu", "fcc", a=3.6)) == pytest.approx(3.6 / np.sqrt(2), abs=1e-12)
    assert nearest_neighbour_distance(bulk("MgO", "rocksalt", a=4.2, cubic=True)) == pytest.approx(2.1, abs=1e-12)
    assert nearest_neighbour_distance(bulk("Si", "diamond", a=5.43)) == pytest.approx(5.43 * np.sqrt(3) / 4)


def test_primitive_fcc_fc3_two_is_refused_with_what_to_use():
    cu = bulk("Cu", "fcc", a=3.6)
    message = supercell_too_small(cu, [2, 2, 2], 6.0)
    assert message.startswith("fc3_supercell [2, 2, 2] of Cu is too small (model cutoff 6.00 Å): its shortest "
                              "periodic image distance is 5.09 Å")
    assert "the model's cutoff (6.00 Å" in message and "2 × 2.55 = 5.09 Å" in message
    assert message.endswith("Use e.g. fc3_supercell [3, 3, 3] (7.64 Å) or a larger one")
    # a 5 Å model clears the cutoff (5.09 Å) but not the bond rule; 3×3×3 is accepted by both
    assert "model's cutoff" not in supercell_too_small(cu, [2, 2, 2], 5.0)
    assert supercell_too_small(cu, [3, 3, 3], 6.0) is None
    # fc2 has no bond rule (EMT Cu with fc2 2×2×2 gives κ 12.4 W/m/K against 12.4 with 3×3×3): cutoff only
    assert supercell_too_small(cu, [2, 2, 2], 5.0, role="fc2") is None
    assert supercell_too_small(cu, [2, 2, 2], 6.0, role="fc2").startswith("fc2_supercell [2, 2, 2] of Cu")
    assert supercell_too_small(cu, [2, 2, 2], None) is not None  # no cutoff known: the bond rule still holds


def test_paper_protocol_rocksalt_is_accepted():
    mgo = bulk("MgO", "rocksalt", a=4.21, cubic=True)  # 8-atom conventional cell
    assert shortest_image_distance(mgo.cell.array, [2, 2, 2]) == pytest.approx(8.42, abs=1e-12)
    assert kappa_supercells_too_small(mgo, {"fc3_supercell": [2, 2, 2], "fc2_supercell": [4, 4, 4]}, 6.0) is None
    assert "fc2_supercell [1, 1, 1]" in kappa_supercells_too_small(
        mgo, {"fc3_supercell": [2, 2, 2], "fc2_supercell": [1, 1, 1]}, 6.0)


@pytest.mark.skipif(not PHONONDB.is_dir(), reason="phononDB structures not available")
def test_every_phonondb_material_passes_with_a_6_angstrom_model():
    """The supercells of the paper's κ_SRME runs (103 materials, GRACE models with a 6 Å cutoff) are all accepted;
    the smallest fc3 image distance is c-BN's 7.25 Å."""
    from ase.io import read

    structures = read(PHONONDB / "phononDB-PBE-structures.extxyz", index=":")
    assert len(structures) == 103
    for atoms in structures:
        assert kappa_supercells_too_small(atoms, atoms.info, 6.0) is None, atoms.get_chemical_formula()
    smallest = min(shortest_image_distance(a.cell.array, a.info["fc3_supercell"]) for a in structures)
    assert smallest == pytest.approx(7.251, abs=1e-3)
