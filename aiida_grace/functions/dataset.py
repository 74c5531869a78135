"""Splitting and merging datasets, as calcfunctions."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..data import GraceDatasetData


@calcfunction
def split_dataset(dataset: GraceDatasetData, test_fraction: orm.Float, seed: orm.Int) -> dict:
    """Random split into ``train`` and ``test`` datasets; ``test_fraction`` in (0, 1), reproducible by seed."""
    fraction = test_fraction.value
    if not 0 < fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {fraction}")
    structures = dataset.to_ase()
    n_test = max(1, int(round(fraction * len(structures))))
    if n_test >= len(structures):
        raise ValueError(f"cannot split {len(structures)} structures with test_fraction {fraction}")
    order = np.random.default_rng(seed.value).permutation(len(structures))
    test_indices = set(order[:n_test].tolist())
    return {
        "train": GraceDatasetData([a for i, a in enumerate(structures) if i not in test_indices]),
        "test": GraceDatasetData([a for i, a in enumerate(structures) if i in test_indices]),
    }


@calcfunction
def merge_datasets(**datasets: GraceDatasetData) -> GraceDatasetData:
    """Concatenate datasets in the order of their keyword names."""
    if not datasets:
        raise ValueError("merge_datasets needs at least one dataset")
    return GraceDatasetData([a for name in sorted(datasets) for a in datasets[name].to_ase()])
