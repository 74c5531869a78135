"""Extract a model archive (.tar, .tar.gz/.tgz/.tar.bz2/.tar.xz, .zip) without trusting its member names.

Every member is checked before anything is written: absolute paths, ``..`` components, symbolic and hard
links, devices and FIFOs are refused, as is an archive that would unpack to more than ``max_bytes``. Files
are written one by one under the destination (never ``extractall``).
"""

from __future__ import annotations

import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from .model_files import ModelFilesError

__all__ = ("safe_extract",)

MAX_BYTES = 16 * 1024**3  # 16 GiB unpacked: far above any GRACE model, far below a full disk


def _relative(name: str, archive: Path) -> PurePosixPath:
    """The member's path, relative and without ``..``; raise ModelFilesError otherwise."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        raise ModelFilesError(f"{archive}: member '{name}' has an absolute path; refusing to extract it")
    parts = [part for part in PurePosixPath(posix).parts if part not in ("", ".")]
    if ".." in parts:
        raise ModelFilesError(f"{archive}: member '{name}' leads outside the archive ('..'); refusing to extract it")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _tar_members(tar: tarfile.TarFile, archive: Path) -> list[tuple[PurePosixPath, tarfile.TarInfo]]:
    members = []
    for member in tar.getmembers():
        path = _relative(member.name, archive)
        if member.issym() or member.islnk():
            raise ModelFilesError(f"{archive}: member '{member.name}' is a link (to '{member.linkname}'); "
                                  f"refusing to extract it")
        if not (member.isfile() or member.isdir()):
            raise ModelFilesError(f"{archive}: member '{member.name}' is not a regular file or folder; refusing it")
        members.append((path, member))
    return members


def _zip_members(archive_zip: zipfile.ZipFile, archive: Path) -> list[tuple[PurePosixPath, zipfile.ZipInfo]]:
    members = []
    for info in archive_zip.infolist():
        path = _relative(info.filename, archive)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ModelFilesError(f"{archive}: member '{info.filename}' is a link; refusing to extract it")
        if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ModelFilesError(f"{archive}: member '{info.filename}' is not a regular file or folder; refusing it")
        members.append((path, info))
    return members


def safe_extract(archive: str | Path, destination: str | Path, *, max_bytes: int = MAX_BYTES) -> Path:
    """Extract ``archive`` into the empty folder ``destination`` after checking every member.

    Returns the folder holding the content: ``destination``, or its only top-level folder when the archive
    wraps everything in one. Raises ModelFilesError naming the archive and the offending member.
    """
    archive, destination = Path(archive), Path(destination)
    if not archive.is_file():
        raise ModelFilesError(f"{archive} is not a file")
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            members = _zip_members(handle, archive)
            _check_size(sum(info.file_size for _, info in members), max_bytes, archive)
            for path, info in members:
                if info.is_dir():
                    (destination / path).mkdir(parents=True, exist_ok=True)
                    continue
                _write(destination / path, handle.open(info))
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as handle:
            members = _tar_members(handle, archive)
            _check_size(sum(member.size for _, member in members), max_bytes, archive)
            for path, member in members:
                if member.isdir():
                    (destination / path).mkdir(parents=True, exist_ok=True)
                    continue
                _write(destination / path, handle.extractfile(member))
    else:
        raise ModelFilesError(f"{archive} is neither a tar nor a zip archive")
    entries = list(destination.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else destination


def _check_size(total: int, max_bytes: int, archive: Path) -> None:
    if total > max_bytes:
        raise ModelFilesError(f"{archive} unpacks to {total / 1024**3:.1f} GiB, more than the "
                              f"{max_bytes / 1024**3:.1f} GiB allowed; refusing it")


def _write(target: Path, source) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with source, open(target, "wb") as handle:
        shutil.copyfileobj(source, handle)
