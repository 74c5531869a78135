"""Parser of ``grace.md``: trajectory, thermodynamic time series and run summary.

A job cut short (walltime) still gives the ``thermo`` and ``trajectory`` the driver had written so far (it rewrites
them every minute), with exit code 400. With UQ artifacts, ``gamma.npz`` gives the ``gamma`` series and
``extrapolative.extxyz`` the ``extrapolative_frames``; a run ended by ``gamma_stop`` is a finished run (exit 0).
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser
from ase.data import chemical_symbols

from ..common.extxyz import read_extxyz
from ..common.files import MD
from ..common.lammps_output import THERMO_UNITS
from ..data import GraceDatasetData
from .scheduler import stopped_at_time_limit


def thermo_node(thermo: dict, n_atoms: int) -> orm.ArrayData:
    """The ``thermo`` output: one array per field of :data:`THERMO_UNITS`, with ``units`` and ``n_atoms``."""
    series = orm.ArrayData()
    for name, values in thermo.items():
        series.set_array(name, np.asarray(values))
    series.base.attributes.set("units", {k: v for k, v in THERMO_UNITS.items() if k in thermo})
    series.base.attributes.set("n_atoms", int(n_atoms))
    return series


def trajectory_node(symbols: list[str], steps, positions, cells, times) -> orm.TrajectoryData:
    """The ``trajectory`` output: unwrapped positions (Å), cells (Å) and times (ps) per frame; periodic in all
    three directions, as the MD engines run it."""
    trajectory = orm.TrajectoryData()
    trajectory.set_trajectory(symbols=symbols, positions=np.asarray(positions), stepids=np.asarray(steps),
                              cells=np.asarray(cells), times=np.asarray(times), pbc=(True, True, True))
    return trajectory


def gamma_node(gamma: dict) -> orm.ArrayData:
    """The ``gamma`` output: step and gamma_max of every thermo row; the steps above gamma_dump when set."""
    series = orm.ArrayData()
    for name, values in gamma.items():
        series.set_array(name, np.asarray(values))
    return series


class GraceMdParser(Parser):
    """Reads ``thermo.npz``, ``trajectory.npz``, ``summary.json`` (and ``in.lammps``) from the retrieved folder."""

    def parse(self, **kwargs):
        repository = self.retrieved.base.repository
        names = repository.list_object_names()
        if MD.lammps_input in names:
            content = repository.get_object_content(MD.lammps_input, mode="rb")
            self.out("lammps_input", orm.SinglefileData(io.BytesIO(content), filename=MD.lammps_input))
        try:
            series = self._series(repository, names)
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exception:
            return self.exit_codes.ERROR_INVALID_RESULTS.format(exception=exception)
        if series is not None:
            thermo, trajectory = series
            self.out("thermo", thermo_node(thermo, len(trajectory.symbols)))
            self.out("trajectory", trajectory)
            try:
                self._gamma_outputs(repository, names)
            except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exception:
                return self.exit_codes.ERROR_INVALID_RESULTS.format(exception=exception)

        if MD.summary not in names or series is None:
            stderr = repository.get_object_content(MD.stderr) if MD.stderr in names else ""
            if self._out_of_walltime(stderr, partial=series is not None):
                return self.exit_codes.ERROR_OUT_OF_WALLTIME
            return self.exit_codes.ERROR_MISSING_RESULTS.format(detail=" | ".join(stderr.strip().splitlines()[-3:]))
        self.out("output_parameters", orm.Dict(json.loads(repository.get_object_content(MD.summary))))

        finite = np.isfinite(thermo["total_energy"])
        if not finite.all():
            return self.exit_codes.ERROR_NON_FINITE_ENERGY.format(step=int(thermo["step"][~finite][0]))
        return ExitCode(0)

    def _gamma_outputs(self, repository, names) -> None:
        """``gamma`` (from gamma.npz) and ``extrapolative_frames`` (from a non-empty extrapolative.extxyz)."""
        if MD.gamma in names:
            content = repository.get_object_content(MD.gamma, mode="rb")
            self.out("gamma", gamma_node(dict(np.load(io.BytesIO(content)))))
        if MD.extrapolative in names:
            text = repository.get_object_content(MD.extrapolative)
            if text.strip():
                self.out("extrapolative_frames", GraceDatasetData.from_ase(read_extxyz(io.StringIO(text))))

    def _out_of_walltime(self, stderr: str, partial: bool) -> bool:
        """Stopped from outside: by the scheduler's time limit, or partial results without a Python traceback
        (the driver did not fail itself)."""
        return stopped_at_time_limit(self.node, self.retrieved, stderr) or (partial and "Traceback" not in stderr)

    @staticmethod
    def _series(repository, names):
        """(thermo arrays, TrajectoryData), or None when the driver wrote neither file yet."""
        if not {MD.thermo, MD.trajectory} <= set(names):
            return None
        thermo = dict(np.load(io.BytesIO(repository.get_object_content(MD.thermo, mode="rb"))))
        frames = dict(np.load(io.BytesIO(repository.get_object_content(MD.trajectory, mode="rb"))))
        if not len(thermo["step"]) or not len(frames["steps"]):
            return None
        symbols = [chemical_symbols[z] for z in frames["numbers"]]
        return thermo, trajectory_node(symbols, frames["steps"], frames["positions"], frames["cells"],
                                       frames["time"])
