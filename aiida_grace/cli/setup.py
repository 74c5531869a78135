"""``aiida-grace setup``: a profile (SQLite + ZeroMQ, or with ``--production`` PostgreSQL + RabbitMQ) and the
gracemaker/driver Codes on a computer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click

from .production import PRODUCTION_PROFILE, ensure_localhost, ensure_production_profile

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
@click.option("--profile", "profile_name", default=None,
              help=f"Profile to create or use  [default: grace, with --production {PRODUCTION_PROFILE}]")
@click.option("--computer", "computer_label", default="localhost", show_default=True)
@click.option("--bin-dir", default=None, help="Folder of gracemaker and aiida-grace-driver on the computer "
              "(a compute-only install there); default: this environment's.")
@click.option("--production", is_flag=True, help="PostgreSQL storage (core.psql_dos) and the RabbitMQ broker instead "
              "of SQLite + ZeroMQ, for many processes on several daemon workers; both services must run on "
              "localhost (bash scripts/services.sh).")
@click.option("--postgres-hostname", default="localhost", show_default=True, help="With --production.")
@click.option("--postgres-port", default=5432, show_default=True, type=int, help="With --production.")
@click.option("--postgres-username", default="postgres", show_default=True,
              help="With --production: a PostgreSQL user allowed to create users and databases (as root, the "
                   "postgres Unix user is used when this one cannot log in).")
@click.option("--postgres-password", default="", help="With --production: that user's password.")
def setup(profile_name, computer_label, bin_dir, production, postgres_hostname, postgres_port, postgres_username,
          postgres_password):
    """Create the profile (SQLite + ZeroMQ, or PostgreSQL + RabbitMQ) if needed and the gracemaker/driver Codes on
    the computer."""
    from aiida import load_profile, orm

    if production:
        profile_name = profile_name or PRODUCTION_PROFILE
        ensure_production_profile(profile_name, {"host": postgres_hostname, "port": postgres_port,
                                                 "user": postgres_username, "password": postgres_password})
        load_profile(profile_name, allow_switch=True)
        computer = ensure_localhost(computer_label) if computer_label == "localhost" else \
            orm.load_computer(computer_label)
    else:
        profile_name = profile_name or "grace"
        ensure_profile(profile_name)
        load_profile(profile_name, allow_switch=True)
        computer = orm.load_computer(computer_label)
    for name, code in setup_codes(computer, bin_dir).items():
        click.echo(f"{name:>10}: {code.full_label} -> {code.filepath_executable}")
    click.echo(f"profile '{profile_name}' ready")

