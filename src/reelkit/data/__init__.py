"""Datasets: the columnar model, loaders, fetching, and the synthetic demo catalog."""

from reelkit.data.confidence import ConfidenceConfig
from reelkit.data.dataset import EVENT_COLUMNS, EVENT_KINDS, Dataset, Interactions

__all__ = ["EVENT_COLUMNS", "EVENT_KINDS", "ConfidenceConfig", "Dataset", "Interactions"]
