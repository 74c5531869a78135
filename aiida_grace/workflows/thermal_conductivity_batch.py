"""``grace.thermal_conductivity.batch``: κ of many materials, batched ACROSS materials: one relaxation stage for all,
the displaced supercells of all materials pooled into force jobs, then fc2/fc3 and κ per material side by side."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext

from ..common.train_input import merge
from ..functions.phono3py import check_space_group, phono3py_displacements, space_group_number
from .batch_stages import GraceBatchStagesWorkChain, exact_cells
from .thermal_conductivity import kappa_line, load_protocol, parameters_from_info, submit_kappa
from .thermal_conductivity import validate_inputs as validate_one_material
from .thermal_conductivity import validate_parameters as validate_one_parameters
from .utils import failure_reason, failures_text

__all__ = ("GraceThermalConductivityBatchWorkChain",)


def material_parameters(inputs, name: str) -> dict:
    """The settings of material ``name``: the common parameters with its own merged on top."""
    own = inputs.get("material_parameters", {}).get(name)
    return merge(inputs["parameters"].get_dict(), own.get_dict() if own is not None else {})


def validate_inputs(inputs, _):
    """Every material: complete, valid parameters; the model covers it; periodic; supercells within reach."""
    structures = inputs.get("structures", {})
    if not structures:
        return "give at least one structure"
    unknown = set(inputs.get("material_parameters", {})) - set(structures)
    if unknown:
        return f"material_parameters for unknown structures: {', '.join(sorted(unknown))}"
    for name, structure in sorted(structures.items()):
        parameters = orm.Dict(material_parameters(inputs, name))
        message = validate_one_parameters(parameters, None) or validate_one_material(
            {"structure": structure, "model": inputs["model"], "parameters": parameters}, None)
        if message:
            return f"{name}: {message}"


class GraceThermalConductivityBatchWorkChain(GraceBatchStagesWorkChain):
    """Lattice thermal conductivity of many materials with a GRACE model (phono3py, Wigner transport, RTA).

    relax all (one stage, symmetry kept) → space group per material → displacements per material → forces of all
    displaced supercells in pooled jobs → one ``grace.kappa`` job per material, all side by side, each through
    ``grace.base_kappa``. A material whose
    relaxation breaks the symmetry, whose job fails or which has imaginary modes is named in the report and the
    exit message (the κ_SRME benchmark scores such a material 2); the others finish.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input_namespace("structures", valid_type=orm.StructureData, dynamic=True,
                             help="Unit cells by name (relaxed here first).")
        spec.input("parameters", valid_type=orm.Dict, help="Settings of every material (the protocol's parameters: "
                   "calculator, distance, symprec, relax, kappa; supercells and mesh when common).")
        spec.input_namespace("material_parameters", valid_type=orm.Dict, dynamic=True, required=False,
                             help="Per material: fc3_supercell, fc2_supercell, mesh, space_group, merged over "
                                  "parameters.")
        spec.inputs.validator = validate_inputs

        spec.outline(cls.relax, cls.displace, cls.compute_forces, cls.solve_kappa, cls.results)

        spec.output_namespace("relaxed_structures", valid_type=orm.StructureData, dynamic=True,
                              help="Per material: the relaxed unit cell.")
        spec.output_namespace("symmetry", valid_type=orm.Dict, dynamic=True, required=False,
                              help="Per material: space group after relaxation against the expected one (kept).")
        spec.output_namespace("kappa", valid_type=orm.ArrayData, dynamic=True, required=False,
                              help="Per material: κ(T) in W/m/K (as grace.kappa's kappa output).")
        spec.output_namespace("kappa_hdf5", valid_type=orm.SinglefileData, dynamic=True, required=False,
                              help="Per material: phono3py's kappa hdf5 with mode-resolved κ.")
        spec.output_namespace("output_parameters", valid_type=orm.Dict, dynamic=True, required=False,
                              help="Per material: grace.kappa's summary (κ, imaginary-mode flag, versions).")

        # 4xx: some or all materials failed; the others' outputs are attached
        spec.exit_code(401, "ERROR_SOME_FAILED", message="{count} of {total} materials failed: {which}")
        spec.exit_code(402, "ERROR_ALL_FAILED", message="every material failed: {which}")

    @classmethod
    def get_builder_from_protocol(cls, code, model, structures: dict, protocol=None, overrides=None, options=None,
                                  batching=None):
        """Builder for ``structures`` (name → StructureData, or ASE Atoms whose ``info`` gives supercells, q-mesh
        and space group as in the phononDB extxyz); ``overrides`` merge over the protocol's ``parameters``."""
        builder = cls.get_builder()
        builder.code, builder.model = code, model
        builder.parameters = orm.Dict(merge(load_protocol(protocol)["parameters"], overrides or {}))
        nodes, own = {}, {}
        for name, structure in structures.items():
            if not isinstance(structure, orm.StructureData):
                own[name] = orm.Dict(parameters_from_info(structure.info))
                structure = orm.StructureData(ase=structure)
            nodes[name] = structure
        builder.structures = nodes
        if own:
            builder.material_parameters = own
        builder.batching = orm.Dict(batching or {})
        if options:
            builder.options = dict(options)
        return builder

    # -- steps -----------------------------------------------------------------------------------------
    def _parameters(self, name: str) -> dict:
        return material_parameters(self.inputs, name)

    def relax(self):
        self.ctx.failures, self.ctx.names = {}, sorted(self.inputs.structures)
        common = self.inputs.parameters.get_dict()
        relax = common.get("relax")
        if not relax:
            self.report("no relaxation asked for: using the input structures as they are")
            return None
        parameters = {"mode": "relax", "calculator": common.get("calculator", "tensorflow"), "relax": relax}
        stage = self._stage("relax", parameters, structures=dict(self.inputs.structures))
        self.report(f"relaxing {len(self.ctx.names)} materials (fmax {relax.get('fmax')} eV/Å) in <{stage.pk}>")
        return ToContext(relax=stage)

    def displace(self):
        self.ctx.relaxed = dict(self.inputs.structures)
        if "relax" in self.ctx:
            stage = self.ctx.relax
            failed = self._take_stage(stage)
            if failed:
                return failed
            for name in stage.outputs.output_parameters["not_converged"]:
                self.report(f"{name}: relaxation did not reach fmax within the step limit; going on with its last "
                            f"structure (as the κ_SRME protocol does)")
            self.ctx.relaxed.update(getattr(stage.outputs, "relaxed_structures", {}))
            exact = exact_cells(stage)
        else:
            exact = {name: {"structure": structure} for name, structure in self.ctx.relaxed.items()}
        self.ctx.supercells, self.ctx.phono3py_yaml = {}, {}
        for name in self.ctx.names:
            if name in self.ctx.failures:
                continue
            structure = self.ctx.relaxed[name]
            self.out(f"relaxed_structures.{name}", structure)
            parameters = self._parameters(name)
            symprec = float(parameters.get("symprec", 1e-5))
            reference = parameters.get("space_group") or space_group_number(self.inputs.structures[name].get_ase(),
                                                                            symprec)
            symmetry = check_space_group(reference=orm.Int(reference), symprec=orm.Float(symprec), **exact[name],
                                         metadata={"call_link_label": f"space_group_{name}"})
            self.out(f"symmetry.{name}", symmetry)
            if not symmetry["kept"]:
                self._fail(name, f"space group {symmetry['space_group']} after relaxation, expected {reference}")
                continue
            settings = {key: parameters[key] for key in ("fc3_supercell", "fc2_supercell")}
            settings.update(distance=float(parameters.get("distance", 0.03)), symprec=symprec)
            outputs = phono3py_displacements(parameters=orm.Dict(settings), **exact[name],
                                             metadata={"call_link_label": f"displacements_{name}"})
            self.ctx.supercells[name], self.ctx.phono3py_yaml[name] = outputs["supercells"], outputs["phono3py_yaml"]
        if not self.ctx.supercells:
            return self.exit_codes.ERROR_ALL_FAILED.format(which=failures_text(self.ctx.failures))

    def compute_forces(self):
        common = self.inputs.parameters.get_dict()
        parameters = {"mode": "static", "compute_stress": False, "calculator": common.get("calculator", "tensorflow")}
        stage = self._stage("forces", parameters, datasets=self.ctx.supercells)
        n_cells = sum(d.n_structures for d in self.ctx.supercells.values())
        self.report(f"forces of {n_cells} displaced supercells of {len(self.ctx.supercells)} materials in <{stage.pk}>")
        return ToContext(forces=stage)

    def solve_kappa(self):
        stage = self.ctx.forces
        failed = self._take_stage(stage)
        if failed:
            return failed
        futures = {}
        for name in sorted(self.ctx.supercells):
            if name in self.ctx.failures:
                continue
            parameters = self._parameters(name)
            kappa = {**parameters.get("kappa", {}), "mesh": parameters["mesh"],
                     "symprec": float(parameters.get("symprec", 1e-5))}
            futures[f"kappa_{name}"] = submit_kappa(self, self.ctx.phono3py_yaml[name],
                                                    stage.outputs.output_datasets[name], kappa, label=name,
                                                    link=f"kappa_{name}")
        self.report(f"fc2/fc3 and κ of {len(futures)} materials in {len(futures)} jobs side by side")
        return ToContext(**futures)

    def results(self):
        for name in sorted(self.ctx.supercells):
            if name in self.ctx.failures:
                continue
            node = self.ctx[f"kappa_{name}"]
            if not node.is_finished_ok:
                self._fail(name, f"κ job <{node.pk}> {failure_reason(node)}")
                continue
            for port in ("kappa", "kappa_hdf5", "output_parameters"):
                self.out(f"{port}.{name}", node.outputs[port])
            summary = node.outputs.output_parameters
            self.report(f"{name}: {kappa_line(summary)}")
            if summary["has_imaginary_modes"]:
                self._fail(name, f"imaginary modes (min frequency {summary['min_frequency']:.3g} THz)")
            elif summary.get("kappa_unphysical"):
                self._fail(name, f"unphysical κ: {summary['kappa_unphysical_reason']}")
        total = len(self.ctx.names)
        self.report(f"{total - len(self.ctx.failures)} of {total} materials without failure")
        if len(self.ctx.failures) == total:
            return self.exit_codes.ERROR_ALL_FAILED.format(which=failures_text(self.ctx.failures))
        if self.ctx.failures:
            return self.exit_codes.ERROR_SOME_FAILED.format(count=len(self.ctx.failures), total=total,
                                                            which=failures_text(self.ctx.failures))