"""PostgreSQL storage (``core.psql_dos``) and the RabbitMQ broker (``core.rabbitmq``) for ``aiida-grace setup
--production``: the services checked, the database and its user made, the profile and a localhost computer."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import click

PRODUCTION_PROFILE = "grace-production"
SERVICES_HINT = "start PostgreSQL and RabbitMQ with `bash scripts/services.sh` (as root; it installs them if missing)"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def check_services(postgres: dict) -> dict:
    """The broker configuration of the RabbitMQ on localhost (AiiDA's defaults, or AIIDA_BROKER_* variables);
    a ClickException naming what does not answer and how to start it when PostgreSQL or RabbitMQ is down."""
    from aiida.brokers.rabbitmq.defaults import detect_rabbitmq_config

    problems = []
    if not _port_open(postgres["host"], postgres["port"]):
        problems.append(f"PostgreSQL does not answer on {postgres['host']}:{postgres['port']}")
    try:
        broker = detect_rabbitmq_config()
    except ConnectionError as exception:
        problems.append(f"RabbitMQ does not answer ({exception.__cause__ or exception})")
    if problems:
        raise click.ClickException(f"{'; '.join(problems)}: {SERVICES_HINT}")
    return broker


def postgres_admin(sql: str, postgres: dict) -> str:
    """Run ``sql`` as PostgreSQL's administrator: through psycopg with ``postgres``' user and password, else as the
    ``postgres`` Unix user over the local socket (``runuser`` when root, else ``sudo -n``). Returns psql's output
    (rows, fields separated by |)."""
    import psycopg

    try:
        with psycopg.connect(host=postgres["host"], port=postgres["port"], user=postgres["user"],
                             password=postgres["password"] or None, dbname="postgres", autocommit=True,
                             connect_timeout=5) as connection:
            cursor = connection.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
            return "\n".join("|".join(str(value) for value in row) for row in rows)
    except psycopg.OperationalError as exception:
        denied = exception
    become = (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 and shutil.which("runuser")
              else ["sudo", "-n", "-u", "postgres"] if shutil.which("sudo") else None)
    if become is None:
        raise click.ClickException(f"cannot act as PostgreSQL's administrator: {denied}; give --postgres-username "
                                   "and --postgres-password of a user allowed to create users and databases")
    result = subprocess.run([*become, "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-p",
                             str(postgres["port"]), "-d", "postgres", "-c", sql],
                            capture_output=True, text=True, cwd="/")
    if result.returncode != 0:
        raise click.ClickException(f"cannot act as PostgreSQL's administrator ({denied}; as the postgres Unix user: "
                                   f"{(result.stderr or result.stdout).strip()})")
    return result.stdout.strip()


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_database(name: str, postgres: dict) -> dict:
    """A PostgreSQL user and database ``name`` (created when missing, the user's password set anew) and the
    ``core.psql_dos`` storage settings that connect to them."""
    password = secrets.token_hex(15)
    role_exists = postgres_admin(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'", postgres) == "1"
    verb = "ALTER" if role_exists else "CREATE"
    postgres_admin(f"{verb} ROLE {_identifier(name)} WITH LOGIN PASSWORD '{password}'", postgres)
    if postgres_admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'", postgres) != "1":
        postgres_admin(f"CREATE DATABASE {_identifier(name)} OWNER {_identifier(name)} ENCODING 'UTF8' "
                       "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0", postgres)
    return {"database_hostname": postgres["host"], "database_port": postgres["port"], "database_name": name,
            "database_username": name, "database_password": password}


def drop_database(name: str, postgres: dict) -> None:
    """Drop the PostgreSQL database and user ``name`` (of a deleted profile), when they exist."""
    postgres_admin(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)", postgres)
    postgres_admin(f"DROP ROLE IF EXISTS {_identifier(name)}", postgres)


def ensure_production_profile(name: str, postgres: dict) -> None:
    """Create a profile with PostgreSQL storage (user and database ``aiida-<name>``) and the RabbitMQ broker,
    unless it exists; an existing profile must have both. Refuses (ClickException) when a service is down."""
    from aiida.manage.configuration import create_profile, get_config, get_config_option, reset_config
    from aiida.manage.configuration.settings import AiiDAConfigDir

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise click.ClickException(f"profile name '{name}': use letters, digits, '_', '.' and '-'")
    config = get_config(create=True)
    exists = name in config.profile_names
    if exists:
        profile = config.get_profile(name)
        if (profile.storage_backend, profile.process_control_backend) != ("core.psql_dos", "core.rabbitmq"):
            raise click.ClickException(
                f"profile '{name}' exists with {profile.storage_backend} storage and the "
                f"{profile.process_control_backend} broker, not core.psql_dos + core.rabbitmq: choose another --profile")
    broker = check_services(postgres)
    if exists:
        return
    storage = ensure_database(f"aiida-{name}", postgres)
    storage["repository_uri"] = (AiiDAConfigDir.get() / "repository" / name).as_uri()
    profile = create_profile(config, name=name, email=get_config_option("autofill.user.email") or "aiida@localhost",
                             storage_backend="core.psql_dos", storage_config=storage,
                             broker_backend="core.rabbitmq", broker_config=broker)
    config.set_option("runner.poll.interval", 1, scope=profile.name)
    config.set_default_profile(profile.name, overwrite=True)
    config.store()
    reset_config()


def ensure_localhost(label: str):
    """The Computer ``label`` (this machine: core.local transport, core.direct scheduler), created as
    ``verdi presto`` makes it when missing."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent
    from aiida.manage.configuration import get_config, get_profile

    try:
        return orm.load_computer(label)
    except NotExistent:
        pass
    computer = orm.Computer(label=label, hostname="localhost", transport_type="core.local",
                            scheduler_type="core.direct", description="this machine (aiida-grace setup)",
                            workdir=str(Path(get_config().dirpath) / "scratch" / get_profile().name)).store()
    computer.configure(safe_interval=0)
    computer.set_minimum_job_poll_interval(1)
    computer.set_default_mpiprocs_per_machine(1)
    return computer
