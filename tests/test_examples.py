"""The examples run as a user runs them (verdi run), here in-process on the test profile with the session's
tiny models (``--model``) and small settings; what they print is checked against the stored nodes (slow)."""

import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from aiida import orm

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


def run_example(name: str, arguments: list[str], monkeypatch, capsys, tmp_path) -> str:
    """Run ``examples/<name>`` as ``verdi run`` would, in ``tmp_path``; its standard output."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *arguments])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def process_of(out: str, label: str):
    """The process whose PK the example printed as ``<label> <PK>``."""
    return orm.load_node(int(re.search(rf"{re.escape(label)} <(\d+)>", out).group(1)))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height (pixels) of a PNG, from its IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG, path
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def plot_verb(*arguments) -> str:
    """``aiida-grace plot ...`` on the test profile; what it printed."""
    from click.testing import CliRunner

    from aiida_grace.cli import cli

    return CliRunner().invoke(cli, ["plot", *map(str, arguments)], catch_exceptions=False).output


def rows(out: str, pattern: str) -> list[list[float]]:
    return [[float(x.rstrip("%")) for x in line.split()[1:]] for line in out.splitlines() if re.match(pattern, line)]


@pytest.mark.slow
def test_main_job_prints_the_error_table_and_graph_command(grace_codes, monkeypatch, capsys, tmp_path):
    out = run_example("main_job.py", ["--gracemaker", grace_codes["gracemaker"].full_label,
                                      "--code", grace_codes["driver"].full_label, "--epochs", "2",
                                      "--finetune-epochs", "1"], monkeypatch, capsys, tmp_path)
    table = [line for line in out.splitlines() if line.startswith(("base ", "fine-tuned (2a)"))]
    assert len(table) == 4, out
    for row in table:
        energy_mae, force_mae, stress_mae = (float(x) for x in row.split()[-3:])
        assert 0 < energy_mae < 1000 and 0 < force_mae < 5000 and 0 < stress_mae < 100
    assert "verdi node graph generate -a 12 -d 0 -f png" in out
    job = orm.load_node(int(re.search(r"verdi process show (\d+)", out).group(1)))
    assert job.process_type == "aiida.calculations:grace.train" and job.is_finished_ok


@pytest.mark.slow
def test_elastic_example_prints_the_stored_tensor_against_emt_and_plots_it(grace_codes, trained_model, monkeypatch,
                                                                           capsys, tmp_path):
    out = run_example("elastic.py", ["--code", grace_codes["driver"].full_label, "--model", str(trained_model.pk),
                                     "--protocol", "fast"], monkeypatch, capsys, tmp_path)
    node = process_of(out, "grace.elastic")
    assert node.is_finished_ok and node.inputs.model.pk == trained_model.pk
    c = node.outputs.elastic_tensor.get_array("elastic_tensor")
    grace, emt, _ = np.array(rows(out, r"C(11|12|44) ")).T
    np.testing.assert_allclose(grace, [c[0, 0], c[0, 1], c[3, 3]], atol=0.051)
    np.testing.assert_allclose(emt, [172.56, 115.50, 89.96], atol=0.05)  # EMT's own fcc Cu, straight from ase
    assert f"K_VRH {node.outputs.output_parameters['bulk_modulus_vrh']:.1f} GPa" in out
    assert png_size(tmp_path / f"elastic_{node.pk}.png") == (1200, 504)
    assert f"aiida-grace plot elastic {node.pk}" in out and f"verdi process report {node.pk}" in out
    reference = orm.ArrayData({"elastic_tensor": np.eye(6) * 100}).store()
    plot_verb("elastic", node.pk, "-o", tmp_path / "verb.png", "--reference", reference.pk)
    assert png_size(tmp_path / "verb.png") == (1200, 504)


@pytest.mark.slow
def test_kappa_example_prints_the_stored_kappa_against_emt_and_plots_it(grace_codes, trained_model, monkeypatch,
                                                                         capsys, tmp_path):
    out = run_example("thermal_conductivity.py", ["--code", grace_codes["driver"].full_label, "--model",
                                                  str(trained_model.pk), "--mesh", "6", "--temperatures", "300",
                                                  "600", "--protocol", "fast"], monkeypatch, capsys, tmp_path)
    node = process_of(out, "grace.thermal_conductivity")
    assert node.is_finished_ok
    table = np.array(rows(out, r"\s+\d+ "))
    temperatures = [float(line.split()[0]) for line in out.splitlines() if re.match(r"\s+\d+ ", line)]
    assert temperatures == [300.0, 600.0]
    np.testing.assert_allclose(table[:, 0], node.outputs.output_parameters["kappa_TOT_ave"], atol=0.006)
    emt = table[:, 1]
    assert 5 < emt[0] < 30 and emt[1] < emt[0]  # EMT Cu, phonons only: ~13 W/m/K at 300 K, falling with T
    width, height = png_size(tmp_path / f"kappa_{node.pk}.png")
    assert height == 504 and width > 1000  # bands, DOS and κ(T) side by side
    assert f"aiida-grace plot kappa {node.pk}" in out
    plot_verb("kappa", node.pk, "-o", tmp_path / "verb.png")
    assert png_size(tmp_path / "verb.png") == (width, height)


@pytest.mark.slow
def test_md_example_prints_the_analysis_and_writes_its_plots(grace_codes, trained_model, monkeypatch, capsys,
                                                             tmp_path):
    out = run_example("md.py", ["--code", grace_codes["driver"].full_label, "--model", str(trained_model.pk),
                                "--engine", "lammps", "--steps", "100"], monkeypatch, capsys, tmp_path)
    node = process_of(out, "grace.md")
    assert node.is_finished_ok and node.outputs.output_parameters["steps"] == 100
    peak = node.outputs.rdf_peaks["main_peak"]["Cu-Cu"]
    assert f"first g(r) peak Cu-Cu {peak:.3f} Å" in out and 2.3 < peak < 2.8  # a/√2 = 2.55 Å
    assert f"total energy drift {node.outputs.energy_drift['drift']:.3g}" in out
    for name in ("energy_drift", "rdf", "msd"):
        path = tmp_path / f"md_{node.pk}_{name}.png"
        assert path.read_bytes() == node.outputs.plots[name].get_content(mode="rb")
        assert min(png_size(path)) > 200


@pytest.mark.slow
def test_distill_example_prints_errors_per_group(grace_codes, emt_teacher, monkeypatch, capsys, tmp_path):
    out = run_example("distill.py", ["--code", grace_codes["driver"].full_label, "--gracemaker",
                                     grace_codes["gracemaker"].full_label, "--model", str(emt_teacher.pk),
                                     "--epochs", "1"], monkeypatch, capsys, tmp_path)
    table = {line.split(" |")[0].strip(): [float(x) for x in line.split("|")[1:]]
             for line in out.splitlines() if line.startswith(("extended ", "downstream only "))}
    assert set(table) == {"extended", "downstream only"}, out
    extended, downstream = table["extended"], table["downstream only"]
    assert extended[0] > downstream[0] and extended[1] == 1  # more structures, the 1 epoch asked for
    # as many gradient updates: epochs scale inversely with the training-set size
    assert downstream[1] > extended[1]
    assert all(0 < error < 1e4 for error in extended[2:] + downstream[2:])
    node = orm.load_node(int(re.search(r"verdi process show (\d+)", out).group(1)))
    assert node.process_type == "aiida.workflows:grace.distill" and node.is_finished_ok


@pytest.mark.slow
def test_finetune_study_example_prints_the_table_and_draws_both_pictures(grace_codes, emt_teacher, monkeypatch,
                                                                         capsys, tmp_path):
    out = run_example("finetune_study.py", ["--code", grace_codes["driver"].full_label, "--gracemaker",
                                            grace_codes["gracemaker"].full_label, "--model", str(emt_teacher.pk),
                                            "--study-epochs", "2", "--fractions", "1.0"], monkeypatch, capsys, tmp_path)
    node = process_of(out, "grace.finetune_study")
    assert node.is_finished_ok and node.inputs.parent_model.pk == emt_teacher.pk, node.exit_message
    table = node.outputs.table.get_dict()["combinations"]
    printed = example_rows(out, ("zero_shot", "naive_pct", "frozen_2a_pct", "from_scratch_pct"))
    assert set(printed) == set(table), out
    for name, numbers in printed.items():  # n, E test, F test (meV) as stored
        downstream = table[name]["downstream"]["all"]
        assert numbers[0] == table[name]["n_train"]
        assert numbers[1] == pytest.approx(1000 * downstream["energy_per_atom"]["mae"], abs=0.051)
        assert numbers[2] == pytest.approx(1000 * downstream["forces"]["mae"], abs=0.051)
    assert "max dE Cu" in out and "Pareto front of forces MAE (test vs original): " in out
    for kind, output in (("data-efficiency", "data_efficiency"), ("forgetting", "forgetting")):
        path = tmp_path / f"{output}_{node.pk}.png"
        assert path.read_bytes() == node.outputs[output].get_content(mode="rb") and min(png_size(path)) > 300
        assert plot_verb("finetune-study", node.pk, "--kind", kind, "-o", tmp_path / f"{kind}.png").strip().endswith(
            f"{kind}.png")
    assert f"aiida-grace plot finetune-study {node.pk}" in out


def validation_example(name: str, codes, model, monkeypatch, capsys, tmp_path, label: str, *extra):
    """Run a validation example with ``model``; its output, its process (finished ok) and its plot checked
    against the stored PNG and the ``aiida-grace plot validation`` verb."""
    out = run_example(name, ["--code", codes["driver"].full_label, "--model", str(model.pk), *extra],
                      monkeypatch, capsys, tmp_path)
    node = process_of(out, label)
    assert node.is_finished_ok and node.inputs.model.pk == model.pk, node.exit_message
    path = tmp_path / f"{label.replace('.', '_')}_{node.pk}.png"
    assert path.read_bytes() == node.outputs.plot.get_content(mode="rb") and min(png_size(path)) > 300
    assert "aiida-grace plot validation" in out and f"verdi process report {node.pk}" in out
    assert plot_verb("validation", node.pk, "-o", tmp_path / "verb.png").strip().endswith("verb.png")
    assert min(png_size(tmp_path / "verb.png")) > 300
    return out, node


def example_rows(out: str, first: str) -> dict:
    """First column → the numbers of the rows whose first column starts with ``first``."""
    return {line.split()[0]: [float(x.rstrip("%")) for x in line.split()[1:]]
            for line in out.splitlines() if line.startswith(first)}


@pytest.mark.slow
def test_eos_example_prints_v0_b0_and_the_delta_gauge(grace_codes, emt_defects_model, monkeypatch, capsys, tmp_path):
    out, node = validation_example("eos.py", grace_codes, emt_defects_model, monkeypatch, capsys, tmp_path,
                                   "grace.eos", "--protocol", "fast")
    fit, scores = node.outputs.output_parameters["Cu"], node.outputs.scores
    v0, emt_v0, wien2k_v0, b0, emt_b0, wien2k_b0, bp, delta = example_rows(out, "Cu ")["Cu"]
    assert (v0, b0, delta) == (round(fit["V0"], 3), round(fit["B0"], 1), round(scores["delta"]["Cu"], 1))
    assert (wien2k_v0, wien2k_b0) == (11.951, 141.3)
    assert emt_v0 == pytest.approx(11.57, abs=0.02) and emt_b0 == pytest.approx(134.4, abs=1.0)  # EMT's own Cu
    assert f"Δ-gauge against WIEN2k (mean over 1 elements): {scores['delta_mean']:.1f} meV/atom" in out


@pytest.mark.slow
def test_point_defects_example_prints_formation_energies_against_emt(grace_codes, emt_defects_model, monkeypatch,
                                                                    capsys, tmp_path):
    out, node = validation_example("point_defects.py", grace_codes, emt_defects_model, monkeypatch, capsys,
                                   tmp_path, "grace.point_defects")
    energies = node.outputs.output_parameters["Cu"]["formation_energies"]
    rows = example_rows(out, ("vacancy ", "dumbbell_"))
    assert set(rows) == set(energies) == {"vacancy", "dumbbell_100", "dumbbell_110"}
    for defect, (grace, emt, _) in rows.items():
        assert grace == round(energies[defect], 3) and 0.5 < emt < 6.0
    assert node.inputs.reference["vacancy"]["Cu"] == pytest.approx(rows["vacancy"][1], abs=5e-4)


@pytest.mark.slow
def test_surface_energy_example_prints_gamma_against_emt(grace_codes, emt_defects_model, monkeypatch, capsys,
                                                         tmp_path):
    out, node = validation_example("surface_energy.py", grace_codes, emt_defects_model, monkeypatch, capsys,
                                   tmp_path, "grace.surface_energy")
    surfaces = node.outputs.output_parameters["Cu"]["surfaces"]
    rows = example_rows(out, "(1")
    assert set(rows) == {"(100)", "(110)", "(111)"}
    for key, (atoms, gamma, joules, emt, _) in rows.items():
        stored = surfaces[key.strip("()")]
        assert (atoms, gamma, joules) == (stored["n_atoms"], round(stored["meV_per_A2"], 1),
                                          round(stored["J_per_m2"], 3))
        assert 50 < emt < 90  # EMT Cu: 65-77 meV/Å²


@pytest.mark.slow
def test_grain_boundary_example_prints_gamma_against_emt(grace_codes, emt_defects_model, monkeypatch, capsys,
                                                         tmp_path):
    out, node = validation_example("grain_boundary.py", grace_codes, emt_defects_model, monkeypatch, capsys,
                                   tmp_path, "grace.grain_boundary")
    boundaries = node.outputs.output_parameters["Cu"]["boundaries"]
    rows = example_rows(out, "S5_")
    assert set(rows) == set(boundaries) == {"S5_001_310", "S5_001_210"}
    for key, (atoms, gamma, _, emt, _) in rows.items():
        assert (atoms, gamma) == (boundaries[key]["n_atoms"], round(boundaries[key]["meV_per_A2"], 1))
        assert 30 < emt < 90  # EMT Cu Σ5: 60-66 meV/Å², relaxed along the normal


@pytest.mark.slow
def test_stability_example_prints_the_metrics_and_candidates_against_emt(grace_codes, cu_pd_model, monkeypatch,
                                                                        capsys, tmp_path):
    out = run_example("stability.py", ["--code", grace_codes["driver"].full_label, "--model", str(cu_pd_model.pk),
                                       "--protocol", "fast", "--chunk", "4"], monkeypatch, capsys, tmp_path)
    node = process_of(out, "grace.stability")
    assert node.is_finished_ok and node.inputs.parameters["relax"]["fmax"] == 0.1
    metrics, candidates = node.outputs.metrics.get_dict(), node.outputs.results["candidates"]
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["n", "TP", "FP"])
    printed = dict(zip(lines[header].split(), lines[header + 1].split()))
    for key in ("n", "TP", "FP", "TN", "FN"):
        assert int(printed[key]) == metrics[key], key
    for key in ("precision", "recall", "F1", "accuracy", "DAF", "MAE", "RMSE"):
        assert printed[key] == ("n/a" if metrics[key] is None else f"{metrics[key]:.3f}"), key
    table = {line.split()[0]: line.split()[1:] for line in lines if line.split()[:1] and line.split()[0] in candidates}
    assert len(table) == len(candidates) == 8
    for name, values in table.items():
        row = candidates[name]
        assert [float(v) for v in values[:4]] == pytest.approx(
            [row["e_form"], row["reference_e_form"], row["e_above_hull"], row["reference_e_above_hull"]], abs=6e-5)
        assert values[4:6] == [str(row["stable"]), str(row["reference_stable"])]
    assert png_size(tmp_path / f"grace_stability_{node.pk}.png")[0] > 1000
    assert Path(plot_verb("stability", node.pk, "-o", tmp_path / "again.png").strip()).is_file()
