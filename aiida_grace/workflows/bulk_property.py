"""What the validation workflows of a relaxed bulk share (EOS, point defects, surfaces, grain boundaries):

relax every bulk (one pooled stage: cell + ions, symmetry kept) → the property's cells of each relaxed bulk (a
calcfunction per bulk: scaled cells, defect supercells, slabs, bicrystals) → those cells of all bulks relaxed or
evaluated in one pooled stage → the property per bulk (a calcfunction) → scores against a reference table and a
per-item plot. Jobs are cut by ``batching`` and run through ``grace.base_evaluate`` (restart-safe).

A subclass names its protocol file, its settings check, its two calcfunctions and, optionally, a check of each
input structure that refuses nonsense before anything is submitted.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext

from ..calculations.validation import model_usable
from ..common.property_input import bulk_parameters, derived_parameters
from ..common.validation_scores import ReferenceError, check_reference_table
from ..data import GraceDatasetData
from ..functions.validation import property_plot, score_validation
from .batch_stages import GraceBatchStagesWorkChain, exact_cells
from .utils import failures_text, read_protocol

__all__ = ("GraceBulkPropertyWorkChain",)


class GraceBulkPropertyWorkChain(GraceBatchStagesWorkChain):
    """Base of ``grace.eos``, ``grace.point_defects``, ``grace.surface_energy`` and ``grace.grain_boundary``."""

    PROTOCOL: str  # protocols/<PROTOCOL>.yaml
    NOUN: str  # what the cells are, for the report ("defect supercells")
    QUANTITIES: dict  # scored quantity → unit
    # staticmethod(calcfunction): (bulk, parameters, index, cutoff) → GraceDatasetData of the property's cells
    build_cells = None
    # staticmethod(calcfunction): (bulk, cells, parameters, name, index) → Dict with ``values`` and ``units``
    analyse = None
    score = staticmethod(score_validation)

    @staticmethod
    def check_settings(settings: dict) -> dict:
        """The settings merged over the property's defaults; ValueError when invalid."""
        raise NotImplementedError

    @classmethod
    def check_structure(cls, atoms, settings: dict, cutoff: float | None) -> str | None:
        """Why the property cannot be computed for the input structure ``atoms`` (refused before submission)."""
        return None

    @classmethod
    def load_protocol(cls, protocol: str | None = None, overrides: dict | None = None) -> dict:
        return read_protocol(cls.PROTOCOL, protocol, overrides)

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input_namespace("structures", valid_type=orm.StructureData, dynamic=True,
                             help="Bulk crystals by name (names become output keys and reference items).")
        spec.input("parameters", valid_type=orm.Dict, validator=cls._validate_parameters,
                   default=lambda: orm.Dict(cls.load_protocol()),
                   help="Settings (the protocol's); see the property's module in aiida_grace.common.")
        spec.input("reference", valid_type=orm.Dict, required=False,
                   help="Reference values to score against: {source, units, <quantity>: {item: value}}.")
        spec.input("plot", valid_type=orm.Bool, default=lambda: orm.Bool(True),
                   help="Store a PNG of the per-item values (beside the reference's).")
        spec.inputs.validator = cls._validate_inputs

        spec.outline(cls.setup, cls.relax_bulk, cls.make_cells, cls.compute_cells, cls.analyse_cells,
                     cls.score_results)

        spec.output_namespace("relaxed_structures", valid_type=orm.StructureData, dynamic=True,
                              help="Per bulk: the relaxed cell.")
        spec.output_namespace("cells", valid_type=GraceDatasetData, dynamic=True,
                              help="Per bulk: the property's cells, relaxed/evaluated and labelled.")
        spec.output_namespace("output_parameters", valid_type=orm.Dict, dynamic=True,
                              help="Per bulk: the property (values with units).")
        spec.output("scores", valid_type=orm.Dict, required=False,
                    help="SRME, MAE, per-item errors and worst items per quantity; n_failed, failed.")
        spec.output("plot", valid_type=orm.SinglefileData, required=False, help="Per-item bars (PNG).")

        spec.exit_code(401, "ERROR_SOME_FAILED", message="{count} of {total} structures failed: {which}")
        spec.exit_code(402, "ERROR_ALL_FAILED", message="every structure failed: {which}")

    @classmethod
    def _validate_parameters(cls, value, _):
        try:
            cls.check_settings(value.get_dict())
        except ValueError as exception:
            return f"invalid {cls.PROTOCOL} parameters: {exception}"

    @classmethod
    def _validate_inputs(cls, inputs, _):
        """At least one structure, all periodic; the model covers them and has what the calculator needs; each
        structure passes the property's own check; the reference table is well formed."""
        structures, model = inputs.get("structures", {}), inputs["model"]
        if not structures:
            return "give at least one structure"
        try:
            settings = cls.check_settings(inputs["parameters"].get_dict())
        except ValueError:
            return None  # the parameters port says why
        message = model_usable(model, {kind.symbol for s in structures.values() for kind in s.kinds},
                               settings["calculator"])
        if message:
            return message
        for name, structure in sorted(structures.items()):
            if not all(structure.pbc):
                return f"{name}: a bulk crystal must be periodic in all three directions"
            message = cls.check_structure(structure.get_ase(), settings, model.cutoff)
            if message:
                return f"{name}: {message}"
        if "reference" in inputs:
            try:
                check_reference_table(inputs["reference"].get_dict(), cls.QUANTITIES)
            except ReferenceError as exception:
                return f"invalid reference: {exception}"

    @classmethod
    def get_builder_from_protocol(cls, code, model, structures: dict, protocol=None, overrides=None, options=None,
                                  reference=None, batching=None):
        """A builder for ``structures`` (name → StructureData or ase.Atoms) with the settings of ``protocol``;
        ``reference``: a reference table (dict or Dict)."""
        builder = cls.get_builder()
        builder.code, builder.model = code, model
        builder.structures = {name: s if isinstance(s, orm.StructureData) else orm.StructureData(ase=s)
                              for name, s in structures.items()}
        builder.parameters = orm.Dict(cls.load_protocol(protocol, overrides))
        builder.batching = orm.Dict(batching or {})
        if options:
            builder.options = dict(options)
        if reference is not None:
            builder.reference = reference if isinstance(reference, orm.Dict) else orm.Dict(reference)
        return builder

    # -- steps ------------------------------------------------------------------------------------------
    def setup(self):
        self.ctx.settings = self.check_settings(self.inputs.parameters.get_dict())
        self.ctx.failures, self.ctx.results = {}, {}
        self.ctx.names = sorted(self.inputs.structures)

    def _bulk(self, name: str) -> GraceDatasetData:
        """The labelled dataset of the job that relaxed bulk ``name`` (its index: ``ctx.exact[name]['index']``)."""
        return self.ctx.exact[name]["structure"]

    def relax_bulk(self):
        relax = self.ctx.settings["bulk_relax"]
        stage = self._stage("bulk", bulk_parameters(self.ctx.settings), structures=dict(self.inputs.structures))
        self.report(f"relaxing {len(self.ctx.names)} bulk crystals (cell + ions, symmetry kept, {relax['optimizer']} "
                    f"to {relax['fmax']} eV/Å) in <{stage.pk}>")
        return ToContext(bulk=stage)

    def make_cells(self):
        relax = self.ctx.settings["bulk_relax"]
        failed = self._take_stage(self.ctx.bulk, f"bulk relaxation did not reach fmax {relax['fmax']} eV/Å in "
                                                 f"{relax['steps']} steps")
        if failed:
            return failed
        self.ctx.exact = exact_cells(self.ctx.bulk)
        relaxed = getattr(self.ctx.bulk.outputs, "relaxed_structures", {})  # none when every relaxation failed
        cutoff = orm.Float(self.inputs.model.cutoff or 0.0)
        parameters = orm.Dict(self.ctx.settings)
        self.ctx.cells = {}
        for name in self.ctx.names:
            if name in self.ctx.failures:
                continue
            self.out(f"relaxed_structures.{name}", relaxed[name])
            try:
                self.ctx.cells[name] = self.build_cells(self._bulk(name), parameters, self.ctx.exact[name]["index"],
                                                        cutoff, metadata={"call_link_label": f"cells_{name}"})
            except ValueError as exception:  # the relaxed bulk no longer allows the cells (e.g. lost symmetry)
                self._fail(name, f"cannot build its {self.NOUN}: {exception}")
        if not self.ctx.cells:
            return self.exit_codes.ERROR_ALL_FAILED.format(which=failures_text(self.ctx.failures))

    def compute_cells(self):
        parameters = derived_parameters(self.ctx.settings)
        stage = self._stage(self.PROTOCOL, parameters, datasets=self.ctx.cells)
        n_cells = sum(d.n_structures for d in self.ctx.cells.values())
        what = "relaxing" if parameters["mode"] == "relax" else "evaluating"
        self.report(f"{what} {n_cells} {self.NOUN} of {len(self.ctx.cells)} structures in <{stage.pk}>")
        return ToContext(cells_stage=stage)

    def analyse_cells(self):
        stage = self.ctx.cells_stage
        failed = self._take_stage(stage)
        if failed:
            return failed
        for name in stage.outputs.output_parameters["not_converged"]:
            relax = self.ctx.settings["relax"]
            self.report(f"{name}: some {self.NOUN} did not reach fmax {relax['fmax']} eV/Å in {relax['steps']} "
                        f"steps; their energies after the last step are used (as the paper's capped relaxations)")
        labelled = getattr(stage.outputs, "output_datasets", {})
        parameters = orm.Dict(self.ctx.settings)
        for name in sorted(self.ctx.cells):
            if name in self.ctx.failures:
                continue
            self.out(f"cells.{name}", labelled[name])
            result = self.analyse(self._bulk(name), labelled[name], parameters, orm.Str(name),
                                  self.ctx.exact[name]["index"], metadata={"call_link_label": f"analyse_{name}"})
            self.out(f"output_parameters.{name}", result)
            self.ctx.results[name] = result
            summary = ", ".join(f"{q} {v:.4g} {result['units'].get(q, '')}"
                                for q, items in result["values"].items() for v in items.values())
            self.report(f"{name}: {summary}")
        if not self.ctx.results:
            return self.exit_codes.ERROR_ALL_FAILED.format(which=failures_text(self.ctx.failures))

    def score_results(self):
        reference = self.inputs.get("reference")
        if reference is not None:
            scores = self.score(reference, failed=orm.List(sorted(self.ctx.failures)), **self.ctx.results)
            self.out("scores", scores)
            for quantity in self.QUANTITIES:
                if quantity in scores.get_dict():
                    s = scores[quantity]
                    self.report(f"{quantity}: SRME {s['srme']:.3f}, MAE {s['mae']:.4g} {self.QUANTITIES[quantity]} "
                                f"over {s['n']} items (worst: {', '.join(s['worst'])})")
        if self.inputs.plot.value:
            title = orm.Str(f"{self.PROTOCOL}: model <{self.inputs.model.pk}>")
            extra = {"reference": reference} if reference is not None else {}
            self.out("plot", property_plot(title, **extra, **self.ctx.results, metadata={"call_link_label": "plot"}))
        if self.ctx.failures:
            return self.exit_codes.ERROR_SOME_FAILED.format(count=len(self.ctx.failures), total=len(self.ctx.names),
                                                            which=failures_text(self.ctx.failures))
