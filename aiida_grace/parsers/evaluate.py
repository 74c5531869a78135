"""Parser of ``grace.evaluate``: labelled dataset, relaxed structures, errors against reference labels."""

from __future__ import annotations

import io
import json

from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser
from ase.io import read

from ..calculations.evaluate import dataset_counts, pooled_datasets, structure_names
from ..common.files import EVALUATE
from ..common.metrics import label_errors
from ..common.structures import StructureError
from ..data import GraceDatasetData


def count_finished(retrieved) -> int:
    """Structures a grace.evaluate job finished before it stopped (frames of its retrieved partial file)."""
    if EVALUATE.partial not in retrieved.base.repository.list_object_names():
        return 0
    content = retrieved.base.repository.get_object_content(EVALUATE.partial)
    return len(read(io.StringIO(content), index=":", format="extxyz")) if content.strip() else 0


class GraceEvaluateParser(Parser):
    """Reads ``results.extxyz`` and ``summary.json`` from the retrieved folder."""

    def parse(self, **kwargs):
        names = self.retrieved.base.repository.list_object_names()
        if EVALUATE.results not in names or EVALUATE.summary not in names:
            if self.node.exit_status == 120 or EVALUATE.partial in names:
                done = count_finished(self.retrieved)
                return self.exit_codes.ERROR_OUT_OF_WALLTIME.format(done=done, total=self._n_inputs())
            stderr = self.retrieved.base.repository.get_object_content(EVALUATE.stderr) \
                if EVALUATE.stderr in names else ""
            return self.exit_codes.ERROR_MISSING_RESULTS.format(detail=" | ".join(stderr.strip().splitlines()[-3:]))
        try:
            summary = json.loads(self.retrieved.base.repository.get_object_content(EVALUATE.summary))
            results = read(io.StringIO(self.retrieved.base.repository.get_object_content(EVALUATE.results)),
                           index=":", format="extxyz")
            pooled = bool(pooled_datasets(self.node.inputs))
            dataset = None if pooled else GraceDatasetData.from_ase(results)
        except (ValueError, StructureError, KeyError) as exception:
            return self.exit_codes.ERROR_INVALID_RESULTS.format(exception=exception)
        if len(results) != self._n_inputs():
            return self.exit_codes.ERROR_INVALID_RESULTS.format(
                exception=f"{len(results)} results for {self._n_inputs()} input structures")
        names_in_order = self._names()
        if pooled:
            start = 0
            for name, count in dataset_counts(self.node.inputs).items():
                self.out(f"output_datasets.{name}", GraceDatasetData.from_ase(results[start:start + count]))
                start += count
        else:
            self.out("output_dataset", dataset)
            if summary.get("mode") == "relax":
                for name, atoms in zip(names_in_order, results):
                    if "grace_failed" in atoms.info:  # broken: no relaxed structure to give
                        continue
                    atoms.calc = None
                    self.out(f"relaxed_structures.{name}", orm.StructureData(ase=atoms))
            elif "dataset" in self.node.inputs and self.node.inputs.dataset.labels:
                errors = label_errors(self.node.inputs.dataset.to_ase(), results)
                if errors:
                    errors["units"] = {"energy_per_atom": "eV/atom", "forces": "eV/Å", "stress": "GPa"}
                    self.out("errors", orm.Dict(errors))

        if summary.get("not_converged"):
            summary["not_converged_names"] = [names_in_order[i] for i in summary["not_converged"]]
        if summary.get("failed"):
            summary["failed_names"] = {names_in_order[int(i)]: reason for i, reason in summary["failed"].items()}
        self.out("output_parameters", orm.Dict(summary))

        if summary.get("failed"):
            which = "; ".join(f"{name}: {reason}" for name, reason in list(summary["failed_names"].items())[:10])
            return self.exit_codes.ERROR_STRUCTURES_FAILED.format(count=len(summary["failed"]), which=which)

        if summary.get("not_converged"):
            which = ", ".join(summary["not_converged_names"][:10])
            return self.exit_codes.ERROR_RELAXATION_NOT_CONVERGED.format(count=len(summary["not_converged"]),
                                                                          which=which)
        return ExitCode(0)

    def _names(self) -> list[str]:
        return structure_names(self.node.inputs)

    def _n_inputs(self) -> int:
        return len(self._names())
