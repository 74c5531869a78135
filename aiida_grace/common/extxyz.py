"""extxyz at full float64 precision: ase's layout, every float written as its shortest exact ``repr``.

``ase.io.write`` prints per-atom floats (positions Å, forces eV/Å, other arrays) with ``%16.8f``, which loses
digits below 1e-8; its comment line (energy eV, stress eV/Å³, cell Å, info) is already exact. Files written here
are read by ``ase.io.read`` (and so by gracemaker's ``load_extxyz``) into numbers bitwise equal to the written
ones. No aiida imports: the driver and the dataset node share it.
"""

from __future__ import annotations

from typing import IO, Iterable

import numpy as np
from ase import Atoms
from ase.io.extxyz import _make_move_mask, output_column_format, save_calc_results
from ase.stress import voigt_6_to_full_3x3_stress

__all__ = ("read_extxyz", "to_extxyz", "write_extxyz")

ASE_FLOAT = "%16.8f"  # the per-atom float format of ase's writer, replaced by an exact one
EXACT_FLOAT = "%r"  # Python float repr: the shortest string that reads back to the same double
BUILT_IN = ("numbers", "positions", "symbols", "species", "pos")  # arrays written as the first columns


def frame(atoms: Atoms) -> str:
    """One extxyz frame of ``atoms`` with its calculator's results (energy, forces, stress) as labels."""
    calc = atoms.calc
    atoms = atoms.copy()
    save_calc_results(atoms, calc, calc_prefix="")
    if np.shape(atoms.info.get("stress")) == (6,):
        atoms.info["stress"] = voigt_6_to_full_3x3_stress(atoms.info["stress"])
    arrays = {"symbols": np.array(atoms.get_chemical_symbols()), "positions": atoms.positions}
    move_mask = _make_move_mask(atoms)
    if not np.all(move_mask):
        arrays["move_mask"] = move_mask
    arrays.update((key, value) for key, value in atoms.arrays.items() if key not in BUILT_IN)
    comment, ncols, dtype, row_format = output_column_format(atoms, list(arrays), arrays)
    row_format = row_format.replace(ASE_FLOAT, EXACT_FLOAT)
    table = np.zeros(len(atoms), dtype)
    for (column, value), ncol in zip(arrays.items(), ncols):
        if ncol == 1:
            table[column] = np.reshape(value, len(atoms))
        else:
            for c in range(ncol):
                table[column + str(c)] = value[:, c]
    rows = "".join(row_format % row for row in table.tolist())  # tolist: Python floats, so %r is repr(float)
    return f"{len(atoms)}\n{comment}\n{rows}"


def to_extxyz(images: Atoms | Iterable[Atoms]) -> str:
    """The extxyz text of one Atoms or many (see :func:`write_extxyz`)."""
    return "".join(frame(atoms) for atoms in ([images] if isinstance(images, Atoms) else images))


def write_extxyz(fileobj: IO[str], images: Atoms | Iterable[Atoms]) -> None:
    """Append one Atoms or many to an open text file, labels from each one's calculator, every float exact."""
    fileobj.write(to_extxyz(images))


def read_extxyz(source) -> list[Atoms]:
    """All frames of an extxyz path or open text file (ase's reader; labels in SinglePointCalculators)."""
    from ase.io import read

    return list(read(source, index=":", format="extxyz"))
