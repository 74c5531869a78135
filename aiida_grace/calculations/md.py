"""``grace.md``: molecular dynamics of one structure with a GRACE model (ASE, or LAMMPS via its Python module)."""

from __future__ import annotations

import yaml
from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..common.extxyz import write_extxyz
from ..common.files import MD
from ..common.md_input import uses_gamma, validate_settings
from ..common.model_files import FS_YAML, SAVED_MODEL
from ..data import GraceDatasetData, GraceModelData, GraceUncertaintyData
from .caching import ReusedOnlyIfFinishedOk
from .uncertainty import uncertainty_files, uncertainty_usable
from .validation import dict_port_validator, model_usable

__all__ = ("GraceMdCalculation",)


def validate_inputs(inputs, _):
    """The structure is fully periodic and within the model's elements; the model has the calculator's files;
    γ (the uncertainty input, needed by gamma_stop and gamma_dump) only with engine ase and calculator tensorflow,
    from artifacts built for this model."""
    structure, model = inputs["structure"], inputs["model"]
    if not all(structure.pbc):
        return f"the structure must be periodic in all three directions, got pbc={structure.pbc}"
    settings = validate_settings(inputs["parameters"].get_dict() if "parameters" in inputs else {})
    if "uncertainty" in inputs:
        if (settings["engine"], settings["calculator"]) != ("ase", "tensorflow"):
            return (f"γ (the uncertainty input) needs engine 'ase' with calculator 'tensorflow' (γ comes from the "
                    f"TensorFlow calculator each step), got engine '{settings['engine']}' with calculator "
                    f"'{settings['calculator']}'")
        message = uncertainty_usable(inputs["uncertainty"], model)
        if message:
            return message
    elif uses_gamma(settings):
        return "gamma_stop and gamma_dump need the uncertainty input (the model's UQ artifacts, grace.uncertainty)"
    return model_usable(model, {kind.symbol for kind in structure.kinds}, settings["calculator"],
                        what="the structure contains")


