"""Native GRACE in LAMMPS through aiida-lammps: a ``lammps.raw`` builder for ``pair_style grace`` (SavedModel) or
``grace/fs`` (FS yaml), and a probe of a LAMMPS Code's pair styles.

aiida-lammps' structured ``lammps.base`` only takes the pair styles of its bundled potential list, where ``grace``
and ``grace/fs`` are missing; ``lammps.raw`` takes our own rendered script plus files. Those pair styles exist
only in a LAMMPS built with the ML-PACE package of the ICAMS fork; elsewhere use ``grace.md`` with engine
``lammps`` (``fix external``).
"""

from __future__ import annotations

import subprocess

from aiida import orm
from aiida.common.exceptions import MissingEntryPointError
from aiida.plugins import CalculationFactory

from ..calculations.validation import model_usable
from ..common.files import MD
from ..common.md_input import validate_settings
from ..common.model_files import FS_YAML
from ..functions.lammps_native import DUMP, SAVED_MODEL_TAR, lammps_native_inputs, native_elements

__all__ = ("NativeLammpsError", "check_native_lammps", "get_lammps_raw_builder", "lammps_pair_styles")

NATIVE_PAIR_STYLES = {"grace": "tensorflow", "grace/fs": "fs_cpp"}  # pair style -> model files it needs
# options that belong to the grace.md CalcJob, never to lammps.raw (e.g. from GraceMdWorkChain's md namespace)
NOT_PASSED_OPTIONS = ("parser_name", "input_filename", "output_filename")


class NativeLammpsError(ValueError):
    """The inputs cannot run as a native GRACE LAMMPS job."""


def lammps_pair_styles(code: orm.AbstractCode, timeout: float = 120.0) -> set[str] | None:
    """The pair styles a LAMMPS Code lists under ``-h``, or None when the Code cannot be asked from here (not an
    InstalledCode on a computer with the local transport). The computer's and the Code's prepend_text run first
    (e.g. ``export LD_LIBRARY_PATH=...``)."""
    if not isinstance(code, orm.InstalledCode) or code.computer.transport_type != "core.local":
        return None
    script = "\n".join([code.computer.get_prepend_text() or "", code.prepend_text or "",
                        f"'{code.filepath_executable}' -h"])
    listing = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=timeout, check=False,
                             stdin=subprocess.DEVNULL).stdout
    styles, inside = set(), False
    for line in listing.splitlines():
        if line.startswith("* "):
            inside = line.strip() == "* Pair styles:"
        elif inside:
            styles.update(line.split())
    if not styles:
        raise NativeLammpsError(f"'{code.filepath_executable} -h' listed no pair styles; is {code.full_label} a "
                                f"LAMMPS executable?")
    return styles


def check_native_lammps(code: orm.AbstractCode, pair_style: str) -> None:
    """Raise :class:`NativeLammpsError` when a locally runnable LAMMPS Code lacks ``pair_style``."""
    styles = lammps_pair_styles(code)
    if styles is not None and pair_style not in styles:
        raise NativeLammpsError(
            f"this LAMMPS ({code.full_label}) has no pair_style {pair_style} (needs the ML-PACE package of the "
            f"ICAMS fork); use grace.md with engine 'lammps' (fix external) instead")


def native_pair_style(settings: dict) -> str:
    """``grace/fs`` for calculator ``fs_cpp``, else ``grace``."""
    return "grace/fs" if settings["calculator"] == "fs_cpp" else "grace"


def check_native_inputs(structure: orm.StructureData, model, settings: dict, pair_style: str) -> None:
    """Raise :class:`NativeLammpsError` for a non-periodic structure, elements or files the model lacks, or
    settings that ask for another engine."""
    if pair_style not in NATIVE_PAIR_STYLES:
        raise NativeLammpsError(f"pair_style must be one of {', '.join(NATIVE_PAIR_STYLES)}, got {pair_style!r}")
    if not all(structure.pbc):
        raise NativeLammpsError(f"the structure must be periodic in all three directions, got pbc={structure.pbc}")
    if settings["engine"] != "lammps" or settings["lammps_pair"] == "external":
        raise NativeLammpsError(f"a native LAMMPS run needs engine 'lammps' and lammps_pair 'auto' or 'native', got "
                                f"{settings['engine']!r} and {settings['lammps_pair']!r}")
    problem = model_usable(model, native_elements(structure), NATIVE_PAIR_STYLES[pair_style],
                           what="the structure contains")
    if problem:
        raise NativeLammpsError(f"pair_style {pair_style}: {problem}")


def get_lammps_raw_builder(code: orm.AbstractCode, structure: orm.StructureData, model, parameters=None, *,
                           pair_style: str | None = None, check_code: bool = True, options: dict | None = None):
    """A ``lammps.raw`` builder running GRACE natively in LAMMPS.

    ``parameters``: MD settings (dict or Dict, see :mod:`aiida_grace.common.md_input`); ``pair_style``: ``grace``
    (SavedModel) or ``grace/fs`` (FS yaml), by default from ``calculator`` (``fs_cpp`` → ``grace/fs``);
    ``check_code``: ask a local Code for its pair styles first; ``options``: ``metadata.options`` merged over one
    process on one machine (a ``prepend_text`` runs before the SavedModel is unpacked). The job retrieves the
    screen output and the dump; ``lammps_md_outputs`` turns them into ``grace.md``'s thermo and trajectory.
    Raises :class:`NativeLammpsError` before anything is stored.
    """
    if not isinstance(parameters, orm.Dict):
        parameters = orm.Dict(parameters or {})
    try:
        settings = validate_settings(parameters.get_dict())
    except ValueError as exception:
        raise NativeLammpsError(f"invalid MD parameters: {exception}") from exception
    pair_style = pair_style or native_pair_style(settings)
    check_native_inputs(structure, model, settings, pair_style)
    if check_code:
        check_native_lammps(code, pair_style)

    try:
        raw = CalculationFactory("lammps.raw")
    except MissingEntryPointError as exception:
        raise NativeLammpsError("the native route needs aiida-lammps: pip install 'aiida-grace[lammps]'") from exception
    files = lammps_native_inputs(structure, model, parameters, orm.Str(pair_style))
    builder = raw.get_builder()
    builder.code = code
    builder.script = files["script"]
    builder.files = {"data": files["data"], "model": files["model_file"]}
    builder.filenames = {"data": MD.lammps_data, "model": FS_YAML if pair_style == "grace/fs" else SAVED_MODEL_TAR}
    builder.settings = orm.Dict({"additional_retrieve_list": [DUMP]})
    options = {"resources": {"num_machines": 1, "num_mpiprocs_per_machine": 1}, "withmpi": False,
               **{k: v for k, v in (options or {}).items() if k not in NOT_PASSED_OPTIONS}}
    if pair_style == "grace":
        unpack = f"tar -xf {SAVED_MODEL_TAR}"
        options["prepend_text"] = "\n".join(filter(None, [options.get("prepend_text"), unpack]))
    builder.metadata.options = options
    return builder
