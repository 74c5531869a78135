"""grace.stability on Cu–Pd with EMT as the "DFT" (a tiny model trained on EMT-labelled copies of the orderings):
hull distances and F1 against pymatgen's PhaseDiagram on the same energies, relaxed energies against the same
model through plain ASE, a daemon killed mid-way and the run submitted again reusing its finished chunks (slow);
bad input refused before submission (fast, fake model folders)."""

import math
import os
import re
import signal

import numpy as np
import pytest
from aiida import orm
from aiida.engine import ProcessState, run_get_node, submit
from ase.filters import FrechetCellFilter
from ase.optimize import FIRE
from pymatgen.analysis.phase_diagram import PDEntry, PhaseDiagram
from pymatgen.core import Composition

from aiida_grace.common.binary_prototypes import elemental_phases
from aiida_grace.common.stability import discovery_metrics
from aiida_grace.data import GraceDatasetData, GraceModelData
from aiida_grace.workflows.stability import GraceStabilityWorkChain, load_protocol
from conftest import write_fake_model
from test_daemon import alive, daemon, wait_for  # noqa: F401 (daemon is a fixture)

CHUNK = 3  # candidates per chunk of the end-to-end run
EVALUATE = "aiida.calculations:grace.evaluate"


def entries_of(demo) -> dict:
    return {name: list(entry) if isinstance(entry, tuple) else entry for name, entry in demo["reference_entries"].items()}


def builder_for(code, model, demo, **kwargs):
    return GraceStabilityWorkChain.get_builder_from_protocol(
        code, model, GraceDatasetData(demo["candidates"]), entries_of(demo), **kwargs)


@pytest.fixture(scope="module")
def stability_run(grace_codes, cu_pd_model, cu_pd_demo):
    """The workflow on the candidates, chunks of 3, elemental references relaxed in the run."""
    builder = builder_for(grace_codes["driver"], cu_pd_model, cu_pd_demo, batching={"max_structures_per_job": CHUNK},
                          reference_structures=GraceDatasetData(cu_pd_demo["reference_structures"]))
    results, node = run_get_node(builder)
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    return results, node


