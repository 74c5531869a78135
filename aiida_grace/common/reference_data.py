"""Public reference data sets at pinned addresses, and their verified download (pure; no aiida).

A file is streamed into a hidden temporary file in the target folder, its sha256 (and md5 where the publisher
gives one) checked, and only then renamed into place: a wrong checksum, a dropped connection or a short body leave
nothing behind, and a file already there with the right sha256 is not fetched again. A mirror (``base_url``, or the
environment variable :data:`MIRROR_ENV`) serves the same file names under one address (``file://`` works too); a
local folder can stand in for the network. Files without a pinned sha256 are stored only when the caller names one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .hashing import CHUNK, sha256_file

MIRROR_ENV = "AIIDA_GRACE_DATA_MIRROR"
CACHE_ENV = "AIIDA_GRACE_DATA_DIR"
K_SRME = "https://raw.githubusercontent.com/MPA2suite/k_SRME/0269a946a1e4c53552b060a92b98df94e039fd80/data"
MBD_GIT = ("https://raw.githubusercontent.com/janosh/matbench-discovery/2c7f9fc42d018711dc2f5df573d225ea6d2d17b2/"
           "data")
MBD = "Matbench Discovery (github.com/janosh/matbench-discovery, CC-BY-4.0; figshare article 22715158)"


class ReferenceDataError(Exception):
    """A reference file could not be fetched or verified."""


class ChecksumError(ReferenceDataError):
    """The fetched bytes are not the pinned (or given) ones."""


@dataclass(frozen=True)
class DataFile:
    """One public file: where it lives and what its bytes hash to (``sha256`` None: not known here)."""

    name: str
    filename: str
    url: str
    sha256: str | None
    description: str
    source: str
    md5: str | None = None


REGISTRY = {entry.name: entry for entry in (
    DataFile("phonondb-structures", "phononDB-PBE-structures.extxyz", f"{K_SRME}/phononDB-PBE-structures.extxyz",
             "63e012fdafc61702ab22cdbda7e9c0603f57f54c2e464666585a9159e0ce5b38",
             "κ_SRME: the 103 phononDB PBE structures with their fc2/fc3 supercells and q-meshes in info",
             "k_SRME benchmark (github.com/MPA2suite/k_SRME, GPL-3.0)"),
    DataFile("phonondb-kappa", "kappas_phononDB_PBE_noNAC.json.gz", f"{K_SRME}/kappas_phononDB_PBE_noNAC.json.gz",
             "442f651d3272e8a104baab3e53241220bf66afc90559f593fb3d7697874506ea",
             "κ_SRME: DFT (PBE, no NAC) thermal conductivities of the 103 phononDB structures, mode-resolved",
             "k_SRME benchmark (github.com/MPA2suite/k_SRME, GPL-3.0)"),
    DataFile("mp-elemental-references", "2023-02-07-mp-elemental-reference-entries.json.gz",
             f"{MBD_GIT}/mp/2023-02-07-mp-elemental-reference-entries.json.gz",
             "9fd6ef848a91c88840a0d1709b5856d0edb4af22095237e59db52f2acd6bbf79",
             "Matbench Discovery: the lowest-energy MP ComputedEntry of each element (formation energy references)",
             MBD, md5="6e93b6f38d6e27d6c811d3cafb23a070"),
    DataFile("mp-computed-structure-entries", "2023-02-07-mp-computed-structure-entries.json.gz",
             "https://figshare.com/files/40344436", None,
             "Matbench Discovery: all MP ComputedStructureEntries (2023-02-07), the reference convex hull", MBD,
             md5="76fc748db6b175bb80de4c276d27c235"),
    DataFile("wbm-initial-atoms", "2024-08-04-wbm-initial-atoms.extxyz.zip", "https://figshare.com/files/48169597",
             None, "Matbench Discovery: the 256,963 unrelaxed WBM candidate structures (extxyz, zipped)", MBD,
             md5="2a292211ca6acb30ed8416178d644098"),
    DataFile("wbm-relaxed-atoms", "2024-08-04-wbm-relaxed-atoms.extxyz.zip", "https://figshare.com/files/48169600",
             None, "Matbench Discovery: the DFT-relaxed WBM structures (extxyz, zipped), for RMSD and symmetry", MBD,
             md5="4726643ac0dfbab69a4284454c891e68"),
    DataFile("wbm-summary", "2023-12-13-wbm-summary.csv.gz", "https://figshare.com/files/64706751", None,
             "Matbench Discovery: WBM DFT energies, formation energies and energies above the MP hull (eV/atom)",
             MBD, md5="1555268d3aa59d20262cb9d01ce0994b"),
)}


def entry_of(name: str) -> DataFile:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ReferenceDataError(f"no reference data set '{name}' (known: {', '.join(REGISTRY)})") from None


def default_cache_dir() -> Path:
    """$AIIDA_GRACE_DATA_DIR, else $XDG_CACHE_HOME/aiida-grace/reference (~/.cache/... by default)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aiida-grace" / "reference"


