"""``grace.evaluate.batch``: many named structures or datasets cut into ``grace.base_evaluate`` jobs that run
side by side; per-name outputs and per-name failures.

The one batching mechanism of the plugin: the batch workflows (elastic, κ, ...) are stages of it.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calculations.evaluate import GraceEvaluateCalculation
from ..calculations.validation import dict_port_validator, model_usable
from ..common.batching import cut_into_jobs, validate_batching
from ..common.evaluate_input import validate_settings
from ..data import GraceDatasetData, GraceModelData
from ..functions.batching import cut_dataset, join_parts, summarize_batch
from .base_evaluate import GraceBaseEvaluateWorkChain
from .utils import failure_reason, failures_text

__all__ = ("GraceBatchEvaluateWorkChain", "batch_inputs")

# exit statuses of a job whose outputs are attached although some structures did not converge or broke
USABLE = (0, GraceEvaluateCalculation.exit_codes.ERROR_RELAXATION_NOT_CONVERGED.status,
          GraceEvaluateCalculation.exit_codes.ERROR_STRUCTURES_FAILED.status)


def batch_inputs(code, model, parameters: dict, *, structures=None, datasets=None, dataset=None, batching=None,
                 options=None, label: str | None = None) -> dict:
    """Inputs of a :class:`GraceBatchEvaluateWorkChain` (for ``submit``) from plain values."""
    if not isinstance(batching, orm.Dict):
        batching = orm.Dict(batching or {})
    inputs = {"code": code, "model": model, "parameters": orm.Dict(parameters), "batching": batching,
              "metadata": {}}
    if structures is not None:
        inputs["structures"] = structures
    if datasets is not None:
        inputs["datasets"] = datasets
    if dataset is not None:
        inputs["dataset"] = dataset
    if options:
        inputs["options"] = dict(options)
    if label:
        inputs["metadata"] = {"label": label, "call_link_label": label}
    return inputs


def define_batch_ports(spec) -> None:
    """The ports every batch work chain has: ``code``, ``model``, ``batching`` and ``options``."""
    spec.input("code", valid_type=orm.AbstractCode, help="The aiida-grace driver Code (runs every job).")
    spec.input("model", valid_type=GraceModelData, help="The GRACE model.")
    spec.input("batching", valid_type=orm.Dict, default=lambda: orm.Dict({}),
               validator=dict_port_validator(validate_batching, "batching settings"),
               help="max_structures_per_job, max_atoms_per_job of every pooled job (aiida_grace.common.batching).")
    spec.input("options", valid_type=dict, non_db=True, required=False,
               help="metadata.options of every job (resources, max_wallclock_seconds...).")


def validate_inputs(inputs, _):
    """Structures, datasets or one dataset (exactly one of them, not empty); the model covers their elements."""
    structures, datasets = inputs.get("structures", {}), inputs.get("datasets", {})
    if bool(structures) + bool(datasets) + ("dataset" in inputs) != 1:
        return "give exactly one of structures, datasets or dataset (not empty)"
    if structures:
        elements = {kind.symbol for s in structures.values() for kind in s.kinds}
    else:
        elements = {e for d in (datasets.values() if datasets else [inputs["dataset"]]) for e in d.elements}
    settings = validate_settings(inputs["parameters"].get_dict() if "parameters" in inputs else {})
    return model_usable(inputs["model"], elements, settings["calculator"])


class GraceBatchEvaluateWorkChain(WorkChain):
    """Evaluate or relax many named structures (or datasets) in jobs cut by ``batching``, all submitted at once
    through ``grace.base_evaluate`` (a walltime continues with the structures not yet done).

    A structure whose relaxation does not converge, or whose job fails, is named in ``output_parameters``
    (``not_converged``, ``failed``); the others' outputs are attached either way.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        define_batch_ports(spec)
        spec.input("parameters", valid_type=orm.Dict, default=lambda: orm.Dict({}),
                   validator=dict_port_validator(validate_settings, "evaluation parameters"),
                   help="grace.evaluate parameters of every job (mode, calculator, relax settings).")
        spec.input_namespace("structures", valid_type=orm.StructureData, dynamic=True, required=False,
                             help="Structures by name; relaxed ones come back in relaxed_structures.")
        spec.input_namespace("datasets", valid_type=GraceDatasetData, dynamic=True, required=False,
                             help="Or datasets by name (a dataset is never split between jobs); labelled ones come "
                                  "back in output_datasets.")
        spec.input("dataset", valid_type=GraceDatasetData, required=False,
                   help="Or one (large) dataset: cut into parts by batching (cut_dataset), labelled part by part "
                        "and joined back in its order into output_dataset (join_parts).")
        spec.inputs.validator = validate_inputs

        spec.outline(cls.submit_jobs, cls.collect)

        spec.output_namespace("relaxed_structures", valid_type=orm.StructureData, dynamic=True, required=False,
                              help="Per structure name (structures input, relax mode).")
        spec.output_namespace("output_datasets", valid_type=GraceDatasetData, dynamic=True, required=False,
                              help="Per dataset name (datasets input): labelled (and relaxed) by the model.")
        spec.output_namespace("job_datasets", valid_type=GraceDatasetData, dynamic=True, required=False,
                              help="Per job (structures input): its structures labelled by the model, names in "
                                   "output_parameters.jobs.")
        spec.output("output_dataset", valid_type=GraceDatasetData, required=False,
                    help="With the dataset input: all its structures labelled (relaxed), in the input order.")
        spec.output("output_parameters", valid_type=orm.Dict,
                    help="n_structures, jobs (label, pk, names of each), not_converged (names), failed (name → "
                         "reason), load/compute seconds summed over the jobs.")
        spec.default_output_node = "output_parameters"

        # 4xx: some structures failed; the others' outputs are attached
        spec.exit_code(401, "ERROR_SOME_FAILED", message="{count} of {total} failed: {which}")
        spec.exit_code(410, "ERROR_RELAXATION_NOT_CONVERGED",
                       message="{count} of {total} relaxations did not converge: {which}")

    def _sources(self) -> tuple[str, dict]:
        if self.inputs.get("structures"):
            return "structures", dict(self.inputs.structures)
        if "dataset" in self.inputs:
            return "datasets", self.ctx.parts
        return "datasets", dict(self.inputs.datasets)

    def submit_jobs(self):
        if "dataset" in self.inputs:
            self.ctx.parts = dict(cut_dataset(self.inputs.dataset, self.inputs.batching,
                                              metadata={"call_link_label": "cut"}))
        kind, items = self._sources()
        if kind == "structures":
            sizes = {name: (1, len(s.sites)) for name, s in items.items()}
        else:
            sizes = {name: (d.n_structures, d.base.attributes.get("n_atoms")) for name, d in items.items()}
        batching = validate_batching(self.inputs.batching.get_dict())
        self.ctx.jobs = cut_into_jobs(sizes, batching["max_structures_per_job"], batching["max_atoms_per_job"])
        futures = {}
        for index, names in enumerate(self.ctx.jobs):
            label = f"job_{index:03d}"
            metadata = {"label": label, "options": dict(self.inputs.get("options", {}))}
            evaluate = {"code": self.inputs.code, "model": self.inputs.model, "parameters": self.inputs.parameters,
                        kind: {name: items[name] for name in names}, "metadata": metadata}
            futures[label] = self.submit(GraceBaseEvaluateWorkChain, evaluate=evaluate,
                                         metadata={"label": label, "call_link_label": label})
        self.report(f"{sum(n for n, _ in sizes.values())} structures in {len(items)} {kind} cut into {len(self.ctx.jobs)} job(s) "
                    f"(max {batching['max_structures_per_job']} structures, {batching['max_atoms_per_job']} atoms "
                    f"per job), submitted side by side")
        return ToContext(**futures)

    def collect(self):
        kind, items = self._sources()
        failed, jobs, summaries, labelled = {}, [], {}, {}
        for index, names in enumerate(self.ctx.jobs):
            label = f"job_{index:03d}"
            node = self.ctx[label]
            jobs.append({"label": label, "pk": node.pk, "names": names})
            if node.exit_status not in USABLE:
                failed.update({name: f"{label} <{node.pk}> {failure_reason(node)}" for name in names})
                continue
            summaries[label] = node.outputs.output_parameters
            if kind == "datasets":
                for name in names:
                    labelled[name] = node.outputs.output_datasets[name]
                    self.out(f"output_datasets.{name}", labelled[name])
            else:
                self.out(f"job_datasets.{label}", node.outputs.output_dataset)
                for name, structure in getattr(node.outputs, "relaxed_structures", {}).items():
                    self.out(f"relaxed_structures.{name}", structure)
        if "dataset" in self.inputs and not failed:
            self.out("output_dataset", join_parts(**labelled, metadata={"call_link_label": "join"}))
        summary = summarize_batch(orm.Dict({"jobs": jobs, "failed": failed}), **summaries,
                                  metadata={"call_link_label": "summary"})
        self.out("output_parameters", summary)
        failed, not_converged = summary["failed"], summary["not_converged"]
        self.report(f"{len(jobs)} job(s) done: {len(items) - len(failed) - len(not_converged)} of {len(items)} "
                    f"{kind} ok, {len(not_converged)} not converged, {len(failed)} failed")
        if failed:
            return self.exit_codes.ERROR_SOME_FAILED.format(
                count=len(failed), total=len(items), which=failures_text(failed))
        if not_converged:
            return self.exit_codes.ERROR_RELAXATION_NOT_CONVERGED.format(
                count=len(not_converged), total=len(items), which=", ".join(not_converged))
