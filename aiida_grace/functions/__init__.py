"""calcfunctions: every derived datum comes out of one, so the provenance graph shows where it came from."""

from .dataset import merge_datasets, split_dataset
from .synthetic import emt_dataset

__all__ = ("emt_dataset", "merge_datasets", "split_dataset")
