"""Self-contained HTML reports of aiida-grace processes and models (``aiida-grace report``)."""

from .page import write_report

__all__ = ("write_report",)
