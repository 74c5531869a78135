"""XLA's persistent compilation cache for the TensorFlow jobs (no aiida).

TensorFlow compiles each padded shape a model meets (1-3 s on CPU). With this cache a compiled shape is written
to disk and later jobs on the same machine load it instead (same architecture and padded shape; the numbers are
bitwise the same). ``AIIDA_GRACE_XLA_CACHE`` names the folder (default ``$XDG_CACHE_HOME/aiida-grace/xla``, else
``~/.cache/aiida-grace/xla``); set it to an empty string to switch the cache off. A ``TF_XLA_FLAGS`` that already
names a persistent cache wins.
"""

from __future__ import annotations

import os
from pathlib import Path

FLAG = "--tf_xla_persistent_cache_directory"


def enable() -> str | None:
    """Point XLA's persistent cache at the folder (call before TensorFlow is imported); returns it, or None."""
    folder = os.environ.get("AIIDA_GRACE_XLA_CACHE")
    if folder is None:
        folder = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aiida-grace" / "xla")
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if not folder or FLAG in flags:
        return None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: compile as usual
        return None
    os.environ["TF_XLA_FLAGS"] = f"{flags} {FLAG}={folder}".strip()
    return folder
