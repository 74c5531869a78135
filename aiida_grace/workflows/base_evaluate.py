"""``grace.base_evaluate``: ``grace.evaluate`` that continues after a walltime with the structures not yet done."""

from __future__ import annotations

from aiida.engine import ProcessHandlerReport, process_handler

from ..calculations.evaluate import GraceEvaluateCalculation
from ..parsers.evaluate import count_finished as count_finished_in
from .restart import GraceRestartWorkChain, walltime_doubled

__all__ = ("GraceBaseEvaluateWorkChain", "count_finished")


def count_finished(node) -> int:
    """Structures a grace.evaluate job finished before it stopped (frames of its retrieved partial file)."""
    return count_finished_in(node.outputs.retrieved) if "retrieved" in node.outputs else 0


class GraceBaseEvaluateWorkChain(GraceRestartWorkChain):
    """Run ``grace.evaluate`` until every structure is done.

    - 400 walltime: a new job on the same inputs with ``parent_folder`` = the stopped job's remote folder;
      it copies the finished structures (``results.partial.extxyz``) and computes only the others, so the
      last job returns the complete, ordered results and the graph shows which job it continued. When the
      stopped job finished no structure beyond what it was given, the walltime is doubled instead.
    - 410 relaxations not converged, 411 structures broken: not retried (the same settings give the same
      result); the outputs are attached and the work chain exits 410 or 411.
    """

    _process_class = GraceEvaluateCalculation
    _namespace = "evaluate"

    @classmethod
    def define(cls, spec):
        super().define(spec)
        # 4xx: recoverable by a person, not automatically
        spec.exit_code(410, "ERROR_RELAXATION_NOT_CONVERGED",
                       message="relaxations did not converge: {message}; raise relax.steps or loosen fmax")
        spec.exit_code(411, "ERROR_STRUCTURES_FAILED", message="{message}")

    def setup(self):
        super().setup()
        self.ctx.finished = 0

    @process_handler(priority=600, exit_codes=GraceEvaluateCalculation.exit_codes.ERROR_OUT_OF_WALLTIME)
    def handle_out_of_walltime(self, node):
        """Continue with the structures not yet done; double the walltime when the job finished none."""
        finished = count_finished(node)
        if finished > self.ctx.finished:
            self.ctx.finished = finished
            self.ctx.inputs.parent_folder = node.outputs.remote_folder
            self.report(f"{node.process_label}<{node.pk}> hit the walltime after {finished} structures: "
                        f"continuing with the others (parent_folder RemoteData<{node.outputs.remote_folder.pk}>)")
        else:
            walltime = walltime_doubled(self.ctx.inputs["metadata"]["options"])
            self.report(f"{node.process_label}<{node.pk}> hit the walltime with no new structure done: running "
                        f"again with max_wallclock_seconds={walltime}")
        return ProcessHandlerReport(do_break=True)

    @process_handler(priority=400, exit_codes=GraceEvaluateCalculation.exit_codes.ERROR_RELAXATION_NOT_CONVERGED)
    def handle_relaxation_not_converged(self, node):
        """Stop without a rerun, keeping the outputs (relaxed structures, labels) of the job."""
        self.ctx.is_finished = True
        self.results()
        return ProcessHandlerReport(True, self.exit_codes.ERROR_RELAXATION_NOT_CONVERGED.format(
            message=node.exit_message))

    @process_handler(priority=410, exit_codes=GraceEvaluateCalculation.exit_codes.ERROR_STRUCTURES_FAILED)
    def handle_structures_failed(self, node):
        """Some structures broke (the same settings break them again): stop, keeping the others' outputs."""
        self.ctx.is_finished = True
        self.results()
        return ProcessHandlerReport(True, self.exit_codes.ERROR_STRUCTURES_FAILED.format(message=node.exit_message))
