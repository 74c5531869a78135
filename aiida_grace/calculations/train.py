"""``grace.train``: train a GRACE model with gracemaker, from a preset or by fine-tuning a parent model."""

from __future__ import annotations


import yaml
from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..common.train_input import (
    loss_labels,
    render_input,
    validate_parameters,
    wants_fs_export,
)
from ..data import GraceDatasetData, GraceModelData
from ..data.model import ModelIntegrityError
from ..common.files import TRAIN
from .caching import ReusedOnlyIfFinishedOk
from .validation import codes_apart, dict_port_validator

__all__ = ("GraceTrainCalculation",)

CHECKPOINT_STDOUT = "checkpoint.out"  # restarts: what the driver's check-checkpoint found and did


def _missing_labels(dataset: GraceDatasetData, needed: set[str]) -> set[str]:
    """Labels the loss needs that some structure of ``dataset`` lacks (stress only for periodic cells)."""
    return {label for label in needed if label not in dataset.labels}


def validate_inputs(inputs, _):
    """Cross-checks: labels the loss needs, parent model usable, elements covered, codes on one computer."""
    parameters = validate_parameters(inputs["parameters"].get_dict()) if "parameters" in inputs else \
        validate_parameters({})
    needed = loss_labels(parameters)
    for port in ("dataset", "test_dataset"):
        dataset = inputs.get(port)
        if dataset is None:
            continue
        missing = _missing_labels(dataset, needed)
        if missing:
            return (f"the loss uses {', '.join(sorted(missing))} but {port} <{dataset.pk}> does not carry "
                    f"{'it' if len(missing) == 1 else 'them'} for every structure "
                    f"(label counts: {dataset.base.attributes.get('label_counts')})")
    parent = inputs.get("parent_model")
    finetune = parameters.get("finetune")
    if finetune is not None and parent is None:
        return "the parameters have a 'finetune' section but no parent_model is given"
    if parent is not None:
        if not parent.has_checkpoint:
            return f"parent_model <{parent.pk}> has no model.yaml + checkpoint, so it cannot be fine-tuned"
        try:
            parent.verify()
        except ModelIntegrityError as exception:
            return str(exception)
        reduce = (finetune or {}).get("reduce_elements", False)
        missing = set(inputs["dataset"].elements) - set(parent.elements)
        if missing and not reduce:
            return (f"the training data has element(s) {', '.join(sorted(missing))} that parent_model "
                    f"<{parent.pk}> does not have ({', '.join(parent.elements)})")
        if missing and reduce:
            return f"reduce_elements cannot add element(s) {', '.join(sorted(missing))} absent from the parent"
    return codes_apart(inputs)


def exports_fs_yaml(inputs) -> bool:
    """Whether the job asks gracemaker for an FS yaml (FS preset or FS parent, unless export_fs is false)."""
    parameters = validate_parameters(inputs["parameters"].get_dict() if "parameters" in inputs else {})
    parent = inputs["parent_model"] if "parent_model" in inputs else None
    return wants_fs_export(parameters, parent.base.attributes.get("architecture") if parent is not None else None)


