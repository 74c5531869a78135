"""``grace.base_train``: ``grace.train`` that restarts itself after a walltime, a NaN loss or out of memory."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ProcessHandlerReport, process_handler

from ..calculations.train import GraceTrainCalculation
from ..common.train_input import merge, validate_parameters
from .restart import GraceRestartWorkChain, walltime_doubled

__all__ = ("GraceBaseTrainWorkChain",)


class GraceBaseTrainWorkChain(GraceRestartWorkChain):
    """Run ``grace.train`` until it finishes, repairing the recoverable failures (highest priority first):

    - 400 walltime: continue from the job's checkpoints (``parent_folder`` = its remote folder, gracemaker
      ``-rl``); if no new checkpoint appeared since the last restart, run again with twice the walltime;
    - 401 NaN or diverging loss: the same start again with the learning rate (and the scheduler's minimum
      learning rate) times ``LEARNING_RATE_FACTOR``, down to ``MINIMUM_LEARNING_RATE``;
    - 402 out of memory: the same start again with half the (test) batch size, down to 1.

    Any other failure is not retried (``on_unhandled_failure`` can change that).
    """

    _process_class = GraceTrainCalculation
    _namespace = "train"

    LEARNING_RATE_FACTOR = 0.5
    MINIMUM_LEARNING_RATE = 1e-6

    @classmethod
    def define(cls, spec):
        super().define(spec)
        # 4xx: a handler ran out of remedies
        spec.exit_code(410, "ERROR_NAN_LOSS_AT_MINIMUM_LEARNING_RATE",
                       message="the loss is still NaN with learning rate {learning_rate}; check the data")
        spec.exit_code(411, "ERROR_OUT_OF_MEMORY_AT_BATCH_SIZE_ONE",
                       message="training runs out of memory even with batch_size 1; ask for more memory")

    def setup(self):
        super().setup()
        self.ctx.last_checkpoint = None

    def _parameters(self) -> dict:
        return self.ctx.inputs.parameters.get_dict() if "parameters" in self.ctx.inputs else {}

    def _set_parameters(self, changes: dict) -> None:
        """New ``parameters`` Dict: the user's settings with ``changes`` merged on top."""
        self.ctx.inputs.parameters = orm.Dict(merge(self._parameters(), changes))

    @process_handler(priority=600, exit_codes=GraceTrainCalculation.exit_codes.ERROR_OUT_OF_WALLTIME)
    def handle_out_of_walltime(self, node):
        """Continue from the checkpoint the job left; double the walltime when it left no new one."""
        checkpoint = node.outputs.checkpoint.sha256 if "checkpoint" in node.outputs else None
        if checkpoint is not None and checkpoint != self.ctx.last_checkpoint:
            self.ctx.last_checkpoint = checkpoint
            self.ctx.inputs.parent_folder = node.outputs.remote_folder
            self.report(f"{node.process_label}<{node.pk}> hit the walltime: continuing from its checkpoint "
                        f"(parent_folder RemoteData<{node.outputs.remote_folder.pk}>)")
        else:
            walltime = walltime_doubled(self.ctx.inputs["metadata"]["options"])
            self.report(f"{node.process_label}<{node.pk}> hit the walltime without a new checkpoint: running "
                        f"again with max_wallclock_seconds={walltime}")
        return ProcessHandlerReport(do_break=True)

    @process_handler(priority=500, exit_codes=GraceTrainCalculation.exit_codes.ERROR_NAN_LOSS)
    def handle_nan_loss(self, node):
        """Lower the learning rate (and the scheduler's minimum) by LEARNING_RATE_FACTOR."""
        fit = validate_parameters(self._parameters())["fit"]
        learning_rate = fit["opt_params"]["learning_rate"]
        lowered = learning_rate * self.LEARNING_RATE_FACTOR
        if lowered < self.MINIMUM_LEARNING_RATE:
            return ProcessHandlerReport(True, self.exit_codes.ERROR_NAN_LOSS_AT_MINIMUM_LEARNING_RATE.format(
                learning_rate=f"{learning_rate:g}"))
        changes = {"fit": {"opt_params": {"learning_rate": lowered}}}
        minimum = (fit.get("scheduler_params") or {}).get("minimum_learning_rate")
        if minimum is not None:
            changes["fit"]["scheduler_params"] = {"minimum_learning_rate": minimum * self.LEARNING_RATE_FACTOR}
        self._set_parameters(changes)
        self.report(f"{node.process_label}<{node.pk}> loss became NaN: restarting with learning rate {lowered:g} "
                    f"(was {learning_rate:g})")
        return ProcessHandlerReport(do_break=True)

    @process_handler(priority=400, exit_codes=GraceTrainCalculation.exit_codes.ERROR_OUT_OF_MEMORY)
    def handle_out_of_memory(self, node):
        """Halve batch_size and test_batch_size."""
        fit = validate_parameters(self._parameters())["fit"]
        if fit["batch_size"] <= 1:
            return ProcessHandlerReport(True, self.exit_codes.ERROR_OUT_OF_MEMORY_AT_BATCH_SIZE_ONE)
        batch, test_batch = max(1, fit["batch_size"] // 2), max(1, fit["test_batch_size"] // 2)
        self._set_parameters({"fit": {"batch_size": batch, "test_batch_size": test_batch}})
        self.report(f"{node.process_label}<{node.pk}> ran out of memory: restarting with batch_size {batch} "
                    f"(was {fit['batch_size']}), test_batch_size {test_batch}")
        return ProcessHandlerReport(do_break=True)
