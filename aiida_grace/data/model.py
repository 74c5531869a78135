"""``GraceModelData``: a GRACE model (SavedModel, model.yaml + checkpoint, FS yaml) pinned by sha256."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from aiida.orm import Data, QueryBuilder

from ..common.hashing import combined_sha256, sha256_file
from ..common.model_files import (
    CHECKPOINT_DIR,
    CHECKPOINT_PREFIX,
    ModelFiles,
    ModelFilesError,
    count_parameters,
    locate_model_files,
    read_model_metadata,
)

__all__ = ("GraceModelData", "ModelIntegrityError")

DEFAULT_GRACE_CACHE = "~/.cache/grace"


class ModelIntegrityError(ValueError):
    """The model's stored files no longer match the sha256 recorded when it was created."""


class GraceModelData(Data):
    """A GRACE model whose files live in the node's repository under canonical names.

    Attributes: ``sha256`` (of all files), ``file_sha256`` (per file), ``elements`` (model order),
    ``cutoff`` (Å), ``architecture`` (GRACE-1L/2L/FS), ``preset``, ``n_parameters``, ``param_dtype``,
    ``tensorpotential_version``, ``origin`` ({'kind': 'trained'|'directory'|'cache', ...}),
    ``has_saved_model``, ``has_checkpoint``, ``has_fs_yaml``.
    """

    # -- construction ---------------------------------------------------------------------------
    def __init__(self, directory: str | os.PathLike | None = None, *, checkpoint_dir=None, origin=None,
                 preset=None, n_parameters=None, **kwargs):
        super().__init__(**kwargs)
        if directory is not None:
            files = locate_model_files(directory, checkpoint_dir)
            self._set_files(files, origin or {"kind": "directory", "path": str(Path(directory).resolve())},
                            preset=preset, n_parameters=n_parameters)

    def _set_files(self, files: ModelFiles, origin: dict, *, preset=None, n_parameters=None) -> None:
        meta = read_model_metadata(files)
        file_hashes = {name: sha256_file(path) for name, path in sorted(files.files.items())}
        for name, path in files.files.items():
            self.base.repository.put_object_from_file(str(path), name)
        self.base.attributes.set_many(
            {
                "sha256": combined_sha256(file_hashes),
                "file_sha256": file_hashes,
                "elements": meta["elements"],
                "cutoff": meta.get("cutoff"),
                "architecture": meta.get("architecture"),
                "preset": preset,
                "param_dtype": meta.get("param_dtype"),
                "tensorpotential_version": meta.get("tensorpotential_version"),
                "n_parameters": n_parameters if n_parameters is not None else count_parameters(files),
                "origin": origin,
                "has_saved_model": files.has_saved_model,
                "has_checkpoint": files.has_checkpoint,
                "has_fs_yaml": files.has_fs_yaml,
            }
        )

    @classmethod
    def find_by_sha256(cls, sha256: str) -> "GraceModelData | None":
        """The oldest stored model with this content hash, or None."""
        qb = QueryBuilder().append(cls, filters={"attributes.sha256": sha256}, tag="m")
        qb.order_by({"m": {"ctime": "asc"}}).limit(1)
        found = qb.first()
        return found[0] if found else None

    @classmethod
    def from_directory(cls, directory, *, checkpoint_dir=None, origin=None, preset=None, label=None):
        """Import a model folder (gracemaker output, exported folder, or bare SavedModel) and store it.

        Returns the existing node when a model with the same content is already stored (deduplicated by
        sha256); otherwise a new stored node.
        """
        node = cls(directory, checkpoint_dir=checkpoint_dir, origin=origin, preset=preset)
        existing = cls.find_by_sha256(node.sha256)
        if existing is not None:
            return existing
        if label:
            node.label = label
        return node.store()

    @classmethod
    def from_archive(cls, archive, *, preset=None, label=None):
        """Import a model from a .tar, .tar.gz/.tgz or .zip archive and store it (deduplicated like
        ``from_directory``). Members with absolute paths, ``..`` or links are refused before anything is
        written (``aiida_grace.common.archives.safe_extract``)."""
        from ..common.archives import safe_extract

        archive = Path(archive)
        with tempfile.TemporaryDirectory() as tmp:
            root = safe_extract(archive, tmp)
            origin = {"kind": "archive", "path": str(archive.resolve()), "archive_sha256": sha256_file(archive)}
            return cls.from_directory(root, origin=origin, preset=preset, label=label)

    @classmethod
    def from_cache(cls, name: str, cache_dir: str | os.PathLike | None = None):
        """Import a foundation model by name from a local GRACE cache (``$GRACE_CACHE``, else ~/.cache/grace).

        Looks in ``<cache>/models_registry.yaml`` (``NAME: {path, checkpoint_path}``), then in
        ``<cache>/<NAME>/`` (SavedModel) and ``<cache>/checkpoints/<NAME>/`` (model.yaml + checkpoint).
        Nothing is downloaded: fetch the model first with ``grace_models download NAME``.
        """
        import yaml

        cache = Path(os.path.expanduser(cache_dir or os.environ.get("GRACE_CACHE") or DEFAULT_GRACE_CACHE))
        model_dir, checkpoint_dir = cache / name, cache / "checkpoints" / name
        registry = cache / "models_registry.yaml"
        if registry.is_file():
            entry = (yaml.safe_load(registry.read_text()) or {}).get(name) or {}
            model_dir = Path(os.path.expanduser(entry.get("path", model_dir)))
            checkpoint_dir = Path(os.path.expanduser(entry.get("checkpoint_path", checkpoint_dir)))
        if not model_dir.is_dir() and not checkpoint_dir.is_dir():
            raise ModelFilesError(
                f"GRACE model '{name}' is not in the cache {cache}: run 'grace_models download {name}' on a "
                f"machine with internet access, copy it there, or import its folder with from_directory()"
            )
        source = model_dir if model_dir.is_dir() else checkpoint_dir
        return cls.from_directory(
            source,
            checkpoint_dir=checkpoint_dir if checkpoint_dir.is_dir() else None,
            origin={"kind": "cache", "name": name, "cache": str(cache)},
            label=name,
        )

    # -- views ----------------------------------------------------------------------------------
    @property
    def sha256(self) -> str:
        return self.base.attributes.get("sha256")

    @property
    def elements(self) -> list[str]:
        return self.base.attributes.get("elements")

    @property
    def cutoff(self) -> float | None:
        return self.base.attributes.get("cutoff")

    @property
    def has_saved_model(self) -> bool:
        return self.base.attributes.get("has_saved_model", False)

    @property
    def has_checkpoint(self) -> bool:
        return self.base.attributes.get("has_checkpoint", False)

    @property
    def has_fs_yaml(self) -> bool:
        return self.base.attributes.get("has_fs_yaml", False)

    def file_names(self) -> list[str]:
        return sorted(self.base.attributes.get("file_sha256", {}))

    def verify(self) -> None:
        """Raise ``ModelIntegrityError`` when a stored file is missing or its sha256 changed."""
        expected = self.base.attributes.get("file_sha256", {})
        with tempfile.TemporaryDirectory() as tmp:
            self.base.repository.copy_tree(tmp)
            for name, digest in expected.items():
                path = Path(tmp) / name
                if not path.is_file():
                    raise ModelIntegrityError(f"model {self.pk or 'unstored'}: file {name} is missing")
                actual = sha256_file(path)
                if actual != digest:
                    raise ModelIntegrityError(
                        f"model {self.pk or 'unstored'}: {name} has sha256 {actual[:12]}…, recorded {digest[:12]}…"
                    )

    def export(self, destination: str | os.PathLike, *, verify: bool = True) -> Path:
        """Write the model to ``destination`` in the layout gracemaker uses and return that path.

        ``<dest>/final_model`` loads in ``TPCalculator``; ``<dest>/model.yaml`` with
        ``<dest>/checkpoints/checkpoint.best_test_loss`` starts fine-tuning; ``<dest>/FS_model.yaml`` loads
        in python-ace's ``PyGRACEFSCalculator`` and LAMMPS ``pair_style grace/fs``.
        """
        if verify:
            self.verify()
        destination = Path(destination)
        destination.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            self.base.repository.copy_tree(tmp)
            for name in self.file_names():
                target = destination / export_name(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(tmp) / name, target)
        return destination

    def __str__(self) -> str:
        attrs = self.base.attributes
        return (f"{super().__str__()} ({attrs.get('architecture')}, {'-'.join(self.elements or [])}, "
                f"sha256 {str(self.sha256)[:12]})")


def export_name(stored_name: str) -> str:
    """Where a stored file goes in an exported folder (checkpoint files take gracemaker's best-test name)."""
    prefix = f"{CHECKPOINT_DIR}/{CHECKPOINT_PREFIX}"
    if stored_name.startswith(prefix):
        return "checkpoints/checkpoint.best_test_loss" + stored_name[len(prefix):]
    return stored_name

