"""``grace.uncertainty`` (a model's UQ artifacts from its training set) and ``grace.select`` (γ of a candidate pool
and the frames worth labelling), both running tensorpotential's ``grace_uq`` through the driver."""

from __future__ import annotations

import yaml
from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..common.files import UNCERTAINTY
from ..common.model_files import CHECKPOINT_DIR, CHECKPOINT_PREFIX, MODEL_YAML
from ..common.uncertainty_input import UncertaintySettingsError, build_settings, select_settings
from ..data import GraceDatasetData, GraceModelData, GraceUncertaintyData
from .caching import ReusedOnlyIfFinishedOk
from .validation import missing_elements

__all__ = ("GraceSelectCalculation", "GraceUncertaintyCalculation", "uncertainty_files", "uncertainty_usable")


def settings_validator(check):
    """A port validator that runs ``check`` on the Dict's content and returns its complaint."""
    def validate(value, _):
        if value is not None:
            try:
                check(value.get_dict())
            except UncertaintySettingsError as exception:
                return str(exception)
    return validate


def model_has_checkpoint(model) -> str | None:
    """A message when ``model`` lacks model.yaml + checkpoint (grace_uq rebuilds the model from them)."""
    if not model.has_checkpoint:
        return (f"model <{model.pk}> has no model.yaml + checkpoint; grace_uq needs them (a model trained by "
                "grace.train has them; for a downloaded one, import its folder with the checkpoint)")
    return None


def uncertainty_usable(uncertainty, model) -> str | None:
    """A message when the UQ artifacts were not built for ``model`` (γ would be meaningless)."""
    if not uncertainty.belongs_to(model):
        return (f"uncertainty <{uncertainty.pk}> was built for the model with sha256 "
                f"{str(uncertainty.model_sha256)[:12]}…, not model <{model.pk}> ({model.sha256[:12]}…)")
    return model_has_checkpoint(model)


def model_copy_list(model) -> tuple[list, dict]:
    """(local_copy_list entries, driver paths) of the model.yaml and checkpoint that grace_uq reads."""
    copies = [(model.uuid, name, f"{UNCERTAINTY.model_dir}/{name}") for name in model.file_names()
              if name == MODEL_YAML or name.startswith(f"{CHECKPOINT_DIR}/")]
    paths = {"model_yaml": f"{UNCERTAINTY.model_dir}/{MODEL_YAML}",
             "checkpoint": f"{UNCERTAINTY.model_dir}/{CHECKPOINT_DIR}/{CHECKPOINT_PREFIX}"}
    return copies, paths


def uncertainty_files(uncertainty, model) -> tuple[list, dict]:
    """For a job that computes γ with ``model``: its local_copy_list entries (model.yaml, checkpoint, the npz) and
    the driver's ``uncertainty`` settings (their paths in the job folder)."""
    copies, paths = model_copy_list(model)
    copies.append((uncertainty.uuid, GraceUncertaintyData.FILENAME, GraceUncertaintyData.FILENAME))
    return copies, {**paths, "artifacts": GraceUncertaintyData.FILENAME}


