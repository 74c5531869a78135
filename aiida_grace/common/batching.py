"""Cut many named items (structures or datasets) into jobs (pure; no aiida).

    max_structures_per_job: 2000     # structures (cells) per job; null: no limit
    max_atoms_per_job: null          # atoms per job, summed over its structures; null: no limit

Items are ordered by atoms per structure before cutting, so each job holds structures of similar size (fewer
XLA shapes to compile) and the jobs of a batch run side by side on HPC. An item is never split: one larger than
a limit gets a job of its own.
"""

from __future__ import annotations

from typing import Mapping

DEFAULTS = {"max_structures_per_job": 2000, "max_atoms_per_job": None}


class BatchingError(ValueError):
    """The batching settings are invalid."""


def validate_batching(settings: dict) -> dict:
    """Check ``settings`` and return them merged over :data:`DEFAULTS`."""
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise BatchingError(f"unknown batching setting(s) {', '.join(sorted(unknown))}; known: "
                            f"{', '.join(DEFAULTS)}")
    merged = {**DEFAULTS, **settings}
    for key, value in merged.items():
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            raise BatchingError(f"{key} must be a positive integer or null, got {value!r}")
    return merged


def cut_into_jobs(sizes: Mapping[str, tuple[int, int]], max_structures_per_job: int | None = None,
                  max_atoms_per_job: int | None = None) -> list[list[str]]:
    """Names grouped into jobs. ``sizes``: name → (number of structures, total atoms) of that item.

    Jobs are filled in order of atoms per structure (then name) until adding the next item would pass a limit.
    """
    order = sorted(sizes, key=lambda name: (sizes[name][1] / max(1, sizes[name][0]), name))
    jobs: list[list[str]] = []
    count = atoms = 0
    for name in order:
        n_structures, n_atoms = sizes[name]
        too_many = max_structures_per_job is not None and count + n_structures > max_structures_per_job
        too_large = max_atoms_per_job is not None and atoms + n_atoms > max_atoms_per_job
        if not jobs or too_many or too_large:
            jobs.append([])
            count = atoms = 0
        jobs[-1].append(name)
        count += n_structures
        atoms += n_atoms
    return jobs


def split_indices(n_atoms: list[int], max_structures_per_job: int | None = None,
                  max_atoms_per_job: int | None = None) -> list[list[int]]:
    """Indices of the structures of ONE dataset (atoms per structure ``n_atoms``) cut into jobs by the same rule
    as :func:`cut_into_jobs`: ordered by size, jobs filled up to the limits."""
    sizes = {f"{i:09d}": (1, n) for i, n in enumerate(n_atoms)}
    return [[int(name) for name in job] for job in cut_into_jobs(sizes, max_structures_per_job, max_atoms_per_job)]
