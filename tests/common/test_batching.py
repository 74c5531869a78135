"""Cutting named items into jobs (pure)."""

import pytest

from aiida_grace.common.batching import BatchingError, cut_into_jobs, split_indices, validate_batching


def test_no_limits_give_one_job_ordered_by_atoms_per_structure():
    sizes = {"big": (1, 32), "small": (1, 4), "pooled": (24, 24 * 8)}
    assert cut_into_jobs(sizes) == [["small", "pooled", "big"]]


def test_structure_limit_fills_jobs_in_size_order():
    sizes = {f"s{i}": (1, n) for i, n in enumerate([8, 4, 16, 4, 8, 32, 2])}
    assert cut_into_jobs(sizes, max_structures_per_job=3) == [["s6", "s1", "s3"], ["s0", "s4", "s2"], ["s5"]]


def test_atom_limit_and_an_item_larger_than_a_limit_gets_its_own_job():
    sizes = {"a": (24, 96), "b": (24, 96), "c": (24, 192), "huge": (300, 3000)}
    assert cut_into_jobs(sizes, max_structures_per_job=50, max_atoms_per_job=200) == [["a", "b"], ["c"], ["huge"]]
    jobs = cut_into_jobs(sizes, max_atoms_per_job=100)
    assert jobs == [["a"], ["b"], ["c"], ["huge"]]
    assert sorted(n for job in jobs for n in job) == sorted(sizes)  # every item exactly once


def test_settings_are_checked():
    assert validate_batching({}) == {"max_structures_per_job": 2000, "max_atoms_per_job": None}
    with pytest.raises(BatchingError, match="unknown batching setting.*max_structures"):
        validate_batching({"max_structures": 4})
    with pytest.raises(BatchingError, match="positive integer or null"):
        validate_batching({"max_atoms_per_job": 0})


def test_one_dataset_is_cut_by_the_same_rule():
    n_atoms = [8, 4, 8, 4, 16, 4]
    assert split_indices(n_atoms, max_structures_per_job=2) == [[1, 3], [5, 0], [2, 4]]
    assert split_indices(n_atoms, max_atoms_per_job=20) == [[1, 3, 5, 0], [2], [4]]
