"""The on-disk store the Dask engine writes, read back with pandas alone.

``load(source, engine="dask")`` validates a dataset on a cluster into a folder of
customer-partitioned Parquet buckets with a ``manifest.json`` (:mod:`cpm_analysis.scale.store`).
This module holds the layout of that folder and :func:`read_store`, so that the pandas loader
recognises and reads a store (``load(store_folder)``) without importing the engine.

Examples
--------
>>> is_store("data/sample")
False
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.schema import ALL_TABLES, CUSTOMER_TABLES, PLAN_TABLES
from cpm_analysis.data.validate import empty_rejected
from cpm_analysis.exceptions import DataValidationError

MANIFEST = "manifest.json"
STORE_VERSION = 2
_ROW = "_row"


def _bucket_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("part-*.parquet"))


def plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Convert text columns to pandas' default ``str`` dtype, as the pandas loader gives them.

    Dask writes them as ``string[pyarrow]`` with ``pd.NA``.
    """
    for col in frame.columns:
        dtype = frame[col].dtype
        if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA:
            frame[col] = frame[col].astype("str")
    return frame


def _read_bucket(path: str) -> pd.DataFrame:
    frame = plain_strings(pd.read_parquet(path))
    return frame.drop(columns=[_ROW]) if _ROW in frame.columns else frame


def is_store(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a store written by ``load(engine="dask")`` (it has the manifest).

    Examples
    --------
    >>> is_store("data/sample")
    False
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return False
    try:
        return "npartitions" in json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def read_store(work_dir: str | os.PathLike) -> Dataset:
    """Return a store's validated tables as a pandas :class:`Dataset`, without Dask.

    ``load(store_folder)`` with the pandas engine comes here: the report's notebooks read the
    data the cluster validated instead of validating it again. Rows come in the source's order,
    so the dataset equals the one the pandas loader gives (same fingerprint).

    Examples
    --------
    ``dask_ds`` is the bundled sample loaded by the Dask engine:

    >>> ds = read_store(dask_ds.work_dir)
    >>> len(ds.orders) == dask_ds.counts["orders"]["kept"]
    True
    """
    work = Path(work_dir)
    manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("version") != STORE_VERSION:
        raise DataValidationError(f"store: {work} was written by another version; load again")
    tables: dict[str, Any] = {}
    for table in CUSTOMER_TABLES:
        files = _bucket_files(work / table)
        if table in manifest["tables"]:
            if len(files) != int(manifest["npartitions"]):
                raise DataValidationError(f"store: {work / table} is incomplete; load again")
            frame = plain_strings(pd.read_parquet(files))
            frame = frame.sort_values(_ROW, kind="stable").drop(columns=[_ROW])
            tables[table] = frame.reset_index(drop=True)
    for table in PLAN_TABLES:
        path = work / "plan" / f"{table}.parquet"
        if path.is_file():
            tables[table] = pd.read_parquet(path)
    rejected_files = sorted(str(p) for p in (work / "rejected").rglob("*.parquet"))
    rejected = (
        plain_strings(pd.read_parquet(rejected_files)) if rejected_files else empty_rejected()
    )
    position = rejected["table"].map({t: i for i, t in enumerate(ALL_TABLES)})
    order = np.lexsort((rejected["row"].to_numpy(), position.to_numpy()))
    rejected = rejected.iloc[order].reset_index(drop=True)  # contract order, then source row
    return Dataset(**tables, rejected=rejected, source=str(manifest["source"]))
