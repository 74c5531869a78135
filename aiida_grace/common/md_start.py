"""The starting state of an MD run, shared by the driver and the aiida-lammps route (pure; ase and numpy).

Initial velocities are Maxwell-Boltzmann from ``seed`` with zero total momentum, scaled to exactly the asked
temperature, so that every engine (ASE, LAMMPS through the driver, a native LAMMPS) starts from the same state.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms, units


def instantaneous_temperature(kinetic_energy: float, n_atoms: int) -> float:
    """K, with 3N-3 degrees of freedom (momentum conserved), as LAMMPS's ``temp`` compute."""
    return 2.0 * kinetic_energy / (max(3 * n_atoms - 3, 1) * units.kB)


def initial_velocities(atoms: Atoms, temperature: float, seed: int) -> None:
    """Maxwell-Boltzmann velocities with zero total momentum, reproducible from ``seed``, scaled to exactly
    ``temperature`` (K, 3N-3 degrees of freedom)."""
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    current = instantaneous_temperature(atoms.get_kinetic_energy(), len(atoms))
    if current > 0:
        atoms.set_velocities(atoms.get_velocities() * np.sqrt(temperature / current))


def lammps_prism(atoms: Atoms):
    """ASE's map between the structure's cell and LAMMPS's restricted-triclinic frame."""
    from ase.calculators.lammps import Prism

    return Prism(atoms.cell.array, pbc=atoms.pbc)


def write_lammps_start(target, atoms: Atoms, elements: list[str]) -> None:
    """A LAMMPS data file (metal units, atom_style atomic) with masses and the atoms' velocities; atom type i is
    ``elements[i - 1]``. ``target`` is a path or a text handle."""
    from ase.io.lammpsdata import write_lammps_data

    write_lammps_data(target, atoms, specorder=elements, prismobj=lammps_prism(atoms), masses=True,
                      velocities=True, units="metal", atom_style="atomic")