def nan_if_none(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def composition_fractions(formula: str) -> dict:
    return Composition(formula).fractional_composition.get_el_amt_dict()


@pytest.mark.slow
def test_hull_distances_and_f1_equal_pymatgen_on_the_same_energies(stability_run, cu_pd_demo):
    results, node = stability_run
    rows, metrics = results["results"]["candidates"], results["metrics"].get_dict()
    diagram = PhaseDiagram([PDEntry(Composition(formula), energy * Composition(formula).num_atoms)
                            for formula, energy in cu_pd_demo["reference_entries"].values()])
    mu_reference = {el.symbol: entry.energy_per_atom for el, entry in diagram.el_refs.items()}
    mu_model = results["elemental_references"].get_dict()
    names = [atoms.info["name"] for atoms in cu_pd_demo["candidates"]]
    assert sorted(rows) == sorted(names) and metrics["n_failed"] == 0

    def above_hull(formula: str, e_form: float) -> float:  # pymatgen: a PDEntry placed against the reference hull
        fractions = composition_fractions(formula)
        energy = e_form + sum(x * mu_reference[el] for el, x in fractions.items())
        entry = PDEntry(Composition(formula), energy * Composition(formula).num_atoms)
        return diagram.get_decomp_and_e_above_hull(entry, allow_negative=True)[1]

    expected_predicted, expected_reference = [], []
    for atoms, relaxed in zip(cu_pd_demo["candidates"], cu_pd_demo["reference_structures"]):
        row = rows[atoms.info["name"]]
        fractions = composition_fractions(row["formula"])
        e_form = row["energy_per_atom"] - sum(x * mu_model[el] for el, x in fractions.items())
        assert row["e_form"] == pytest.approx(e_form, abs=1e-12)
        expected_predicted.append(above_hull(row["formula"], e_form))
        emt = relaxed.get_potential_energy() / len(relaxed)  # EMT's relaxed energy, straight from ase
        assert row["reference_energy_per_atom"] == pytest.approx(emt, abs=1e-12)
        expected_reference.append(above_hull(row["formula"], emt - sum(x * mu_reference[el]
                                                                      for el, x in fractions.items())))
    predicted = np.array([rows[name]["e_above_hull"] for name in names])
    reference = np.array([rows[name]["reference_e_above_hull"] for name in names])
    np.testing.assert_allclose(predicted, expected_predicted, rtol=0, atol=1e-8)
    np.testing.assert_allclose(reference, expected_reference, rtol=0, atol=1e-8)
    # the classification counted here from pymatgen's numbers, F1 = 2PR/(P+R)
    stable, actual = np.array(expected_predicted) <= 0, np.array(expected_reference) <= 0
    tp, fp, fn = int(np.sum(stable & actual)), int(np.sum(stable & ~actual)), int(np.sum(~stable & actual))
    tn = len(names) - tp - fp - fn
    # non-degenerate: both classes among the candidates by EMT, and the model finds at least one stable one
    assert 0 < tp + fn < len(names) and fp + tn > 0 and tp > 0, (tp, fp, fn, tn)
    assert (metrics["TP"], metrics["FP"], metrics["FN"], metrics["TN"]) == (tp, fp, fn, tn)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert metrics["precision"] == pytest.approx(precision, abs=1e-12)
    assert metrics["recall"] == pytest.approx(recall, abs=1e-12)
    assert metrics["F1"] == pytest.approx(2 * precision * recall / (precision + recall), abs=1e-12)
    assert [rows[name]["stable"] for name in names] == list(stable)
    # and every stored metric is discovery_metrics of the stored numbers
    for key, value in discovery_metrics(predicted, reference).items():
        assert metrics[key] == (None if isinstance(value, float) and math.isnan(value) else pytest.approx(value)), key


@pytest.mark.slow
def test_relaxed_energies_equal_plain_ase_with_the_same_model(stability_run, cu_pd_demo, cu_pd_model,
                                                              tmp_path_factory):
    from tensorpotential.calculator import TPCalculator

    results, node = stability_run
    calc = TPCalculator(str(cu_pd_model.export(tmp_path_factory.mktemp("model")) / "final_model"))
    relax = load_protocol()["relax"]
    assert relax == {"optimizer": "FIRE", "fmax": 0.05, "steps": 500}

    def relaxed_energy(atoms) -> float:  # FIRE + FrechetCellFilter, the protocol's fmax and steps
        atoms = atoms.copy()
        atoms.calc = calc
        assert FIRE(FrechetCellFilter(atoms), logfile=None).run(fmax=relax["fmax"], steps=relax["steps"])
        return atoms.get_potential_energy() / len(atoms)

    rows = results["results"]["candidates"]
    for atoms in cu_pd_demo["candidates"]:
        assert rows[atoms.info["name"]]["energy_per_atom"] == pytest.approx(relaxed_energy(atoms), abs=1e-7)
        assert rows[atoms.info["name"]]["converged"]
    for element, energy in results["elemental_references"].get_dict().items():  # lowest of fcc and bcc
        assert energy == pytest.approx(min(relaxed_energy(a) for a in elemental_phases(element)), abs=1e-7)


@pytest.mark.slow
def test_outputs_report_and_plot(stability_run, cu_pd_demo):
    results, node = stability_run
    n = len(cu_pd_demo["candidates"])
    assert len(results["relaxed_chunks"]) == math.ceil(n / CHUNK)
    geometry = results["geometry"].get_dict()
    assert sorted(geometry["items"]) == sorted(a.info["name"] for a in cu_pd_demo["candidates"])
    assert all(item["rmsd"] is None or 0 <= item["rmsd"] < 1 for item in geometry["items"].values())
    assert results["hull_plot"].get_content(mode="rb")[:8] == b"\x89PNG\r\n\x1a\n"
    report = "\n".join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert f"{math.ceil(n / CHUNK)} chunk(s) relaxed: {n} of {n} candidates returned, 0 of them broke" in report
    assert re.search(rf"{n} candidates: \d+ predicted stable, 0 failed, 0 not converged; against {n} reference", report)


# -- interrupted and submitted again ---------------------------------------------------------------------------
def evaluate_jobs(workflow) -> list:
    return [n for n in workflow.called_descendants if n.process_type == EVALUATE]


N_CHUNKS = 8  # the daemon run: one candidate per chunk


@pytest.fixture
def caching_profile(aiida_profile):
    """The profile with caching of grace.evaluate on (what `verdi config set caching.enabled_for` writes) and
    worker slots for the work chains plus ONE job at a time, so that chunks finish one after another; reset after."""
    from aiida.manage.configuration import get_config

    config = get_config()
    options = {"caching.enabled_for": [EVALUATE], "daemon.worker_process_slots": N_CHUNKS + 3}
    for option, value in options.items():
        config.set_option(option, value, scope=aiida_profile.name)
    config.store()
    yield N_CHUNKS
    for option in options:
        config.unset_option(option, scope=aiida_profile.name)
    config.store()


@pytest.mark.slow
def test_a_run_killed_mid_way_and_submitted_again_reuses_its_finished_chunks(caching_profile, daemon, grace_codes,  # noqa: F811
                                                                             cu_pd_model, cu_pd_demo, stability_run):
    n_chunks = caching_profile
    assert len(cu_pd_demo["candidates"]) == n_chunks  # one candidate per chunk
    references = stability_run[0]["elemental_references"]
    builder = builder_for(grace_codes["driver"], cu_pd_model, cu_pd_demo, batching={"max_structures_per_job": 1},
                          elemental_references=references)
    inputs = dict(builder)

    def finished_ok(workflow) -> list:
        return [job for job in evaluate_jobs(workflow) if job.is_finished_ok]

    daemon.start_daemon(number_workers=1)
    first = submit(GraceStabilityWorkChain, **inputs)
    wait_for(lambda: len(finished_ok(first)) >= 2, 300, "two chunks of the first run finished")
    workers = [int(pid) for pid, info in daemon.get_worker_info()["info"].items() if isinstance(info, dict)]
    circus = daemon.get_daemon_pid()
    for pid in [*workers, circus]:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not any(alive(pid) for pid in [*workers, circus]), 30, "the daemon processes gone")
    done_before = finished_ok(first)
    assert 2 <= len(done_before) < n_chunks and not first.is_terminated
    for process in [first, *first.called_descendants]:  # the lost run, marked killed as `verdi process kill` would
        if not process.is_sealed:
            process.set_process_state(ProcessState.KILLED)
            process.seal()

    daemon.start_daemon(number_workers=1)
    second = submit(GraceStabilityWorkChain, **inputs)
    wait_for(lambda: second.is_terminated, 400, f"work chain <{second.pk}> terminated")
    assert second.is_finished_ok, (second.exit_status, second.exit_message)
    jobs = evaluate_jobs(second)
    ran = [job for job in jobs if not job.base.caching.is_created_from_cache]
    assert len(jobs) == n_chunks and len(ran) == n_chunks - len(done_before)
    sources = {job.base.caching.get_cache_source() for job in jobs if job.base.caching.is_created_from_cache}
    assert sources == {job.uuid for job in done_before}
    rows, expected = second.outputs.results["candidates"], stability_run[0]["results"]["candidates"]
    for name, row in rows.items():  # the same relaxations as the undisturbed run in chunks of 3
        assert row["e_above_hull"] == pytest.approx(expected[name]["e_above_hull"], abs=1e-9), name


