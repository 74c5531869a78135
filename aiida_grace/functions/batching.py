"""The summary of a ``grace.evaluate.batch`` run, as a calcfunction of its jobs' summaries."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction


@calcfunction
def summarize_batch(layout: orm.Dict, **job_parameters: orm.Dict) -> orm.Dict:
    """One summary of a batch from the ``output_parameters`` of its finished jobs (keyed by job label).

    ``layout``: ``jobs`` (label, pk, names of each job) and ``failed`` (name → why its job failed). Returns
    n_structures, jobs, failed, not_converged (item names whose relaxation did not converge: a dataset counts
    once) and load/compute seconds summed over the jobs.
    """
    layout = layout.get_dict()
    not_converged = sorted({name.split("/")[0] for summary in job_parameters.values()
                            for name in summary.get("not_converged_names", [])})
    totals = {key: sum(summary[key] for summary in job_parameters.values())
              for key in ("n_structures", "load_seconds", "compute_seconds")}
    return orm.Dict({**layout, **totals, "n_jobs": len(layout["jobs"]), "not_converged": not_converged,
                     "units": {"load_seconds": "s", "compute_seconds": "s"}})
