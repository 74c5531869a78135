"""calcfunctions of ``grace.distill``: the distillation set, its size batches, speed cells, metrics, speed."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..common import distill
from ..data import GraceDatasetData

__all__ = ("batch_by_size", "dataset_from_structures", "distillation_metrics", "distillation_set",
           "speed_cells", "speed_comparison")


@calcfunction
def dataset_from_structures(**structures: orm.StructureData) -> GraceDatasetData:
    """Unlabelled dataset of ``structures`` in the order of their names (each keeps its name in ``info``)."""
    atoms = []
    for name in sorted(structures):
        item = structures[name].get_ase()
        item.info["name"] = name
        atoms.append(item)
    return GraceDatasetData(atoms)


@calcfunction
def distillation_set(downstream: GraceDatasetData, parameters: orm.Dict) -> GraceDatasetData:
    """Unlabelled distillation set: ``downstream`` plus unary and binary crystals of its elements
    (``parameters``: the ``synthetic`` settings, see :func:`aiida_grace.common.distill.synthetic_structures`)."""
    return GraceDatasetData(distill.synthetic_structures(downstream.to_ase(), downstream.elements,
                                                         parameters.get_dict()))


@calcfunction
def batch_by_size(dataset: GraceDatasetData, max_structures: orm.Int) -> dict:
    """``dataset`` cut into ``batch_000``, ``batch_001``... of at most ``max_structures``, grouped by size."""
    structures = dataset.to_ase()
    batches = distill.size_batches([len(a) for a in structures], max_structures.value)
    return {f"batch_{n:03d}": GraceDatasetData([structures[i] for i in batch]) for n, batch in enumerate(batches)}


@calcfunction
def speed_cells(dataset: GraceDatasetData, min_atoms: orm.Int, repeats: orm.Int) -> GraceDatasetData:
    """The largest structure of ``dataset`` repeated to at least ``min_atoms`` atoms, ``repeats`` + 1 copies
    (the first is a warm-up), unlabelled. Each copy is displaced by 0.01 Å (Gaussian), so that no calculator
    returns cached results of the previous one."""
    import numpy as np

    largest = max(dataset.to_ase(), key=len)
    cell = distill.supercell_to(largest, min_atoms.value)
    cell.info = {"name": f"speed_{cell.get_chemical_formula()}"}
    rng = np.random.default_rng(0)
    copies = []
    for _ in range(repeats.value + 1):
        copy = cell.copy()
        copy.positions += rng.normal(0.0, 0.01, size=copy.positions.shape)
        copies.append(copy)
    return GraceDatasetData(copies)


@calcfunction
def distillation_metrics(held_out: GraceDatasetData, student_held_out: GraceDatasetData,
                         **downstream: GraceDatasetData) -> orm.Dict:
    """Errors (energy per atom eV/atom, force components eV/Å, stress components GPa).

    ``student_vs_teacher``: the student's predictions ``student_held_out`` against the teacher's labels of the
    ``held_out`` structures, over all and per group (downstream, unary, binary). With ``reference`` (the
    labelled downstream data), ``teacher_labelled`` (the labelled distillation set) and ``student`` (the
    student's predictions on ``reference``): ``student_vs_reference`` and ``teacher_vs_reference``.
    """
    from ..common.metrics import label_errors

    result = {"student_vs_teacher": distill.errors_by_group(held_out.to_ase(), student_held_out.to_ase()),
              "n_held_out": held_out.n_structures}
    if {"reference", "teacher_labelled", "student"} <= set(downstream):
        reference = downstream["reference"].to_ase()
        by_index = {a.info["distill_index"]: a for a in downstream["teacher_labelled"].to_ase()
                    if a.info.get("distill_group") == "downstream"}
        teacher = [by_index[i] for i in range(len(reference))]
        result["teacher_vs_reference"] = label_errors(reference, teacher)
        result["student_vs_reference"] = label_errors(reference, downstream["student"].to_ase())
    result["units"] = {"energy_per_atom": "eV/atom", "forces": "eV/Å", "stress": "GPa"}
    return orm.Dict(result)


@calcfunction
def speed_comparison(cells: GraceDatasetData, teacher: orm.Dict, student: orm.Dict) -> orm.Dict:
    """Warm time per atom (s/atom) of the teacher and the student on the same ``cells``, from the
    ``output_parameters`` of their evaluation jobs, and ``speedup`` = teacher / student."""
    n_atoms = len(cells.to_ase()[0])
    timings = {}
    for name, summary in (("teacher", teacher), ("student", student)):
        timings[f"{name}_seconds_per_atom"] = distill.warm_seconds_per_atom(summary["structure_seconds"], n_atoms)
        timings[f"{name}_calculator"] = summary["calculator"]
    timings.update({"speedup": timings["teacher_seconds_per_atom"] / timings["student_seconds_per_atom"],
                    "n_atoms": n_atoms, "n_timed": cells.n_structures - 1,
                    "formula": cells.to_ase()[0].get_chemical_formula()})
    return orm.Dict(timings)