# -- refused before submission (fast) --------------------------------------------------------------------------
def fake_model(tmp_path, elements=("Cu", "Pd")):
    return GraceModelData.from_directory(write_fake_model(tmp_path / "model", elements=elements))


def n_processes() -> int:
    return orm.QueryBuilder().append(orm.ProcessNode).count()


@pytest.fixture(scope="module")
def small_demo():
    from ase.build import bulk
    from ase.calculators.singlepoint import SinglePointCalculator

    candidates = []
    for name, atoms in {"CuPd-B2": bulk("CuPd", "cesiumchloride", a=3.0), "Cu-A1": bulk("Cu", "fcc", a=3.6)}.items():
        atoms.info["name"] = name
        atoms.calc = SinglePointCalculator(atoms, energy=-1.0 * len(atoms))
        candidates.append(atoms)
    return {"candidates": candidates, "reference_entries": {"Cu": ("Cu", -3.7), "Pd": ("Pd", -3.2)}}


@pytest.mark.parametrize("change, message", [
    ({"model": ("Cu",)}, "element(s) Pd that model"),
    ({"elemental_references": {"Cu": -3.7}}, "elemental_references lack Pd"),
    ({"elemental_references": {"Cu": -3.7, "Pd": "x"}}, "elemental reference 'Pd': must be a finite energy in eV/atom, got 'x'"),
    ({"reference_entries": {}}, "the reference entries are empty"),
    ({"reference_entries": {"Cu": -3.7}}, "no elemental entry for Pd"),
    ({"reference_entries": {"Cu": -3.7, "Pd": -3.2, "Xy2": -1.0}}, "reference entry 'Xy2' is not a composition"),
    ({"reference_entries": {"Cu": -3.7, "Pd": float("nan")}}, "reference entry 'Pd': must be a finite energy in eV/atom, got nan"),
    ({"overrides": {"relax": {"optimizer": "LBFGS"}}}, "relax.optimizer must be FIRE or BFGS, got 'LBFGS'"),
    ({"overrides": {"threshold": "low"}}, "setting 'threshold': must be a finite energy in eV/atom, got 'low'"),
    ({"overrides": {"chunk_size": 10}}, "unknown stability setting 'chunk_size'"),
    ({"batching": {"max_structures_per_job": 0}}, "max_structures_per_job must be a positive integer"),
    ({"names": ["a", "a"]}, "candidate names repeat: a"),
    ({"reference_structures": 1}, "reference_structures has 1 structures for 2 candidates"),
    ({"both": True}, "give elemental_references or elemental_structures, not both"),
])
def test_bad_input_is_refused_before_anything_runs(grace_codes, tmp_path, small_demo, change, message):
    demo = {**small_demo, "reference_entries": change.get("reference_entries", small_demo["reference_entries"])}
    candidates = [a.copy() for a in demo["candidates"]]
    for atoms, original in zip(candidates, demo["candidates"]):
        atoms.calc = original.calc
    for atoms, name in zip(candidates, change.get("names", [])):
        atoms.info["name"] = name
    demo["candidates"] = candidates
    before = n_processes()
    with pytest.raises(ValueError, match=re.escape(message)):  # when the builder is filled or at submission
        builder = builder_for(grace_codes["driver"], fake_model(tmp_path, change.get("model", ("Cu", "Pd"))), demo,
                              overrides=change.get("overrides"), batching=change.get("batching"),
                              elemental_references=change.get("elemental_references"))
        if "reference_structures" in change:
            builder.reference_structures = GraceDatasetData(candidates[:change["reference_structures"]])
        if "both" in change:
            builder.elemental_references = orm.Dict({"Cu": -3.7, "Pd": -3.2})
            builder.elemental_structures = GraceDatasetData(candidates[1:])
        run_get_node(builder)
    assert n_processes() == before


def test_a_reference_entries_csv_without_its_columns_is_refused(grace_codes, tmp_path, small_demo):
    import io

    csv = orm.SinglefileData(io.BytesIO(b"formula,energy\nCu,-3.7\n"), filename="entries.csv")
    builder = builder_for(grace_codes["driver"], fake_model(tmp_path), small_demo)
    with pytest.raises(ValueError, match="lacks the column\\(s\\) composition, energy_per_atom"):
        builder.reference_entries = csv
        run_get_node(builder)
