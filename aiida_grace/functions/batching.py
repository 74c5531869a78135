"""Calcfunctions of ``grace.evaluate.batch``: a large dataset cut into parts and put back in order, the summary."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..common.batching import split_indices, validate_batching
from ..data import GraceDatasetData

SOURCE_INDEX = "grace_source_index"  # info key: a structure's index in the dataset it was cut from


@calcfunction
def cut_dataset(dataset: GraceDatasetData, batching: orm.Dict) -> dict:
    """``dataset`` cut into parts ``part_00000``... by ``batching`` (structures of similar size together); each
    structure keeps its original index in ``info['grace_source_index']`` for :func:`join_parts`."""
    settings = validate_batching(batching.get_dict())
    structures = dataset.to_ase()
    parts = split_indices([len(a) for a in structures], settings["max_structures_per_job"],
                          settings["max_atoms_per_job"])
    outputs = {}
    for number, indices in enumerate(parts):
        for index in indices:
            structures[index].info[SOURCE_INDEX] = index
        outputs[f"part_{number:05d}"] = GraceDatasetData([structures[i] for i in indices])
    return outputs


@calcfunction
def join_parts(**parts: GraceDatasetData) -> GraceDatasetData:
    """The labelled parts of :func:`cut_dataset` joined back into the original order."""
    structures = [atoms for part in parts.values() for atoms in part.to_ase()]
    structures.sort(key=lambda atoms: atoms.info[SOURCE_INDEX])
    for atoms in structures:
        del atoms.info[SOURCE_INDEX]
    return GraceDatasetData(structures)


@calcfunction
def summarize_batch(layout: orm.Dict, **job_parameters: orm.Dict) -> orm.Dict:
    """One summary of a batch from the ``output_parameters`` of its finished jobs (keyed by job label).

    ``layout``: ``jobs`` (label, pk, names of each job) and ``failed`` (name → why its job failed). Returns
    n_structures, jobs, failed (with the items whose structures broke), not_converged (item names whose
    relaxation did not converge: a dataset counts once) and load/compute seconds summed over the jobs.
    """
    layout = layout.get_dict()
    failed = dict(layout.pop("failed"))
    for summary in job_parameters.values():  # a broken structure fails its item (a dataset: the whole of it)
        for name, reason in summary.get("failed_names", {}).items():
            item = name.split("/")[0]
            failed[item] = f"{failed[item]}; {name}: {reason}" if item in failed else (
                reason if item == name else f"{name}: {reason}")
    not_converged = sorted({name.split("/")[0] for summary in job_parameters.values()
                            for name in summary.get("not_converged_names", [])} - set(failed))
    totals = {key: sum(summary[key] for summary in job_parameters.values())
              for key in ("n_structures", "load_seconds", "compute_seconds")}
    return orm.Dict({**layout, **totals, "n_jobs": len(layout["jobs"]), "failed": failed, "not_converged": not_converged,
                     "units": {"load_seconds": "s", "compute_seconds": "s"}})
