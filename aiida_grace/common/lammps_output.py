"""Read what LAMMPS itself writes for the input of :mod:`.lammps_input` (pure; numpy only).

``read_thermo_log``: the thermo table of a LAMMPS log or screen output (``thermo_style custom`` with
:data:`.lammps_input.THERMO_KEYWORDS`, metal units) as the arrays of ``grace.md``'s ``thermo`` output.
``read_dump``: the frames of a ``dump custom ... id type x y z ix iy iz`` file as unwrapped positions and cells.
Both keep whatever complete rows and frames a run cut short left behind.
"""

from __future__ import annotations

import numpy as np

from .lammps_input import BAR_PER_GPA

THERMO_UNITS = {"step": "1", "time": "ps", "potential_energy": "eV", "kinetic_energy": "eV", "total_energy": "eV",
                "temperature": "K", "pressure": "GPa", "volume": "Å^3"}
THERMO_FIELDS = tuple(THERMO_UNITS)
LOG_COLUMNS = {"Step": "step", "Time": "time", "PotEng": "potential_energy", "KinEng": "kinetic_energy",
               "TotEng": "total_energy", "Temp": "temperature", "Press": "pressure", "Volume": "volume"}
DUMP_COLUMNS = ("id", "type", "x", "y", "z", "ix", "iy", "iz")


class LammpsOutputError(ValueError):
    """A LAMMPS log or dump does not hold what the input asked for."""


def _numbers(line: str, count: int) -> list[float] | None:
    words = line.split()
    if len(words) != count:
        return None
    try:
        return [float(word) for word in words]
    except ValueError:
        return None


def read_thermo_log(text: str) -> dict[str, np.ndarray]:
    """The thermo rows of every run in ``text`` (a step repeated by a following run is kept once): step, time
    (ps), potential/kinetic/total energy (eV), temperature (K), pressure (GPa, from bar), volume (Å³)."""
    header = list(LOG_COLUMNS)
    rows: list[list[float]] = []
    in_table = False
    for line in text.splitlines():
        if line.split() == header:
            in_table = True
            continue
        if in_table:
            values = _numbers(line, len(header))
            if values is None:
                in_table = False
            elif not rows or values[0] > rows[-1][0]:
                rows.append(values)
    if not rows:
        raise LammpsOutputError(f"no thermo table with columns {' '.join(header)} in the LAMMPS output")
    table = np.array(rows)
    result = {LOG_COLUMNS[name]: table[:, i] for i, name in enumerate(header)}
    result["pressure"] = result["pressure"] / BAR_PER_GPA
    return result


def _cell_from_bounds(lines: list[str], triclinic: bool) -> np.ndarray:
    """Cell rows (Å) in LAMMPS's frame from the ``BOX BOUNDS`` lines (bounds include the tilt extents)."""
    bounds = np.array([[float(v) for v in line.split()] for line in lines])
    xy, xz, yz = bounds[:, 2] if triclinic else (0.0, 0.0, 0.0)
    xlo = bounds[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = bounds[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo, yhi = bounds[1, 0] - min(0.0, yz), bounds[1, 1] - max(0.0, yz)
    return np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, bounds[2, 1] - bounds[2, 0]]])


def read_dump(text: str) -> dict[str, np.ndarray]:
    """Complete frames of a custom dump: ``steps``, ``types`` (of the first frame, by atom id), ``positions``
    (unwrapped with the image flags, Å) and ``cells`` (Å), both in LAMMPS's frame, atoms sorted by id."""
    lines = text.splitlines()
    steps, positions, cells, types = [], [], [], None
    i = 0
    while i < len(lines):
        if lines[i].strip() != "ITEM: TIMESTEP":
            i += 1
            continue
        try:
            step, n_atoms = int(lines[i + 1]), int(lines[i + 3])
            box_header, atoms_header = lines[i + 4], lines[i + 8].split()[2:]
            body = lines[i + 9:i + 9 + n_atoms]
        except (IndexError, ValueError):
            break
        if len(body) < n_atoms or _numbers(body[-1], len(atoms_header)) is None:
            break  # the last frame was being written when the run stopped
        if tuple(atoms_header) != DUMP_COLUMNS:
            raise LammpsOutputError(f"dump columns {' '.join(atoms_header)}, expected {' '.join(DUMP_COLUMNS)}")
        cell = _cell_from_bounds(lines[i + 5:i + 8], triclinic="xy" in box_header)
        table = np.array([[float(v) for v in row.split()] for row in body])
        table = table[np.argsort(table[:, 0])]
        steps.append(step)
        positions.append(table[:, 2:5] + table[:, 5:8] @ cell)
        cells.append(cell)
        types = table[:, 1].astype(int) if types is None else types
        i += 9 + n_atoms
    if not steps:
        raise LammpsOutputError("no complete frame in the LAMMPS dump")
    return {"steps": np.array(steps), "types": types, "positions": np.array(positions), "cells": np.array(cells)}
