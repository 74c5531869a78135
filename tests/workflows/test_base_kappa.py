"""grace.base_kappa: the walltime handler on faked grace.kappa children (fast)."""

import io

import pytest
from aiida import orm

from aiida_grace.workflows.base_kappa import GraceBaseKappaWorkChain
from conftest import make_dataset
from restart_helpers import after_child, failed_child, workchain


@pytest.fixture
def process(grace_codes):
    inputs = {"kappa": {"code": grace_codes["driver"], "forces": make_dataset(n=2, seed=70),
                        "phono3py_yaml": orm.SinglefileData(io.BytesIO(b"phono3py: {}\n"), filename="disp.yaml"),
                        "metadata": {"options": {"max_wallclock_seconds": 600}}}}
    return workchain(GraceBaseKappaWorkChain, inputs)


def test_walltime_doubles_the_walltime_each_time(process, grace_computer):
    first = failed_child(grace_computer, "grace.kappa", "ERROR_OUT_OF_WALLTIME")
    assert after_child(process, first).inspect_process().status == 0  # handled: the loop runs again
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 1200
    after_child(process, failed_child(grace_computer, "grace.kappa", "ERROR_OUT_OF_WALLTIME")).inspect_process()
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 2400
    assert process.ctx.inputs.forces.uuid == process.inputs.kappa.forces.uuid  # the same job otherwise


def test_other_failures_are_not_retried(process, grace_computer):
    broken = failed_child(grace_computer, "grace.kappa", "ERROR_MISSING_RESULTS", detail="KeyError: 'phono3py_role'")
    assert process.handle_out_of_walltime(broken) is None
    exit_code = after_child(process, broken).inspect_process()
    assert exit_code.status == GraceBaseKappaWorkChain.exit_codes.ERROR_UNHANDLED_FAILURE.status
    assert process.ctx.inputs["metadata"]["options"]["max_wallclock_seconds"] == 600
