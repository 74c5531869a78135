"""``grace.elastic.batch``: elastic tensors of many structures in one submission, scored against references."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..data import GraceModelData
from ..functions.elastic import score_elastic
from .elastic import GraceElasticWorkChain, load_protocol, missing_elements
from .elastic import validate_parameters as validate_elastic_parameters

__all__ = ("GraceElasticBatchWorkChain",)


def validate_inputs(inputs, _):
    """At least one structure; the model covers every structure's elements; references are 6×6."""
    structures, model = inputs.get("structures", {}), inputs["model"]
    if not structures:
        return "give at least one structure"
    bad = {name: missing_elements(s, model) for name, s in structures.items()}
    bad = {name: elements for name, elements in bad.items() if elements}
    if bad:
        listed = "; ".join(f"{name}: {', '.join(elements)}" for name, elements in sorted(bad.items()))
        return f"model <{model.pk}> (elements {', '.join(model.elements)}) lacks elements of structures {listed}"
    if "reference_tensors" in inputs:
        reference = inputs["reference_tensors"]
        wrong = [n for n in reference.get_arraynames() if reference.get_shape(n) != (6, 6)]
        if wrong:
            return f"reference tensors must be 6×6 (GPa); not so for {', '.join(sorted(wrong))}"
        if not set(reference.get_arraynames()) & set(structures):
            return "no reference tensor is named like any of the structures"


class GraceElasticBatchWorkChain(WorkChain):
    """One ``grace.elastic`` child per structure, all submitted at once so they run side by side; optional
    SRME/MAE scores (per C_ij group) against reference tensors."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("code", valid_type=orm.AbstractCode, help="The aiida-grace driver Code.")
        spec.input("model", valid_type=GraceModelData, help="The GRACE model.")
        spec.input_namespace("structures", valid_type=orm.StructureData, dynamic=True,
                             help="Structures by name (names become output and score keys).")
        spec.input("parameters", valid_type=orm.Dict, validator=validate_elastic_parameters,
                   default=lambda: orm.Dict(load_protocol()),
                   help="Settings of every grace.elastic child; see aiida_grace.common.elastic_input.")
        spec.input("reference_tensors", valid_type=orm.ArrayData, required=False,
                   help="Reference 6×6 tensors in GPa, one array per structure name, to score against.")
        spec.input("options", valid_type=dict, non_db=True, required=False,
                   help="metadata.options of the grace.evaluate jobs.")
        spec.inputs.validator = validate_inputs

        spec.outline(cls.run_children, cls.collect, cls.score)

        spec.output_namespace("elastic_tensors", valid_type=orm.ArrayData, dynamic=True,
                              help="Per structure: the child's elastic_tensor (6×6 GPa and fit data).")
        spec.output_namespace("output_parameters", valid_type=orm.Dict, dynamic=True,
                              help="Per structure: moduli (GPa), Poisson ratio, Born stability, fit residual.")
        spec.output("scores", valid_type=orm.Dict, required=False,
                    help="SRME and MAE (GPa) per group C11/C22/C33, C12/C13/C23, C44/C55/C66.")

        # 4xx: some children failed; the others' outputs are attached
        spec.exit_code(401, "ERROR_SOME_FAILED", message="{count} of {total} structures failed: {which}")

    @classmethod
    def get_builder_from_protocol(cls, code, model, structures: dict, protocol=None, overrides=None, options=None,
                                  reference_tensors=None):
        """A builder for ``structures`` (name → StructureData) with the settings of ``protocol``."""
        builder = cls.get_builder()
        builder.code, builder.model, builder.structures = code, model, structures
        builder.parameters = orm.Dict(load_protocol(protocol, overrides))
        if options:
            builder.options = options
        if reference_tensors is not None:
            builder.reference_tensors = reference_tensors
        return builder

    def run_children(self):
        futures = {}
        for name, structure in sorted(self.inputs.structures.items()):
            inputs = {"code": self.inputs.code, "model": self.inputs.model, "structure": structure,
                      "parameters": self.inputs.parameters, "metadata": {"call_link_label": name, "label": name}}
            if "options" in self.inputs:
                inputs["options"] = dict(self.inputs.options)
            futures[f"child_{name}"] = self.submit(GraceElasticWorkChain, **inputs)
        self.report(f"submitted {len(futures)} grace.elastic workchains side by side")
        return ToContext(**futures)

    def collect(self):
        failed = []
        for name in sorted(self.inputs.structures):
            child = self.ctx[f"child_{name}"]
            if not child.is_finished_ok:
                failed.append(f"{name} <{child.pk}> ({child.exit_status})")
                continue
            self.out(f"elastic_tensors.{name}", child.outputs.elastic_tensor)
            self.out(f"output_parameters.{name}", child.outputs.output_parameters)
        self.ctx.failed = failed
        self.report(f"{len(self.inputs.structures) - len(failed)} of {len(self.inputs.structures)} finished")

    def score(self):
        done = {name: self.ctx[f"child_{name}"].outputs.elastic_tensor for name in sorted(self.inputs.structures)
                if self.ctx[f"child_{name}"].is_finished_ok}
        if "reference_tensors" in self.inputs and done:
            scores = score_elastic(self.inputs.reference_tensors, **done)
            self.out("scores", scores)
            summary = ", ".join(f"{group} SRME {scores[group]['srme']:.3f} MAE {scores[group]['mae']:.1f} GPa"
                                for group in ("C11_C22_C33", "C12_C13_C23", "C44_C55_C66"))
            self.report(f"scores over {scores['n_structures']} structures: {summary}")
        if self.ctx.failed:
            return self.exit_codes.ERROR_SOME_FAILED.format(count=len(self.ctx.failed),
                                                            total=len(self.inputs.structures),
                                                            which="; ".join(self.ctx.failed))
