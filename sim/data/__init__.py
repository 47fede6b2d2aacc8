"""Packaged data (country attributes, indicators, firm profiles) and their validated loaders."""

from sim.data.loaders import (
    DATA_FILES,
    DataPaths,
    Dataset,
    load_barriers,
    load_countries,
    load_dataset,
    load_events,
    load_finance,
    load_indicators,
    load_markets,
    packaged_path,
)
from sim.data.profile import FirmProfile, load_profile

__all__ = [
    "DATA_FILES",
    "DataPaths",
    "Dataset",
    "FirmProfile",
    "load_barriers",
    "load_countries",
    "load_dataset",
    "load_events",
    "load_finance",
    "load_indicators",
    "load_markets",
    "load_profile",
    "packaged_path",
]
