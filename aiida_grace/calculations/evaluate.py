"""``grace.evaluate``: energies/forces/stresses or relaxations of many structures in one job."""

from __future__ import annotations

import yaml
from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..common.evaluate_input import validate_settings
from ..common.extxyz import write_extxyz
from ..common.files import EVALUATE
from ..common.model_files import FS_YAML, SAVED_MODEL
from ..data import GraceDatasetData, GraceModelData, GraceUncertaintyData
from .caching import ReusedOnlyIfFinishedOk
from .uncertainty import uncertainty_files, uncertainty_usable
from .validation import dict_port_validator, model_usable

__all__ = ("GraceEvaluateCalculation",)


def pooled_datasets(inputs) -> dict:
    """The ``datasets`` namespace (name → GraceDatasetData) of a process's inputs or a node's, {} when absent."""
    try:
        return dict(inputs["datasets"])
    except KeyError:
        return {}


def structure_names(inputs) -> list[str]:
    """Names of the structures, in the order they are written to the job and returned by it
    (``<dataset name>/<index>`` for the ``datasets`` namespace)."""
    if "dataset" in inputs:
        return [f"structure_{i:04d}" for i in range(inputs["dataset"].n_structures)]
    if pooled_datasets(inputs):
        return [f"{name}/{i}" for name, dataset in sorted(pooled_datasets(inputs).items())
                for i in range(dataset.n_structures)]
    return sorted(inputs["structures"])


def dataset_counts(inputs) -> dict[str, int]:
    """Structures per dataset of the ``datasets`` namespace, in the order they are written to the job."""
    return {name: dataset.n_structures for name, dataset in sorted(pooled_datasets(inputs).items())}


def input_elements(inputs) -> set[str]:
    """Elements of the structures to evaluate, from whichever source the inputs have."""
    if "dataset" in inputs:
        return set(inputs["dataset"].elements)
    if inputs.get("datasets"):
        return {element for dataset in inputs["datasets"].values() for element in dataset.elements}
    return {kind.symbol for s in inputs.get("structures", {}).values() for kind in s.kinds}


def validate_inputs(inputs, _):
    """One source of structures; the model covers their elements, has the files the calculator needs and
    still matches its sha256."""
    sources = ("dataset" in inputs) + bool(inputs.get("structures")) + bool(inputs.get("datasets"))
    if sources != 1:
        return "give exactly one of 'dataset', 'structures' or 'datasets'"
    settings = validate_settings(inputs["parameters"].get_dict() if "parameters" in inputs else {})
    if "uncertainty" in inputs:
        if settings["calculator"] != "tensorflow":
            return "γ (the uncertainty input) needs the tensorflow calculator"
        message = uncertainty_usable(inputs["uncertainty"], inputs["model"])
        if message:
            return message
    return model_usable(inputs["model"], input_elements(inputs), settings["calculator"])