class GraceTrainCalculation(ReusedOnlyIfFinishedOk, CalcJob):
    """Train or fine-tune a GRACE model with the real ``gracemaker``.

    The driver (``aiida-grace-driver``) first turns the datasets into gracemaker's pandas pickles; then
    gracemaker trains (with ``-sf`` for FS models, so it also writes the FS yaml).
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs["metadata"]["options"]["parser_name"].default = "grace.train"
        spec.inputs["metadata"]["options"]["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        spec.inputs["metadata"]["options"]["withmpi"].default = False

        spec.input("driver_code", valid_type=orm.AbstractCode,
                   help="The aiida-grace driver on the same computer (converts datasets for gracemaker).")
        spec.input("dataset", valid_type=GraceDatasetData, help="Training structures with labels.")
        spec.input("test_dataset", valid_type=GraceDatasetData, required=False,
                   help="Test structures; without it gracemaker holds out data.test_size of the training set.")
        spec.input("parameters", valid_type=orm.Dict, required=False,
                   validator=dict_port_validator(validate_parameters, "training parameters"),
                   help="gracemaker settings (seed, cutoff, data, potential, fit) and an optional finetune "
                        "section; see aiida_grace.common.train_input. Unknown keys are refused.")
        spec.input("parent_model", valid_type=GraceModelData, required=False,
                   help="Model to fine-tune (needs model.yaml + checkpoint).")
        spec.input("parent_folder", valid_type=orm.RemoteData, required=False,
                   help="Remote folder of an interrupted grace.train job: continue from its latest checkpoint.")
        spec.inputs.validator = validate_inputs

        spec.output("model", valid_type=GraceModelData, help="The trained model.")
        spec.output("output_parameters", valid_type=orm.Dict,
                    help="Final metrics (train and test MAE/RMSE of energy per atom, forces, stress) and run facts.")
        spec.output("learning_curve", valid_type=orm.ArrayData, help="Metrics per epoch, train and test.")
        spec.output("log", valid_type=orm.SinglefileData, help="gracemaker's log.txt.")
        spec.output("checkpoint", valid_type=GraceModelData, required=False,
                    help="The latest checkpoint when training stopped early (walltime), for restarts.")
        spec.default_output_node = "output_parameters"

        # 3xx: outputs missing or unparseable
        spec.exit_code(301, "ERROR_MISSING_LOG", message="gracemaker wrote no log.txt: it did not start. {detail}")
        spec.exit_code(302, "ERROR_MISSING_MODEL", message="gracemaker finished without a final_model: {detail}")
        spec.exit_code(303, "ERROR_MISSING_METRICS", message="gracemaker wrote no train_metrics.yaml.")
        spec.exit_code(304, "ERROR_MISSING_FS_YAML", message="gracemaker -sf wrote no FS_model.yaml.")
        spec.exit_code(305, "ERROR_INVALID_MODEL", message="the trained model cannot be read: {exception}")
        # 4xx: recoverable
        spec.exit_code(400, "ERROR_OUT_OF_WALLTIME", message="training hit the walltime; a checkpoint is kept.",
                       invalidates_cache=True)
        spec.exit_code(401, "ERROR_NAN_LOSS", message="the loss became NaN at epoch {epoch}; lower the learning rate.")
        spec.exit_code(402, "ERROR_OUT_OF_MEMORY", message="training ran out of memory; lower the batch size.")

    def prepare_for_submission(self, folder):
        parameters = validate_parameters(self.inputs.parameters.get_dict() if "parameters" in self.inputs else {})
        parent = self.inputs.get("parent_model")
        local_copy_list = [(self.inputs.dataset.uuid, GraceDatasetData.FILENAME, TRAIN.train_xyz)]
        convert_args = ["to-dataframe", TRAIN.train_xyz, TRAIN.train_pkl]
        if "test_dataset" in self.inputs:
            local_copy_list.append((self.inputs.test_dataset.uuid, GraceDatasetData.FILENAME, TRAIN.test_xyz))
            convert_args += [TRAIN.test_xyz, TRAIN.test_pkl]

        parent_yaml = parent_checkpoint = None
        if parent is not None:
            folder.get_subfolder(TRAIN.parent_dir, create=True)
            for name in parent.file_names():
                if name == "model.yaml" or name.startswith("checkpoint/"):
                    target = f"{TRAIN.parent_dir}/{name.split('/')[-1]}"
                    local_copy_list.append((parent.uuid, name, target))
            parent_yaml, parent_checkpoint = f"{TRAIN.parent_dir}/model.yaml", f"{TRAIN.parent_dir}/checkpoint"

        config = render_input(
            parameters,
            train_file=TRAIN.train_pkl,
            test_file=TRAIN.test_pkl if "test_dataset" in self.inputs else None,
            parent_yaml=parent_yaml,
            parent_checkpoint=parent_checkpoint,
            parent_cutoff=parent.cutoff if parent is not None else None,
            parent_param_dtype=parent.base.attributes.get("param_dtype") if parent is not None else None,
        )
        with folder.open(TRAIN.input_yaml, "w") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)

        convert = datastructures.CodeInfo()
        convert.code_uuid = self.inputs.driver_code.uuid
        convert.cmdline_params = convert_args
        convert.stdout_name = TRAIN.driver_stdout

        train = datastructures.CodeInfo()
        train.code_uuid = self.inputs.code.uuid
        restart = "parent_folder" in self.inputs
        # -sf: after training, gracemaker also writes FS_model.yaml (FS models only)
        train.cmdline_params = [TRAIN.input_yaml] + (["-rl"] if restart else []) + (
            ["-sf"] if exports_fs_yaml(self.inputs) else [])
        train.stdout_name = TRAIN.gracemaker_stdout
        train.stderr_name = TRAIN.gracemaker_stderr

        codes_info = [convert, train]
        if restart:  # a job stopped mid-write may leave a broken regular checkpoint: fall back to the best one
            check = datastructures.CodeInfo()
            check.code_uuid = self.inputs.driver_code.uuid
            check.cmdline_params = ["check-checkpoint", f"{TRAIN.run_dir(parameters['seed'])}/checkpoints"]
            check.stdout_name = CHECKPOINT_STDOUT
            codes_info.insert(1, check)

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = codes_info
        calcinfo.codes_run_mode = datastructures.CodeRunMode.SERIAL
        calcinfo.local_copy_list = local_copy_list
        calcinfo.remote_copy_list = []
        if restart:
            remote = self.inputs.parent_folder
            calcinfo.remote_copy_list.append((remote.computer.uuid, f"{remote.get_remote_path()}/seed", "seed"))
        run_dir = TRAIN.run_dir(parameters["seed"])
        calcinfo.retrieve_list = [
            TRAIN.gracemaker_stdout, TRAIN.gracemaker_stderr, TRAIN.driver_stdout, TRAIN.input_yaml, CHECKPOINT_STDOUT,
            *(f"{run_dir}/{name}" for name in TRAIN.retrieved_run_files),
            f"{run_dir}/final_model",
            (f"{run_dir}/checkpoints/checkpoint.best_test_loss*", ".", 2),
        ]
        return calcinfo
