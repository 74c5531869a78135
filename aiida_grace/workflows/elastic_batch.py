"""``grace.elastic.batch``: elastic tensors of many structures, batched ACROSS structures: one relaxation stage
for all of them, one stage for all strained cells of all of them, then a fit per structure; scored against
references."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext

from ..common.elastic_input import relax_parameters, strained_parameters, validate_elastic_settings
from ..functions.elastic import fit_elastic_constants, score_elastic, strained_dataset
from .batch_stages import GraceBatchStagesWorkChain
from .elastic import load_protocol, missing_elements
from .elastic import validate_parameters as validate_elastic_parameters
from .utils import failures_text

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
    aperiodic = sorted(name for name, s in structures.items() if not all(s.pbc))
    if aperiodic:
        return f"structures must be periodic in all three directions for elastic constants: {', '.join(aperiodic)}"
    if "reference_tensors" in inputs:
        reference = inputs["reference_tensors"]
        wrong = [n for n in reference.get_arraynames() if reference.get_shape(n) != (6, 6)]
        if wrong:
            return f"reference tensors must be 6×6 (GPa); not so for {', '.join(sorted(wrong))}"
        if not set(reference.get_arraynames()) & set(structures):
            return "no reference tensor is named like any of the structures"


def not_reached(what: str, settings: dict) -> str:
    """Why a structure whose ``what`` relaxation did not converge failed, in words."""
    return f"{what} did not reach fmax {settings['fmax']} eV/Å in {settings['steps']} steps"


class GraceElasticBatchWorkChain(GraceBatchStagesWorkChain):
    """Elastic tensors of many structures: relax all (cell + ions, symmetry kept) → strained cells per structure
    (one dataset each) → ions of all strained cells relaxed in pooled jobs → one stress–strain fit per structure
    → optional SRME/MAE scores. Jobs are cut by ``batching`` and run through ``grace.base_evaluate``.

    A structure that fails (relaxation or strained ions not converged, its job failed) is named in the report,
    the exit message and the scores; the others finish and are scored.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input_namespace("structures", valid_type=orm.StructureData, dynamic=True,
                             help="Structures by name (names become output and score keys).")
        spec.input("parameters", valid_type=orm.Dict, validator=validate_elastic_parameters,
                   default=lambda: orm.Dict(load_protocol()),
                   help="calculator, relax, strains, strained_relax; see aiida_grace.common.elastic_input.")
        spec.input("reference_tensors", valid_type=orm.ArrayData, required=False,
                   help="Reference 6×6 tensors in GPa, one array per structure name, to score against.")
        spec.inputs.validator = validate_inputs

        spec.outline(cls.setup, cls.relax, cls.strain, cls.fit, cls.score)

        spec.output_namespace("relaxed_structures", valid_type=orm.StructureData, dynamic=True,
                              help="Per structure: the relaxed structure the strains were applied to.")
        spec.output_namespace("elastic_tensors", valid_type=orm.ArrayData, dynamic=True,
                              help="Per structure: elastic_tensor (6×6 GPa) and the fit data.")
        spec.output_namespace("output_parameters", valid_type=orm.Dict, dynamic=True,
                              help="Per structure: moduli (GPa), Poisson ratio, Born stability, fit residual.")
        spec.output("scores", valid_type=orm.Dict, required=False,
                    help="SRME and MAE (GPa) per group C11/C22/C33, C12/C13/C23, C44/C55/C66; n_failed, failed.")

        # 4xx: some or all structures failed; the others' outputs are attached
        spec.exit_code(401, "ERROR_SOME_FAILED", message="{count} of {total} structures failed: {which}")
        spec.exit_code(402, "ERROR_ALL_FAILED", message="every structure failed: {which}")

    @classmethod
    def get_builder_from_protocol(cls, code, model, structures: dict, protocol=None, overrides=None, options=None,
                                  reference_tensors=None, batching=None):
        """A builder for ``structures`` (name → StructureData) with the settings of ``protocol``."""
        builder = cls.get_builder()
        builder.code, builder.model, builder.structures = code, model, structures
        builder.parameters = orm.Dict(load_protocol(protocol, overrides))
        builder.batching = orm.Dict(batching or {})
        if options:
            builder.options = options
        if reference_tensors is not None:
            builder.reference_tensors = reference_tensors
        return builder

    # -- steps ------------------------------------------------------------------------------------------
    def setup(self):
        self.ctx.settings = validate_elastic_settings(self.inputs.parameters.get_dict())
        self.ctx.failures, self.ctx.tensors = {}, {}

    def relax(self):
        structures = dict(self.inputs.structures)
        relax = self.ctx.settings["relax"]
        stage = self._stage("relax", relax_parameters(self.ctx.settings), structures=structures)
        self.report(f"relaxing {len(structures)} structures (cell + ions, symmetry kept, fmax {relax['fmax']} eV/Å) "
                    f"in <{stage.pk}>")
        return ToContext(relax=stage)

    def strain(self):
        failed = self._take_stage(self.ctx.relax, not_reached("the relaxation", self.ctx.settings["relax"]))
        if failed:
            return failed
        relaxed = getattr(self.ctx.relax.outputs, "relaxed_structures", {})
        self.ctx.relaxed = {name: relaxed[name] for name in sorted(self.inputs.structures)
                            if name not in self.ctx.failures}
        if not self.ctx.relaxed:
            return self.exit_codes.ERROR_ALL_FAILED.format(which=failures_text(self.ctx.failures))
        strains = orm.Dict(self.ctx.settings["strains"])
        datasets = {name: strained_dataset(structure, strains, metadata={"call_link_label": f"strain_{name}"})
                    for name, structure in self.ctx.relaxed.items()}
        stage = self._stage("strained", strained_parameters(self.ctx.settings), datasets=datasets)
        n_cells = sum(d.n_structures for d in datasets.values())
        self.report(f"relaxing the ions of {n_cells} strained cells of {len(datasets)} structures in <{stage.pk}>")
        return ToContext(strained=stage)

    def fit(self):
        failed = self._take_stage(self.ctx.strained,
                                  not_reached("ions of strained cells", self.ctx.settings["strained_relax"]))
        if failed:
            return failed
        labelled = getattr(self.ctx.strained.outputs, "output_datasets", {})
        for name, structure in self.ctx.relaxed.items():
            if name in self.ctx.failures:
                continue
            results = fit_elastic_constants(structure, labelled[name], metadata={"call_link_label": f"fit_{name}"})
            self.out(f"relaxed_structures.{name}", structure)
            self.out(f"elastic_tensors.{name}", results["elastic_tensor"])
            self.ctx.tensors[name] = results["elastic_tensor"]
            self.out(f"output_parameters.{name}", results["output_parameters"])
        self.report(f"{len(self.ctx.tensors)} of {len(self.inputs.structures)} elastic tensors fitted")
        if not self.ctx.tensors:
            return self.exit_codes.ERROR_ALL_FAILED.format(which=failures_text(self.ctx.failures))

    def score(self):
        done = self.ctx.tensors
        if "reference_tensors" in self.inputs and set(done) & set(self.inputs.reference_tensors.get_arraynames()):
            scores = score_elastic(self.inputs.reference_tensors, failed=orm.List(sorted(self.ctx.failures)), **done)
            self.out("scores", scores)
            summary = ", ".join(f"{group} SRME {scores[group]['srme']:.3f} MAE {scores[group]['mae']:.1f} GPa"
                                for group in ("C11_C22_C33", "C12_C13_C23", "C44_C55_C66"))
            self.report(f"scores over {scores['n_structures']} structures ({scores['n_failed']} failed): {summary}")
        if self.ctx.failures:
            return self.exit_codes.ERROR_SOME_FAILED.format(count=len(self.ctx.failures),
                                                            total=len(self.inputs.structures),
                                                            which=failures_text(self.ctx.failures))