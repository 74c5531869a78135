"""sha256 helpers for files and directory trees."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of one file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def combined_sha256(file_hashes: dict[str, str]) -> str:
    """One hash for a set of files: sha256 over the sorted ``relative/path:sha256`` lines.

    Only content and relative paths count, so the same model imported from two places gets the same hash.
    """
    lines = "".join(f"{name}:{file_hashes[name]}\n" for name in sorted(file_hashes))
    return sha256_bytes(lines.encode())


def tree_file_hashes(root: str | Path, relative_paths: Iterable[str]) -> dict[str, str]:
    """sha256 of each listed file under ``root``, keyed by its POSIX relative path."""
    root = Path(root)
    return {rel: sha256_file(root / rel) for rel in relative_paths}
