"""``aiida-grace``: the command line (profile and Codes, models, datasets, results, plots)."""

from .main import cli
from .setup import ensure_code, ensure_profile, setup_codes

__all__ = ("cli", "ensure_code", "ensure_profile", "setup_codes")
