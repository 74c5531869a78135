"""``grace.kappa``: fc2/fc3, phonons and the lattice thermal conductivity with phono3py on the compute side."""

from __future__ import annotations

import yaml
from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..common.files import KAPPA
from ..data import GraceDatasetData
from ..driver.kappa import DEFAULTS
from .caching import ReusedOnlyIfFinishedOk

__all__ = ("GraceKappaCalculation",)


def validate_parameters(value, _):
    """Only known settings; mesh and dos_mesh three positive ints; temperatures non-negative (K)."""
    if value is None:
        return None
    settings = value.get_dict()
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        return f"unknown κ setting(s) {', '.join(sorted(unknown))}; known: {', '.join(DEFAULTS)}"
    for key in ("mesh", "dos_mesh"):
        mesh = settings.get(key, DEFAULTS[key])
        if not (isinstance(mesh, (list, tuple)) and len(mesh) == 3 and all(isinstance(n, int) and n > 0 for n in mesh)):
            return f"{key} must be three positive integers, got {mesh!r}"
    if not isinstance(settings.get("boundary_mfp", DEFAULTS["boundary_mfp"]), (int, float)):
        return f"boundary_mfp must be a number in µm, got {settings['boundary_mfp']!r} (YAML: write 1.0e+6)"
    temperatures = settings.get("temperatures", DEFAULTS["temperatures"])
    if not temperatures or any(float(t) < 0 for t in temperatures):
        return f"temperatures must be a non-empty list of non-negative values in K, got {temperatures!r}"


def validate_forces(value, _):
    """Every structure carries forces (the driver checks the phono3py role/index of each)."""
    if "forces" not in (value.labels or []):
        return f"dataset <{value.pk}> has no forces on every structure"


class GraceKappaCalculation(ReusedOnlyIfFinishedOk, CalcJob):
    """Build fc2/fc3 from model forces on displaced supercells and solve κ (Wigner, RTA) with phono3py."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs["metadata"]["options"]["parser_name"].default = "grace.kappa"
        spec.inputs["metadata"]["options"]["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        spec.inputs["metadata"]["options"]["withmpi"].default = False

        spec.input("phono3py_yaml", valid_type=orm.SinglefileData,
                   help="phono3py_disp.yaml: unit cell, supercell matrices, displacement datasets.")
        spec.input("forces", valid_type=GraceDatasetData, validator=validate_forces,
                   help="The displaced supercells labelled with forces (eV/Å), each with info phono3py_role "
                        "(fc3/fc2) and phono3py_index.")
        spec.input("parameters", valid_type=orm.Dict, required=False, validator=validate_parameters,
                   help="mesh, temperatures (K), is_isotope, boundary_mfp (µm), symprec, band_npoints, dos_mesh, "
                        "plot; defaults in aiida_grace.driver.kappa.DEFAULTS.")

        spec.output("kappa", valid_type=orm.ArrayData,
                    help="temperatures (K) and κ (W/m/K, Voigt xx yy zz yz xz xy per T): kappa_P_RTA, kappa_C, "
                         "kappa_TOT_RTA; kappa_TOT_ave (mean of xx, yy, zz). Attributes: phonopy/phono3py versions.")
        spec.output("kappa_hdf5", valid_type=orm.SinglefileData,
                    help="phono3py's kappa hdf5 with mode-resolved κ (mode_kappa_P_RTA, mode_kappa_C, "
                         "mode_kappa_TOT), heat capacity, weights, frequencies.")
        spec.output("fc2", valid_type=orm.SinglefileData, help="fc2.hdf5 (compact, eV/Å²), phono3py format.")
        spec.output("fc3", valid_type=orm.SinglefileData, help="fc3.hdf5 (compact, eV/Å³), phono3py format.")
        spec.output("band_structure", valid_type=orm.BandsData, help="Phonon bands (THz) along the standard path.")
        spec.output("dos", valid_type=orm.XyData, help="Total phonon DOS (states/THz) versus frequency (THz).")
        spec.output("phonon_plot", valid_type=orm.SinglefileData, required=False, help="Bands and DOS, PNG.")
        spec.output("output_parameters", valid_type=orm.Dict,
                    help="κ summary, has_imaginary_modes (κ_SRME rule), min_frequency (THz), versions, timings.")
        spec.default_output_node = "output_parameters"

        # 3xx: outputs missing or unparseable
        spec.exit_code(301, "ERROR_MISSING_RESULTS", message="the driver wrote no results: {detail}")
        spec.exit_code(302, "ERROR_INVALID_RESULTS", message="the driver's results cannot be read: {exception}")
        # 4xx: recoverable
        spec.exit_code(400, "ERROR_OUT_OF_WALLTIME", invalidates_cache=True,
                       message="the job hit the walltime before phono3py finished (nothing to keep)")

    def prepare_for_submission(self, folder):
        settings = {**DEFAULTS, **(self.inputs.parameters.get_dict() if "parameters" in self.inputs else {})}
        with folder.open(KAPPA.settings, "w") as handle:
            yaml.safe_dump(settings, handle, sort_keys=False)

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ["kappa", KAPPA.settings]
        codeinfo.stdout_name = KAPPA.stdout
        codeinfo.stderr_name = KAPPA.stderr

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = [
            (self.inputs.phono3py_yaml.uuid, self.inputs.phono3py_yaml.filename, KAPPA.phono3py_yaml),
            (self.inputs.forces.uuid, GraceDatasetData.FILENAME, KAPPA.forces),
        ]
        calcinfo.retrieve_list = [KAPPA.results, KAPPA.kappa_hdf5, KAPPA.fc2, KAPPA.fc3, KAPPA.plot, KAPPA.stdout,
                                  KAPPA.stderr]
        return calcinfo
