"""AiiDA data nodes of aiida-grace."""

from .dataset import GraceDatasetData
from .model import GraceModelData, ModelIntegrityError

__all__ = ("GraceDatasetData", "GraceModelData", "ModelIntegrityError")
