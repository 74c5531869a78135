"""calcfunctions of the aiida-lammps route: the ``lammps.raw`` input files of a native GRACE run, and its
retrieved LAMMPS output turned into the ``thermo``/``trajectory`` outputs of ``grace.md``."""

from __future__ import annotations

import io
import re
import tarfile

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..common.files import MD
from ..common.lammps_input import render_lammps_input
from ..common.lammps_output import read_dump, read_thermo_log
from ..common.md_input import validate_settings
from ..common.md_start import initial_velocities, lammps_prism, write_lammps_start
from ..common.model_files import FS_YAML, SAVED_MODEL
from ..data import GraceModelData
from ..parsers.md import thermo_node, trajectory_node

__all__ = ("lammps_md_outputs", "lammps_native_inputs", "native_elements")

SCRIPT = "input.in"  # lammps.raw's input file name
STDOUT = "lammps.out"  # lammps.raw's stdout: the screen output, with the thermo table
DUMP = "trajectory.lammpstrj"
SAVED_MODEL_TAR = f"{SAVED_MODEL}.tar"


def native_elements(structure: orm.StructureData) -> list[str]:
    """Element of each LAMMPS atom type (type i is entry i - 1): the structure's elements, sorted."""
    return sorted({structure.get_kind(site.kind_name).symbol for site in structure.sites})


def _saved_model_tar(model: GraceModelData) -> orm.SinglefileData:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in model.file_names():
            if name.startswith(f"{SAVED_MODEL}/"):
                content = model.base.repository.get_object_content(name, mode="rb")
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    buffer.seek(0)
    return orm.SinglefileData(buffer, filename=SAVED_MODEL_TAR)


@calcfunction
def lammps_native_inputs(structure: orm.StructureData, model: GraceModelData, parameters: orm.Dict,
                         pair_style: orm.Str) -> dict:
    """``script`` (the rendered LAMMPS input, ``pair_style grace`` or ``grace/fs``), ``data`` (the structure as a
    LAMMPS data file with the seeded initial velocities) and ``model_file`` (the FS yaml, or the SavedModel folder
    as a tar unpacked by the job's prepend_text)."""
    settings = validate_settings(parameters.get_dict())
    elements = native_elements(structure)
    model_path = FS_YAML if pair_style.value == "grace/fs" else SAVED_MODEL
    script = render_lammps_input(settings, pair_style=pair_style.value, model_path=model_path, elements=elements,
                                 data_file=MD.lammps_data, dump_file=DUMP)
    atoms = structure.get_ase()
    initial_velocities(atoms, settings["temperature"], settings["seed"])
    data = io.StringIO()
    write_lammps_start(data, atoms, elements)
    if pair_style.value == "grace/fs":
        model_file = orm.SinglefileData(io.BytesIO(model.base.repository.get_object_content(FS_YAML, mode="rb")),
                                        filename=FS_YAML)
    else:
        model_file = _saved_model_tar(model)
    return {"script": orm.SinglefileData(io.BytesIO(script.encode()), filename=SCRIPT),
            "data": orm.SinglefileData(io.BytesIO(data.getvalue().encode()), filename=MD.lammps_data),
            "model_file": model_file}


@calcfunction
def lammps_md_outputs(script: orm.SinglefileData, retrieved: orm.FolderData, structure: orm.StructureData,
                      parameters: orm.Dict) -> dict:
    """The ``thermo`` (ArrayData), ``trajectory`` (TrajectoryData, positions unwrapped and rotated back into the
    structure's frame) and ``output_parameters`` of a ``lammps.raw`` run of ``script``, from its ``retrieved``
    screen output and dump; a run cut short gives what it had written."""
    settings = validate_settings(parameters.get_dict())
    repository = retrieved.base.repository
    thermo = read_thermo_log(repository.get_object_content(STDOUT))
    frames = read_dump(repository.get_object_content(DUMP))
    prism = lammps_prism(structure.get_ase())
    elements = native_elements(structure)
    symbols = [elements[t - 1] for t in frames["types"]]
    positions = np.array([prism.vector_to_ase(p) for p in frames["positions"]])
    cells = np.array([prism.vector_to_ase(c) for c in frames["cells"]])
    times = frames["steps"] * settings["timestep"] / 1000.0
    pair = re.search(r"^pair_style\s+(\S+)", script.get_content(), flags=re.MULTILINE)
    summary = {"engine": "lammps_native", "pair_style": pair.group(1) if pair else None,
               "ensemble": settings["ensemble"], "n_atoms": len(symbols), "steps": int(thermo["step"][-1]),
               "steps_asked": settings["steps"], "timestep_fs": settings["timestep"],
               "n_thermo_rows": len(thermo["step"]), "n_frames": len(frames["steps"])}
    return {"thermo": thermo_node(thermo, len(symbols)),
            "trajectory": trajectory_node(symbols, frames["steps"], positions, cells, times),
            "output_parameters": orm.Dict(summary)}
