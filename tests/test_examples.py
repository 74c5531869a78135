"""The examples run as a user runs them (verdi run), here in-process on the test profile (slow)."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_main_job_prints_the_error_table_and_graph_command(grace_codes, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [
        "main_job.py", "--gracemaker", grace_codes["gracemaker"].full_label,
        "--driver", grace_codes["driver"].full_label, "--epochs", "2", "--finetune-epochs", "1"])
    runpy.run_path(str(EXAMPLES / "main_job.py"), run_name="__main__")
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(("base ", "fine-tuned (2a)"))]
    assert len(rows) == 4, out
    for row in rows:
        energy_mae, force_mae, stress_mae = (float(x) for x in row.split()[-3:])
        assert 0 < energy_mae < 1000 and 0 < force_mae < 5000 and 0 < stress_mae < 100
    assert "verdi node graph generate -a 12 -d 0 -f png" in out
