"""Parser of ``grace.md``: trajectory, thermodynamic time series and run summary."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser
from ase.data import chemical_symbols

from ..common.files import MD

THERMO_UNITS = {"step": "1", "time": "ps", "potential_energy": "eV", "kinetic_energy": "eV", "total_energy": "eV",
                "temperature": "K", "pressure": "GPa", "volume": "Å^3"}


class GraceMdParser(Parser):
    """Reads ``thermo.npz``, ``trajectory.npz``, ``summary.json`` (and ``in.lammps``) from the retrieved folder."""

    def parse(self, **kwargs):
        repository = self.retrieved.base.repository
        names = repository.list_object_names()
        if not {MD.thermo, MD.trajectory, MD.summary} <= set(names):
            if self.node.exit_status == 120:
                return self.exit_codes.ERROR_OUT_OF_WALLTIME
            stderr = repository.get_object_content(MD.stderr) if MD.stderr in names else ""
            return self.exit_codes.ERROR_MISSING_RESULTS.format(detail=" | ".join(stderr.strip().splitlines()[-3:]))
        try:
            summary = json.loads(repository.get_object_content(MD.summary))
            thermo = dict(np.load(io.BytesIO(repository.get_object_content(MD.thermo, mode="rb"))))
            frames = dict(np.load(io.BytesIO(repository.get_object_content(MD.trajectory, mode="rb"))))
            trajectory = orm.TrajectoryData()
            trajectory.set_trajectory(symbols=[chemical_symbols[z] for z in frames["numbers"]],
                                      positions=frames["positions"], stepids=frames["steps"], cells=frames["cells"],
                                      times=frames["time"])
        except (ValueError, KeyError, OSError, zipfile.BadZipFile) as exception:
            return self.exit_codes.ERROR_INVALID_RESULTS.format(exception=exception)

        series = orm.ArrayData()
        for name, values in thermo.items():
            series.set_array(name, np.asarray(values))
        series.base.attributes.set("units", {k: v for k, v in THERMO_UNITS.items() if k in thermo})
        series.base.attributes.set("n_atoms", int(summary["n_atoms"]))
        self.out("trajectory", trajectory)
        self.out("thermo", series)
        self.out("output_parameters", orm.Dict(summary))
        if MD.lammps_input in names:
            content = repository.get_object_content(MD.lammps_input, mode="rb")
            self.out("lammps_input", orm.SinglefileData(io.BytesIO(content), filename=MD.lammps_input))

        finite = np.isfinite(thermo["total_energy"])
        if not finite.all():
            return self.exit_codes.ERROR_NON_FINITE_ENERGY.format(step=int(thermo["step"][~finite][0]))
        return ExitCode(0)
