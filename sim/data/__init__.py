"""Packaged data (the historical record and the market attributes) and their validated loaders."""

from sim.data.loaders import (
    DATA_FILES,
    DataPaths,
    Dataset,
    load_barriers,
    load_dataset,
    load_events,
    load_finance,
    load_indicators,
    load_markets,
    packaged_path,
)

__all__ = [
    "DATA_FILES",
    "DataPaths",
    "Dataset",
    "load_barriers",
    "load_dataset",
    "load_events",
    "load_finance",
    "load_indicators",
    "load_markets",
    "packaged_path",
]