class GraceUqJob(ReusedOnlyIfFinishedOk, CalcJob):
    """What both grace_uq jobs share: a model, a dataset, a settings Dict, the driver's command and outputs."""

    COMMAND = ""  # the driver's subcommand
    SETTINGS_KEY = ""  # the section of uq.yaml the parameters go to

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs["metadata"]["options"]["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        spec.inputs["metadata"]["options"]["withmpi"].default = False
        spec.input("model", valid_type=GraceModelData, help="The GRACE model (with model.yaml and checkpoint).")
        spec.output("output_parameters", valid_type=orm.Dict, help="The driver's summary (settings, timings).")
        spec.default_output_node = "output_parameters"
        spec.exit_code(301, "ERROR_MISSING_RESULTS", message="grace_uq wrote no results: {detail}")
        spec.exit_code(302, "ERROR_INVALID_RESULTS", message="grace_uq's results cannot be read: {exception}")

    def extra_copies(self) -> list:
        return []

    def prepare_for_submission(self, folder):
        copies, paths = model_copy_list(self.inputs.model)
        settings = {"model": paths,
                    self.SETTINGS_KEY: self.inputs.parameters.get_dict() if "parameters" in self.inputs else {}}
        with folder.open(UNCERTAINTY.settings, "w") as handle:
            yaml.safe_dump(settings, handle, sort_keys=False)
        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = [self.COMMAND, UNCERTAINTY.settings]
        codeinfo.stdout_name = UNCERTAINTY.stdout
        codeinfo.stderr_name = UNCERTAINTY.stderr
        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = copies + [
            (self.inputs.dataset.uuid, GraceDatasetData.FILENAME, UNCERTAINTY.dataset)] + self.extra_copies()
        calcinfo.retrieve_list = [UNCERTAINTY.summary, UNCERTAINTY.stdout, UNCERTAINTY.stderr] + self.RETRIEVED
        return calcinfo


def validate_build_inputs(inputs, _):
    model, dataset = inputs["model"], inputs["dataset"]
    return missing_elements(model, dataset.elements, what="the training set contains") \
        or model_has_checkpoint(model)


class GraceUncertaintyCalculation(GraceUqJob):
    """Build the UQ artifacts of a model from its training set (``grace_uq build``): γ per atom becomes
    available to grace.evaluate, grace.md and grace.select."""

    COMMAND = "uq-build"
    SETTINGS_KEY = "build"
    RETRIEVED = [UNCERTAINTY.artifacts]

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs["metadata"]["options"]["parser_name"].default = "grace.uncertainty"
        spec.input("dataset", valid_type=GraceDatasetData,
                   help="The structures the model was trained on (γ = 1 is calibrated on them).")
        spec.input("parameters", valid_type=orm.Dict, required=False, validator=settings_validator(build_settings),
                   help="n_clusters, threshold_percentile, regularization, rp_dim, seed; see "
                        "aiida_grace.common.uncertainty_input.BUILD_DEFAULTS.")
        spec.inputs.validator = validate_build_inputs
        spec.output("uncertainty", valid_type=GraceUncertaintyData, help="The model's UQ artifacts.")


def validate_select_inputs(inputs, _):
    model, pool = inputs["model"], inputs["dataset"]
    return missing_elements(model, pool.elements, what="the pool contains") \
        or uncertainty_usable(inputs["uncertainty"], model)


class GraceSelectCalculation(GraceUqJob):
    """γ of every frame of a candidate pool and the frames to label next (``grace_uq predict`` + ``select``)."""

    COMMAND = "uq-select"
    SETTINGS_KEY = "select"
    RETRIEVED = [UNCERTAINTY.pool_gamma]

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs["metadata"]["options"]["parser_name"].default = "grace.select"
        spec.input("dataset", valid_type=GraceDatasetData, help="The candidate pool (e.g. MD frames).")
        spec.input("uncertainty", valid_type=GraceUncertaintyData, help="The model's UQ artifacts.")
        spec.input("parameters", valid_type=orm.Dict, required=False, validator=settings_validator(select_settings),
                   help="n_structures (budget), strategy (fps-extrap, calm-greedy, ...), gamma_min, gamma_max, "
                        "element_stratified, min_per_element, seed; see "
                        "aiida_grace.common.uncertainty_input.SELECT_DEFAULTS.")
        spec.inputs.validator = validate_select_inputs
        spec.output("selected", valid_type=GraceDatasetData, required=False,
                    help="The chosen frames (unlabelled), in the order grace_uq picked them; info pool_index. "
                         "Absent when nothing qualified.")
        spec.output("pool_gamma", valid_type=orm.ArrayData,
                    help="gamma_max and gamma_mean per pool frame (pool order).")

    def extra_copies(self) -> list:
        return [(self.inputs.uncertainty.uuid, GraceUncertaintyData.FILENAME, UNCERTAINTY.artifacts)]
