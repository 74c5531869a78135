"""The full-precision extxyz writer: bitwise round trips through ase's reader (and so gracemaker's)."""

import io

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.constraints import FixAtoms
from ase.io import read

from aiida_grace.common.extxyz import read_extxyz, to_extxyz, write_extxyz
from aiida_grace.common.structures import labels_of, with_labels


def random_cells(seed: int = 0, count: int = 5) -> list[Atoms]:
    """Cells with random float64 cell, positions, energy, forces (tiny and large) and stress."""
    rng = np.random.default_rng(seed)
    cells = []
    for n in range(1, count + 1):
        atoms = Atoms(rng.choice(["Cu", "Al"], size=n), positions=rng.uniform(-3, 9, (n, 3)),
                      cell=rng.normal(0, 4, (3, 3)), pbc=True)
        forces = rng.normal(size=(n, 3)) * 10.0 ** rng.integers(-12, 3, size=(n, 3))
        atoms = with_labels(atoms, energy=float(rng.normal(-3 * n, 5)), forces=forces, stress=rng.normal(size=6))
        atoms.info.update(name=f"cell{n}", energy_weight=float(rng.uniform()))
        cells.append(atoms)
    return cells


def assert_bitwise_equal(written: list[Atoms], read_back: list[Atoms]) -> None:
    assert len(read_back) == len(written)
    for original, stored in zip(written, read_back):
        assert stored.get_chemical_symbols() == original.get_chemical_symbols()
        np.testing.assert_array_equal(stored.positions, original.positions)
        np.testing.assert_array_equal(stored.cell.array, original.cell.array)
        np.testing.assert_array_equal(stored.pbc, original.pbc)
        ref, got = labels_of(original), labels_of(stored)
        assert sorted(got) == sorted(ref)
        for key in ref:
            np.testing.assert_array_equal(got[key], ref[key], err_msg=key)
        assert stored.info == original.info


def test_random_float64_labels_read_back_bitwise_equal():
    cells = random_cells()
    assert_bitwise_equal(cells, read_extxyz(io.StringIO(to_extxyz(cells))))


def test_ase_writer_loses_what_this_one_keeps():
    """The reason for this module: ase's own writer rounds per-atom floats to 8 decimals."""
    from ase.io import write

    cells = random_cells(seed=1)
    buffer = io.StringIO()
    write(buffer, cells, format="extxyz")
    rounded = read(io.StringIO(buffer.getvalue()), index=":", format="extxyz")
    assert any(not np.array_equal(a.positions, b.positions) for a, b in zip(cells, rounded))
    assert max(np.abs(a.get_forces() - b.get_forces()).max() for a, b in zip(cells, rounded)) <= 5e-9


def test_appending_frames_to_an_open_file(tmp_path):
    cells = random_cells(seed=2)
    path = tmp_path / "partial.extxyz"
    with open(path, "a") as handle:
        for atoms in cells:
            write_extxyz(handle, atoms)
    assert_bitwise_equal(cells, read_extxyz(path))


def test_unlabelled_molecule_and_constraints_keep_ase_semantics():
    molecule = Atoms("CuAl", positions=[[0.1, 0.2, 0.3], [2.4000000000000004, 0.0, 1 / 3]])
    slab = bulk("Cu", cubic=True)
    slab.set_constraint(FixAtoms(indices=[0, 2]))
    slab.arrays["tag_value"] = np.array([0.1, 1 / 3, 2.0, -1e-17])
    text = to_extxyz([molecule, slab])
    back = read_extxyz(io.StringIO(text))
    assert not back[0].pbc.any() and back[0].calc is None
    np.testing.assert_array_equal(back[0].positions, molecule.positions)
    assert isinstance(back[1].constraints[0], FixAtoms)
    np.testing.assert_array_equal(back[1].constraints[0].index, [0, 2])
    np.testing.assert_array_equal(back[1].arrays["tag_value"], slab.arrays["tag_value"])
    assert "2.4000000000000004" in text and "0.3333333333333333" in text  # shortest exact repr


def test_gracemaker_reads_the_file(tmp_path):
    """gracemaker's own extxyz loader (tensorpotential.cli.data.load_extxyz) gets the exact numbers."""
    data = pytest.importorskip("tensorpotential.cli.data")
    cells = random_cells(seed=3)
    path = tmp_path / "train.extxyz"
    path.write_text(to_extxyz(cells))
    frame = data.load_extxyz(str(path))
    assert list(frame["energy"]) == [labels_of(a)["energy"] for a in cells]
    for atoms, forces, stress in zip(cells, frame["forces"], frame["stress"]):
        np.testing.assert_array_equal(forces, labels_of(atoms)["forces"])
        np.testing.assert_array_equal(stress, labels_of(atoms)["stress"])
