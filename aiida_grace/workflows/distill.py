"""``grace.distill``: label a distillation set with a teacher GRACE model and train a GRACE-FS student on it."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain, append_, if_

from ..calculations.validation import codes_apart, dict_port_validator, missing_elements
from ..common.distill_input import (
    finetune_parameters,
    student_parameters,
    validate_distill_settings,
)
from ..data import GraceDatasetData, GraceModelData
from ..functions.dataset import merge_datasets, split_dataset
from ..functions.distill import (
    batch_by_size,
    dataset_from_structures,
    distillation_metrics,
    distillation_set,
    speed_cells,
    speed_comparison,
)
from .base_evaluate import GraceBaseEvaluateWorkChain
from .base_train import GraceBaseTrainWorkChain
from .utils import define_code_ports, failure_reason, read_protocol, submit_child

__all__ = ("GraceDistillWorkChain", "load_protocol")

FINETUNE_LABELS = {"energy", "forces"}


def load_protocol(protocol: str | None = None, overrides: dict | None = None) -> dict:
    """Settings of ``protocol`` (default: the file's ``default_protocol``) with ``overrides`` merged on top."""
    return read_protocol("distill", protocol, overrides)


def downstream_elements(inputs) -> set[str]:
    """Elements of the downstream structures, from the dataset or the structures namespace."""
    if "dataset" in inputs:
        return set(inputs["dataset"].elements)
    return {kind.symbol for structure in inputs.get("structures", {}).values() for kind in structure.kinds}


def validate_inputs(inputs, _):
    """One source of downstream structures; the teacher has all their elements and a SavedModel; fine-tuning
    needs labelled downstream data and a teacher checkpoint; both codes on one computer."""
    has_dataset, has_structures = "dataset" in inputs, bool(inputs.get("structures"))
    if has_dataset == has_structures:
        return "give exactly one of 'dataset' or 'structures' (the downstream structures)"
    teacher = inputs["teacher"]
    message = missing_elements(teacher, downstream_elements(inputs), what="the downstream structures contain",
                               role="teacher")
    if message:
        return message
    if not teacher.has_saved_model:
        return f"teacher <{teacher.pk}> has no SavedModel to label structures with"
    try:
        settings = validate_distill_settings(inputs["parameters"].get_dict() if "parameters" in inputs else {})
    except ValueError as exception:
        return f"invalid distillation parameters: {exception}"
    if settings["finetune"]["enabled"]:
        if not has_dataset or not FINETUNE_LABELS <= set(inputs["dataset"].labels):
            return "fine-tuning the teacher needs a downstream dataset whose structures all carry energy and forces"
        if not teacher.has_checkpoint:
            return f"fine-tuning needs a teacher with model.yaml + checkpoint, and <{teacher.pk}> has none"
    return codes_apart(inputs)


class GraceDistillWorkChain(WorkChain):
    """Distil a teacher GRACE model into a GRACE-FS student (the paper's "extended distillation").

    (optional: fine-tune the teacher on the labelled downstream data) → distillation set (downstream
    structures + unary and binary crystals: ideal, equation-of-state strains, rattled) → teacher labels in
    ``grace.evaluate`` jobs batched by size → held-out split → FS student trained from scratch → student
    (C++ FS) against teacher on the held-out part and against the reference labels → time per atom of both
    on the same cells. Every job runs through its restart wrapper (``grace.base_train``,
    ``grace.base_evaluate``), so a walltime continues it rather than failing the distillation.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        define_code_ports(spec, "gracemaker (trains the student, fine-tunes the teacher).")
        spec.input("teacher", valid_type=GraceModelData, help="The teacher model (needs a SavedModel).")
        spec.input("dataset", valid_type=GraceDatasetData, required=False,
                   help="Downstream structures; their labels, if any, give the errors against the reference and "
                        "allow fine-tuning the teacher.")
        spec.input_namespace("structures", valid_type=orm.StructureData, dynamic=True, required=False,
                             help="Alternatively, unlabelled downstream structures by name.")
        spec.input("parameters", valid_type=orm.Dict, default=lambda: orm.Dict(load_protocol()),
                   validator=dict_port_validator(validate_distill_settings, "distillation parameters"),
                   help="synthetic, labelling, validation, student, finetune, speed; see "
                        "aiida_grace.common.distill_input.")
        spec.input("options", valid_type=dict, non_db=True, required=False,
                   help="metadata.options of every child job (resources, max_wallclock_seconds...).")
        spec.inputs.validator = validate_inputs

        spec.outline(
            cls.setup,
            if_(cls.should_finetune)(
                cls.finetune_teacher,
                cls.inspect_finetune,
            ),
            cls.label,
            cls.inspect_labelling,
            cls.train_student,
            cls.inspect_student,
            cls.validate_student,
            cls.inspect_validation,
            if_(cls.should_time)(
                cls.time_teacher,
                cls.time_student,
                cls.compare_speed,
            ),
        )

        spec.output("labelled_dataset", valid_type=GraceDatasetData,
                    help="The distillation set labelled by the teacher (energy eV, forces eV/Å, stress eV/Å³).")
        spec.output("student", valid_type=GraceModelData,
                    help="The GRACE-FS student (SavedModel, checkpoint, FS_model.yaml for python-ace/LAMMPS).")
        spec.output("teacher", valid_type=GraceModelData, required=False,
                    help="The fine-tuned teacher that labelled the set (with finetune.enabled).")
        spec.output("metrics", valid_type=orm.Dict,
                    help="Student against teacher on the held-out part (all, downstream, unary, binary) and "
                         "student/teacher against the reference labels; eV/atom, eV/Å, GPa.")
        spec.output("speed", valid_type=orm.Dict, required=False,
                    help="Warm time per atom (s/atom) of the teacher (TensorFlow) and the student (C++ FS) on the "
                         "same cells, and the speedup.")
        spec.default_output_node = "metrics"

        # 4xx: a child job failed
        spec.exit_code(401, "ERROR_FINETUNE_FAILED", message="fine-tuning the teacher <{pk}> failed: {message}")
        spec.exit_code(402, "ERROR_LABELLING_FAILED", message="teacher labelling job(s) failed: {message}")
        spec.exit_code(403, "ERROR_STUDENT_TRAINING_FAILED", message="training the student <{pk}> failed: {message}")
        spec.exit_code(404, "ERROR_VALIDATION_FAILED", message="evaluating the student failed: {message}")
        spec.exit_code(405, "ERROR_TIMING_FAILED", message="the timing job <{pk}> failed: {message}")

    @classmethod
    def get_builder_from_protocol(cls, code, driver_code, teacher, downstream, protocol=None, overrides=None,
                                  options=None):
        """A builder for distilling ``teacher`` on ``downstream`` (a GraceDatasetData, or a list of
        StructureData or ASE Atoms) with the settings of ``protocol`` (fast, balanced, stringent) and
        ``overrides`` merged on top."""
        builder = cls.get_builder()
        builder.code = code
        builder.driver_code = driver_code
        builder.teacher = teacher
        if isinstance(downstream, GraceDatasetData):
            builder.dataset = downstream
        else:
            builder.structures = {
                f"s{i:04d}": s if isinstance(s, orm.StructureData) else orm.StructureData(ase=s)
                for i, s in enumerate(downstream)}
        builder.parameters = orm.Dict(load_protocol(protocol, overrides))
        if options:
            builder.options = options
        return builder

    # -- helpers ----------------------------------------------------------------------------------
    def _evaluate(self, model, dataset, label: str, calculator: str):
        return submit_child(self, GraceBaseEvaluateWorkChain, "evaluate", label, code=self.inputs.driver_code,
                            model=model, dataset=dataset, parameters=orm.Dict({"calculator": calculator}))

    def _train(self, label: str, dataset, parameters: dict, **inputs):
        return submit_child(self, GraceBaseTrainWorkChain, "train", label, code=self.inputs.code,
                            driver_code=self.inputs.driver_code, dataset=dataset, parameters=orm.Dict(parameters),
                            **inputs)

    # -- steps ------------------------------------------------------------------------------------
    def setup(self):
        self.ctx.settings = validate_distill_settings(self.inputs.parameters.get_dict())
        if "dataset" in self.inputs:
            self.ctx.downstream = self.inputs.dataset
        else:
            self.ctx.downstream = dataset_from_structures(**self.inputs.structures)
        self.ctx.teacher = self.inputs.teacher
        self.report(f"distilling teacher <{self.ctx.teacher.pk}> on {self.ctx.downstream.n_structures} downstream "
                    f"structures ({'-'.join(self.ctx.downstream.elements)})")

    def should_finetune(self):
        return self.ctx.settings["finetune"]["enabled"]

    def finetune_teacher(self):
        future = self._train("finetune_teacher", self.ctx.downstream, finetune_parameters(self.ctx.settings),
                             parent_model=self.inputs.teacher)
        self.report(f"fine-tuning the teacher on the labelled downstream data in <{future.pk}>")
        return ToContext(finetune=future)

    def inspect_finetune(self):
        node = self.ctx.finetune
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_FINETUNE_FAILED.format(pk=node.pk, message=failure_reason(node))
        self.ctx.teacher = node.outputs.model
        self.out("teacher", self.ctx.teacher)
        metrics = node.outputs.output_parameters
        self.report(f"fine-tuned teacher <{self.ctx.teacher.pk}>: test force MAE "
                    f"{metrics.get('test_forces_mae', float('nan')):.4f} eV/Å")

    def label(self):
        synthetic = distillation_set(self.ctx.downstream, orm.Dict(self.ctx.settings["synthetic"]))
        batches = batch_by_size(synthetic, orm.Int(self.ctx.settings["labelling"]["max_structures_per_job"]))
        for name in sorted(batches):
            future = self._evaluate(self.ctx.teacher, batches[name], f"label_{name}", "tensorflow")
            self.to_context(labelling=append_(future))
        self.report(f"labelling {synthetic.n_structures} structures ({synthetic.base.attributes.get('n_atoms')} "
                    f"atoms) with the teacher in {len(batches)} job(s) batched by size")

    def inspect_labelling(self):
        failed = [node for node in self.ctx.labelling if not node.is_finished_ok]
        if failed:
            return self.exit_codes.ERROR_LABELLING_FAILED.format(
                message="; ".join(f"<{node.pk}> {failure_reason(node)}" for node in failed))
        labelled = merge_datasets(**{node.label: node.outputs.output_dataset for node in self.ctx.labelling})
        self.ctx.labelled = labelled
        self.out("labelled_dataset", labelled)
        validation = self.ctx.settings["validation"]
        split = split_dataset(labelled, orm.Float(validation["held_out_fraction"]), orm.Int(validation["seed"]))
        self.ctx.train, self.ctx.held_out = split["train"], split["test"]
        self.report(f"labelled set <{labelled.pk}>: {self.ctx.train.n_structures} for training, "
                    f"{self.ctx.held_out.n_structures} held out")

    def train_student(self):
        parameters = student_parameters(self.ctx.settings, stress="stress" in self.ctx.train.labels)
        future = self._train("train_student", self.ctx.train, parameters)
        self.report(f"training the FS student from scratch ({parameters['fit']['maxiter']} epochs, cutoff "
                    f"{parameters['cutoff']} Å) in <{future.pk}>")
        return ToContext(student_training=future)

    def inspect_student(self):
        node = self.ctx.student_training
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_STUDENT_TRAINING_FAILED.format(pk=node.pk, message=failure_reason(node))
        self.ctx.student = node.outputs.model
        self.out("student", self.ctx.student)
        self.report(f"student <{self.ctx.student.pk}>: {self.ctx.student.base.attributes.get('n_parameters')} "
                    f"parameters, FS yaml {self.ctx.student.has_fs_yaml}")

    def validate_student(self):
        futures = {"validate_held_out": self._evaluate(self.ctx.student, self.ctx.held_out, "validate_held_out",
                                                       "fs_cpp")}
        if self.ctx.downstream.labels:
            futures["validate_downstream"] = self._evaluate(self.ctx.student, self.ctx.downstream,
                                                            "validate_downstream", "fs_cpp")
        return ToContext(**futures)

    def inspect_validation(self):
        nodes = [self.ctx.validate_held_out] + ([self.ctx.validate_downstream] if "validate_downstream" in self.ctx
                                                else [])
        failed = [node for node in nodes if not node.is_finished_ok]
        if failed:
            return self.exit_codes.ERROR_VALIDATION_FAILED.format(
                message="; ".join(f"<{node.pk}> {failure_reason(node)}" for node in failed))
        downstream = {}
        if "validate_downstream" in self.ctx:
            downstream = {"reference": self.ctx.downstream, "teacher_labelled": self.ctx.labelled,
                          "student": self.ctx.validate_downstream.outputs.output_dataset}
        metrics = distillation_metrics(self.ctx.held_out, self.ctx.validate_held_out.outputs.output_dataset,
                                       **downstream)
        self.out("metrics", metrics)
        errors = metrics["student_vs_teacher"]
        self.report("student vs teacher (held out), force MAE eV/Å: " + ", ".join(
            f"{group} {errors[group]['forces_mae']:.4f}" for group in ("all", "downstream", "unary", "binary")
            if group in errors and "forces_mae" in errors[group]))
        if "student_vs_reference" in metrics.get_dict():
            self.report(f"downstream force MAE vs reference: student "
                        f"{metrics['student_vs_reference'].get('forces_mae', float('nan')):.4f}, teacher "
                        f"{metrics['teacher_vs_reference'].get('forces_mae', float('nan')):.4f} eV/Å")

    def should_time(self):
        return self.ctx.settings["speed"]["enabled"]

    def time_teacher(self):
        speed = self.ctx.settings["speed"]
        self.ctx.speed_cells = speed_cells(self.ctx.downstream, orm.Int(speed["min_atoms"]), orm.Int(speed["repeats"]))
        # one timing job at a time, so that teacher and student do not share the cores
        return ToContext(time_teacher=self._evaluate(self.ctx.teacher, self.ctx.speed_cells, "time_teacher",
                                                     "tensorflow"))

    def time_student(self):
        node = self.ctx.time_teacher
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_TIMING_FAILED.format(pk=node.pk, message=failure_reason(node))
        return ToContext(time_student=self._evaluate(self.ctx.student, self.ctx.speed_cells, "time_student",
                                                     "fs_cpp"))

    def compare_speed(self):
        node = self.ctx.time_student
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_TIMING_FAILED.format(pk=node.pk, message=failure_reason(node))
        speed = speed_comparison(self.ctx.speed_cells, self.ctx.time_teacher.outputs.output_parameters,
                                 node.outputs.output_parameters)
        self.out("speed", speed)
        self.report(f"{speed['n_atoms']}-atom cells: teacher {speed['teacher_seconds_per_atom'] * 1e6:.0f} µs/atom "
                    f"(TensorFlow), student {speed['student_seconds_per_atom'] * 1e6:.0f} µs/atom (C++ FS): "
                    f"{speed['speedup']:.1f}x")
