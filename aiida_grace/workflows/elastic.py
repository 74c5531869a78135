"""``grace.elastic``: relax a structure, strain it, relax the ions of all strained cells in one job, fit C_ij."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calculations.validation import missing_elements as model_lacks_elements
from ..common.elastic_input import (
    ElasticSettingsError,
    relax_parameters,
    strained_parameters,
    validate_elastic_settings,
)
from ..data import GraceModelData
from ..functions.elastic import fit_elastic_constants, strained_structures
from .base_evaluate import GraceBaseEvaluateWorkChain
from .utils import failure_reason, read_protocol

__all__ = ("GraceElasticWorkChain", "load_protocol", "missing_elements")

NOT_CONVERGED = GraceBaseEvaluateWorkChain.exit_codes.ERROR_RELAXATION_NOT_CONVERGED.status


def load_protocol(protocol: str | None = None, overrides: dict | None = None) -> dict:
    """Settings of ``protocol`` (default: the file's ``default_protocol``) with ``overrides`` merged on top."""
    return read_protocol("elastic", protocol, overrides)


def missing_elements(structure: orm.StructureData, model: GraceModelData) -> list[str]:
    """Elements of ``structure`` that ``model`` does not have."""
    return sorted({kind.symbol for kind in structure.kinds} - set(model.elements))


def validate_parameters(value, _):
    try:
        validate_elastic_settings(value.get_dict())
    except ElasticSettingsError as exception:
        return f"invalid elastic parameters: {exception}"


def validate_inputs(inputs, _):
    """The model covers the structure's elements; the structure is periodic in all three directions."""
    structure, model = inputs["structure"], inputs["model"]
    message = model_lacks_elements(model, {kind.symbol for kind in structure.kinds},
                                   what=f"structure <{structure.pk}> ({structure.get_formula()}) contains")
    if message:
        return message
    if not all(structure.pbc):
        return f"structure <{structure.pk}> must be periodic in all three directions for elastic constants"


class GraceElasticWorkChain(WorkChain):
    """Elastic tensor of one structure with a GRACE model: relax (cell + ions, symmetry kept) → strained cells →
    ions relaxed at fixed cell, all cells in one ``grace.evaluate`` job → stress–strain fit."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("code", valid_type=orm.AbstractCode, help="The aiida-grace driver Code (runs grace.evaluate).")
        spec.input("model", valid_type=GraceModelData, help="The GRACE model.")
        spec.input("structure", valid_type=orm.StructureData, help="The structure, periodic in 3D.")
        spec.input("parameters", valid_type=orm.Dict, validator=validate_parameters,
                   default=lambda: orm.Dict(load_protocol()),
                   help="calculator, relax, strains, strained_relax; see aiida_grace.common.elastic_input.")
        spec.input("options", valid_type=dict, non_db=True, required=False,
                   help="metadata.options of the grace.evaluate jobs (resources, max_wallclock_seconds...).")
        spec.inputs.validator = validate_inputs

        spec.outline(
            cls.relax,
            cls.inspect_relax,
            cls.run_strained,
            cls.inspect_strained,
            cls.fit,
        )

        spec.output("relaxed_structure", valid_type=orm.StructureData, help="The relaxed structure.")
        spec.output("elastic_tensor", valid_type=orm.ArrayData,
                    help="elastic_tensor (6×6 Voigt, GPa), raw_tensor, residual_stress (GPa), strains, stresses.")
        spec.output("output_parameters", valid_type=orm.Dict,
                    help="C_ij (GPa), bulk/shear moduli Voigt/Reuss/Hill, Young's modulus (GPa), Poisson ratio, "
                         "born_stable, fit_residual (GPa).")
        spec.default_output_node = "output_parameters"

        # 4xx: a child job failed or did not converge
        spec.exit_code(401, "ERROR_RELAXATION_FAILED", message="the relaxation job <{pk}> failed: {message}")
        spec.exit_code(402, "ERROR_RELAXATION_NOT_CONVERGED",
                       message="the relaxation <{pk}> did not reach fmax {fmax} eV/Å in {steps} steps; raise "
                               "relax.steps or loosen relax.fmax")
        spec.exit_code(403, "ERROR_STRAINED_FAILED", message="the strained-cell job <{pk}> failed: {message}")
        spec.exit_code(404, "ERROR_STRAINED_NOT_CONVERGED",
                       message="ions of {message} in job <{pk}> did not reach fmax {fmax} eV/Å in {steps} steps")

    @classmethod
    def get_builder_from_protocol(cls, code, model, structure, protocol=None, overrides=None, options=None):
        """A builder with the settings of ``protocol`` (fast, balanced, stringent), ``overrides`` merged on top."""
        builder = cls.get_builder()
        builder.code = code
        builder.model = model
        builder.structure = structure
        builder.parameters = orm.Dict(load_protocol(protocol, overrides))
        if options:
            builder.options = options
        return builder

    # -- steps ------------------------------------------------------------------------------------
    def _evaluate(self, parameters: dict, structures: dict, label: str):
        """Submit a ``grace.base_evaluate`` job (walltime-safe) labelled ``label``."""
        metadata = {"label": label}
        if "options" in self.inputs:
            metadata["options"] = dict(self.inputs.options)
        evaluate = {"code": self.inputs.code, "model": self.inputs.model, "structures": structures,
                    "parameters": orm.Dict(parameters), "metadata": metadata}
        return self.submit(GraceBaseEvaluateWorkChain, evaluate=evaluate,
                           metadata={"label": label, "call_link_label": label})

    def relax(self):
        self.ctx.settings = validate_elastic_settings(self.inputs.parameters.get_dict())
        relax = self.ctx.settings["relax"]
        future = self._evaluate(relax_parameters(self.ctx.settings), {"structure": self.inputs.structure}, "relax")
        self.report(f"relaxing {self.inputs.structure.get_formula()} (cell + ions, symmetry kept, fmax "
                    f"{relax['fmax']} eV/Å) in <{future.pk}>")
        return ToContext(relax=future)

    def inspect_relax(self):
        node = self.ctx.relax
        relax = self.ctx.settings["relax"]
        if node.exit_status == NOT_CONVERGED:
            self.report(f"relaxation <{node.pk}> did not converge: {node.exit_message}")
            return self.exit_codes.ERROR_RELAXATION_NOT_CONVERGED.format(pk=node.pk, fmax=relax["fmax"],
                                                                           steps=relax["steps"])
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_RELAXATION_FAILED.format(pk=node.pk, message=failure_reason(node))
        self.ctx.relaxed = node.outputs.relaxed_structures.structure
        cell = self.ctx.relaxed.get_ase().cell.cellpar()
        self.report(f"relaxed in {node.outputs.output_parameters['compute_seconds']:.1f} s: a, b, c = "
                    f"{cell[0]:.4f}, {cell[1]:.4f}, {cell[2]:.4f} Å")

    def run_strained(self):
        strained = strained_structures(self.ctx.relaxed, orm.Dict(self.ctx.settings["strains"]))
        future = self._evaluate(strained_parameters(self.ctx.settings), strained, "strained")
        self.report(f"relaxing the ions of {len(strained)} strained cells in one job <{future.pk}>")
        return ToContext(strained=future)

    def inspect_strained(self):
        node = self.ctx.strained
        settings = self.ctx.settings["strained_relax"]
        if node.exit_status == NOT_CONVERGED:
            self.report(f"strained-cell relaxations <{node.pk}> did not converge: {node.exit_message}")
            return self.exit_codes.ERROR_STRAINED_NOT_CONVERGED.format(
                pk=node.pk, message=node.exit_message, fmax=settings["fmax"], steps=settings["steps"])
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_STRAINED_FAILED.format(pk=node.pk, message=failure_reason(node))

    def fit(self):
        results = fit_elastic_constants(self.ctx.relaxed, self.ctx.strained.outputs.output_dataset)
        self.out("relaxed_structure", self.ctx.relaxed)
        self.out("elastic_tensor", results["elastic_tensor"])
        self.out("output_parameters", results["output_parameters"])
        p = results["output_parameters"]
        c = p["elastic_tensor"]
        self.report(f"C11 {c[0][0]:.1f}, C12 {c[0][1]:.1f}, C44 {c[3][3]:.1f} GPa; K_VRH "
                    f"{p['bulk_modulus_vrh']:.1f}, G_VRH {p['shear_modulus_vrh']:.1f} GPa; Born stable "
                    f"{p['born_stable']}; fit residual {p['fit_residual']:.3g} GPa")
