"""AiiDA data nodes of aiida-grace."""

from .dataset import GraceDatasetData
from .model import GraceModelData, ModelIntegrityError
from .uncertainty import GraceUncertaintyData

__all__ = ("GraceDatasetData", "GraceModelData", "GraceUncertaintyData", "ModelIntegrityError")
