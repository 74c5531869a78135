"""Space group of a crystal with spglib (pure; no aiida)."""

from __future__ import annotations


def space_group_number(atoms, symprec: float = 1e-5) -> int:
    """International space-group number of an ASE ``Atoms`` (spglib, ``symprec`` in Å)."""
    import spglib

    dataset = spglib.get_symmetry_dataset((atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers),
                                          symprec=symprec)
    return int(dataset.number)
