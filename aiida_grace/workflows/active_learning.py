"""``grace.active_learning``: explore → γ → select → reference labels → retrain, until exploration stays in range.

Iteration k, with model k and its training set: ``grace.uncertainty`` (UQ artifacts of model k) and MD at every
temperature from every start structure (``grace.base_md``, side by side) → the frames pooled → ``grace.select`` (γ of
every frame, the frames to label) and one ``grace.evaluate`` of the test set and the training set with γ → the
iteration's record → if the largest γ of the fresh frames is below ``gamma_threshold`` (or k = max_iterations): stop;
else the selection is labelled by the reference process → the training set grows → ``grace.base_train`` trains
model k + 1 (fine-tuned from model k, or from scratch). Bookkeeping in :mod:`aiida_grace.common.active_learning`.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain, if_, while_
from aiida.plugins.entry_point import load_entry_point_from_string

from ..calculations.uncertainty import GraceSelectCalculation, GraceUncertaintyCalculation
from ..common.active_learning import ActiveLearningSettingsError, active_learning_settings, md_settings
from ..data import GraceDatasetData, GraceModelData, GraceUncertaintyData
from ..functions.active_learning import active_learning_plots, active_learning_table, exploration_pool, iteration_record
from ..functions.dataset import merge_datasets
from .base_evaluate import GraceBaseEvaluateWorkChain
from .base_md import GraceBaseMdWorkChain
from .base_train import GraceBaseTrainWorkChain
from .utils import define_code_ports, failure_reason, submit_child

__all__ = ("GraceActiveLearningWorkChain",)


def load_reference(entry_point: str):
    """The reference process class (or process function) of an entry-point string like
    ``aiida.calculations:grace.evaluate``."""
    return load_entry_point_from_string(entry_point)


def import_function(path: str):
    """The function of ``module.path:name``."""
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def validate_inputs(inputs, _):
    try:
        settings = active_learning_settings(inputs["parameters"].get_dict() if "parameters" in inputs else {})
    except ActiveLearningSettingsError as exception:
        return str(exception)
    model = inputs["model"]
    elements = set(inputs["dataset"].elements)
    for name, structure in inputs["structures"].items():
        elements |= {kind.symbol for kind in structure.kinds}
        if not all(structure.pbc):
            return f"start structure '{name}' must be periodic in all three directions"
    missing = elements - set(model.elements)
    if missing:
        return f"the training set or start structures contain {', '.join(sorted(missing))}, which model " \
               f"<{model.pk}> does not have"
    if not model.has_checkpoint:
        return f"model <{model.pk}> has no model.yaml + checkpoint (grace_uq and fine-tuning need them)"
    if settings["retrain"] == "scratch" and not settings["train"].get("potential"):
        return "retrain 'scratch' needs train.potential (the architecture of the new models)"
    try:
        load_reference(inputs["reference"]["process"].value)
    except Exception as exception:  # noqa: BLE001 (any failure to load is the user's to fix)
        return f"reference.process {inputs['reference']['process'].value!r} cannot be loaded: {exception}"
    if "builder" in inputs["reference"]:
        try:
            import_function(inputs["reference"]["builder"].value)
        except Exception as exception:  # noqa: BLE001
            return f"reference.builder {inputs['reference']['builder'].value!r} cannot be imported: {exception}"
    return None


class GraceActiveLearningWorkChain(WorkChain):
    """Grow a model's training set where the model extrapolates, until fresh exploration stays within it."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        define_code_ports(spec, "gracemaker (retraining).")
        spec.input("model", valid_type=GraceModelData, help="The starting model (with model.yaml + checkpoint).")
        spec.input("dataset", valid_type=GraceDatasetData, help="The starting model's training set.")
        spec.input("validation_dataset", valid_type=GraceDatasetData, required=False,
                   help="gracemaker's test set during retraining (checkpoint choice); default: none.")
        spec.input("test_dataset", valid_type=GraceDatasetData, required=False,
                   help="Held-out labelled structures (e.g. hot frames): errors of every iteration's model.")
        spec.input_namespace("structures", valid_type=orm.StructureData, dynamic=True,
                             help="Start structures of the exploration MD (periodic).")
        spec.input_namespace("reference", help="The reference that labels the selected frames.")
        spec.input("reference.process", valid_type=orm.Str,
                   help="Entry point of an AiiDA process returning labelled structures, e.g. "
                        "'aiida.calculations:grace.evaluate' (a teacher model) or "
                        "'aiida.calculations:grace.emt_labels' (EMT, for tests and tutorials).")
        spec.input_namespace("reference.inputs", dynamic=True, required=False, populate_defaults=False,
                             help="Further inputs of the reference process (e.g. model and code of a teacher).")
        spec.input("reference.builder", valid_type=orm.Str, required=False,
                   help="'module:function' called as function(dataset, inputs) → the process's inputs (a DFT "
                        "work chain's builder); default: {'dataset': selection, **inputs}.")
        spec.input("reference.output", valid_type=orm.Str, default=lambda: orm.Str("output_dataset"),
                   help="The reference process's output holding the labelled GraceDatasetData.")
        spec.input("parameters", valid_type=orm.Dict, required=False,
                   help="max_iterations, gamma_threshold, retrain (finetune/scratch), uncertainty, select, explore "
                        "(temperatures K + grace.md settings), train; see aiida_grace.common.active_learning.")
        spec.input("options", valid_type=dict, non_db=True, required=False,
                   help="metadata.options of every job (resources, queue, walltime).")
        spec.inputs.validator = validate_inputs

        spec.outline(
            cls.setup,
            while_(cls.should_explore)(
                cls.explore, cls.inspect_exploration,
                cls.measure, cls.inspect_measurement,
                if_(cls.should_learn)(
                    cls.label, cls.inspect_labels,
                    cls.retrain, cls.inspect_retraining,
                ),
            ),
            cls.results,
        )
        spec.output("model", valid_type=GraceModelData, help="The last model.")
        spec.output("dataset", valid_type=GraceDatasetData, help="The last model's training set.")
        spec.output("uncertainty", valid_type=GraceUncertaintyData, help="The last model's UQ artifacts.")
        spec.output_namespace("models", valid_type=GraceModelData, dynamic=True,
                              help="Model of every iteration (iteration_<k>).")
        spec.output_namespace("selections", valid_type=GraceDatasetData, dynamic=True,
                              help="Frames chosen in every iteration, unlabelled.")
        spec.output_namespace("labelled", valid_type=GraceDatasetData, dynamic=True,
                              help="The chosen frames labelled by the reference.")
        spec.output_namespace("records", valid_type=orm.Dict, dynamic=True,
                              help="Every iteration's γ statistics and test errors.")
        spec.output("summary", valid_type=orm.Dict, help="The iteration table (see active_learning_table).")
        spec.output_namespace("plots", valid_type=orm.SinglefileData, dynamic=True,
                              help="gamma_distribution.png and errors.png.")
        spec.exit_code(401, "ERROR_SUB_PROCESS_FAILED", message="the {step} of iteration {k} failed: {reason}")

    def setup(self):
        self.ctx.settings = active_learning_settings(
            self.inputs.parameters.get_dict() if "parameters" in self.inputs else {})
        self.ctx.iteration = 0
        self.ctx.model = self.inputs.model
        self.ctx.dataset = self.inputs.dataset
        self.ctx.converged = False
        self.ctx.done = False
        self.ctx.records = {}
        self.report(f"active learning from model <{self.inputs.model.pk}> on {self.inputs.dataset.n_structures} "
                    f"structures; up to {self.ctx.settings['max_iterations']} retrainings, γ threshold "
                    f"{self.ctx.settings['gamma_threshold']}")

    def _label(self, what: str) -> str:
        return f"iteration_{self.ctx.iteration}_{what}"

    def _fail(self, step: str, node):
        return self.exit_codes.ERROR_SUB_PROCESS_FAILED.format(step=step, k=self.ctx.iteration,
                                                               reason=failure_reason(node))

    def _metadata(self, label: str) -> dict:
        metadata = {"label": label, "call_link_label": label}
        if "options" in self.inputs:
            metadata["options"] = dict(self.inputs.options)
        return metadata

    def should_explore(self):
        return not self.ctx.done

    def explore(self):
        """UQ artifacts of the current model and MD from every start structure at every temperature, side by side."""
        settings = self.ctx.settings
        futures = {"uncertainty": self.submit(
            GraceUncertaintyCalculation, code=self.inputs.driver_code, model=self.ctx.model, dataset=self.ctx.dataset,
            parameters=orm.Dict(settings["uncertainty"]), metadata=self._metadata(self._label("uncertainty")))}
        for name, structure in sorted(self.inputs.structures.items()):
            for temperature in settings["explore"]["temperatures"]:
                key = f"md_{name}_{int(round(temperature))}K"
                futures[key] = submit_child(
                    self, GraceBaseMdWorkChain, "md", self._label(key), code=self.inputs.driver_code,
                    model=self.ctx.model, structure=structure,
                    parameters=orm.Dict(md_settings(settings["explore"], temperature)))
        return ToContext(**futures)

    def inspect_exploration(self):
        runs = {key: self.ctx[key] for key in self.ctx if isinstance(key, str) and key.startswith("md_")}
        for key, node in [("uncertainty", self.ctx.uncertainty), *sorted(runs.items())]:
            if not node.is_finished_ok:
                return self._fail(key, node)
        self.ctx.uq = self.ctx.uncertainty.outputs.uncertainty
        self.ctx.pool = exploration_pool(**{key: node.outputs.trajectory for key, node in runs.items()})
        for key in runs:
            del self.ctx[key]
        self.report(f"iteration {self.ctx.iteration}: UQ artifacts <{self.ctx.uq.pk}>, "
                    f"{self.ctx.pool.n_structures} frames explored")
        return None

    def measure(self):
        """γ of every explored frame and the selection; the test and training sets evaluated with γ."""
        datasets = {"training": self.ctx.dataset}
        if "test_dataset" in self.inputs:
            datasets["test"] = self.inputs.test_dataset
        evaluate = submit_child(self, GraceBaseEvaluateWorkChain, "evaluate", self._label("evaluate"),
                                code=self.inputs.driver_code, model=self.ctx.model, datasets=datasets,
                                uncertainty=self.ctx.uq)
        select = self.submit(GraceSelectCalculation, code=self.inputs.driver_code, model=self.ctx.model,
                             dataset=self.ctx.pool, uncertainty=self.ctx.uq,
                             parameters=orm.Dict(self.ctx.settings["select"]),
                             metadata=self._metadata(self._label("select")))
        return ToContext(evaluation=evaluate, selection=select)

    def inspect_measurement(self):
        for step in ("evaluation", "selection"):
            if not self.ctx[step].is_finished_ok:
                return self._fail(step, self.ctx[step])
        selection, evaluated = self.ctx.selection.outputs, self.ctx.evaluation.outputs.output_datasets
        self.ctx.selected = selection["selected"] if "selected" in selection else None
        record_inputs = {"pool_gamma": selection.pool_gamma, "threshold": orm.Float(self.ctx.settings["gamma_threshold"]),
                         "n_selected": orm.Int(self.ctx.selected.n_structures if self.ctx.selected else 0),
                         "training_set": evaluated["training"]}
        if "test_dataset" in self.inputs:
            record_inputs.update(test_reference=self.inputs.test_dataset, test_predicted=evaluated["test"])
        record = iteration_record(**record_inputs)
        self.ctx.records[f"iteration_{self.ctx.iteration}"] = record
        self.out(f"records.iteration_{self.ctx.iteration}", record)
        self.out(f"models.iteration_{self.ctx.iteration}", self.ctx.model)
        values = record.get_dict()
        errors = values.get("test_errors") or {}
        self.ctx.converged = values["n_extrapolative"] == 0
        self.report(f"iteration {self.ctx.iteration}: {values['n_extrapolative']} of {values['n_frames']} frames "
                    f"extrapolative (max γ {values['gamma_max']:.3g}, threshold {values['gamma_threshold']}), "
                    f"training max γ {values['training_gamma_max']:.3g}, {values['n_selected']} selected"
                    + (f"; test force RMSE {errors['forces_rmse']:.4g} eV/Å, energy MAE "
                       f"{1000 * errors['energy_per_atom_mae']:.3g} meV/atom" if "forces_rmse" in errors else ""))
        return None

    def should_learn(self):
        """Go on unless the exploration stayed in range, the iterations are spent or nothing qualified."""
        if self.ctx.converged:
            why = "every explored frame is below the γ threshold: converged"
        elif self.ctx.iteration >= self.ctx.settings["max_iterations"]:
            why = f"{self.ctx.settings['max_iterations']} retrainings done: stopping"
        elif self.ctx.selected is None:
            why = "no frame qualified for selection: stopping"
        else:
            return True
        self.report(f"iteration {self.ctx.iteration}: {why}")
        self.ctx.done = True
        return False

    def label(self):
        """The selection labelled by the reference process."""
        reference = self.inputs.reference
        process = load_reference(reference.process.value)
        extra = dict(reference.get("inputs", {}))
        if "builder" in reference:
            inputs = import_function(reference.builder.value)(self.ctx.selected, extra)
        else:
            inputs = {"dataset": self.ctx.selected, **extra}
        label = self._label("reference")
        if hasattr(process, "is_process_function") and process.is_process_function:
            _, node = process.run_get_node(**inputs, metadata={"label": label, "call_link_label": label})
            self.ctx.reference = node
            return None
        if not isinstance(inputs, dict):  # a ProcessBuilder
            inputs.metadata.label = label
            inputs.metadata.call_link_label = label
            return ToContext(reference=self.submit(inputs))
        return ToContext(reference=self.submit(process, **inputs, metadata=self._metadata(label)))

    def inspect_labels(self):
        node = self.ctx.reference
        if not node.is_finished_ok:
            return self._fail("reference labelling", node)
        labelled = node.outputs[self.inputs.reference.output.value]
        self.out(f"selections.iteration_{self.ctx.iteration}", self.ctx.selected)
        self.out(f"labelled.iteration_{self.ctx.iteration}", labelled)
        self.ctx.dataset = merge_datasets(a_previous=self.ctx.dataset, b_new=labelled)
        self.report(f"iteration {self.ctx.iteration}: {labelled.n_structures} frames labelled by <{node.pk}>; "
                    f"training set now {self.ctx.dataset.n_structures} structures")
        return None

    def retrain(self):
        settings = self.ctx.settings
        parameters = dict(settings["train"])
        inputs = {"code": self.inputs.code, "driver_code": self.inputs.driver_code, "dataset": self.ctx.dataset}
        if settings["retrain"] == "finetune":
            parameters["finetune"] = {"strategy": "naive"}
            inputs["parent_model"] = self.ctx.model
        if "validation_dataset" in self.inputs:
            inputs["test_dataset"] = self.inputs.validation_dataset
        future = submit_child(self, GraceBaseTrainWorkChain, "train", self._label("train"),
                              parameters=orm.Dict(parameters), **inputs)
        return ToContext(training=future)

    def inspect_retraining(self):
        if not self.ctx.training.is_finished_ok:
            return self._fail("retraining", self.ctx.training)
        self.ctx.model = self.ctx.training.outputs.model
        self.ctx.iteration += 1
        self.report(f"iteration {self.ctx.iteration}: model <{self.ctx.model.pk}> trained on "
                    f"{self.ctx.dataset.n_structures} structures")
        return None

    def results(self):
        table = active_learning_table(**self.ctx.records)
        self.out("summary", table)
        self.out("model", self.ctx.model)
        self.out("dataset", self.ctx.dataset)
        self.out("uncertainty", self.ctx.uq)
        self.out("plots", active_learning_plots(table=table, **self.ctx.records))
        summary = table.get_dict()
        self.report(f"{'converged' if summary['converged'] else 'not converged'} after "
                    f"{len(summary['iterations'])} exploration(s); max γ per iteration "
                    f"{[round(g, 3) for g in summary['gamma_max_per_iteration']]}; force RMSE first/last model "
                    f"{summary['force_rmse_reduction']}")
