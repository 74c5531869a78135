"""extxyz → the pandas pickle gracemaker reads (energies, forces, stresses and loss weights)."""

from __future__ import annotations

from ase.io import read

from ..common.dataframe import structures_to_dataframe


def convert_pairs(paths: list[str]) -> int:
    """Convert IN OUT pairs; return a process exit code."""
    if len(paths) % 2:
        print("to-dataframe needs pairs of paths: IN.extxyz OUT.pkl.gz", flush=True)
        return 2
    for source, target in zip(paths[::2], paths[1::2]):
        frame = structures_to_dataframe(read(source, index=":", format="extxyz"))
        frame.to_pickle(target)
        print(f"{source}: {len(frame)} structures -> {target}", flush=True)
    return 0
