"""Parser of ``grace.kappa``: κ(T), phono3py's hdf5, fc2/fc3, band structure, DOS and plot."""

from __future__ import annotations

import io
import json

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from ..common.files import KAPPA
from ..common.kappa_bound import unphysical_kappa
from .scheduler import stopped_at_time_limit

KAPPA_KEYS = ("kappa_P_RTA", "kappa_C", "kappa_TOT_RTA", "kappa_TOT_ave")


class GraceKappaParser(Parser):
    """Reads ``kappa.json`` and the hdf5/PNG files from the retrieved folder; a job stopped at the scheduler's time
    limit before writing them exits 400."""

    def parse(self, **kwargs):
        names = self.retrieved.base.repository.list_object_names()
        required = (KAPPA.results, KAPPA.kappa_hdf5, KAPPA.fc2, KAPPA.fc3)
        if any(name not in names for name in required):
            stderr = self.retrieved.base.repository.get_object_content(KAPPA.stderr) if KAPPA.stderr in names else ""
            if stopped_at_time_limit(self.node, self.retrieved, stderr):
                return self.exit_codes.ERROR_OUT_OF_WALLTIME
            return self.exit_codes.ERROR_MISSING_RESULTS.format(detail=" | ".join(stderr.strip().splitlines()[-3:]))
        try:
            results = json.loads(self.retrieved.base.repository.get_object_content(KAPPA.results))
            kappa = self._kappa(results)
            bands = self._bands(results["band"])
            dos = self._dos(results["dos"])
        except (ValueError, KeyError, TypeError) as exception:
            return self.exit_codes.ERROR_INVALID_RESULTS.format(exception=exception)

        versions = results["versions"]
        self.out("kappa", kappa)
        self.out("kappa_hdf5", self._file(KAPPA.kappa_hdf5, versions))
        self.out("fc2", self._file(KAPPA.fc2, versions))
        self.out("fc3", self._file(KAPPA.fc3, versions))
        self.out("band_structure", bands)
        self.out("dos", dos)
        if KAPPA.plot in names:
            self.out("phonon_plot", self._file(KAPPA.plot))
        summary = {key: results[key] for key in (*KAPPA_KEYS, "temperatures", "mesh", "has_imaginary_modes",
                                                   "min_frequency", "versions", "seconds", "n_displacements_fc3",
                                                   "n_displacements_fc2", "n_atoms_fc3_supercell",
                                                   "n_atoms_fc2_supercell")}
        summary.update({key: _finite_or_none(summary[key]) for key in KAPPA_KEYS})  # the database takes no NaN
        reason = unphysical_kappa(results["temperatures"], results["kappa_TOT_ave"])
        summary.update({"kappa_unphysical": reason is not None, "kappa_unphysical_reason": reason})
        summary["units"] = {"kappa": "W/m/K", "temperatures": "K", "min_frequency": "THz"}
        self.out("output_parameters", orm.Dict(summary))
        return ExitCode(0)

    @staticmethod
    def _kappa(results: dict) -> orm.ArrayData:
        node = orm.ArrayData()
        node.set_array("temperatures", np.asarray(results["temperatures"], dtype=float))
        for key in KAPPA_KEYS:
            node.set_array(key, np.asarray(results[key], dtype=float))
        for name, version in results["versions"].items():
            node.base.attributes.set(f"{name}_version", version)
        node.base.attributes.set("units", "W/m/K")
        return node

    @staticmethod
    def _bands(band: dict) -> orm.BandsData:
        node = orm.BandsData()
        node.set_cell(band["primitive_cell"])
        node.set_kpoints(np.asarray(band["kpoints"], dtype=float))
        x, special = np.asarray(band["x"]), band["special_x"]
        node.labels = [(int(np.argmin(np.abs(x - position))), label) for position, label in zip(special, band["labels"])]
        node.set_bands(np.asarray(band["frequencies"], dtype=float), units="THz")
        return node

    @staticmethod
    def _dos(dos: dict) -> orm.XyData:
        node = orm.XyData()
        node.set_x(np.asarray(dos["frequency_points"], dtype=float), "frequency", "THz")
        node.set_y(np.asarray(dos["total_dos"], dtype=float), "total_dos", "states/THz")
        return node

    def _file(self, name: str, versions: dict | None = None) -> orm.SinglefileData:
        with self.retrieved.base.repository.open(name, "rb") as handle:
            node = orm.SinglefileData(io.BytesIO(handle.read()), filename=name)
        for package, version in (versions or {}).items():
            node.base.attributes.set(f"{package}_version", version)
        return node


def _finite_or_none(value):
    """``value`` (a number or nested lists) with NaN and ±inf as None."""
    if isinstance(value, list):
        return [_finite_or_none(item) for item in value]
    return value if value is None or np.isfinite(value) else None
