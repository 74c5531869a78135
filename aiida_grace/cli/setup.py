"""``aiida-grace setup``: a profile (SQLite + ZeroMQ) and the gracemaker/driver Codes on a computer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click

GRACEMAKER_LABEL = "gracemaker"
DRIVER_LABEL = "grace-driver"
CODE_PREPEND = "export GRACE_NO_UPDATE_CHECK=1\nexport TF_CPP_MIN_LOG_LEVEL=2"


def _executable(name: str) -> str:
    """Full path of an executable next to this Python, else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise click.ClickException(f"'{name}' is not installed next to {sys.executable} nor on PATH")
    return found


def ensure_profile(name: str) -> None:
    """Create a profile with SQLite storage, the ZeroMQ broker and a localhost computer, unless it exists."""
    from aiida.manage.configuration import get_config, reset_config

    if name in get_config(create=True).profile_names:
        return
    verdi = _executable("verdi")
    subprocess.run([verdi, "presto", "--profile-name", name, "--use-zeromq"], check=True)
    reset_config()  # re-read the configuration that verdi just wrote


def ensure_code(label: str, computer, executable: str, description: str):
    """The InstalledCode ``label@computer`` pointing at ``executable`` (created when missing)."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    try:
        code = orm.load_code(f"{label}@{computer.label}")
        if str(code.filepath_executable) == executable:
            return code
        code.label = f"{label}-old-{code.pk}"  # keep the old code (its jobs point at it) but free the name
    except NotExistent:
        pass
    return orm.InstalledCode(
        label=label, computer=computer, filepath_executable=executable, description=description,
        default_calc_job_plugin=None, prepend_text=CODE_PREPEND,
    ).store()


def setup_codes(computer, bin_dir: str | None = None) -> dict:
    """Codes for gracemaker and the aiida-grace driver on ``computer``: the executables of this environment, or
    those in ``bin_dir`` on the computer (a compute-only install on a cluster; not checked from here)."""

    def executable(name: str) -> str:
        return str(Path(bin_dir) / name) if bin_dir else _executable(name)

    return {
        "gracemaker": ensure_code(GRACEMAKER_LABEL, computer, executable("gracemaker"),
                                  "gracemaker (tensorpotential) model training"),
        "driver": ensure_code(DRIVER_LABEL, computer, executable("aiida-grace-driver"),
                              "aiida-grace compute-side driver (evaluation, data conversion)"),
    }


@click.command()
@click.option("--profile", "profile_name", default="grace", show_default=True, help="Profile to create or use.")
@click.option("--computer", "computer_label", default="localhost", show_default=True)
@click.option("--bin-dir", default=None, help="Folder of gracemaker and aiida-grace-driver on the computer "
              "(a compute-only install there); default: this environment's.")
def setup(profile_name, computer_label, bin_dir):
    """Create the profile (SQLite + ZeroMQ) if needed and the gracemaker/driver Codes on the computer."""
    from aiida import load_profile, orm

    ensure_profile(profile_name)
    load_profile(profile_name, allow_switch=True)
    computer = orm.load_computer(computer_label)
    for name, code in setup_codes(computer, bin_dir).items():
        click.echo(f"{name:>10}: {code.full_label} -> {code.filepath_executable}")
    click.echo(f"profile '{profile_name}' ready")

