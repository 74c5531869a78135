"""Caching of grace.* CalcJobs: a finished job is reused for identical inputs, a failed one never is."""

import pytest
from aiida import orm
from aiida.engine import ProcessState, run_get_node
from aiida.manage.caching import enable_caching
from aiida.plugins import CalculationFactory

from aiida_grace.calculations.evaluate import GraceEvaluateCalculation
from aiida_grace.data import GraceModelData
from conftest import make_dataset, write_fake_model

GRACE_JOBS = "aiida.calculations:grace.*"


def finished_node(computer, entry_point: str, exit_status: int) -> orm.CalcJobNode:
    node = orm.CalcJobNode(computer=computer, process_type=f"aiida.calculations:{entry_point}")
    node.set_option("resources", {"num_machines": 1, "num_mpiprocs_per_machine": 1})
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(exit_status)
    node.store().seal()  # sealed: the engine is done with it
    return node


@pytest.mark.parametrize("entry_point", ["grace.train", "grace.evaluate"])
def test_only_jobs_that_finished_ok_are_cache_sources(grace_computer, entry_point):
    assert finished_node(grace_computer, entry_point, 0).base.caching.is_valid_cache
    failures = [code.status for code in CalculationFactory(entry_point).exit_codes.values() if code.status > 0]
    assert {301, 400}.issubset(failures)
    for status in failures:  # 1xx scheduler, 3xx outputs missing, 4xx walltime/NaN/OOM/not converged
        assert not finished_node(grace_computer, entry_point, status).base.caching.is_valid_cache, status


@pytest.mark.slow
def test_identical_inputs_reuse_a_finished_job(grace_codes, trained_model):
    inputs = {"code": grace_codes["driver"], "model": trained_model, "dataset": make_dataset(n=2, seed=70)}
    with enable_caching(identifier=GRACE_JOBS):
        first, first_node = run_get_node(GraceEvaluateCalculation, **inputs)
        second, second_node = run_get_node(GraceEvaluateCalculation, **inputs)
        other, other_node = run_get_node(GraceEvaluateCalculation, **{**inputs, "parameters": orm.Dict(
            {"compute_stress": False})})
    assert first_node.is_finished_ok and second_node.is_finished_ok and other_node.is_finished_ok
    assert second_node.base.caching.get_cache_source() == first_node.uuid
    assert second["output_dataset"].sha256 == first["output_dataset"].sha256
    assert other_node.base.caching.get_cache_source() is None  # different parameters: a new job


@pytest.mark.slow
def test_a_failed_job_is_not_reused(grace_codes, tmp_path):
    """A model folder that is not a real SavedModel: the driver fails for real (301) each time it runs."""
    broken = GraceModelData.from_directory(write_fake_model(tmp_path / "broken"))
    inputs = {"code": grace_codes["driver"], "model": broken, "dataset": make_dataset(n=1, seed=71)}
    with enable_caching(identifier=GRACE_JOBS):
        _, first = run_get_node(GraceEvaluateCalculation, **inputs)
        _, second = run_get_node(GraceEvaluateCalculation, **inputs)
    assert first.exit_status == second.exit_status == 301
    assert second.base.caching.get_cache_source() is None
    assert second.outputs.retrieved.uuid != first.outputs.retrieved.uuid  # it really ran again
