"""What the batch workflows share: the ports of a batch, submitting a pooled ``grace.evaluate.batch`` stage and
taking its per-name failures."""

from __future__ import annotations

from aiida import orm
from aiida.engine import WorkChain

from .batch_evaluate import GraceBatchEvaluateWorkChain, batch_inputs, define_batch_ports
from .utils import failure_reason

__all__ = ("GraceBatchStagesWorkChain", "exact_cells")

# exit statuses of a grace.evaluate.batch stage after which the per-name outputs are there to use
STAGE_USABLE = (0, GraceBatchEvaluateWorkChain.exit_codes.ERROR_SOME_FAILED.status,
                GraceBatchEvaluateWorkChain.exit_codes.ERROR_RELAXATION_NOT_CONVERGED.status)


def exact_cells(stage) -> dict:
    """Material name → {structure: its relaxation job's labelled dataset, index: Int}: the relaxed cells at float64
    precision (a StructureData keeps 14 digits; κ of a symmetric cell can move by 0.2% with that rounding)."""
    cells, datasets = {}, getattr(stage.outputs, "job_datasets", {})
    for job in stage.outputs.output_parameters["jobs"]:
        if job["label"] in datasets:
            for index, name in enumerate(sorted(job["names"])):  # the order grace.evaluate writes named structures
                cells[name] = {"structure": datasets[job["label"]], "index": orm.Int(index)}
    return cells


class GraceBatchStagesWorkChain(WorkChain):
    """Base of the batch workflows: ``code``, ``model``, ``batching`` and ``options`` ports, stages run as
    ``grace.evaluate.batch``, per-name failures collected in ``ctx.failures`` (name → reason) and reported."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        define_batch_ports(spec)
        spec.exit_code(403, "ERROR_STAGE_FAILED", message="the {stage} stage <{pk}> failed: {message}")

    def _stage(self, label: str, parameters: dict, **items):
        """Submit a ``grace.evaluate.batch`` stage labelled ``label`` of ``structures=`` or ``datasets=``."""
        return self.submit(GraceBatchEvaluateWorkChain, **batch_inputs(
            self.inputs.code, self.inputs.model, parameters, batching=self.inputs.batching,
            options=self.inputs.get("options"), label=label, **items))

    def _fail(self, name: str, reason: str) -> None:
        self.report(f"{name}: {reason}")
        self.ctx.failures[name] = reason

    def _take_stage(self, stage, not_converged: str | None = None):
        """Record a finished stage's failed names (and its unconverged ones as ``not_converged``, when given) in
        ``ctx.failures``; return ERROR_STAGE_FAILED when the stage as a whole failed, else None."""
        if stage.exit_status not in STAGE_USABLE:
            return self.exit_codes.ERROR_STAGE_FAILED.format(stage=stage.label, pk=stage.pk,
                                                             message=failure_reason(stage))
        summary = stage.outputs.output_parameters
        for name, reason in summary["failed"].items():
            self._fail(name, reason)
        if not_converged is not None:
            for name in summary["not_converged"]:
                self._fail(name, not_converged)
        return None
