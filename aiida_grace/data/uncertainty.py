"""``GraceUncertaintyData``: the UQ artifacts (``gmm_artifacts.npz``) that give a model's extrapolation grade γ."""

from __future__ import annotations

import io
import os
from pathlib import Path

from aiida.orm import Data

from ..common.hashing import sha256_bytes

__all__ = ("GraceUncertaintyData",)


class GraceUncertaintyData(Data):
    """``grace_uq build``'s GMM of one model's per-atom features on its training set.

    It belongs to one model: attributes ``model_uuid`` and ``model_sha256`` (checked before use),
    ``dataset_sha256`` (the training set it was built from), ``elements``, ``feature_dimension``,
    ``n_clusters`` (per element), ``training_atoms`` (per element), ``threshold_mode``, ``settings``
    (of grace_uq build) and ``sha256`` of the stored npz. γ ≤ 1 means interpolation; well above 1, extrapolation.
    """

    FILENAME = "gmm_artifacts.npz"

    def __init__(self, content: bytes | None = None, *, model=None, dataset=None, summary: dict | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if content is not None:
            self.base.repository.put_object_from_filelike(io.BytesIO(content), self.FILENAME)
            summary = summary or {}
            self.base.attributes.set_many({
                "sha256": sha256_bytes(content),
                "model_uuid": model.uuid if model is not None else None,
                "model_sha256": model.sha256 if model is not None else None,
                "dataset_sha256": dataset.sha256 if dataset is not None else None,
                **{key: summary.get(key) for key in ("elements", "feature_dimension", "n_clusters",
                                                     "training_atoms", "threshold_mode", "settings")},
            })

    @property
    def sha256(self) -> str:
        return self.base.attributes.get("sha256")

    @property
    def model_sha256(self) -> str | None:
        return self.base.attributes.get("model_sha256")

    @property
    def elements(self) -> list[str]:
        return self.base.attributes.get("elements") or []

    def belongs_to(self, model) -> bool:
        """Whether these artifacts were built for ``model`` (same files, by sha256)."""
        return self.model_sha256 == model.sha256

    def export(self, destination: str | os.PathLike) -> Path:
        """Write the npz to ``destination`` (a folder; created) and return the file's path."""
        destination = Path(destination)
        destination.mkdir(parents=True, exist_ok=True)
        target = destination / self.FILENAME
        target.write_bytes(self.base.repository.get_object_content(self.FILENAME, mode="rb"))
        return target

    def __str__(self) -> str:
        return (f"{super().__str__()} (γ artifacts, {'-'.join(self.elements)}, "
                f"model sha256 {str(self.model_sha256)[:12]})")
