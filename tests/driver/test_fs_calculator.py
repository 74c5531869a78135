"""The driver's GRACE-FS calculator (matscipy neighbour list) gives PyGRACEFSCalculator's numbers."""

import json
import subprocess
import sys

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from aiida_grace.common.demo import TINY_FS

BUILD = r'''
import json, sys
import tensorpotential  # noqa: F401  (sets TF up before it is imported)
import tensorflow as tf
from tensorpotential.cli.prepare import construct_model
from tensorpotential.tensorpot import TensorPotential

pot, _ = construct_model({"preset": "FS", "kwargs": json.loads(sys.argv[2])}, element_map={"Al": 0, "Cu": 1, "Ni": 2},
                         rcut=5.0)
TensorPotential(potential=pot, param_dtype=tf.float64, seed=3).export_to_yaml(sys.argv[1])
'''


@pytest.fixture(scope="module")
def fs_yaml(tmp_path_factory):
    """An untrained tiny FS model of Al, Cu and Ni (cutoff 5 Å): cost and code path do not depend on the weights."""
    path = tmp_path_factory.mktemp("fs") / "FS_model.yaml"
    subprocess.run([sys.executable, "-c", BUILD, str(path), json.dumps(TINY_FS)], check=True, capture_output=True)
    return str(path)


def structures():
    """Periodic cells from one atom (far smaller than the cutoff) to 500, cubic and triclinic, some atoms outside
    the cell; and a non-periodic cluster."""
    rng = np.random.default_rng(7)
    one = bulk("Cu", "fcc", a=3.6)
    one.positions += [0.05, -0.02, 0.03]
    hexagonal = bulk("Al", "hcp", a=2.9, c=4.7) * (2, 1, 1)
    triclinic = bulk("Al", "fcc", a=4.0) * (2, 2, 3)
    triclinic.set_cell(triclinic.cell[:] + [[0.3, 0.1, 0.0], [0.0, 0.2, 0.4], [0.5, 0.0, 0.1]], scale_atoms=True)
    cubic = bulk("Ni", "fcc", a=3.55, cubic=True) * (5, 5, 5)
    cells = [one, hexagonal, triclinic, bulk("Cu", "fcc", a=3.7, cubic=True) * (3, 3, 3), cubic]
    for atoms in cells[1:]:
        atoms.set_chemical_symbols(rng.choice(["Al", "Cu", "Ni"], size=len(atoms)))
        atoms.positions += rng.normal(0, 0.08, size=atoms.positions.shape)
    cells[2].positions += [7.0, -3.0, 11.0]  # every atom outside the cell: both must wrap them alike
    cluster = Atoms("CuAlNiCu", positions=[[0, 0, 0], [2.4, 0.1, 0], [0.2, 2.3, 1.0], [1.4, 1.2, 2.2]])
    return cells + [cluster]


@pytest.mark.slow
def test_fs_calculator_equals_pygracefs(fs_yaml):
    """Energy (eV), forces (eV/Å), stress (eV/Å³) and atomic energies agree to 1e-10 with python-ace's own
    calculator on every cell; the neighbours are those of pyace (here: in its order, so the numbers are the same)."""
    from pyace.asecalc import PyGRACEFSCalculator

    from aiida_grace.driver.fs_calculator import FSCalculator

    reference, ours = PyGRACEFSCalculator(fs_yaml), FSCalculator(fs_yaml)
    for atoms in structures():
        results = []
        for calc in (reference, ours):
            work = atoms.copy()
            work.calc = calc
            results.append({"energy": work.get_potential_energy(), "forces": work.get_forces(),
                            "energies": work.get_potential_energies(),
                            "stress": work.get_stress() if atoms.pbc.all() else np.zeros(6)})
        expected, got = results
        assert np.abs(expected["forces"]).max() > 1e-3 or len(atoms) == 1  # a cell that tests forces
        assert got["energy"] == pytest.approx(expected["energy"], abs=1e-10), len(atoms)
        assert np.abs(got["forces"] - expected["forces"]).max() < 1e-10
        assert np.abs(got["energies"] - expected["energies"]).max() < 1e-10
        assert np.abs(got["stress"] - expected["stress"]).max() < 1e-10


@pytest.mark.slow
def test_fs_calculator_follows_moving_atoms_and_refuses_unknown_elements(fs_yaml):
    """Repeated calls (MD, relaxation) see the new positions; an element outside the model is refused by name."""
    from pyace.asecalc import PyGRACEFSCalculator

    from aiida_grace.driver.evaluate import make_calculator
    from aiida_grace.driver.fs_calculator import FSCalculator

    calc = make_calculator({"calculator": "fs_cpp", "model": {"fs_yaml": fs_yaml}})
    assert isinstance(calc, FSCalculator)
    reference = PyGRACEFSCalculator(fs_yaml)
    atoms = structures()[3]
    atoms.calc = calc
    for step in range(3):
        atoms.positions[0] += [0.1, 0.05, 0.0]
        expected = atoms.copy()
        expected.calc = reference
        assert atoms.get_potential_energy() == pytest.approx(expected.get_potential_energy(), abs=1e-10), step
        assert np.abs(atoms.get_forces() - expected.get_forces()).max() < 1e-10
    atoms.symbols[0] = "Fe"
    with pytest.raises(ValueError, match="Unsupported species type: Fe"):
        atoms.get_potential_energy()
