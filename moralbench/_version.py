"""The installed moralbench version, read once from the package metadata (pyproject.toml)."""

from __future__ import annotations

import importlib.metadata

try:
    __version__ = importlib.metadata.version("moralbench")
except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
