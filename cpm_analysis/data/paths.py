"""Where the bundled data lives."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """Return the project's ``data/`` folder (override with the ``CPM_DATA_DIR`` environment variable).

    Examples
    --------
    >>> data_dir().name
    'data'
    """
    return Path(os.environ.get("CPM_DATA_DIR", PROJECT_ROOT / "data"))


def sample_dir() -> Path:
    """Return the bundled synthetic sample, the default data set of every command."""
    return data_dir() / "sample"


def cdnow_dir() -> Path:
    """Return the vendored CDNOW transactions."""
    return data_dir() / "external" / "cdnow"
