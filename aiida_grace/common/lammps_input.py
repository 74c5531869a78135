"""The LAMMPS input of a GRACE MD run, rendered by a pure function (no aiida, no LAMMPS).

Upstream GRACE (ML-PACE package) documents two pair styles:

    pair_style grace                          pair_style grace/fs
    pair_coeff * * <saved_model_dir> El...    pair_coeff * * FS_model.yaml El...

``external`` renders ``pair_style zero`` + ``fix external pf/callback`` instead: forces and energy then come
from a Python callback (the GRACE ASE calculator), for a LAMMPS without ML-PACE.
"""

from __future__ import annotations

BAR_PER_GPA = 1.0e4
PAIR_STYLES = ("grace", "grace/fs", "external")
EXTERNAL_FIX = "grace"
THERMO_KEYWORDS = ("step", "time", "pe", "ke", "etotal", "temp", "press", "vol")


def pair_section(pair_style: str, model_path: str, elements: list[str], cutoff: float | None = None) -> list[str]:
    """The pair lines: ``model_path`` is the SavedModel folder (grace) or the FS yaml (grace/fs); ``elements`` map
    LAMMPS atom types 1..n to elements; ``cutoff`` (Å) sizes the neighbour lists of the external path."""
    if pair_style in ("grace", "grace/fs"):
        return [f"pair_style      {pair_style}", f"pair_coeff      * * {model_path} {' '.join(elements)}"]
    if pair_style == "external":
        if not cutoff:
            raise ValueError("the external pair needs the model cutoff (Å)")
        return [
            f"pair_style      zero {cutoff:g}",
            "pair_coeff      * *",
            f"fix             {EXTERNAL_FIX} all external pf/callback 1 1",
            f"fix_modify      {EXTERNAL_FIX} energy yes virial yes",
        ]
    raise ValueError(f"pair_style must be one of {', '.join(PAIR_STYLES)}, got {pair_style!r}")


def integrator_line(settings: dict) -> str:
    """``fix integrate``: nve, or Nosé-Hoover nvt/npt (temperature K, pressure GPa → bar, damping fs → ps)."""
    ensemble = settings["ensemble"]
    if ensemble == "nve":
        return "fix             integrate all nve"
    t, tdamp = settings["temperature"], settings["tdamp"] / 1000.0
    thermostat = f"temp {t:g} {t:g} {tdamp:g}"
    if ensemble == "nvt":
        return f"fix             integrate all nvt {thermostat}"
    p, pdamp = settings["pressure"] * BAR_PER_GPA, settings["pdamp"] / 1000.0
    return f"fix             integrate all npt {thermostat} iso {p:g} {p:g} {pdamp:g}"


def render_lammps_input(settings: dict, *, pair_style: str, model_path: str, elements: list[str],
                        data_file: str = "structure.data", dump_file: str | None = "trajectory.lammpstrj",
                        cutoff: float | None = None, with_run: bool = True) -> str:
    """The whole LAMMPS input (metal units) for validated MD ``settings`` (see :mod:`.md_input`).

    The data file carries masses and initial velocities. ``with_run=False`` stops before the output and run
    lines (the Python driver issues those itself, in chunks).
    """
    lines = [
        "# GRACE molecular dynamics (aiida-grace)",
        "units           metal",
        "atom_style      atomic",
        "boundary        p p p",
        "atom_modify     map array",
        f"read_data       {data_file}",
        "",
        *pair_section(pair_style, model_path, elements, cutoff),
        "",
        "neighbor        1.0 bin",
        "neigh_modify    every 1 delay 0 check yes",
        f"timestep        {settings['timestep'] / 1000.0:g}",
        integrator_line(settings),
        f"thermo_style    custom {' '.join(THERMO_KEYWORDS)}",
        "thermo_modify   norm no flush yes",
        f"thermo          {settings['thermo_interval']}",
    ]
    if with_run:
        if dump_file:
            lines += [
                f"dump            trajectory all custom {settings['dump_interval']} {dump_file} id type x y z ix iy iz",
                "dump_modify     trajectory sort id format float %.10g",
            ]
        lines.append(f"run             {settings['steps']}")
    return "\n".join(lines) + "\n"
