"""``grace.stability``: candidate crystals relaxed (FIRE or BFGS + FrechetCellFilter) in chunks → energies per atom
→ formation energies → energy above the hull of reference entries → the Matbench Discovery metrics against the
candidates' reference energies, and the geometry against their reference relaxed structures.

The candidates are one pooled ``grace.evaluate.batch`` stage: cut into chunks by ``batching`` (a calcfunction,
deterministic), one ``grace.evaluate`` job per chunk. With caching on for ``grace.evaluate``, a second submission of
the same inputs reuses every chunk that finished before the first run was stopped. The science is in
:mod:`aiida_grace.common.stability`.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext

from ..calculations.validation import dict_port_validator, model_usable
from ..common.binary_prototypes import elemental_phases
from ..common.stability_input import (
    StabilityInputError,
    candidate_names,
    check_elemental_references,
    check_reference_entries,
    check_stability_settings,
    relax_parameters,
)
from ..data import GraceDatasetData
from ..functions.stability import (
    chunk_energies,
    elemental_phases_dataset,
    lowest_elemental_energies,
    reference_entries_of,
    relaxed_geometry,
    stability_analysis,
    stability_plot,
)
from .batch_stages import GraceBatchStagesWorkChain
from .utils import read_protocol

__all__ = ("GraceStabilityWorkChain",)


def load_protocol(protocol: str | None = None, overrides: dict | None = None) -> dict:
    return read_protocol("stability", protocol, overrides)


def check_elements(inputs, elements: set[str]) -> str | None:
    """Why the elemental references cannot be had for ``elements`` (given, relaxed from given structures or from
    built fcc/bcc phases), or None."""
    if "elemental_references" in inputs and "elemental_structures" in inputs:
        return "give elemental_references or elemental_structures, not both"
    if "elemental_references" in inputs:
        missing = sorted(elements - set(inputs["elemental_references"].get_dict()))
        return f"elemental_references lack {', '.join(missing)}" if missing else None
    if "elemental_structures" in inputs:
        dataset = inputs["elemental_structures"]
        pure = {a.get_chemical_symbols()[0] for a in dataset.to_ase() if len(set(a.get_chemical_symbols())) == 1}
        missing = sorted(elements - pure)
        return f"elemental_structures have no structure of pure {', '.join(missing)}" if missing else None
    for element in sorted(elements):
        try:
            elemental_phases(element)
        except ValueError as exception:
            return str(exception)
    return None


def validate_inputs(inputs, _):
    """Candidates (named uniquely, periodic) whose elements the model, the reference entries and the elemental
    references all cover; reference structures one per candidate."""
    candidates, model = inputs["candidates"], inputs["model"]
    if not candidates.n_structures:
        return "the candidates dataset is empty"
    structures = candidates.to_ase()
    try:
        names = candidate_names([atoms.info for atoms in structures])
        settings = check_stability_settings(inputs["parameters"].get_dict())
        elements = set(candidates.elements)
        if "reference_entries" in inputs:
            check_reference_entries(reference_entries_of(inputs["reference_entries"]), elements)
    except StabilityInputError as exception:
        return str(exception)
    aperiodic = [name for name, atoms in zip(names, structures) if not atoms.pbc.all()]
    if aperiodic:
        return f"candidates must be periodic in all three directions: {', '.join(aperiodic[:10])}"
    extra = set(inputs["elemental_structures"].elements) if "elemental_structures" in inputs else set()
    message = model_usable(model, elements | extra, settings["calculator"]) or check_elements(inputs, elements)
    if message:
        return message
    reference = inputs.get("reference_structures")
    if reference is not None and reference.n_structures != candidates.n_structures:
        return (f"reference_structures has {reference.n_structures} structures for {candidates.n_structures} "
                f"candidates (one per candidate, in the same order)")


def validate_reference_entries(value, _):
    if not isinstance(value, (orm.Dict, orm.SinglefileData)):
        return f"reference_entries must be a Dict or a CSV SinglefileData, got {type(value).__name__}"
    try:
        reference_entries_of(value)
    except StabilityInputError as exception:
        return f"invalid reference_entries: {exception}"


class GraceStabilityWorkChain(GraceBatchStagesWorkChain):
    """Thermodynamic stability of candidate crystals: relax all in chunks (one job each), place each against the
    convex hull of the reference entries, classify stable (e_above_hull ≤ threshold) and score against the
    candidates' reference energies. A candidate whose relaxation breaks is named and counted, not fatal; one
    whose relaxation hits the step limit keeps its last energy (as Matbench Discovery's capped relaxations)."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input("candidates", valid_type=GraceDatasetData,
                   help="Candidate structures (names in info['name'], else candidate_<index>); an energy label "
                        "is the candidate's reference (e.g. DFT relaxed) total energy in eV.")
        spec.input("reference_entries", valid_type=orm.Data, validator=validate_reference_entries,
                   help="The reference set whose hull the candidates are placed against: a Dict {composition: eV/atom}"
                        " or a CSV SinglefileData with composition and energy_per_atom columns (elements included).")
        spec.input("elemental_references", valid_type=orm.Dict, required=False,
                   validator=dict_port_validator(check_elemental_references, "elemental_references"),
                   help="{element: eV/atom} of the model's elements; absent: relaxed in this run (lowest per atom).")
        spec.input("elemental_structures", valid_type=GraceDatasetData, required=False,
                   help="Elemental phases to relax for the references (absent: fcc, bcc and ASE's own crystal).")
        spec.input("reference_structures", valid_type=GraceDatasetData, required=False,
                   help="Reference relaxed structures, one per candidate in its order: RMSD and space group kept.")
        spec.input("parameters", valid_type=orm.Dict, default=lambda: orm.Dict(load_protocol()),
                   validator=dict_port_validator(check_stability_settings, "stability parameters"),
                   help="calculator, relax (optimizer, fmax eV/Å, steps), threshold eV/atom; see protocols.")
        spec.inputs.validator = validate_inputs

        spec.outline(cls.relax, cls.energies, cls.analyse)

        spec.output("results", valid_type=orm.Dict,
                    help="Per candidate: energy per atom, e_form, e_above_hull, stable, the reference's (eV/atom).")
        spec.output("metrics", valid_type=orm.Dict,
                    help="Counts, failed and not converged names; with reference energies TP/FP/TN/FN, precision, "
                         "recall, F1, accuracy, DAF, MAE/RMSE (eV/atom), R2.")
        spec.output("geometry", valid_type=orm.Dict, required=False,
                    help="With reference_structures: RMSD and space group kept per candidate and their summary.")
        spec.output("elemental_references", valid_type=orm.Dict, required=False,
                    help="The elemental references relaxed in this run (eV/atom).")
        spec.output("hull_plot", valid_type=orm.SinglefileData, help="The hull plot (PNG).")
        spec.output_namespace("relaxed_chunks", valid_type=GraceDatasetData, dynamic=True,
                              help="Per chunk: its candidates relaxed and labelled by the model.")
        spec.default_output_node = "metrics"

        spec.exit_code(402, "ERROR_ALL_FAILED", message="every candidate failed: {which}")
        spec.exit_code(404, "ERROR_ELEMENTS_FAILED", message="no relaxed elemental phase of {which}")

    @classmethod
    def get_builder_from_protocol(cls, code, model, candidates, reference_entries, protocol=None, overrides=None,
                                  *, elemental_references=None, reference_structures=None, batching=None,
                                  options=None):
        """A builder with the settings of ``protocol``; ``reference_entries`` and ``elemental_references`` as
        dicts or nodes; ``batching`` sets the chunks (max_structures_per_job, max_atoms_per_job)."""
        builder = cls.get_builder()
        builder.code, builder.model, builder.candidates = code, model, candidates
        builder.reference_entries = reference_entries if isinstance(reference_entries, orm.Data) \
            else orm.Dict(reference_entries)
        builder.parameters = orm.Dict(load_protocol(protocol, overrides))
        builder.batching = orm.Dict(batching or {})
        if elemental_references is not None:
            builder.elemental_references = elemental_references if isinstance(elemental_references, orm.Dict) \
                else orm.Dict(elemental_references)
        if reference_structures is not None:
            builder.reference_structures = reference_structures
        if options:
            builder.options = dict(options)
        return builder

    # -- steps ------------------------------------------------------------------------------------------
    def relax(self):
        self.ctx.failures = {}
        settings = check_stability_settings(self.inputs.parameters.get_dict())
        parameters = relax_parameters(settings)
        stages = {"candidates": self._stage("candidates", parameters, dataset=self.inputs.candidates)}
        relax = settings["relax"]
        self.report(f"relaxing {self.inputs.candidates.n_structures} candidates ({relax['optimizer']} + "
                    f"FrechetCellFilter to {relax['fmax']} eV/Å, ≤ {relax['steps']} steps) in <{stages['candidates'].pk}>")
        if "elemental_references" not in self.inputs:
            phases = self.inputs.get("elemental_structures") or elemental_phases_dataset(
                orm.List(sorted(self.inputs.candidates.elements)), metadata={"call_link_label": "elemental_phases"})
            stages["elements"] = self._stage("elements", parameters, dataset=phases)
            self.report(f"relaxing {phases.n_structures} elemental phases for the references in <{stages['elements'].pk}>")
        return ToContext(**stages)

    def _chunks(self, stage) -> tuple[dict, dict]:
        """(energies per relaxed chunk: a calcfunction each, the relaxed chunks) of a usable stage."""
        parts = dict(getattr(stage.outputs, "output_datasets", {}))
        return {name: chunk_energies(part, metadata={"call_link_label": f"{stage.label}_{name}"})
                for name, part in sorted(parts.items())}, parts

    def energies(self):
        failed = self._take_stage(self.ctx.candidates)
        if failed:
            return failed
        self.ctx.chunks, self.ctx.parts = self._chunks(self.ctx.candidates)
        for name, part in self.ctx.parts.items():
            self.out(f"relaxed_chunks.{name}", part)
        n_failed = sum(len(chunk["failed"]) for chunk in self.ctx.chunks.values())
        n_done = sum(len(chunk["structures"]) for chunk in self.ctx.chunks.values())
        self.report(f"{len(self.ctx.parts)} chunk(s) relaxed: {n_done} of {self.inputs.candidates.n_structures} "
                    f"candidates returned, {n_failed} of them broke")
        if "elemental_references" in self.inputs:
            self.ctx.references = self.inputs.elemental_references
            return None
        failed = self._take_stage(self.ctx.elements)
        if failed:
            return failed
        chunks, _ = self._chunks(self.ctx.elements)
        self.ctx.references = lowest_elemental_energies(**chunks, metadata={"call_link_label": "elemental"})
        missing = sorted(set(self.inputs.candidates.elements) - set(self.ctx.references.get_dict()))
        if missing:
            return self.exit_codes.ERROR_ELEMENTS_FAILED.format(which=", ".join(missing))
        self.out("elemental_references", self.ctx.references)
        self.report("elemental references (eV/atom): " + ", ".join(f"{el} {e:.4f}" for el, e in
                                                                  self.ctx.references.get_dict().items()))

    def analyse(self):
        outputs = stability_analysis(self.inputs.candidates, self.ctx.references, self.inputs.reference_entries,
                                     orm.Dict(check_stability_settings(self.inputs.parameters.get_dict())),
                                     **self.ctx.chunks, metadata={"call_link_label": "analysis"})
        metrics = outputs["metrics"]
        self.out("results", outputs["results"])
        self.out("metrics", metrics)
        if "reference_structures" in self.inputs:
            geometry = relaxed_geometry(self.inputs.reference_structures, **self.ctx.parts,
                                        metadata={"call_link_label": "geometry"})
            self.out("geometry", geometry)
            kept = ", ".join(f"{v:.2f} at symprec {p} Å" for p, v in geometry["fraction_space_group_kept"].items())
            self.report(f"geometry: mean RMSD {geometry['mean_rmsd']}, {geometry['fraction_matched']:.2f} matched, "
                        f"space group kept {kept}")
        title = orm.Str(f"grace.stability: model <{self.inputs.model.pk}>")
        self.out("hull_plot", stability_plot(outputs["results"], title, metadata={"call_link_label": "plot"}))
        for name, reason in sorted(metrics["failed"].items()):
            self.report(f"{name}: {reason}")
        summary = (f"{metrics['n_candidates']} candidates: {metrics['n_predicted_stable']} predicted stable, "
                   f"{metrics['n_failed']} failed, {metrics['n_not_converged']} not converged")
        if metrics["n_with_reference"]:
            summary += f"; against {metrics['n']} reference energies " + ", ".join(
                f"{key} {metrics[key]:.4g}" if metrics[key] is not None else f"{key} n/a"
                for key in ("F1", "precision", "recall", "accuracy", "DAF", "MAE", "RMSE")) + " (MAE, RMSE eV/atom)"
        self.report(summary)
        if metrics["n_failed"] == metrics["n_candidates"]:
            return self.exit_codes.ERROR_ALL_FAILED.format(which="; ".join(sorted(metrics["failed"].values()))[:500])
