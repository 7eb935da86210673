"""The data contract: loading, validating and point-in-time views of customer data.

Examples
--------
>>> from cpm_analysis.data import load
>>> ds = load("data/sample")
>>> ds.as_of("2024-06").orders["order_date"].max()
Timestamp('2024-06-30 22:47:42')
"""

from __future__ import annotations

from cpm_analysis.data.cdnow import load_cdnow
from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.donations import load_donations
from cpm_analysis.data.ids import normalise_ids
from cpm_analysis.data.loader import load, validate_frames
from cpm_analysis.data.mapping import SourceMapping, read_mapping
from cpm_analysis.data.orders import paid_mask, paid_orders
from cpm_analysis.data.paths import cdnow_dir, data_dir, sample_dir
from cpm_analysis.data.schema import ALL_TABLES, PII_COLUMNS, TABLES
from cpm_analysis.data.validate import parse_datetime

__all__ = [
    "ALL_TABLES",
    "PII_COLUMNS",
    "TABLES",
    "Dataset",
    "SourceMapping",
    "cdnow_dir",
    "data_dir",
    "load",
    "load_cdnow",
    "load_donations",
    "normalise_ids",
    "paid_mask",
    "paid_orders",
    "parse_datetime",
    "read_mapping",
    "sample_dir",
    "validate_frames",
]
