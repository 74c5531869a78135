"""grace.md: LAMMPS input rendering, settings, analysis math on constructed cases, and real MD runs (slow)."""

from __future__ import annotations

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk

from aiida_grace.calculations.md import GraceMdCalculation
from aiida_grace.common import md_analysis
from aiida_grace.common.lammps_input import render_lammps_input
from aiida_grace.common.md_input import MdSettingsError, validate_settings
from aiida_grace.workflows.md import GraceMdWorkChain
from conftest import TINY_FS, run_training, training_parameters


# -- the native LAMMPS input -------------------------------------------------------------------------------
@pytest.mark.parametrize(("pair_style", "model_path"), [("grace", "model/final_model"),
                                                        ("grace/fs", "model/FS_model.yaml")])
def test_native_lammps_input(file_regression, pair_style, model_path):
    """The upstream ML-PACE form: pair_style grace|grace/fs, pair_coeff * * <model> El... (type order)."""
    settings = validate_settings({"ensemble": "npt", "temperature": 1200, "pressure": 1.5, "steps": 2000})
    text = render_lammps_input(settings, pair_style=pair_style, model_path=model_path, elements=["Al", "Cu"])
    lines = text.splitlines()
    assert f"pair_style      {pair_style}" in lines
    assert f"pair_coeff      * * {model_path} Al Cu" in lines
    assert "fix             integrate all npt temp 1200 1200 0.1 iso 15000 15000 1" in lines  # K, ps, bar
    file_regression.check(text, basename=f"lammps_input_{pair_style.replace('/', '_')}", extension=".in")


def test_external_lammps_input_and_settings():
    settings = validate_settings({"timestep": 2.0, "thermo_interval": 5, "dump_interval": 20, "steps": 40})
    text = render_lammps_input(settings, pair_style="external", model_path="", elements=["Cu"], cutoff=4.5,
                               with_run=False)
    assert "pair_style      zero 4.5" in text and "fix             grace all external pf/callback 1 1" in text
    assert "timestep        0.002" in text and "fix             integrate all nve" in text and "run" not in text
    for bad, message in [({"ensemble": "nph"}, "ensemble must be one of"), ({"tstep": 1}, "did you mean"),
                         ({"dump_interval": 15}, "multiple of thermo_interval"), ({"steps": -5}, "positive"),
                         ({"engine": "ase", "lammps_pair": "native"}, "needs engine 'lammps'")]:
        with pytest.raises(MdSettingsError, match=message):
            validate_settings(bad)


# -- analysis math on constructed cases ----------------------------------------------------------------------
def test_energy_drift_of_a_linear_series():
    time = np.linspace(0.0, 2.0, 201)  # ps
    rng = np.random.default_rng(0)
    total = 64 * (-3.0 + 2e-6 * time) + 1e-7 * rng.standard_normal(time.size)  # 2e-6 eV/atom/ps = 2e-3 /ns
    result = md_analysis.energy_drift(time, total, 64)
    assert result["drift"] == pytest.approx(2e-3, rel=1e-3)
    assert result["max_deviation"] == pytest.approx(4e-6, rel=0.05)
    assert result["fluctuation"] < 2e-9


def test_rdf_of_perfect_fcc_peaks_and_coordination():
    """L1_0-ordered fcc (Al and Cu planes): peaks only at the fcc shells; 8 unlike and 4 like neighbours."""
    a = 3.6
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat((2, 2, 2))
    atoms.symbols[::2] = "Al"
    result = md_analysis.rdf([atoms.positions], [atoms.cell.array], atoms.get_chemical_symbols(),
                             r_max=5.5, n_bins=500)  # no shell on a bin edge
    r, dr = result["r"], result["r"][1] - result["r"][0]
    density = 16 / atoms.get_volume()  # of each element, Å⁻³

    def neighbours(pair):
        first = r < 3.0
        shell = 4 / 3 * np.pi * ((r[first] + dr / 2) ** 3 - (r[first] - dr / 2) ** 3)  # bin volumes, Å³
        return np.sum(result[pair][first] * shell) * density

    assert neighbours("Al-Cu") == pytest.approx(8.0, rel=1e-9)
    assert neighbours("Cu-Cu") == pytest.approx(4.0, rel=1e-9)
    assert neighbours("Al-Al") == pytest.approx(4.0, rel=1e-9)
    occupied = r[(result["Al-Al"] + result["Al-Cu"] + result["Cu-Cu"]) > 0]
    shells = [a / np.sqrt(2), a, a * np.sqrt(1.5), a * np.sqrt(2)]
    assert all(np.min(np.abs(occupied - shell)) < dr / 2 + 1e-9 for shell in shells)
    assert len(occupied) == len(shells)  # nothing between the shells
    for pair in ("Al-Cu", "Cu-Cu"):
        assert md_analysis.main_peak(r, result[pair]) == pytest.approx(a / np.sqrt(2), abs=dr / 2)


