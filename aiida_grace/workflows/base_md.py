"""``grace.base_md``: ``grace.md`` that continues after a walltime from the last frame the stopped job flushed."""

from __future__ import annotations

from aiida.engine import ProcessHandlerReport, process_handler

from ..calculations.md import GraceMdCalculation
from .restart import GraceRestartWorkChain, walltime_doubled

__all__ = ("GraceBaseMdWorkChain", "last_frame_step")


def last_frame_step(node) -> int:
    """The MD step of the last trajectory frame a grace.md job left (0 when it left none)."""
    return int(node.outputs.trajectory.get_stepids()[-1]) if "trajectory" in node.outputs else 0


class GraceBaseMdWorkChain(GraceRestartWorkChain):
    """Run ``grace.md`` until all ``steps`` are done.

    - 400 walltime: a new job on the same inputs with ``parent_folder`` = the stopped job's remote folder; the
      driver copies its ``thermo.npz`` and ``trajectory.npz`` and continues from the last frame (cell, unwrapped
      positions, velocities) to ``steps``, so the last job returns the thermo and trajectory of the whole run.
      Rows after that frame are run again; thermostat and barostat variables start again from zero. When the
      stopped job got no frame beyond what it was given, the walltime is doubled instead.
    - 410 non-finite energy: not retried (the same start blows up again).

    Any other failure is not retried (``on_unhandled_failure`` can change that).
    """

    _process_class = GraceMdCalculation
    _namespace = "md"

    def setup(self):
        super().setup()
        self.ctx.last_step = 0

    @process_handler(priority=600, exit_codes=GraceMdCalculation.exit_codes.ERROR_OUT_OF_WALLTIME)
    def handle_out_of_walltime(self, node):
        """Continue from the last frame; double the walltime when the job added no frame."""
        step = last_frame_step(node)
        if step > self.ctx.last_step:
            self.ctx.last_step = step
            self.ctx.inputs.parent_folder = node.outputs.remote_folder
            self.report(f"{node.process_label}<{node.pk}> hit the walltime at step {step}: continuing from that "
                        f"frame (parent_folder RemoteData<{node.outputs.remote_folder.pk}>)")
        else:
            walltime = walltime_doubled(self.ctx.inputs["metadata"]["options"])
            self.report(f"{node.process_label}<{node.pk}> hit the walltime with no frame after step {step}: "
                        f"running again with max_wallclock_seconds={walltime}")
        return ProcessHandlerReport(do_break=True)
