"""``aiida-grace setup --production``: refusals without services (fast), a real profile on PostgreSQL + RabbitMQ
(slow; brought up by scripts/services.sh, skipped with its reason where they cannot start)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aiida_grace.cli import cli
from conftest import script_or_skip

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT = "9"  # discard: nothing listens there


def test_production_refuses_with_the_services_down_and_says_how_to_start_them(aiida_profile, monkeypatch):
    monkeypatch.setenv("AIIDA_BROKER_PORT", CLOSED_PORT)
    result = CliRunner().invoke(cli, ["setup", "--production", "--profile", "grace-no-services",
                                      "--postgres-port", CLOSED_PORT])
    assert result.exit_code != 0
    assert f"PostgreSQL does not answer on localhost:{CLOSED_PORT}" in result.output
    assert "RabbitMQ does not answer" in result.output and "scripts/services.sh" in result.output


def test_production_refuses_an_existing_profile_of_another_kind(aiida_profile):
    result = CliRunner().invoke(cli, ["setup", "--production", "--profile", aiida_profile.name])
    assert result.exit_code != 0
    assert "core.sqlite_dos storage" in result.output and "choose another --profile" in result.output


@pytest.mark.slow
def test_production_profile_is_made_once_and_kept(tmp_path):
    script_or_skip("PostgreSQL/RabbitMQ cannot start on this machine", ["bash", str(ROOT / "scripts" / "services.sh")],
                   timeout=600)
    env = {**os.environ, "AIIDA_PATH": str(tmp_path)}
    env.pop("AIIDA_PROFILE", None)
    bin_dir = Path(sys.executable).parent
    name = f"grace-production-test-{os.getpid()}"
    setup = [str(bin_dir / "aiida-grace"), "setup", "--production", "--profile", name]
    try:
        first = subprocess.run(setup, capture_output=True, text=True, env=env)
        assert first.returncode == 0, first.stderr
        again = subprocess.run(setup, capture_output=True, text=True, env=env)  # harmless: same profile, codes
        assert again.returncode == 0, again.stderr
        assert f"profile '{name}' ready" in again.stdout
        config = json.loads((tmp_path / ".aiida" / "config.json").read_text())["profiles"][name]
        assert config["storage"]["backend"] == "core.psql_dos"
        assert config["storage"]["config"]["database_name"] == f"aiida-{name}"
        assert config["process_control"]["backend"] == "core.rabbitmq"
        codes = subprocess.run([str(bin_dir / "verdi"), "-p", name, "code", "list", "-r"], capture_output=True,
                               text=True, env=env)
        assert "gracemaker@localhost" in codes.stdout and "grace-driver@localhost" in codes.stdout
        assert codes.stdout.count("grace-driver@localhost") == 1  # the second run made no new Code
    finally:
        from aiida_grace.cli.production import drop_database

        drop_database(f"aiida-{name}", {"host": "localhost", "port": 5432, "user": "postgres", "password": ""})
