"""Faked finished child CalcJobs and work chains instantiated without running, for handler unit tests."""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import ProcessState
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from aiida.plugins import CalculationFactory


def failed_child(computer, entry_point: str, exit_code: str, outputs: dict | None = None, caller=None, **message):
    """A stored CalcJobNode of ``entry_point`` finished with the exit code named ``exit_code`` and ``outputs``,
    called by the stored WorkflowNode ``caller`` if given."""
    code = getattr(CalculationFactory(entry_point).exit_codes, exit_code).format(**message)
    node = orm.CalcJobNode(computer=computer, process_type=f"aiida.calculations:{entry_point}")
    node.set_option("resources", {"num_machines": 1, "num_mpiprocs_per_machine": 1})
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(code.status)
    node.set_exit_message(code.message)
    if caller is not None:
        node.base.links.add_incoming(caller, link_type=LinkType.CALL_CALC, link_label="iteration_01")
    node.store()
    outputs = dict(outputs or {})
    outputs.setdefault("remote_folder", orm.RemoteData(computer=computer, remote_path=f"/tmp/fake/{node.uuid}"))
    for label, output in outputs.items():
        output.base.links.add_incoming(node, link_type=LinkType.CREATE, link_label=label)
        output.store()
    return node


def failed_wrapper(entry_point: str):
    """A stored WorkChainNode of ``entry_point`` finished with 402 (unhandled failure), to call faked children."""
    node = orm.WorkChainNode(process_type=f"aiida.workflows:{entry_point}")
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(402)
    node.set_exit_message("The process failed with an unhandled failure.")
    return node.store()


def workchain(process_class, inputs: dict):
    """``process_class`` instantiated on ``inputs`` and set up, as the engine would before its first child."""
    process = instantiate_process(get_manager().get_runner(), process_class, **inputs)
    process.setup()
    return process


def after_child(process, node):
    """Make ``node`` the process's last child, as ``run_process`` + the engine would."""
    process.ctx.children = [*process.ctx.get("children", []), node]
    process.ctx.iteration = len(process.ctx.children)
    return process