def test_msd_of_linear_drift_and_diffusion_of_a_random_walk():
    times = np.arange(50) * 0.1  # ps
    velocity = np.array([[0.3, -0.4, 1.2]])  # Å/ps, |v|² = 1.69
    frames = np.zeros((1, 4, 3)) + times[:, None, None] * velocity[:, None, :]
    result = md_analysis.msd(times, frames, ["Al", "Al", "Cu", "Cu"])
    np.testing.assert_allclose(result["Cu"], 1.69 * times ** 2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result["lag"], times)

    rng = np.random.default_rng(1)
    d_true, dt = 0.05, 0.1  # Å²/ps, ps
    steps = rng.normal(scale=np.sqrt(2 * d_true * dt), size=(400, 3000, 3))
    walk = np.concatenate([np.zeros((1, 3000, 3)), np.cumsum(steps, axis=0)])
    lag_times = np.arange(401) * dt
    curves = md_analysis.msd(lag_times[:101], walk[:101], ["Cu"] * 3000)
    assert md_analysis.diffusion_coefficient(curves["lag"], curves["Cu"]) == pytest.approx(d_true, rel=0.03)


# -- prepare_for_submission on a file-level model -----------------------------------------------------------
def test_prepare_for_submission_copies_only_the_needed_model_files(prepare_calc_job, fake_model_dir, grace_codes):
    import yaml

    from aiida_grace.data import GraceModelData

    model = GraceModelData.from_directory(fake_model_dir)
    structure = orm.StructureData(ase=bulk("Cu", "fcc", a=3.6, cubic=True))
    calcinfo, sandbox = prepare_calc_job("grace.md", {"code": grace_codes["driver"], "model": model,
                                                      "structure": structure,
                                                      "parameters": orm.Dict({"steps": 20})})
    assert calcinfo.codes_info[0].cmdline_params == ["md", "md.yaml"]
    assert {target for _, _, target in calcinfo.local_copy_list} == {
        f"model/{name}" for name in model.file_names() if name.startswith("final_model/")}
    written = yaml.safe_load((sandbox / "md.yaml").read_text())
    assert written["elements"] == ["Al", "Cu"] and written["cutoff"] == 5.0 and written["steps"] == 20
    assert written["model"]["saved_model"] == "model/final_model"


# -- real runs (slow) ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fs_model(grace_codes, cu_al_datasets):
    """A tiny float64 GRACE-FS model (FS yaml + SavedModel) trained here with gracemaker."""
    parameters = training_parameters(epochs=4, preset="FS", kwargs=TINY_FS)
    results, _ = run_training(grace_codes, cu_al_datasets["train"], cu_al_datasets["test"], parameters)
    return results["model"]


def hot_cuau_cell():
    """32-atom fcc Cu with every fourth atom Al, rattled (Å)."""
    atoms = bulk("Cu", "fcc", a=3.65, cubic=True).repeat((2, 2, 2))
    atoms.symbols[::4] = "Al"
    atoms.rattle(0.05, seed=3)
    return orm.StructureData(ase=atoms)


def run_md(codes, model, structure, **settings):
    return run_get_node(GraceMdCalculation, code=codes["driver"], model=model, structure=structure,
                        parameters=orm.Dict(settings))


