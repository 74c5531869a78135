"""``grace.thermal_conductivity``: relax with symmetry kept, phono3py displacements, forces of all displaced
supercells in one ``grace.evaluate`` job, fc2/fc3 and κ (Wigner, RTA) in one ``grace.kappa`` job."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calculations.kappa import GraceKappaCalculation
from ..common.evaluate_input import EvaluateSettingsError, validate_settings
from ..common.supercell import kappa_supercells_too_small
from ..common.train_input import merge
from ..data import GraceModelData
from ..functions.phono3py import (
    check_space_group,
    phono3py_displacements,
    space_group_number,
)
from .base_evaluate import GraceBaseEvaluateWorkChain
from .base_kappa import GraceBaseKappaWorkChain
from .utils import read_protocol

__all__ = ("GraceThermalConductivityWorkChain", "load_protocol", "parameters_from_info")

REQUIRED = ("fc3_supercell", "fc2_supercell", "mesh")
KNOWN = (*REQUIRED, "calculator", "distance", "symprec", "relax", "kappa", "space_group")


def load_protocol(protocol: str | None = None, overrides: dict | None = None) -> dict:
    """Inputs of ``protocol`` (default: the file's ``default_protocol``) with ``overrides`` merged on top."""
    return read_protocol("thermal_conductivity", protocol, overrides)


def parameters_from_info(info: dict) -> dict:
    """Supercells, q-mesh and space group from an ASE ``info`` as the phononDB extxyz has them
    (``fc3_supercell``, ``fc2_supercell``, ``q_mesh``, ``symm.no``)."""
    mapping = {"fc3_supercell": "fc3_supercell", "fc2_supercell": "fc2_supercell", "q_mesh": "mesh",
               "symm.no": "space_group"}
    out = {}
    for key, name in mapping.items():
        if key in info:
            value = info[key]
            out[name] = int(value) if name == "space_group" else np.asarray(value, dtype=int).tolist()
    return out


def kappa_line(summary) -> str:
    """The report line of a κ job's ``output_parameters``: κ_TOT per temperature, imaginary modes and an
    unphysical κ said loudly."""
    flag = " (imaginary modes!)" if summary["has_imaginary_modes"] else ""
    if summary.get("kappa_unphysical"):
        flag += (f" -- UNPHYSICAL κ, do not use it: {summary['kappa_unphysical_reason']} (check the supercells "
                 f"and the model)")
    kappa = ", ".join("nan" if k is None else f"{k:.4g}" for k in summary["kappa_TOT_ave"])
    return f"κ_TOT = {kappa} W/m/K at {summary['temperatures']} K{flag}"


def job_options(workchain) -> dict:
    """``{"options": ...}`` for a job's metadata from the work chain's ``options`` input (Dict or dict), or {}."""
    if "options" not in workchain.inputs:
        return {}
    options = workchain.inputs.options
    return {"options": options.get_dict() if isinstance(options, orm.Dict) else dict(options)}


def submit_evaluate(workchain, parameters: dict, link: str, **structures):
    """Submit a ``grace.base_evaluate`` job (walltime-safe) of ``structures`` (``structures=`` or ``dataset=``)."""
    evaluate = {"code": workchain.inputs.code, "model": workchain.inputs.model, "parameters": orm.Dict(parameters),
                "metadata": {"label": link, **job_options(workchain)}, **structures}
    return workchain.submit(GraceBaseEvaluateWorkChain, evaluate=evaluate,
                            metadata={"label": link, "call_link_label": link})


def submit_kappa(workchain, phono3py_yaml, forces, settings: dict, *, label: str, link: str):
    """Submit a ``grace.base_kappa`` job (walltime-safe) of one material."""
    kappa = {"code": workchain.inputs.code, "phono3py_yaml": phono3py_yaml, "forces": forces,
             "parameters": orm.Dict(settings), "metadata": {"label": label, **job_options(workchain)}}
    return workchain.submit(GraceBaseKappaWorkChain, kappa=kappa, metadata={"label": label, "call_link_label": link})


def validate_parameters(value, _):
    settings = value.get_dict()
    unknown = set(settings) - set(KNOWN)
    if unknown:
        return f"unknown parameter(s) {', '.join(sorted(unknown))}; known: {', '.join(KNOWN)}"
    missing = [key for key in REQUIRED if key not in settings]
    if missing:
        return f"parameters need {', '.join(missing)} (from the structure's info or overrides)"
    for key in ("fc3_supercell", "fc2_supercell"):
        shape = np.shape(settings[key])
        if shape not in ((3,), (3, 3)):
            return f"{key} must be 3 integers or a 3×3 integer matrix, got {settings[key]!r}"


def validate_inputs(inputs, _):
    """The model covers the structure's elements; the structure is periodic in three directions; the relax settings
    are valid; the fc3 and fc2 supercells are big enough for the model
    (:func:`~aiida_grace.common.supercell.supercell_too_small`)."""
    structure, model = inputs["structure"], inputs["model"]
    missing = sorted({kind.symbol for kind in structure.kinds} - set(model.elements))
    if missing:
        return (f"structure <{structure.pk}> ({structure.get_formula()}) contains element(s) {', '.join(missing)} "
                f"that model <{model.pk}> does not have (it has {', '.join(model.elements)})")
    if not all(structure.pbc):
        return "the structure must be periodic in all three directions"
    parameters = inputs["parameters"].get_dict() if "parameters" in inputs else {}
    if parameters.get("relax"):
        try:
            validate_settings({"mode": "relax", "relax": parameters["relax"]})
        except EvaluateSettingsError as exception:
            return f"invalid relax settings: {exception}"
    try:
        return kappa_supercells_too_small(structure.get_ase(), parameters, model.cutoff)
    except ValueError:
        return None  # a malformed supercell matrix: validate_parameters names it


class GraceThermalConductivityWorkChain(WorkChain):
    """Lattice thermal conductivity of one crystal with a GRACE model (phono3py, Wigner transport, RTA)."""

    @classmethod
    def get_builder_from_protocol(cls, code, model, structure, protocol=None, overrides=None, options=None):
        """Builder for ``structure`` (StructureData, or ASE Atoms whose ``info`` gives supercells, q-mesh and
        space group as in the phononDB extxyz); ``overrides`` merge over the protocol's ``parameters``."""
        parameters = load_protocol(protocol)["parameters"]
        if not isinstance(structure, orm.StructureData):
            parameters = merge(parameters, parameters_from_info(structure.info))
            structure = orm.StructureData(ase=structure)
        builder = cls.get_builder()
        builder.code, builder.model, builder.structure = code, model, structure
        builder.parameters = orm.Dict(merge(parameters, overrides or {}))
        if options:
            builder.options = orm.Dict(options)
        return builder

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("code", valid_type=orm.AbstractCode, help="The aiida-grace driver Code (runs both jobs).")
        spec.input("model", valid_type=GraceModelData, help="The GRACE model (float64 for 1%-level κ).")
        spec.input("structure", valid_type=orm.StructureData, help="The unit cell (relaxed here first).")
        spec.input("parameters", valid_type=orm.Dict, validator=validate_parameters,
                   help="fc3_supercell, fc2_supercell, mesh (required); distance (Å), symprec, calculator, relax "
                        "(grace.evaluate relax settings or null to skip), kappa (grace.kappa settings), "
                        "space_group (expected; default: the input structure's). See the protocol YAML.")
        spec.input("options", valid_type=orm.Dict, required=False,
                   help="metadata.options for the grace.evaluate and grace.kappa jobs.")
        spec.inputs.validator = validate_inputs

        spec.outline(
            cls.setup,
            cls.relax,
            cls.inspect_relaxation,
            cls.displace,
            cls.compute_forces,
            cls.inspect_forces,
            cls.solve_kappa,
            cls.results,
        )

        spec.output("relaxed_structure", valid_type=orm.StructureData, help="The relaxed unit cell.")
        spec.output("symmetry", valid_type=orm.Dict, help="Space group after relaxation against the expected one.")
        spec.expose_outputs(GraceKappaCalculation, exclude=("remote_folder", "remote_stash", "retrieved"))
        spec.default_output_node = "output_parameters"

        # 4xx: a child job failed
        spec.exit_code(401, "ERROR_RELAXATION_FAILED", message="the relaxation job <{pk}> failed: {message}")
        spec.exit_code(402, "ERROR_FORCES_FAILED", message="the force job <{pk}> failed: {message}")
        spec.exit_code(403, "ERROR_KAPPA_FAILED", message="the phono3py job <{pk}> failed: {message}")
        # 5xx: quality (scores SRME = 2 in the κ_SRME benchmark)
        spec.exit_code(501, "ERROR_SYMMETRY_BROKEN",
                       message="the relaxation changed the space group from {reference} to {found}")

    # -- steps -----------------------------------------------------------------------------------------
    def setup(self):
        self.ctx.parameters = self.inputs.parameters.get_dict()
        self.ctx.structure = self.inputs.structure
        self.ctx.cell = self.inputs.structure  # what symmetry and displacements read: exact after a relaxation

    def relax(self):
        relax = self.ctx.parameters.get("relax")
        if not relax:
            self.report("no relaxation asked for: using the input structure as it is")
            return None
        parameters = {"mode": "relax", "calculator": self.ctx.parameters.get("calculator", "tensorflow"),
                      "relax": relax}
        node = submit_evaluate(self, parameters, "relax", structures={"unitcell": self.inputs.structure})
        self.report(f"relaxing {self.inputs.structure.get_formula()} (symmetry fixed, fmax {relax.get('fmax')} "
                    f"eV/Å) in <{node.pk}>")
        return ToContext(relaxation=node)

    def inspect_relaxation(self):
        parameters = self.ctx.parameters
        if "relaxation" in self.ctx:
            node = self.ctx.relaxation
            unconverged = node.exit_status == GraceBaseEvaluateWorkChain.exit_codes.ERROR_RELAXATION_NOT_CONVERGED.status
            if not (node.is_finished_ok or unconverged):
                return self.exit_codes.ERROR_RELAXATION_FAILED.format(pk=node.pk, message=node.exit_message)
            if unconverged:
                self.report(f"relaxation <{node.pk}> did not reach fmax within the step limit; going on with its "
                            f"last structure (as the κ_SRME protocol does)")
            self.ctx.structure = node.outputs.relaxed_structures.unitcell
            self.ctx.cell = node.outputs.output_dataset  # float64 exact, unlike a StructureData
        self.out("relaxed_structure", self.ctx.structure)

        symprec = float(parameters.get("symprec", 1e-5))
        reference = parameters.get("space_group") or space_group_number(self.inputs.structure.get_ase(), symprec)
        symmetry = check_space_group(self.ctx.cell, orm.Int(reference), orm.Float(symprec),
                                     metadata={"call_link_label": "space_group"})
        self.out("symmetry", symmetry)
        if not symmetry["kept"]:
            self.report(f"space group {symmetry['space_group']} after relaxation, expected {reference}: stopping")
            return self.exit_codes.ERROR_SYMMETRY_BROKEN.format(reference=reference, found=symmetry["space_group"])
        self.report(f"space group {reference} kept by the relaxation")

    def displace(self):
        parameters = self.ctx.parameters
        settings = {"fc3_supercell": parameters["fc3_supercell"], "fc2_supercell": parameters["fc2_supercell"],
                    "distance": float(parameters.get("distance", 0.03)),
                    "symprec": float(parameters.get("symprec", 1e-5))}
        outputs = phono3py_displacements(self.ctx.cell, orm.Dict(settings),
                                         metadata={"call_link_label": "displacements"})
        self.ctx.supercells, self.ctx.phono3py_yaml = outputs["supercells"], outputs["phono3py_yaml"]
        roles = [atoms.info["phono3py_role"] for atoms in self.ctx.supercells.to_ase()]
        self.ctx.counts = {"fc3": roles.count("fc3"), "fc2": roles.count("fc2")}
        self.report(f"{self.ctx.counts['fc3']} fc3 and {self.ctx.counts['fc2']} fc2 displaced supercells "
                    f"({settings['distance']} Å)")

    def compute_forces(self):
        parameters = {"mode": "static", "compute_stress": False,
                      "calculator": self.ctx.parameters.get("calculator", "tensorflow")}
        node = submit_evaluate(self, parameters, "forces", dataset=self.ctx.supercells)
        self.report(f"forces of all {self.ctx.supercells.n_structures} displaced supercells in one job <{node.pk}>")
        return ToContext(forces=node)

    def inspect_forces(self):
        node = self.ctx.forces
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_FORCES_FAILED.format(pk=node.pk, message=node.exit_message)

    def solve_kappa(self):
        kappa = dict(self.ctx.parameters.get("kappa", {}))
        kappa["mesh"] = self.ctx.parameters["mesh"]
        kappa["symprec"] = float(self.ctx.parameters.get("symprec", 1e-5))
        node = submit_kappa(self, self.ctx.phono3py_yaml, self.ctx.forces.outputs.output_dataset, kappa,
                            label="kappa", link="kappa")
        self.report(f"fc2/fc3 and κ on a {'×'.join(map(str, kappa['mesh']))} mesh in <{node.pk}>")
        return ToContext(kappa=node)

    def results(self):
        node = self.ctx.kappa
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_KAPPA_FAILED.format(pk=node.pk, message=node.exit_message)
        self.out_many(self.exposed_outputs(node, GraceKappaCalculation))
        self.report(kappa_line(node.outputs.output_parameters))