def cached_path(name: str, cache_dir: str | Path | None = None) -> Path:
    """Where :func:`fetch` puts this data set's file (whether or not it is there yet)."""
    return Path(cache_dir or default_cache_dir()) / entry_of(name).filename


def source_url(entry: DataFile, base_url: str | None = None) -> str:
    """The pinned URL, or the file's name under a mirror (``base_url``, else $AIIDA_GRACE_DATA_MIRROR)."""
    mirror = base_url or os.environ.get(MIRROR_ENV)
    return f"{mirror.rstrip('/')}/{entry.filename}" if mirror else entry.url


def expected_sha256(entry: DataFile, sha256: str | None) -> str:
    """The sha256 to check: the pinned one, or the caller's where none is pinned; they must agree."""
    given = sha256.strip().lower() if sha256 else None
    if given is not None and (len(given) != 64 or any(c not in "0123456789abcdef" for c in given)):
        raise ReferenceDataError(f"'{sha256}' is not a sha256 (64 hex digits)")
    if entry.sha256 and given and given != entry.sha256:
        raise ReferenceDataError(f"{entry.name}: the given sha256 {given} differs from the pinned {entry.sha256}")
    if not (entry.sha256 or given):
        md5 = f" (the publisher gives md5 {entry.md5}, which is checked as well)" if entry.md5 else ""
        raise ReferenceDataError(f"{entry.name} has no pinned sha256: pass the one you trust (--sha256){md5}")
    return entry.sha256 or given


def copy_stream(source, handle) -> tuple[int, str, str]:
    """Copy ``source`` into ``handle`` in chunks; return bytes, sha256 and md5 of what was copied."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    for chunk in iter(lambda: source.read(CHUNK), b""):
        handle.write(chunk)
        sha.update(chunk)
        md5.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest(), md5.hexdigest()


def receive(entry: DataFile, target: Path, *, url: str | None, from_dir: Path | None, timeout: float) -> tuple:
    """Stream the file from ``from_dir`` or ``url`` into ``target`` (a temporary file); return size, sha256, md5."""
    with target.open("wb") as handle:
        if from_dir is not None:
            path = Path(from_dir) / entry.filename
            if not path.is_file():
                raise ReferenceDataError(f"{path} does not exist")
            with path.open("rb") as source:
                return copy_stream(source, handle)
        if urllib.parse.urlsplit(url).scheme not in ("http", "https", "file"):
            raise ReferenceDataError(f"{url}: only http, https and file addresses are fetched")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                received = copy_stream(response, handle)
        except OSError as exception:  # URLError, timeouts, resets, IncompleteRead's parents
            raise ReferenceDataError(f"downloading {url} failed: {exception}") from exception
        if length is not None and received[0] != int(length):
            raise ReferenceDataError(f"downloading {url}: the connection ended after {received[0]} of "
                                     f"{length} bytes")
        return received


def fetch(name: str | DataFile, cache_dir: str | Path | None = None, *, base_url: str | None = None,
          from_dir: str | Path | None = None, sha256: str | None = None, timeout: float = 60.0) -> tuple[Path, bool]:
    """Put a reference file into ``cache_dir`` (default :func:`default_cache_dir`) with its checksum verified;
    return its path and whether it was fetched now (False: the right file was already there)."""
    entry = name if isinstance(name, DataFile) else entry_of(name)
    expected = expected_sha256(entry, sha256)
    folder = Path(cache_dir or default_cache_dir())
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.filename
    if target.is_file() and sha256_file(target) == expected:
        return target, False
    url = None if from_dir is not None else source_url(entry, base_url)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{entry.filename}.", suffix=".part")
    os.close(handle)
    temporary = Path(temporary)
    try:
        size, got_sha256, got_md5 = receive(entry, temporary, url=url, from_dir=from_dir, timeout=timeout)
        origin = url or Path(from_dir) / entry.filename
        if got_sha256 != expected:
            raise ChecksumError(f"{entry.name}: {origin} has sha256 {got_sha256} ({size} bytes), expected "
                                f"{expected}; nothing was stored")
        if entry.md5 and got_md5 != entry.md5:
            raise ChecksumError(f"{entry.name}: {origin} has md5 {got_md5}, the publisher's is {entry.md5}; "
                                "nothing was stored")
        temporary.chmod(0o644)  # mkstemp makes it private; the cache is read by whoever runs the benchmarks
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target, True

