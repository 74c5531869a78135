"""grace.active_learning end to end with EMT as the reference, and grace.select against the grace_uq CLI.

A tiny Cu model trained only on near-equilibrium cells explores hot MD; the loop labels what it picks with EMT and
fine-tunes. Checked: the held-out hot set's force error falls by a factor, the largest γ of fresh hot MD falls,
γ of the training structures stays below the threshold, the selection equals `grace_uq select` on the same pool.
"""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from aiida import orm

from aiida_grace.common.dataframe import structures_to_dataframe

pytestmark = pytest.mark.slow

FORCE_ERROR_FACTOR = 1.3  # the hot-set force RMSE of the last model is at least this much below the first's


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "active_learning.py"


@pytest.fixture(scope="module")
def active_learning_run(grace_codes, tmp_path_factory):
    """``verdi run examples/active_learning.py`` as a user runs it (here in-process on the test profile): the cold
    model trained, then two retrainings; its printed output, the process node and the folder it wrote to."""
    folder = tmp_path_factory.mktemp("active_learning_example")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.chdir(folder)
        patch.setattr(sys, "argv", [str(EXAMPLE), "--code", grace_codes["driver"].full_label,
                                    "--gracemaker", grace_codes["gracemaker"].full_label])
        runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = printed.getvalue()
    node = orm.load_node(int(re.search(r"grace.active_learning <(\d+)>", out).group(1)))
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    return node.outputs, node, out, folder


def test_loop_lowers_hot_errors_and_gamma(active_learning_run):
    outputs, node, _, _ = active_learning_run
    rows = outputs.summary["iterations"]
    assert len(rows) >= 3, rows  # explorations by models 0, 1, 2: two retrainings
    first, last = rows[0], rows[-1]
    threshold = first["gamma_threshold"]
    # The starting model extrapolates on hot MD; the loop picked frames there and learnt them.
    assert first["n_extrapolative"] > 0 and first["n_selected"] > 0
    assert first["gamma_max"] > threshold
    assert last["gamma_max"] < first["gamma_max"], [row["gamma_max"] for row in rows]
    reduction = first["test_errors"]["forces_rmse"] / last["test_errors"]["forces_rmse"]
    assert reduction >= FORCE_ERROR_FACTOR, [row["test_errors"]["forces_rmse"] for row in rows]
    assert outputs.summary["force_rmse_reduction"] == pytest.approx(reduction)
    for row in rows:  # the models stay within their own training data
        assert row["training_gamma_max"] < threshold, row
    # Provenance: every iteration's model, selection and labels are nodes; the labels are EMT's.
    assert set(outputs.models) >= {"iteration_0", "iteration_1", "iteration_2"}
    labelled = outputs.labelled["iteration_0"]
    assert labelled.n_structures == outputs.selections["iteration_0"].n_structures == first["n_selected"]
    from ase.calculators.emt import EMT

    atoms = labelled.to_ase()[0]
    expected = atoms.copy()
    expected.calc = EMT()
    assert atoms.get_potential_energy() == pytest.approx(expected.get_potential_energy(), abs=1e-10)
    assert outputs.dataset.n_structures == 24 + sum(row["n_selected"] for row in rows[:-1])
    assert {"gamma_distribution", "errors"} <= set(outputs.plots)
    report = "\n".join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert "frames extrapolative" in report and "test force RMSE" in report


def grace_uq(*arguments, cwd):
    executable = str(Path(sys.executable).parent / "grace_uq")
    completed = subprocess.run([executable, *arguments], cwd=cwd, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]


def test_selection_equals_grace_uq_select(active_learning_run, tmp_path):
    """The iteration-0 pool through the plain grace_uq CLI (predict inside select) picks the same frames."""
    import pandas as pd

    outputs, node, _, _ = active_learning_run
    select = next(n for n in node.called_descendants if n.label == "iteration_0_select")
    model, uncertainty, pool = select.inputs.model, select.inputs.uncertainty, select.inputs.dataset
    model.export(tmp_path / "model")
    artifacts = uncertainty.export(tmp_path)
    structures_to_dataframe(pool.to_ase()).to_pickle(tmp_path / "pool.pkl.gz")
    settings = select.inputs.parameters.get_dict()  # written out here as a user would type them
    assert set(settings) == {"n_structures", "strategy", "gamma_min"}
    grace_uq("select", "--dataset", "pool.pkl.gz", "--model", "model/model.yaml", "--checkpoint",
             "model/checkpoints/checkpoint.best_test_loss", "--artifact", artifacts.name, "--uq", artifacts.name,
             "-n", str(settings["n_structures"]), "--strategy", settings["strategy"],
             "--gamma-min", str(settings["gamma_min"]), "--seed", "42", "--n-workers", "1",
             "--output", "selected.pkl.gz", cwd=tmp_path)
    expected = [int(i) for i in pd.read_pickle(tmp_path / "selected.pkl.gz").index]
    chosen = [int(a.info["pool_index"]) for a in outputs.selections["iteration_0"].to_ase()]
    assert chosen == expected
    assert len(expected) > 0


def test_evaluate_gamma_matches_calculator(active_learning_run, tmp_path):
    """γ from grace.evaluate (uncertainty input) equals TPCalculator with the same artifacts, atom by atom."""
    from aiida_grace.driver.uncertainty import uncertainty_calculator

    _, node, _, _ = active_learning_run
    evaluation = next(n for n in node.called_descendants
                      if n.process_label == "GraceEvaluateCalculation" and "uncertainty" in n.inputs)
    model, uncertainty = evaluation.inputs.model, evaluation.inputs.uncertainty
    model.export(tmp_path / "model")
    calc = uncertainty_calculator(str(tmp_path / "model" / "final_model"), {
        "artifacts": str(uncertainty.export(tmp_path)), "model_yaml": str(tmp_path / "model" / "model.yaml"),
        "checkpoint": str(tmp_path / "model" / "checkpoints" / "checkpoint.best_test_loss")})
    labelled = evaluation.outputs.output_datasets["test"].to_ase()[:3]
    for atoms in labelled:
        probe = atoms.copy()
        probe.calc = calc
        probe.get_potential_energy()
        assert np.allclose(atoms.arrays["gamma"], calc.results["gamma"], rtol=1e-6, atol=1e-9)
        assert atoms.info["gamma_max"] == pytest.approx(float(np.max(calc.results["gamma"])), rel=1e-6)


def test_example_prints_the_table_and_writes_the_plots(active_learning_run):
    outputs, node, out, folder = active_learning_run
    rows = outputs.summary["iterations"]
    printed = [line.split() for line in out.splitlines() if re.match(r"\s+\d+\s+\d+\s+\d+\s", line)]
    assert len(printed) == len(rows)
    for line, row in zip(printed, rows):
        assert int(line[0]) == row["iteration"] and int(line[1]) == row["n_frames"]
        assert float(line[3]) == pytest.approx(row["gamma_max"], abs=5e-4)
        assert float(line[6]) == pytest.approx(row["test_errors"]["forces_rmse"], abs=5e-5)
    for name in ("gamma_distribution", "errors"):
        png = folder / f"active_learning_{name}_{node.pk}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"verdi process report {node.pk}" in out
    from click.testing import CliRunner

    from aiida_grace.cli import cli

    for kind in ("gamma", "errors"):
        target = folder / f"again_{kind}.png"
        result = CliRunner().invoke(cli, ["plot", "active-learning", str(node.pk), "--kind", kind, "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
