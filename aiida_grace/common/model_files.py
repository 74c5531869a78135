"""Find and describe the files of a GRACE model on disk (no aiida, no TensorFlow needed).

A model has up to four parts, stored under these canonical names:

- ``final_model/``: the TensorFlow SavedModel that ``TPCalculator`` loads (inference);
- ``model.yaml``: the architecture, needed with a checkpoint for fine-tuning and restarts;
- ``checkpoint/checkpoint.index`` + ``checkpoint/checkpoint.data-*``: the weights for training;
- ``FS_model.yaml``: the GRACE-FS model for the C++ evaluator and LAMMPS ``pair_style grace/fs``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SAVED_MODEL = "final_model"
MODEL_YAML = "model.yaml"
CHECKPOINT_DIR = "checkpoint"
CHECKPOINT_PREFIX = "checkpoint"
FS_YAML = "FS_model.yaml"
PREFERRED_CHECKPOINTS = ("checkpoint.best_test_loss", "checkpoint")


class ModelFilesError(ValueError):
    """A directory does not hold a usable GRACE model, or holds something unsafe."""


@dataclass
class ModelFiles:
    """Where each part of a model lies on disk: ``files`` maps canonical relative names to source paths."""

    files: dict[str, Path] = field(default_factory=dict)

    @property
    def has_saved_model(self) -> bool:
        return f"{SAVED_MODEL}/saved_model.pb" in self.files

    @property
    def has_checkpoint(self) -> bool:
        return f"{CHECKPOINT_DIR}/{CHECKPOINT_PREFIX}.index" in self.files and MODEL_YAML in self.files

    @property
    def has_fs_yaml(self) -> bool:
        return FS_YAML in self.files


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _walk_files(root: Path) -> list[Path]:
    """All regular files under ``root``; refuses links that lead outside it."""
    found = []
    for dirpath, _, filenames in os.walk(root, followlinks=False):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() and not _inside(root, path):
                raise ModelFilesError(f"{path} is a link that points outside {root}; refusing to import it")
            found.append(path)
    return found


def _find_checkpoint(directory: Path) -> Path | None:
    """The checkpoint prefix in ``directory`` (best-test-loss first), or None."""
    for prefix in PREFERRED_CHECKPOINTS:
        if (directory / f"{prefix}.index").is_file():
            return directory / prefix
    indexes = sorted(directory.glob("*.index"))
    return indexes[0].with_suffix("") if indexes else None


def _gracemaker_run_dir(root: Path) -> Path:
    """gracemaker writes into ``seed/<N>/``: accept the project folder as well as that folder."""
    seeds = sorted((root / "seed").glob("*")) if (root / "seed").is_dir() else []
    return seeds[0] if len(seeds) == 1 else root


def locate_model_files(directory: str | Path, checkpoint_dir: str | Path | None = None) -> ModelFiles:
    """Find the model parts in a gracemaker output folder, an exported folder or a bare SavedModel.

    ``checkpoint_dir`` is an extra folder holding ``model.yaml`` and a checkpoint (the GRACE cache keeps
    them apart from the SavedModel).
    """
    root = Path(directory)
    if not root.is_dir():
        raise ModelFilesError(f"{root} is not a directory")
    root = _gracemaker_run_dir(root)
    model = ModelFiles()

    saved_model_dir = root if (root / "saved_model.pb").is_file() else root / SAVED_MODEL
    if (saved_model_dir / "saved_model.pb").is_file():
        for path in _walk_files(saved_model_dir):
            model.files[f"{SAVED_MODEL}/{path.relative_to(saved_model_dir).as_posix()}"] = path

    for folder in [root, Path(checkpoint_dir) if checkpoint_dir else None]:
        if folder is None:
            continue
        if (folder / MODEL_YAML).is_file():
            model.files[MODEL_YAML] = folder / MODEL_YAML
        if (folder / FS_YAML).is_file():
            model.files[FS_YAML] = folder / FS_YAML
        for candidate in (folder / "checkpoints", folder / CHECKPOINT_DIR, folder):
            prefix = candidate.is_dir() and _find_checkpoint(candidate)
            if prefix:
                for part in candidate.glob(prefix.name + ".*"):
                    suffix = part.name[len(prefix.name):]
                    model.files[f"{CHECKPOINT_DIR}/{CHECKPOINT_PREFIX}{suffix}"] = part
                break

    if not (model.has_saved_model or model.has_fs_yaml or model.has_checkpoint):
        raise ModelFilesError(
            f"no GRACE model in {directory}: expected a SavedModel (saved_model.pb or final_model/), "
            f"an {FS_YAML}, or {MODEL_YAML} with a checkpoint"
        )
    for path in model.files.values():
        if not _inside(root, path) and not (checkpoint_dir and _inside(Path(checkpoint_dir), path)):
            raise ModelFilesError(f"{path} lies outside the model folder; refusing to import it")
    return model


def _safe_yaml(path: Path) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def _architecture(model_yaml: dict) -> str:
    """'GRACE-2L', 'GRACE-1L' or 'GRACE-FS', read from the instruction names of model.yaml."""
    names = set(model_yaml)
    if {"I1", "I2"} & names:
        return "GRACE-2L"
    if "E" in names and "rho" not in names:
        return "GRACE-FS"
    return "GRACE-1L"


def read_model_metadata(model: ModelFiles) -> dict:
    """Elements (model order), cutoff (Å), param dtype, tensorpotential version and architecture."""
    meta: dict = {}
    saved_meta = model.files.get(f"{SAVED_MODEL}/metadata.yaml")
    if saved_meta is not None:
        content = _safe_yaml(saved_meta)
        meta["elements"] = list(content.get("chemical_symbols", []))
        meta["cutoff"] = content.get("cutoff")
        inner = content.get("metadata", {}) or {}
        meta["param_dtype"] = inner.get("param_dtype")
        meta["tensorpotential_version"] = inner.get("tensorpotential_version")
    elif f"{SAVED_MODEL}/metadata.json" in model.files:
        content = json.loads(model.files[f"{SAVED_MODEL}/metadata.json"].read_text())
        meta["elements"] = list(content.get("chemical_symbols", []))
        meta["cutoff"] = content.get("cutoff")
    if MODEL_YAML in model.files:
        content = _safe_yaml(model.files[MODEL_YAML])
        inner = content.get("metadata", {}) or {}
        meta["param_dtype"] = meta.get("param_dtype") or inner.get("param_dtype")
        meta["tensorpotential_version"] = meta.get("tensorpotential_version") or inner.get("tensorpotential_version")
        instructions = content.get("instructions", {}) or {}
        meta["architecture"] = _architecture(instructions)
        embedding = next((i for i in instructions.values() if isinstance(i, dict) and "element_map" in i), None)
        if embedding and not meta.get("elements"):
            element_map = embedding["element_map"]
            meta["elements"] = sorted(element_map, key=element_map.get)
        radial = next((i for i in instructions.values() if isinstance(i, dict) and "rcut" in i), None)
        if radial and meta.get("cutoff") is None:
            meta["cutoff"] = radial["rcut"]
    elif model.has_fs_yaml:
        meta["architecture"] = "GRACE-FS"
    if model.has_fs_yaml and not meta.get("elements"):
        fs = _safe_yaml(model.files[FS_YAML])
        meta["elements"] = list(fs.get("elements", []))
        meta["cutoff"] = meta.get("cutoff") or fs.get("cutoff")
    if not meta.get("elements"):
        raise ModelFilesError("could not read the model's elements from its metadata, model.yaml or FS yaml")
    return meta


def count_parameters(model: ModelFiles) -> int | None:
    """Number of weights in the SavedModel (needs TensorFlow; None without it or without a SavedModel)."""
    if not model.has_saved_model:
        return None
    try:
        import tensorflow as tf
    except ImportError:
        return None
    prefix = model.files[f"{SAVED_MODEL}/saved_model.pb"].parent / "variables" / "variables"
    try:
        variables = tf.train.list_variables(str(prefix))
    except (tf.errors.OpError, ValueError):  # unreadable variables: the count is informative only
        return None
    total = 0
    for name, shape in variables:
        if "OPTIMIZER" in name or name.startswith("_CHECKPOINTABLE"):
            continue
        size = 1
        for dim in shape:
            size *= dim
        total += size
    return int(total)
