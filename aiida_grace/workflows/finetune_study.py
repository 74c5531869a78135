"""``grace.finetune_study``: data efficiency and forgetting of fine-tuning strategies (paper Figs. 8-9)."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain
from aiida.plugins import WorkflowFactory

from ..calculations.validation import codes_apart, dict_port_validator, missing_elements
from ..common.finetune_study import (
    FINETUNE_STRATEGIES,
    PROBES,
    combination_name,
    strategy_problem,
    subset_name,
    validate_study_settings,
)
from ..common.train_input import loss_labels, merge, validate_parameters
from ..data import GraceDatasetData, GraceModelData
from ..functions.dataset import split_dataset
from ..functions.finetune_study import probe_results, study_errors, study_plots, study_table, training_subsets
from .base_evaluate import GraceBaseEvaluateWorkChain
from .base_train import GraceBaseTrainWorkChain
from .utils import define_code_ports, failure_reason, read_protocol, submit_child

__all__ = ("GraceFinetuneStudyWorkChain", "load_protocol", "scratch_architecture")

TRAIN_ENTRY_POINT = "aiida.calculations:grace.train"


def load_protocol(protocol: str | None = None, overrides: dict | None = None) -> dict:
    """Settings of ``protocol`` (default: the file's ``default_protocol``) with ``overrides`` merged on top."""
    return read_protocol("finetune_study", protocol, overrides)


def scratch_architecture(model: GraceModelData) -> dict | None:
    """``cutoff`` and ``potential`` of the grace.train job that trained ``model``'s lineage from scratch (following
    fine-tunings back through their parent models); None for a model that was imported, not trained here."""
    node = model
    while node is not None:
        creator = node.creator
        if creator is None or creator.process_type != TRAIN_ENTRY_POINT:
            return None
        parents = creator.base.links.get_incoming(link_label_filter="parent_model").all_nodes()
        if parents:
            node = parents[0]
            continue
        parameters = creator.base.links.get_incoming(link_label_filter="parameters").all_nodes()
        merged = validate_parameters(parameters[0].get_dict() if parameters else {})
        return {"cutoff": merged["cutoff"], "potential": merged["potential"]}
    return None


def probe_builder(name: str, settings: dict, code, model, inputs, options=None):
    """The builder of property probe ``name`` (its workflow's protocol and overrides) for ``model``."""
    probe = settings["probes"][name]
    reference = inputs.get("probe_references", {}).get(name)
    keyword = {"reference_tensors" if name == "elastic" else "reference": reference} if reference is not None else {}
    return WorkflowFactory(PROBES[name]).get_builder_from_protocol(
        code, model, dict(inputs["probe_structures"]), protocol=probe.get("protocol"),
        overrides=probe.get("overrides"), options=options, **keyword)


def probe_elements(inputs) -> set[str]:
    return {kind.symbol for structure in inputs.get("probe_structures", {}).values() for kind in structure.kinds}


def _validate_probes(settings: dict, inputs) -> str | None:
    """Probes need structures; their references name a probe; each probe's own checks pass for the parent."""
    probes = settings["probes"]
    if probes and not inputs.get("probe_structures"):
        return f"probes {', '.join(probes)} need probe_structures"
    unknown = set(inputs.get("probe_references", {})) - set(probes)
    if unknown:
        return f"probe_references {', '.join(sorted(unknown))} name no probe of the parameters"
    parent = inputs.get("parent_model")
    for name in probes if parent is not None else ():
        try:
            builder = probe_builder(name, settings, inputs["driver_code"], parent, inputs)
        except ValueError as exception:
            return f"probe {name}: {exception}"
        error = builder._process_class.spec().inputs.validate(builder._inputs(prune=True))
        if error is not None:
            return f"probe {name}: {error.message}"
    return None


def _validate_parent(parent, settings: dict, inputs) -> str | None:
    strategies = set(settings["strategies"])
    if parent is None:
        needing = sorted(strategies - {"from_scratch"})
        return f"strategies {', '.join(needing)} need a parent_model" if needing else None
    for port in ("dataset", "test_dataset", "original_dataset", "probe_structures"):
        if port in inputs:
            elements = probe_elements(inputs) if port == "probe_structures" else set(inputs[port].elements)
            message = missing_elements(parent, elements, what=f"{port} contains", role="parent_model")
            if message:
                return message
    if not parent.has_saved_model:
        return f"parent_model <{parent.pk}> has no SavedModel to evaluate with"
    if strategies & set(FINETUNE_STRATEGIES) and not parent.has_checkpoint:
        return f"parent_model <{parent.pk}> has no model.yaml + checkpoint, so it cannot be fine-tuned"
    for strategy in strategies:
        problem = strategy_problem(strategy, parent.base.attributes.get("architecture"))
        if problem:
            return problem
    if "from_scratch" in strategies and scratch_architecture(parent) is None and "potential" not in settings["scratch"]:
        return (f"from_scratch needs the parent's architecture: parent_model <{parent.pk}> was not trained by "
                f"grace.train here, so give scratch.potential (and scratch.cutoff) in the parameters")
    return None


def validate_inputs(inputs, _):
    """Settings valid; the parent covers every set's elements and suits the strategies; the training and test
    sets carry the labels the loss needs; both codes on one computer."""
    try:
        settings = validate_study_settings(inputs["parameters"].get_dict() if "parameters" in inputs else {})
    except ValueError as exception:
        return f"invalid fine-tuning study parameters: {exception}"
    message = _validate_parent(inputs.get("parent_model"), settings, inputs) or _validate_probes(settings, inputs)
    if message:
        return message
    needed = loss_labels(validate_parameters(settings["training"]))
    for port in ("dataset", "test_dataset"):
        missing = needed - set(inputs[port].labels)
        if missing:
            return f"{port} <{inputs[port].pk}> lacks {', '.join(sorted(missing))} for some structure"
    n_train = inputs["dataset"].n_structures
    if n_train < 2:
        return f"dataset has {n_train} structure(s); the study needs at least 2 (one is held out for validation)"
    return codes_apart(inputs)


class GraceFinetuneStudyWorkChain(WorkChain):
    """Fine-tune a parent model with several strategies on growing parts of a downstream dataset, train the same
    architecture from scratch beside them, and measure each model on a held-out downstream test set and on the
    parent's original data (forgetting).

    validation part held out of ``dataset`` → nested subsets per (fraction, seed) → every (strategy, subset)
    trained side by side through ``grace.base_train`` → every model (and the zero-shot parent) evaluated in one
    ``grace.base_evaluate`` job on the test and original sets pooled → errors by element group (atoms of the
    downstream data's elements vs the rest) → ``table`` and the ``data_efficiency`` and ``forgetting`` plots.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        define_code_ports(spec, "gracemaker.")
        spec.input("parent_model", valid_type=GraceModelData, required=False,
                   help="The model to fine-tune (model.yaml + checkpoint + SavedModel); without it only from_scratch.")
        spec.input("dataset", valid_type=GraceDatasetData,
                   help="Downstream training data (energy, forces; stress if the loss uses it).")
        spec.input("test_dataset", valid_type=GraceDatasetData,
                   help="Held-out downstream structures: never trained on or used to pick checkpoints.")
        spec.input("original_dataset", valid_type=GraceDatasetData, required=False,
                   help="Data of the parent's domain, to measure what each strategy forgets.")
        spec.input_namespace("probe_structures", valid_type=orm.StructureData, dynamic=True, required=False,
                             help="Bulk structures the property probes (parameters.probes) run on, for every model.")
        spec.input_namespace("probe_references", valid_type=(orm.Dict, orm.ArrayData), dynamic=True, required=False,
                             help="Reference values per probe: the probe workflow's reference (elastic: "
                                  "reference_tensors).")
        spec.input("parameters", valid_type=orm.Dict, default=lambda: orm.Dict(load_protocol()),
                   validator=dict_port_validator(validate_study_settings, "fine-tuning study parameters"),
                   help="strategies, fractions, seeds, validation_fraction, reduce_elements, training, scratch, "
                        "probes; see "
                        "aiida_grace.common.finetune_study.")
        spec.input("options", valid_type=dict, non_db=True, required=False,
                   help="metadata.options of every child job (resources, max_wallclock_seconds...).")
        spec.inputs.validator = validate_inputs

        spec.outline(cls.setup, cls.train, cls.inspect_training, cls.evaluate, cls.inspect_evaluation, cls.analyse)

        spec.output_namespace("models", valid_type=GraceModelData, dynamic=True,
                              help="Every trained model by combination name (strategy_pctNN_seedS).")
        spec.output("table", valid_type=orm.Dict,
                    help="Per combination: strategy, fraction, seed, n_train and errors (downstream, original) by "
                         "element group (all, new, other): MAE/RMSE of energy per atom (eV/atom) and forces (eV/Å); "
                         "original_energy_change (eV); probes: each probe's values and scores; the new elements "
                         "and the forgetting Pareto fronts.")
        spec.output("data_efficiency", valid_type=orm.SinglefileData, help="Errors against training-set size (PNG).")
        spec.output("forgetting", valid_type=orm.SinglefileData, required=False,
                    help="Downstream against original-set energy and force MAE, with the Pareto fronts (PNG).")
        spec.default_output_node = "table"

        spec.exit_code(401, "ERROR_TRAINING_FAILED", message="every training job failed: {message}")
        spec.exit_code(402, "ERROR_EVALUATION_FAILED", message="evaluation job(s) failed: {message}")
        spec.exit_code(403, "ERROR_SOME_COMBINATIONS_FAILED",
                       message="the study is complete except for the failed training of {message}")

    @classmethod
    def get_builder_from_protocol(cls, code, driver_code, dataset, test_dataset, parent_model=None,
                                  original_dataset=None, protocol=None, overrides=None, options=None):
        """A builder with the settings of ``protocol`` (fast, balanced, stringent), ``overrides`` merged on top."""
        builder = cls.get_builder()
        builder.code, builder.driver_code = code, driver_code
        builder.dataset, builder.test_dataset = dataset, test_dataset
        if parent_model is not None:
            builder.parent_model = parent_model
        if original_dataset is not None:
            builder.original_dataset = original_dataset
        builder.parameters = orm.Dict(load_protocol(protocol, overrides))
        if options:
            builder.options = dict(options)
        return builder

    # -- helpers ----------------------------------------------------------------------------------------
    def _training_parameters(self, strategy: str, seed: int) -> dict:
        """grace.train parameters of one job: the study's ``training``, and the strategy and seed."""
        settings = self.ctx.settings
        if strategy != "from_scratch":
            finetune = {"strategy": strategy, "reduce_elements": settings["reduce_elements"]}
            return merge(settings["training"], {"finetune": finetune, "seed": seed})
        return merge(merge(merge(settings["training"], self.ctx.architecture), settings["scratch"]), {"seed": seed})

    # -- steps ------------------------------------------------------------------------------------------
    def setup(self):
        settings = self.ctx.settings = validate_study_settings(self.inputs.parameters.get_dict())
        split = split_dataset(self.inputs.dataset, orm.Float(settings["validation_fraction"]), orm.Int(0))
        self.ctx.validation = split["test"]
        self.ctx.subsets = training_subsets(split["train"], orm.List(settings["fractions"]),
                                            orm.List(settings["seeds"]))
        self.ctx.new_elements = sorted(self.inputs.dataset.elements)
        # from_scratch: the parent lineage's architecture, looked up once (an imported parent: scratch gives it)
        parent = self.inputs.get("parent_model")
        self.ctx.architecture = (scratch_architecture(parent) if parent is not None else None) or {}
        self.ctx.combinations = {}
        if "zero_shot" in settings["strategies"]:
            self.ctx.combinations["zero_shot"] = {"strategy": "zero_shot", "fraction": 0.0, "seed": None, "n_train": 0}
        for fraction in settings["fractions"]:
            for seed in settings["seeds"]:
                subset = subset_name(fraction, seed)
                for strategy in settings["strategies"]:
                    if strategy != "zero_shot":
                        self.ctx.combinations[combination_name(strategy, subset)] = {
                            "strategy": strategy, "fraction": fraction, "seed": seed,
                            "n_train": self.ctx.subsets[subset].n_structures}
        self.report(f"{len(self.ctx.combinations)} combinations of {', '.join(settings['strategies'])} over "
                    f"{len(self.ctx.subsets)} training subsets of {split['train'].n_structures} structures "
                    f"({self.ctx.validation.n_structures} held out for validation); new elements "
                    f"{'-'.join(self.ctx.new_elements)}")

    def train(self):
        futures = {}
        for name, combination in self.ctx.combinations.items():
            if combination["strategy"] == "zero_shot":
                continue
            subset = self.ctx.subsets[subset_name(combination["fraction"], combination["seed"])]
            inputs = {"parent_model": self.inputs.parent_model} if combination["strategy"] != "from_scratch" else {}
            futures[f"train_{name}"] = submit_child(
                self, GraceBaseTrainWorkChain, "train", f"train_{name}", code=self.inputs.code,
                driver_code=self.inputs.driver_code, dataset=subset, test_dataset=self.ctx.validation,
                parameters=orm.Dict(self._training_parameters(combination["strategy"], combination["seed"])),
                **inputs)
        self.report(f"training {len(futures)} models side by side")
        return ToContext(**futures)

    def inspect_training(self):
        self.ctx.models, self.ctx.failed = {}, {}
        if "zero_shot" in self.ctx.combinations:
            self.ctx.models["zero_shot"] = self.inputs.parent_model
        for name in self.ctx.combinations:
            node = self.ctx.get(f"train_{name}")
            if node is None:
                continue
            if node.is_finished_ok:
                self.ctx.models[name] = node.outputs.model
                self.out(f"models.{name}", node.outputs.model)
            else:
                self.ctx.failed[name] = failure_reason(node)
                self.report(f"training {name} <{node.pk}> failed: {self.ctx.failed[name]}")
        if not set(self.ctx.models) - {"zero_shot"} and self.ctx.failed:
            return self.exit_codes.ERROR_TRAINING_FAILED.format(
                message="; ".join(f"{name}: {reason}" for name, reason in sorted(self.ctx.failed.items())))

    def _evaluation_sets(self, model) -> dict:
        """The sets ``model`` is evaluated on: the downstream test set, and the original set when the model
        knows all its elements (a from-scratch or element-reduced model knows only the downstream data's)."""
        sets = {"downstream": self.inputs.test_dataset}
        original = self.inputs.get("original_dataset")
        if original is not None and set(original.elements) <= set(model.elements):
            sets["original"] = original
        return sets

    def evaluate(self):
        futures = {}
        for name, model in self.ctx.models.items():
            futures[f"evaluate_{name}"] = submit_child(
                self, GraceBaseEvaluateWorkChain, "evaluate", f"evaluate_{name}", code=self.inputs.driver_code,
                model=model, datasets=self._evaluation_sets(model))
        sets = "test and original sets" if "original_dataset" in self.inputs else "test set"
        self.report(f"evaluating {len(futures)} models on the {sets}, one job per model")
        options = dict(self.inputs.options) if "options" in self.inputs else None
        for name, model in self.ctx.models.items():
            if not probe_elements(self.inputs) <= set(model.elements):
                continue
            for probe in self.ctx.settings["probes"]:
                builder = probe_builder(probe, self.ctx.settings, self.inputs.driver_code, model, self.inputs, options)
                label = f"probe_{probe}_{name}"
                builder.metadata.label, builder.metadata.call_link_label = label, label
                futures[label] = self.submit(builder)
        if self.ctx.settings["probes"]:
            self.report(f"property probes {', '.join(self.ctx.settings['probes'])} on every model that has the "
                        f"probe structures' elements")
        return ToContext(**futures)

    def inspect_evaluation(self):
        failed = [self.ctx[f"evaluate_{name}"] for name in self.ctx.models
                  if not self.ctx[f"evaluate_{name}"].is_finished_ok]
        if failed:
            return self.exit_codes.ERROR_EVALUATION_FAILED.format(
                message="; ".join(f"{node.label} <{node.pk}>: {failure_reason(node)}" for node in failed))

    def _probes_of(self, name: str) -> orm.Dict | None:
        """The probes' values and scores of model ``name`` (probes that failed are reported and left out)."""
        outputs = {}
        for probe in self.ctx.settings["probes"]:
            node = self.ctx.get(f"probe_{probe}_{name}")
            if node is None:
                continue
            if not node.is_finished_ok:
                self.report(f"probe {probe} of {name} <{node.pk}> failed: {failure_reason(node)}")
            per_structure = node.outputs["output_parameters"] if "output_parameters" in node.outputs else {}
            for structure, values in per_structure.items():
                outputs[f"{probe}_values_{structure}"] = values
            if "scores" in node.outputs:
                outputs[f"{probe}_scores"] = node.outputs.scores
        return probe_results(**outputs) if outputs else None

    def analyse(self):
        predictions = {name: self.ctx[f"evaluate_{name}"].outputs.output_datasets for name in self.ctx.models}
        zero_shot = predictions.get("zero_shot", {}).get("original")
        new_elements = orm.List(self.ctx.new_elements)
        errors = {}
        for name, predicted in predictions.items():
            inputs = {"downstream_reference": self.inputs.test_dataset, "downstream_predicted": predicted["downstream"]}
            if "original" in predicted:
                inputs.update(original_reference=self.inputs.original_dataset, original_predicted=predicted["original"])
                if zero_shot is not None and name != "zero_shot":
                    inputs["zero_shot_original"] = zero_shot
            errors[name] = study_errors(new_elements, **inputs)
        described = {name: self.ctx.combinations[name] for name in errors}
        probes = {f"probes_{name}": self._probes_of(name) for name in errors}
        table = study_table(orm.Dict(described), new_elements, **errors,
                            **{key: node for key, node in probes.items() if node is not None})
        self.out("table", table)
        for name, plot in study_plots(table).items():
            self.out(name, plot)
        for name in sorted(errors):
            row = table["combinations"][name]
            original = row.get("original", {}).get("all", {}).get("forces", {}).get("mae")
            self.report(f"{name}: test force MAE {row['downstream']['all']['forces']['mae']:.4f} eV/Å"
                        + (f", original {original:.4f} eV/Å" if original is not None else ""))
        if self.ctx.failed:
            return self.exit_codes.ERROR_SOME_COMBINATIONS_FAILED.format(message=", ".join(sorted(self.ctx.failed)))