class GraceMdCalculation(ReusedOnlyIfFinishedOk, CalcJob):
    """NVE/NVT/NPT molecular dynamics of one periodic structure with a GRACE model."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs["metadata"]["options"]["parser_name"].default = "grace.md"
        spec.inputs["metadata"]["options"]["resources"].default = {"num_machines": 1, "num_mpiprocs_per_machine": 1}
        spec.inputs["metadata"]["options"]["withmpi"].default = False

        spec.input("model", valid_type=GraceModelData, help="The GRACE model giving energies and forces.")
        spec.input("structure", valid_type=orm.StructureData, help="The initial, fully periodic structure.")
        spec.input("parameters", valid_type=orm.Dict, required=False,
                   validator=dict_port_validator(validate_settings, "MD parameters"),
                   help="engine (ase/lammps), ensemble (nve/nvt/npt), temperature K, pressure GPa, timestep fs, "
                        "steps, thermo_interval, dump_interval, calculator; see aiida_grace.common.md_input.")
        spec.input("parent_folder", valid_type=orm.RemoteData, required=False,
                   help="The remote folder of a stopped grace.md job of the same inputs: its thermo.npz and "
                        "trajectory.npz are copied and the run continues from their last frame (cell, positions, "
                        "velocities) to `steps`; thermostat and barostat variables start again from zero.")
        spec.input("uncertainty", valid_type=GraceUncertaintyData, required=False,
                   help="The model's UQ artifacts (grace.uncertainty; engine ase, calculator tensorflow): the max "
                        "extrapolation grade γ of every step is watched (output gamma); with gamma_stop the run "
                        "ends at the first step above it, with gamma_dump the steps above it become "
                        "extrapolative_frames.")
        spec.inputs.validator = validate_inputs

        spec.output("trajectory", valid_type=orm.TrajectoryData,
                    help="Frames every dump_interval steps: unwrapped positions (Å), cells (Å), times (ps).")
        spec.output("thermo", valid_type=orm.ArrayData,
                    help="Rows every thermo_interval steps: step, time (ps), potential/kinetic/total energy (eV), "
                         "temperature (K), pressure (GPa), volume (Å³).")
        spec.output("lammps_input", valid_type=orm.SinglefileData, required=False,
                    help="The LAMMPS input the run used (engine lammps).")
        spec.output("gamma", valid_type=orm.ArrayData, required=False,
                    help="With the uncertainty input: step and gamma_max (max γ over atoms) of every thermo row "
                         "(and of the step a gamma_stop ended the run); with gamma_dump also above_dump_step and "
                         "above_dump_gamma_max of every step above it.")
        spec.output("extrapolative_frames", valid_type=GraceDatasetData, required=False,
                    help="With gamma_dump: the structures of the steps whose max γ exceeds it (at most "
                         "gamma_dump_max_frames); with gamma_stop: the step that stopped the run (info "
                         "stopped_here). In step order, unlabelled; info gamma_max, md_step, time_ps, per-atom "
                         "array gamma. Absent when there is none.")
        spec.output("output_parameters", valid_type=orm.Dict,
                    help="Run summary: engine, pair style, timings (seconds per atom per step); with the "
                         "uncertainty input also stopped_by_gamma, gamma_stop_step, gamma_stop_value, last_step, "
                         "gamma_max (+ its step), n_steps_above_gamma_dump (with gamma_dump) and "
                         "n_extrapolative_frames.")
        spec.default_output_node = "output_parameters"

        # 3xx: outputs missing or unparseable
        spec.exit_code(301, "ERROR_MISSING_RESULTS", message="the driver wrote no results: {detail}")
        spec.exit_code(302, "ERROR_INVALID_RESULTS", message="the driver's results cannot be read: {exception}")
        # 4xx: recoverable
        spec.exit_code(400, "ERROR_OUT_OF_WALLTIME", invalidates_cache=True,
                       message="the job hit the walltime (thermo and trajectory hold the steps done so far)")
        spec.exit_code(410, "ERROR_NON_FINITE_ENERGY",
                       message="the total energy became non-finite at step {step} (the run blew up)")

    def prepare_for_submission(self, folder):
        settings = validate_settings(self.inputs.parameters.get_dict() if "parameters" in self.inputs else {})
        model = self.inputs.model
        with folder.open(MD.structure, "w") as handle:
            write_extxyz(handle, self.inputs.structure.get_ase())

        wanted = FS_YAML if settings["calculator"] == "fs_cpp" else SAVED_MODEL
        local_copy_list = [(model.uuid, name, f"{MD.model_dir}/{name}") for name in model.file_names()
                           if name == wanted or name.startswith(f"{wanted}/")]
        settings["model"] = {"saved_model": f"{MD.model_dir}/{SAVED_MODEL}", "fs_yaml": f"{MD.model_dir}/{FS_YAML}"}
        settings["elements"] = list(model.elements)
        settings["cutoff"] = model.cutoff
        if "uncertainty" in self.inputs:  # grace_uq rebuilds the model from model.yaml + checkpoint
            copies, settings["uncertainty"] = uncertainty_files(self.inputs.uncertainty, model)
            local_copy_list += copies
        with folder.open(MD.settings, "w") as handle:
            yaml.safe_dump(settings, handle, sort_keys=False)

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ["md", MD.settings]
        codeinfo.stdout_name = MD.stdout
        codeinfo.stderr_name = MD.stderr

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = local_copy_list
        if "parent_folder" in self.inputs:  # the driver continues the run these files hold
            remote = self.inputs.parent_folder
            continued = [MD.thermo, MD.trajectory]
            if "uncertainty" in self.inputs:  # γ rows and dumped frames so far (AiiDA skips a missing file)
                continued += [MD.gamma, MD.extrapolative]
            calcinfo.remote_copy_list = [(remote.computer.uuid, f"{remote.get_remote_path()}/{name}", name)
                                         for name in continued]
        calcinfo.retrieve_list = [MD.thermo, MD.trajectory, MD.summary, MD.lammps_input, MD.lammps_log,
                                  MD.stdout, MD.stderr, MD.gamma, MD.extrapolative]
        return calcinfo
