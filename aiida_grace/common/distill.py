"""The distillation set (pure; no aiida): downstream structures plus generated unary and binary crystals.

For every element: ideal crystals of each unary prototype (fcc, bcc, hcp, sc, diamond); for every pair of
elements: ideal ordered binaries (B2, L1_2 both ways, L1_0). Each ideal crystal also comes strained along an
equation of state (isotropic linear strains) and as rattled supercells (Gaussian displacements, small random
cell strain). Every structure carries ``info``: ``distill_index`` (its place in the set), ``distill_group``
(downstream | unary | binary), ``distill_kind`` (downstream | ideal | eos | rattled) and ``name``.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
from ase import Atoms

from .structures import with_labels

UNARY_PROTOTYPES = ("fcc", "bcc", "hcp", "sc", "diamond")
BINARY_PROTOTYPES = ("B2", "L12", "L10")
GROUPS = ("downstream", "unary", "binary")
HCP_C_OVER_A = float(np.sqrt(8.0 / 3.0))
# atoms per cell and the cell's volume in units of a³ (a the lattice parameter)
_CELLS = {"fcc": (4, 1.0), "bcc": (2, 1.0), "sc": (1, 1.0), "diamond": (8, 1.0),
          "hcp": (2, np.sqrt(3.0) / 2.0 * HCP_C_OVER_A), "B2": (2, 1.0), "L12": (4, 1.0), "L10": (4, 1.0)}


def reference_volume(symbol: str) -> float:
    """Volume per atom (Å³) of an element's ASE reference crystal, else of close-packed spheres of its
    covalent radius."""
    from ase.build import bulk
    from ase.data import atomic_numbers, covalent_radii

    try:
        atoms = bulk(symbol)
        return float(atoms.get_volume() / len(atoms))
    except (ValueError, KeyError, RuntimeError, TypeError):
        radius = covalent_radii[atomic_numbers[symbol]]
        return float(4.0 / 3.0 * np.pi * radius**3 / 0.74)


def ideal_crystal(prototype: str, species: Sequence[str], volume_per_atom: float) -> Atoms:
    """One conventional cell of ``prototype`` with ``volume_per_atom`` (Å³). Unaries take one species;
    binaries two, A first: B2 = AB, L12 = A3B, L10 = AB (layers along c)."""
    from ase.build import bulk

    n_atoms, volume_factor = _CELLS[prototype]
    a = float((volume_per_atom * n_atoms / volume_factor) ** (1.0 / 3.0))
    if prototype in UNARY_PROTOTYPES:
        (element,) = species
        if prototype == "hcp":
            return bulk(element, "hcp", a=a, c=a * HCP_C_OVER_A)
        return bulk(element, prototype, a=a, cubic=prototype in ("fcc", "bcc", "diamond"))
    first, second = species
    if prototype == "B2":
        return Atoms([first, second], scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5]], cell=np.eye(3) * a, pbc=True)
    fcc_sites = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    symbols = {"L12": [second, first, first, first], "L10": [first, first, second, second]}[prototype]
    return Atoms(symbols, scaled_positions=fcc_sites, cell=np.eye(3) * a, pbc=True)


def _tag(atoms: Atoms, group: str, kind: str, name: str) -> Atoms:
    atoms.info.update({"distill_group": group, "distill_kind": kind, "name": name})
    return atoms


def _variants(ideal: Atoms, group: str, name: str, settings: dict, rng: np.random.Generator) -> list[Atoms]:
    """The ideal cell, its equation-of-state strains and its rattled supercells."""
    out = [_tag(ideal.copy(), group, "ideal", name)]
    for strain in settings["eos_strains"]:
        strained = ideal.copy()
        strained.set_cell(ideal.cell.array * (1.0 + strain), scale_atoms=True)
        out.append(_tag(strained, group, "eos", f"{name}_eos{strain:+.3f}"))
    repeat = [1, 1, 1]
    while len(ideal) * int(np.prod(repeat)) < settings["min_atoms_rattled"]:
        repeat[int(np.argmin(repeat))] += 1
    supercell = ideal.repeat(repeat)
    for index in range(settings["n_rattled"]):
        rattled = supercell.copy()
        amplitude = settings["rattle_strain"]
        deformation = np.eye(3) + rng.uniform(-amplitude, amplitude, size=(3, 3)) * np.array(
            [[1, 0.5, 0.5], [0.5, 1, 0.5], [0.5, 0.5, 1]])
        rattled.set_cell(supercell.cell.array @ deformation, scale_atoms=True)
        rattled.positions += rng.normal(0.0, settings["rattle"], size=rattled.positions.shape)
        out.append(_tag(rattled, group, "rattled", f"{name}_rattled{index}"))
    return out


def synthetic_structures(downstream: Sequence[Atoms], elements: Sequence[str], settings: dict) -> list[Atoms]:
    """Unlabelled distillation set: the ``downstream`` structures (labels dropped), then, unless
    ``settings['extended']`` is false, unary crystals of each of ``elements`` and binary crystals of each pair.

    ``settings`` (see :data:`aiida_grace.common.distill_input.DEFAULTS`): unary_prototypes, binary_prototypes,
    eos_strains (linear, fractions), n_rattled, rattle (Å), rattle_strain (fraction), min_atoms_rattled,
    volume_per_atom ({El: Å³} overriding :func:`reference_volume`), seed.
    """
    rng = np.random.default_rng(settings["seed"])
    structures = []
    for index, atoms in enumerate(downstream):
        bare = with_labels(atoms)
        bare.info = {k: v for k, v in atoms.info.items() if not k.startswith("distill_")}
        structures.append(_tag(bare, "downstream", "downstream", str(atoms.info.get("name", f"downstream{index}"))))
    if settings.get("extended", True):
        elements = sorted(set(elements))
        volumes = {el: settings.get("volume_per_atom", {}).get(el) or reference_volume(el) for el in elements}
        for element in elements:
            for prototype in settings["unary_prototypes"]:
                ideal = ideal_crystal(prototype, [element], volumes[element])
                structures += _variants(ideal, "unary", f"{element}_{prototype}", settings, rng)
        for first, second in itertools.combinations(elements, 2):
            for prototype in settings["binary_prototypes"]:
                orders = [(first, second), (second, first)] if prototype == "L12" else [(first, second)]
                for a, b in orders:
                    symbols = ideal_crystal(prototype, [a, b], 1.0).get_chemical_symbols()
                    # Vegard: the composition-weighted mean of the elemental volumes
                    ideal = ideal_crystal(prototype, [a, b], float(np.mean([volumes[s] for s in symbols])))
                    structures += _variants(ideal, "binary", f"{ideal.get_chemical_formula()}_{prototype}",
                                            settings, rng)
    for index, atoms in enumerate(structures):
        atoms.info["distill_index"] = index
    return structures


def size_batches(sizes: Sequence[int], max_structures: int) -> list[list[int]]:
    """Indices grouped into batches of at most ``max_structures``, smallest structures first, so that each
    batch spans as few sizes (padded shapes, XLA compilations) as possible."""
    if max_structures < 1:
        raise ValueError(f"max_structures must be at least 1, got {max_structures}")
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    return [order[start:start + max_structures] for start in range(0, len(order), max_structures)]


def supercell_to(atoms: Atoms, min_atoms: int) -> Atoms:
    """``atoms`` repeated equally along its three axes until it has at least ``min_atoms`` atoms."""
    repeat = 1
    while len(atoms) * repeat**3 < min_atoms:
        repeat += 1
    big = atoms.copy()
    big.calc = None
    return big.repeat(repeat)


def errors_by_group(reference: Sequence[Atoms], predicted: Sequence[Atoms]) -> dict:
    """:func:`~aiida_grace.common.metrics.label_errors` (eV/atom, eV/Å, GPa) over all structures (``all``)
    and per ``distill_group`` of the reference structures (downstream, unary, binary; absent groups left out)."""
    from .metrics import label_errors

    result = {"all": label_errors(reference, predicted)}
    for group in GROUPS:
        chosen = [i for i, atoms in enumerate(reference) if atoms.info.get("distill_group") == group]
        if chosen:
            result[group] = label_errors([reference[i] for i in chosen], [predicted[i] for i in chosen])
    return result


def warm_seconds_per_atom(structure_seconds: Sequence[float], n_atoms: int) -> float:
    """Median wall time per atom (s/atom) of equal cells evaluated in a row, the first (compilation,
    caches) left out."""
    timed = [s for s in structure_seconds[1:] if s is not None]
    if not timed:
        raise ValueError("need at least two timed evaluations: the first one is a warm-up")
    return float(np.median(timed)) / n_atoms