@pytest.mark.slow
@pytest.mark.parametrize("calculator", ["fs_cpp", "tensorflow"])
def test_lammps_and_ase_nve_agree(grace_codes, fs_model, calculator):
    """The same NVE run (same initial velocities) through LAMMPS (fix external) and ASE: equal energies."""
    structure = hot_cuau_cell()
    settings = {"ensemble": "nve", "temperature": 800.0, "timestep": 1.0, "steps": 40, "thermo_interval": 2,
                "dump_interval": 20, "calculator": calculator}
    lammps, lammps_node = run_md(grace_codes, fs_model, structure, engine="lammps", **settings)
    ase, ase_node = run_md(grace_codes, fs_model, structure, engine="ase", **settings)
    assert lammps_node.is_finished_ok, lammps_node.exit_message
    assert ase_node.is_finished_ok, ase_node.exit_message
    summary = lammps["output_parameters"].get_dict()
    assert summary["pair_style"] == "external" and summary["lammps_version"] >= 20250722
    a, b = lammps["thermo"], ase["thermo"]
    np.testing.assert_array_equal(a.get_array("step"), np.arange(0, 41, 2))
    for key in ("potential_energy", "kinetic_energy", "total_energy"):
        assert np.abs(a.get_array(key) - b.get_array(key)).max() / 32 < 1e-6, key  # eV/atom
    assert np.abs(a.get_array("pressure") - b.get_array("pressure")).max() < 1e-4  # GPa
    # the initial kinetic energy is exact in ASE's units; LAMMPS's metal-unit constants differ by ~1e-6
    assert a.get_array("temperature")[0] == pytest.approx(800.0, rel=1e-5)
    assert b.get_array("temperature")[0] == pytest.approx(800.0, rel=1e-12)
    assert np.ptp(a.get_array("potential_energy")) > 0.05  # the atoms really moved
    positions = lammps["trajectory"].get_positions(), ase["trajectory"].get_positions()
    assert positions[0].shape == (3, 32, 3) and np.abs(positions[0] - positions[1]).max() < 1e-6  # Å
    assert "pair_style      zero 4.5" in lammps["lammps_input"].get_content()