class GraceEvaluateCalculation(ReusedOnlyIfFinishedOk, CalcJob):
    """Evaluate a whole set of structures with one GRACE model in one process (static or relaxation)."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs["metadata"]["options"]["parser_name"].default = "grace.evaluate"
        spec.inputs["metadata"]["options"]["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        spec.inputs["metadata"]["options"]["withmpi"].default = False

        spec.input("model", valid_type=GraceModelData, help="The GRACE model to evaluate with.")
        spec.input("dataset", valid_type=GraceDatasetData, required=False,
                   help="Structures to evaluate; reference labels, if any, give the errors output.")
        spec.input_namespace("structures", valid_type=orm.StructureData, dynamic=True, required=False,
                             help="Alternatively, structures by name.")
        spec.input_namespace("datasets", valid_type=GraceDatasetData, dynamic=True, required=False,
                             help="Alternatively, several datasets by name, pooled into this one job (e.g. the "
                                  "strained cells of many structures); labelled back per name in output_datasets.")
        spec.input("parameters", valid_type=orm.Dict, required=False,
                   validator=dict_port_validator(validate_settings, "evaluation parameters"),
                   help="mode (static/relax), calculator (tensorflow/fs_cpp), relax settings; see "
                        "aiida_grace.common.evaluate_input.")
        spec.input("parent_folder", valid_type=orm.RemoteData, required=False,
                   help="Remote folder of an interrupted grace.evaluate job with the same structures: its "
                        "finished structures (results.partial.extxyz) are copied and not computed again.")
        spec.input("uncertainty", valid_type=GraceUncertaintyData, required=False,
                   help="The model's UQ artifacts (grace.uncertainty): every structure also gets γ per atom "
                        "(array 'gamma', info 'gamma_max'); output_parameters gets gamma_max per structure.")
        spec.inputs.validator = validate_inputs

        spec.output("output_dataset", valid_type=GraceDatasetData, required=False,
                    help="The structures (relaxed, in relax mode) labelled by the model, in input order (not with "
                         "the datasets input: see output_datasets).")
        spec.output_namespace("output_datasets", valid_type=GraceDatasetData, dynamic=True, required=False,
                              help="With the datasets input: each dataset labelled (relaxed) by the model, by name.")
        spec.output_namespace("relaxed_structures", valid_type=orm.StructureData, dynamic=True, required=False,
                              help="Relaxed structures, named like the inputs (relax mode).")
        spec.output("errors", valid_type=orm.Dict, required=False,
                    help="MAE/RMSE against the input's reference labels: energy per atom (eV/atom), force "
                         "components (eV/Å), stress components (GPa). Static mode only.")
        spec.output("output_parameters", valid_type=orm.Dict, help="Run summary: counts, timings, calculator.")
        spec.default_output_node = "output_parameters"

        # 3xx: outputs missing or unparseable
        spec.exit_code(301, "ERROR_MISSING_RESULTS", message="the driver wrote no results: {detail}")
        spec.exit_code(302, "ERROR_INVALID_RESULTS", message="the driver's results cannot be read: {exception}")
        # 4xx: recoverable
        spec.exit_code(400, "ERROR_OUT_OF_WALLTIME", message="the job hit the walltime after {done} of {total} "
                       "structures; finished ones are in results.partial.extxyz", invalidates_cache=True)
        spec.exit_code(410, "ERROR_RELAXATION_NOT_CONVERGED",
                       message="{count} relaxation(s) did not reach fmax within the step limit: {which}")
        spec.exit_code(411, "ERROR_STRUCTURES_FAILED",
                       message="{count} structure(s) broke (returned unlabelled; the others are labelled): {which}")

    def prepare_for_submission(self, folder):
        settings = validate_settings(self.inputs.parameters.get_dict() if "parameters" in self.inputs else {})
        model = self.inputs.model
        local_copy_list = []
        if "dataset" in self.inputs:
            local_copy_list.append((self.inputs.dataset.uuid, GraceDatasetData.FILENAME, EVALUATE.structures))
        elif self.inputs.get("datasets"):
            settings["structure_files"] = []
            for index, name in enumerate(sorted(self.inputs.datasets)):
                settings["structure_files"].append(EVALUATE.pooled_structures(index))
                local_copy_list.append((self.inputs.datasets[name].uuid, GraceDatasetData.FILENAME,
                                        EVALUATE.pooled_structures(index)))
        else:
            with folder.open(EVALUATE.structures, "w") as handle:
                write_extxyz(handle, [self.inputs.structures[name].get_ase()
                                      for name in structure_names(self.inputs)])

        wanted = FS_YAML if settings["calculator"] == "fs_cpp" else SAVED_MODEL
        for name in model.file_names():
            if name == wanted or name.startswith(f"{wanted}/"):
                local_copy_list.append((model.uuid, name, f"{EVALUATE.model_dir}/{name}"))
        settings["model"] = {
            "saved_model": f"{EVALUATE.model_dir}/{SAVED_MODEL}",
            "fs_yaml": f"{EVALUATE.model_dir}/{FS_YAML}",
        }
        if "uncertainty" in self.inputs:  # grace_uq rebuilds the model from model.yaml + checkpoint
            copies, settings["uncertainty"] = uncertainty_files(self.inputs.uncertainty, model)
            local_copy_list += copies
        with folder.open(EVALUATE.settings, "w") as handle:
            yaml.safe_dump(settings, handle, sort_keys=False)

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ["evaluate", EVALUATE.settings]
        codeinfo.stdout_name = EVALUATE.stdout
        codeinfo.stderr_name = EVALUATE.stderr

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = local_copy_list
        if "parent_folder" in self.inputs:  # the driver resumes: structures in the partial file are skipped
            remote = self.inputs.parent_folder
            calcinfo.remote_copy_list = [
                (remote.computer.uuid, f"{remote.get_remote_path()}/{EVALUATE.partial}", EVALUATE.partial)]
        calcinfo.retrieve_list = [EVALUATE.results, EVALUATE.summary, EVALUATE.stdout, EVALUATE.stderr,
                                  EVALUATE.partial]
        return calcinfo
