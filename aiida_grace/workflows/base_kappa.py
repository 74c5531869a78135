"""``grace.base_kappa``: ``grace.kappa`` that runs again with twice the walltime when the scheduler stops it."""

from __future__ import annotations

from aiida.engine import ProcessHandlerReport, process_handler

from ..calculations.kappa import GraceKappaCalculation
from .restart import GraceRestartWorkChain, walltime_doubled

__all__ = ("GraceBaseKappaWorkChain",)


class GraceBaseKappaWorkChain(GraceRestartWorkChain):
    """Run ``grace.kappa`` until it finishes.

    - 400 walltime: the same job again with ``max_wallclock_seconds`` doubled (phono3py keeps nothing a new job
      could continue from; the forces are inputs, so only the fc2/fc3 fit and the κ solution run again).

    Any other failure is not retried (``on_unhandled_failure`` can change that).
    """

    _process_class = GraceKappaCalculation
    _namespace = "kappa"

    @process_handler(priority=600, exit_codes=GraceKappaCalculation.exit_codes.ERROR_OUT_OF_WALLTIME)
    def handle_out_of_walltime(self, node):
        """Double the walltime."""
        walltime = walltime_doubled(self.ctx.inputs["metadata"]["options"])
        self.report(f"{node.process_label}<{node.pk}> hit the walltime: running again with "
                    f"max_wallclock_seconds={walltime}")
        return ProcessHandlerReport(do_break=True)