@pytest.mark.slow
def test_md_workchain_nve_with_analysis(grace_codes, fs_model):
    """NVE in LAMMPS with the C++ FS evaluator, then drift, RDF and MSD with their plots."""
    results, node = run_get_node(
        GraceMdWorkChain,
        md={"code": grace_codes["driver"], "model": fs_model, "structure": hot_cuau_cell(),
            "parameters": orm.Dict({"engine": "lammps", "calculator": "fs_cpp", "temperature": 600.0,
                                    "timestep": 1.0, "steps": 400, "thermo_interval": 10, "dump_interval": 20})},
        analysis=orm.Dict({"r_max": 5.0, "n_bins": 100, "skip_fraction": 0.25}),
    )
    assert node.is_finished_ok, node.exit_message
    thermo = results["thermo"]
    assert thermo.get_array("time")[-1] == pytest.approx(0.4) and thermo.base.attributes.get("n_atoms") == 32
    assert results["trajectory"].numsteps == 21
    drift = results["energy_drift"].get_dict()
    # float64 model, 1 fs: total energy conserved to well under 1 meV/atom while E_pot swings by tens of meV
    assert drift["max_deviation"] < 1e-3 and abs(drift["drift"]) < 1.0
    assert np.ptp(thermo.get_array("potential_energy")) / 32 > 10 * drift["max_deviation"]
    peaks = results["rdf_peaks"]["main_peak"]
    assert set(peaks) == {"Al-Al", "Al-Cu", "Cu-Cu"}
    assert 2.3 < peaks["Al-Cu"] < 2.8  # a/√2 = 2.58 Å for this fcc cell
    diffusion = results["diffusion"].get_dict()
    assert set(diffusion["diffusion_coefficient"]) == {"Al", "Cu"}
    # D comes from the frames after the skipped 25 % (frames 5..20, lags up to 0.3 ps), in Å²/ps
    frames = results["trajectory"].get_positions()[5:]
    symbols = list(results["trajectory"].symbols)
    direct = md_analysis.msd(np.arange(16) * 0.02, frames, symbols)
    np.testing.assert_allclose(results["msd"].get_array("Cu"), direct["Cu"], rtol=1e-12)
    assert results["msd"].get_array("lag")[-1] == pytest.approx(0.3)
    assert diffusion["diffusion_coefficient"]["Cu"] == pytest.approx(
        md_analysis.diffusion_coefficient(results["msd"].get_array("lag"), direct["Cu"], 0.2), rel=1e-9)
    assert diffusion["diffusion_coefficient_cm2_s"]["Cu"] == pytest.approx(
        diffusion["diffusion_coefficient"]["Cu"] * 1e-4, rel=1e-12)
    for name in ("energy_drift", "rdf", "msd"):
        with results["plots"][name].open(mode="rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert results["rdf"].get_array("r").shape == (100,)
    assert results["plots"]["rdf"].creator.process_label == "md_rdf"  # analysis in the provenance graph


def test_md_workchain_failure_names_the_failed_job(grace_codes, grace_computer, fake_model_dir):
    """The MD job runs inside grace.base_md: a run that blew up still ends the work chain with 401, and the
    message names the job and its own exit code, not only the wrapper's "unhandled failure"."""
    from aiida.engine.utils import instantiate_process
    from aiida.manage import get_manager
    from restart_helpers import failed_child, failed_wrapper

    from aiida_grace.data import GraceModelData

    wrapper = failed_wrapper("grace.base_md")
    job = failed_child(grace_computer, "grace.md", "ERROR_NON_FINITE_ENERGY", caller=wrapper, step=120)
    process = instantiate_process(get_manager().get_runner(), GraceMdWorkChain, md={
        "code": grace_codes["driver"], "model": GraceModelData.from_directory(fake_model_dir),
        "structure": hot_cuau_cell()})
    process.ctx.md = wrapper
    exit_code = process.inspect_md()
    assert exit_code.status == 401
    assert exit_code.message.startswith(f"the MD job <{wrapper.pk}> failed: exit status 402")
    assert f"its last job <{job.pk}>: exit status 410: the total energy became non-finite at step 120" in exit_code.message


# -- protocols -----------------------------------------------------------------------------------------------
def test_md_protocols(data_regression, grace_codes, fake_model_dir):
    from aiida_grace.data import GraceModelData

    model = GraceModelData.from_directory(fake_model_dir)
    structure = hot_cuau_cell()
    built = {}
    for protocol in ("fast", "balanced", "stringent"):
        builder = GraceMdWorkChain.get_builder_from_protocol(grace_codes["driver"], model, structure,
                                                             protocol=protocol)
        built[protocol] = {"parameters": builder.md.parameters.get_dict(), "analysis": builder.analysis.get_dict()}
    data_regression.check(built)
    assert built["stringent"]["parameters"]["timestep"] * built["stringent"]["parameters"]["steps"] == 1.0e5  # fs
    builder = GraceMdWorkChain.get_builder_from_protocol(
        None, model, structure, protocol="fast", overrides={"parameters": {"ensemble": "nvt", "temperature": 900.0}},
        options={"max_wallclock_seconds": 600}, lammps_code=grace_codes["driver"])
    assert builder.md.parameters["ensemble"] == "nvt" and builder.md.parameters["steps"] == 2000
    assert "code" not in builder.md and builder.md.metadata.options.max_wallclock_seconds == 600
    with pytest.raises(ValueError, match="unknown protocol 'quick'"):
        GraceMdWorkChain.get_builder_from_protocol(grace_codes["driver"], model, structure, protocol="quick")
    with pytest.raises(MdSettingsError, match="did you mean 'temperature'"):
        GraceMdWorkChain.get_builder_from_protocol(grace_codes["driver"], model, structure,
                                                   overrides={"parameters": {"temperatur": 10}})


# -- thermostat and barostat (slow) ----------------------------------------------------------------------------
# The tiny 4-epoch model is no good solid (its 0 GPa volume runs away), so these check the thermostat and barostat
# against their targets, which holds for any smooth potential, not the model's physics.
def second_half_mean(thermo, key):
    values = thermo.get_array(key)
    return float(values[len(values) // 2:].mean())


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["ase", "lammps"])
def test_nvt_holds_the_target_temperature(grace_codes, fs_model, engine):
    """Nosé-Hoover NVT at 800 K (tdamp 20 fs): the second-half mean temperature lies within 5 % of 800 K (one
    sample of 32 atoms fluctuates by √(2/(3N)) = 14 %), where NVE from the same start drifts away by more; the
    volume is fixed."""
    settings = {"engine": engine, "calculator": "fs_cpp", "temperature": 800.0, "timestep": 1.0, "steps": 1000,
                "thermo_interval": 5, "dump_interval": 500, "tdamp": 20.0}
    nvt, nvt_node = run_md(grace_codes, fs_model, hot_cuau_cell(), ensemble="nvt", **settings)
    nve, nve_node = run_md(grace_codes, fs_model, hot_cuau_cell(), ensemble="nve", **settings)
    assert nvt_node.is_finished_ok and nve_node.is_finished_ok
    t_nvt, t_nve = second_half_mean(nvt["thermo"], "temperature"), second_half_mean(nve["thermo"], "temperature")
    assert t_nvt == pytest.approx(800.0, rel=0.05), t_nvt
    assert abs(t_nve / 800.0 - 1) > 0.1, t_nve
    assert np.ptp(nvt["thermo"].get_array("volume")) == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["ase", "lammps"])
def test_npt_reaches_the_target_pressure(grace_codes, fs_model, engine):
    """Isotropic NPT at 600 K (pdamp 250 fs): the second-half mean pressure lies within 0.25 GPa of 0 and of
    4 GPa, and the cell is smaller at 4 GPa."""
    settings = {"engine": engine, "calculator": "fs_cpp", "ensemble": "npt", "temperature": 600.0,
                "timestep": 1.0, "steps": 1500, "thermo_interval": 5, "dump_interval": 500, "tdamp": 50.0,
                "pdamp": 250.0}
    volume, pressure = {}, {}
    for target in (0.0, 4.0):
        results, node = run_md(grace_codes, fs_model, hot_cuau_cell(), pressure=target, **settings)
        assert node.is_finished_ok, node.exit_message
        volume[target] = second_half_mean(results["thermo"], "volume")
        pressure[target] = second_half_mean(results["thermo"], "pressure")
    assert pressure[0.0] == pytest.approx(0.0, abs=0.25) and pressure[4.0] == pytest.approx(4.0, abs=0.25), pressure
    assert volume[4.0] < 0.9 * volume[0.0], volume


# -- a job cut short (slow) ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_killed_driver_keeps_the_steps_done_so_far(grace_codes, fs_model, parse_recorded, tmp_path):
    """The driver, SIGKILLed mid-run as a walltime would, leaves thermo and trajectory of the steps done so far
    (flushed every AIIDA_GRACE_MD_FLUSH_SECONDS, 0 here); the parser returns them with exit code 400."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml
    from ase.io import write

    settings = validate_settings({"engine": "ase", "calculator": "fs_cpp", "temperature": 600.0, "steps": 100000,
                                  "thermo_interval": 5, "dump_interval": 20})
    structure = hot_cuau_cell()
    fs_model.export(tmp_path / "model")
    write(tmp_path / "structure.extxyz", structure.get_ase(), format="extxyz")
    (tmp_path / "md.yaml").write_text(yaml.safe_dump({**settings, "elements": ["Al", "Cu"], "cutoff": 4.5,
                                                      "model": {"fs_yaml": "model/FS_model.yaml"}}))
    environment = {**os.environ, "AIIDA_GRACE_MD_FLUSH_SECONDS": "0"}
    with open(tmp_path / "driver.err", "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "aiida_grace.driver", "md", "md.yaml"], cwd=tmp_path,
                                   env=environment, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (tmp_path / "trajectory.npz").is_file():
            time.sleep(0.2)
        time.sleep(1.0)  # a few hundred steps more
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not (tmp_path / "summary.json").exists()

    outputs, call = parse_recorded("grace.md", {"structure": structure}, tmp_path)
    assert call.exit_status == 400 and "output_parameters" not in outputs
    steps = outputs["thermo"].get_array("step")
    assert steps[-1] >= 40  # several frames' worth
    np.testing.assert_array_equal(steps, np.arange(0, steps[-1] + 1, 5))
    frames = outputs["trajectory"]
    np.testing.assert_array_equal(frames.get_stepids(), np.arange(0, frames.get_stepids()[-1] + 1, 20))
    assert frames.get_stepids()[-1] <= steps[-1] and frames.get_positions().shape[1:] == (32, 3)
    np.testing.assert_allclose(frames.get_positions()[0], structure.get_ase().positions, atol=1e-7)  # extxyz
    assert outputs["thermo"].get_array("temperature")[0] == pytest.approx(600.0, rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["ase", "lammps"])
def test_a_continued_run_equals_the_uninterrupted_one(grace_codes, fs_model, engine):
    """NVE, 40 steps in one job, against 25 steps continued by a second job from the first job's folder: the
    continuation starts at the last frame (step 20; the rows 21-25 are run again) with its positions, cell and
    velocities, and gives the same thermo and trajectory. The rattled cell has atoms at negative coordinates,
    so the start is wrapped into the cell and the trajectory must come out unwrapped as in one run."""
    settings = {"engine": engine, "calculator": "fs_cpp", "ensemble": "nve", "temperature": 800.0, "steps": 40,
                "thermo_interval": 5, "dump_interval": 10}
    structure = hot_cuau_cell()
    whole, whole_node = run_md(grace_codes, fs_model, structure, **settings)
    _, stopped = run_md(grace_codes, fs_model, structure, **{**settings, "steps": 25})
    frame = stopped.outputs.trajectory.get_step_structure(2).get_ase()  # step 20
    assert (frame.get_scaled_positions(wrap=False) < 0).any()  # the run has to wrap and unwrap
    rest, rest_node = run_get_node(GraceMdCalculation, code=grace_codes["driver"], model=fs_model,
                                   structure=structure, parameters=orm.Dict(settings),
                                   parent_folder=stopped.outputs.remote_folder)
    assert whole_node.is_finished_ok and rest_node.is_finished_ok, rest_node.exit_message
    assert rest["output_parameters"]["first_step"] == 20 and whole["output_parameters"]["first_step"] == 0
    np.testing.assert_array_equal(rest["thermo"].get_array("step"), np.arange(0, 41, 5))
    for key in ("potential_energy", "kinetic_energy", "total_energy", "pressure", "volume"):
        np.testing.assert_allclose(rest["thermo"].get_array(key), whole["thermo"].get_array(key), rtol=0,
                                   atol=1e-9, err_msg=key)  # eV, GPa, Å³
    np.testing.assert_array_equal(rest["trajectory"].get_stepids(), np.arange(0, 41, 10))
    np.testing.assert_allclose(rest["trajectory"].get_positions(), whole["trajectory"].get_positions(), rtol=0,
                               atol=1e-9)  # Å
    assert np.ptp(whole["thermo"].get_array("potential_energy")[4:]) > 1e-3  # the continued part moved


@pytest.mark.slow
def test_base_md_continues_jobs_stopped_by_a_cpu_time_limit(grace_codes, fs_model):
    """grace.base_md with every job under `ulimit -t 4` (the kernel kills the driver as a walltime would; unlike
    a wall-clock limit it does not depend on the machine's load) and a flush after every row: the jobs stop with
    exit 400 (here after ~500 steps each), each continues the last, and the last returns the whole NVE run,
    every row and frame once, equal to the uninterrupted run (measured: 1e-9 eV/atom and Å after 2000 steps,
    where chaos has grown the rounding of each restart; new velocities would change the energy by ~0.01 eV/atom,
    wrong cell images a position by a lattice vector)."""
    from aiida_grace.workflows.base_md import GraceBaseMdWorkChain

    settings = {"engine": "ase", "calculator": "fs_cpp", "ensemble": "nve", "temperature": 600.0, "steps": 2000,
                "thermo_interval": 10, "dump_interval": 50}
    options = {"prepend_text": "ulimit -t 4\nexport AIIDA_GRACE_MD_FLUSH_SECONDS=0"}
    results, node = run_get_node(GraceBaseMdWorkChain, max_iterations=orm.Int(20), md={
        "code": grace_codes["driver"], "model": fs_model, "structure": hot_cuau_cell(),
        "parameters": orm.Dict(settings), "metadata": {"options": options}})
    assert node.is_finished_ok, node.exit_message
    jobs = sorted(node.called, key=lambda job: job.ctime)
    assert len(jobs) >= 2 and [job.exit_status for job in jobs] == [400] * (len(jobs) - 1) + [0]
    for before, after in zip(jobs, jobs[1:]):
        assert after.inputs.parent_folder.uuid == before.outputs.remote_folder.uuid  # each made progress
    assert results["output_parameters"]["first_step"] == jobs[-2].outputs.trajectory.get_stepids()[-1] > 0
    thermo, trajectory = results["thermo"], results["trajectory"]
    np.testing.assert_array_equal(thermo.get_array("step"), np.arange(0, 2001, 10))
    np.testing.assert_array_equal(trajectory.get_stepids(), np.arange(0, 2001, 50))

    whole, _ = run_md(grace_codes, fs_model, hot_cuau_cell(), **settings)
    for key in ("potential_energy", "total_energy"):
        np.testing.assert_allclose(thermo.get_array(key) / 32, whole["thermo"].get_array(key) / 32, rtol=0,
                                   atol=1e-6, err_msg=key)  # eV/atom
    np.testing.assert_allclose(trajectory.get_positions(), whole["trajectory"].get_positions(), rtol=0, atol=1e-6)
    assert np.ptp(thermo.get_array("potential_energy")) / 32 > 0.05  # eV/atom: the atoms really moved
