"""The κ calculation of ``grace.thermal_conductivity`` as a plain phono3py script, without AiiDA.

The reference the tests compare the WorkChain against, and the baseline of ``benchmarks/kappa.py``. It follows
the κ_SRME protocol step by step with phono3py's own API; from aiida-grace it takes only the phono3py 3.x/4.x
option names (:func:`aiida_grace.driver.kappa.wigner_options`, :func:`~aiida_grace.driver.kappa.wigner_results`).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

RELAX = {"fmax": 1e-4, "steps": 300, "mask": [1, 1, 1, 0, 0, 0], "symprec": 1e-5}


def plain_kappa(model, atoms, *, fc3_supercell, fc2_supercell, mesh, distance=0.03, relax=RELAX,
                temperatures=(300.0,), symprec=1e-5) -> dict:
    """Relax ``atoms`` (FIRE, FrechetCellFilter with ``mask``, FixSymmetry), then κ (Wigner, RTA, isotopes,
    boundary mfp 1e6 µm) with ``TPCalculator(model)`` (a SavedModel path) or ``model`` itself (an ASE
    calculator). Returns κ arrays (W/m/K), mode κ_TOT averaged over xx, yy, zz with the q-point weights, the
    relaxed Atoms, fc2/fc3, the number of displaced supercells and the wall time (s)."""
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE
    from phono3py import Phono3py
    from phonopy.structure.atoms import PhonopyAtoms

    from aiida_grace.common.kappa_srme import mode_kappa_total, voigt_average
    from aiida_grace.driver.kappa import wigner_options, wigner_results

    start = time.perf_counter()
    if isinstance(model, (str, Path)):
        from tensorpotential.calculator import TPCalculator

        calc = TPCalculator(str(model))
    else:
        calc = model
    atoms = atoms.copy()
    atoms.calc = calc
    if relax:
        atoms.set_constraint(FixSymmetry(atoms, symprec=relax["symprec"]))
        FIRE(FrechetCellFilter(atoms, mask=relax["mask"]), logfile=None).run(fmax=relax["fmax"], steps=relax["steps"])
        atoms.set_constraint()

    unitcell = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=atoms.cell.array,
                            scaled_positions=atoms.get_scaled_positions(wrap=False))
    with warnings.catch_warnings():  # 'auto' on purpose; phonopy >= 4 warns on each one
        warnings.filterwarnings("ignore", message="primitive_matrix defaulted to 'auto'")
        ph3 = Phono3py(unitcell, supercell_matrix=fc3_supercell, phonon_supercell_matrix=fc2_supercell,
                       primitive_matrix="auto", symprec=symprec)
    ph3.mesh_numbers = mesh
    ph3.generate_displacements(distance=distance, is_plusminus="auto")

    def forces_of(supercells, n_atoms):
        out = np.zeros((len(supercells), n_atoms, 3))
        for i, cell in enumerate(supercells):
            if cell is None:
                continue
            from ase import Atoms

            displaced = Atoms(cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)
            displaced.calc = calc
            out[i] = displaced.get_forces()
        return out

    ph3.forces = forces_of(ph3.supercells_with_displacements, len(ph3.supercell))
    ph3.phonon_forces = forces_of(ph3.phonon_supercells_with_displacements, len(ph3.phonon_supercell))
    ph3.produce_fc2(symmetrize_fc2=True)
    ph3.produce_fc3(symmetrize_fc3r=True)
    ph3.init_phph_interaction(symmetrize_fc3q=False)
    ph3.run_phonon_solver()
    ph3.run_thermal_conductivity(temperatures=list(temperatures), is_isotope=True, boundary_mfp=1e6,
                                 **wigner_options())
    conductivity = ph3.thermal_conductivity
    results = wigner_results(conductivity)
    mode_tot = mode_kappa_total(results["mode_kappa_P_RTA"], results["mode_kappa_C"], results["heat_capacity"])
    n_cells = sum(c is not None for c in ph3.supercells_with_displacements) + len(
        ph3.phonon_supercells_with_displacements)
    return {
        "kappa_P_RTA": results["kappa_P_RTA"], "kappa_C": results["kappa_C"],
        "kappa_TOT_RTA": results["kappa_TOT_RTA"], "kappa_TOT_ave": results["kappa_TOT_RTA"][:, :3].mean(axis=1),
        "mode_kappa_TOT_ave": voigt_average(mode_tot), "weights": np.asarray(conductivity.grid_weights),
        "qpoints": np.asarray(conductivity.qpoints), "frequencies": np.asarray(conductivity.frequencies), "heat_capacity": results["heat_capacity"],
        "temperatures": np.asarray(temperatures, dtype=float),
        "relaxed": atoms, "fc2": ph3.fc2, "fc3": ph3.fc3, "n_supercells": n_cells,
        "seconds": time.perf_counter() - start,
    }
