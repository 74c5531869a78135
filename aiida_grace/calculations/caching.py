"""Caching policy of the grace.* CalcJobs: only a job that finished with exit status 0 is ever reused."""

from __future__ import annotations

__all__ = ("ReusedOnlyIfFinishedOk",)


class ReusedOnlyIfFinishedOk:
    """CalcJob mixin (list it before ``CalcJob``): a failed job (3xx outputs missing, 4xx walltime/NaN/OOM,
    5xx quality) is never a cache source, whatever ``invalidates_cache`` its exit code declares.

    AiiDA by default reuses failed jobs whose exit code does not invalidate the cache; for these jobs a
    failure (walltime, NaN at one learning rate, out of memory on one machine) says nothing definitive
    about the same inputs on the next run, so reusing it would only copy the failure.
    """

    @classmethod
    def is_valid_cache(cls, node) -> bool:
        return node.is_finished_ok and super().is_valid_cache(node)
