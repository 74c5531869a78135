"""Ordered structures of a binary A–B for tests and examples (pure; no aiida).

Prototypes on the fcc lattice (A1 elements, L1_2 A3B and AB3, L1_0 AB), on bcc (A2 elements, B2 AB) and rocksalt
(B1 AB, a high-energy ordering). Lattice constants follow Vegard's law from the elements' fcc constants (Å); bcc
and rocksalt cells keep the fcc volume per atom and nearest-neighbour distance respectively.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from ase import Atoms
from ase.build import bulk

PROTOTYPES = ("A1", "A2", "L12", "L10", "B2", "B1")


def vegard(lattice_constants: Mapping[str, float], symbols: list[str]) -> float:
    """The fcc lattice constant of this composition by Vegard's law (Å)."""
    return float(np.mean([lattice_constants[symbol] for symbol in symbols]))


def named(atoms: Atoms, prototype: str) -> Atoms:
    """``atoms`` with ``info['name']`` (reduced formula-prototype) and ``info['prototype']``."""
    formula = atoms.symbols.formula.reduce()[0].format("metal")
    atoms.info.update(name=f"{formula}-{prototype}", prototype=prototype)
    return atoms


def fcc_cubic(symbols: list[str], lattice_constants: Mapping[str, float]) -> Atoms:
    """The 4-atom cubic fcc cell with sites (0,0,0), (0,½,½), (½,0,½), (½,½,0) taken by ``symbols``."""
    atoms = bulk("X", "fcc", a=vegard(lattice_constants, symbols), cubic=True)
    atoms.set_chemical_symbols(symbols)
    return atoms


def binary_prototypes(a: str, b: str, lattice_constants: Mapping[str, float]) -> list[Atoms]:
    """Ordered A–B structures, ``info['name']`` like 'AuCu3-L12' and ``info['prototype']``; ``lattice_constants``
    maps each element to its fcc lattice constant (Å)."""
    missing = sorted({a, b} - set(lattice_constants))
    if missing:
        raise ValueError(f"no fcc lattice constant for {', '.join(missing)}")
    if a == b:
        raise ValueError(f"a binary needs two elements, got {a} twice")
    structures = []
    for element in (a, b):
        structures.append(named(bulk(element, "fcc", a=lattice_constants[element]), "A1"))
        structures.append(named(bulk(element, "bcc", a=lattice_constants[element] / 2 ** (1 / 3)), "A2"))
    structures.append(named(fcc_cubic([b, a, a, a], lattice_constants), "L12"))
    structures.append(named(fcc_cubic([a, b, b, b], lattice_constants), "L12"))
    structures.append(named(fcc_cubic([a, b, b, a], lattice_constants), "L10"))
    ab = vegard(lattice_constants, [a, b])
    structures.append(named(bulk(a + b, "cesiumchloride", a=ab / 2 ** (1 / 3)), "B2"))
    structures.append(named(bulk(a + b, "rocksalt", a=ab * 2 ** 0.5), "B1"))
    return structures


def elemental_phases(element: str) -> list[Atoms]:
    """Candidate ground states of one element: fcc (A1) and bcc (A2) at the volume per atom of ASE's reference
    state, plus that state itself (hcp, diamond...) when it is neither; ``info['name']`` like 'Cu-A1'. ValueError
    where ASE knows no crystal of the element (O, N, Mn...): give its structures or its reference energy."""
    try:
        state = bulk(element)
    except (ValueError, KeyError) as exception:
        raise ValueError(f"no elemental crystal of {element} to build ({exception}); give the elemental "
                         f"references or elemental structures for it") from None
    volume = state.get_volume() / len(state)  # Å³/atom
    phases = [named(bulk(element, "fcc", a=(4 * volume) ** (1 / 3)), "A1"),
              named(bulk(element, "bcc", a=(2 * volume) ** (1 / 3)), "A2")]
    symmetry = bulk_symmetry(element)
    if symmetry not in ("fcc", "bcc"):
        phases.append(named(state, symmetry))
    return phases


def bulk_symmetry(element: str) -> str:
    """ASE's reference crystal structure of ``element`` ('fcc', 'hcp', 'diamond'...)."""
    from ase.data import atomic_numbers, reference_states

    return reference_states[atomic_numbers[element]]["symmetry"]
