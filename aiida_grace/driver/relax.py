"""Relaxation on the compute side (pure ASE; no aiida), one step that evaluate, elastic and κ work all call.

One stage: FIRE or BFGS, optionally with a cell filter (``FrechetCellFilter``, Voigt ``mask``, pressure) and
``FixSymmetry``. With ``free_second_stage`` (after a symmetry-fixed first stage) the structure is relaxed again
without ``FixSymmetry`` and the result kept only when spglib (``symprec``) finds the first stage's space group,
else the first stage's structure is restored: the two-stage relaxation of the GRACE paper's κ_SRME runs.
"""

from __future__ import annotations

from ..common.symmetry import space_group_number


def relax_stage(atoms, relax_settings: dict, *, fix_symmetry: bool) -> tuple[bool, int]:
    """One relaxation in place; return (converged, steps). fmax in eV/Å, pressure in GPa."""
    from ase import units
    from ase.optimize import BFGS, FIRE

    target = atoms
    if fix_symmetry:
        from ase.constraints import FixSymmetry

        atoms.set_constraint(FixSymmetry(atoms, symprec=relax_settings.get("symprec", 1e-5)))
    if relax_settings.get("cell_filter"):
        from ase.filters import FrechetCellFilter

        target = FrechetCellFilter(atoms, mask=relax_settings.get("mask"),
                                   scalar_pressure=relax_settings.get("pressure", 0.0) * units.GPa)
    optimizer_class = {"FIRE": FIRE, "BFGS": BFGS}[relax_settings.get("optimizer", "FIRE")]
    optimizer = optimizer_class(target, logfile=None)
    converged = bool(optimizer.run(fmax=relax_settings.get("fmax", 0.01), steps=relax_settings.get("steps", 500)))
    steps = int(optimizer.nsteps)
    atoms.set_constraint()
    return converged, steps


def relax(atoms, relax_settings: dict) -> tuple[bool, int]:
    """Relax in place; return (converged, steps), both stages' steps summed and ``converged`` of the kept stage.
    With ``free_second_stage``, ``atoms.info`` gets ``relax_stage`` (1 or 2, the stage kept) and
    ``relax_space_groups`` ([first stage's, free stage's] space-group numbers)."""
    converged, steps = relax_stage(atoms, relax_settings, fix_symmetry=bool(relax_settings.get("fix_symmetry")))
    if not relax_settings.get("free_second_stage"):
        return converged, steps
    symprec = relax_settings.get("symprec", 1e-5)
    first, group = atoms.copy(), space_group_number(atoms, symprec)
    free_converged, free_steps = relax_stage(atoms, relax_settings, fix_symmetry=False)
    free_group = space_group_number(atoms, symprec)
    atoms.info["relax_space_groups"] = [group, free_group]
    if free_group == group:
        atoms.info["relax_stage"] = 2
        return free_converged, steps + free_steps
    atoms.set_cell(first.cell)
    atoms.set_positions(first.positions)
    atoms.info["relax_stage"] = 1
    return converged, steps + free_steps
