"""KPIs on Dask: the orders a period needs are selected on the cluster, the KPIs computed
by the pandas code on that reduced data.

A KPI of period *P* reads the orders dated in *P*, in the period before and the one before that
(for the previous period's retention), and each customer's first paid order (new customers).
Each customer partition keeps exactly those rows; customers, tickets and survey answers (a
customer's few rows, not the transaction stream) are collected as they are. The pandas
:func:`~cpm_analysis.kpis.compute_kpis` then runs on a dataset that gives every KPI the value
the full data gives.

Examples
--------
>>> from cpm_analysis.kpis import compute_kpis
>>> compute_kpis(ds, "2025-06")  # a DaskDataset: the same table  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.periods import Period


def _needed_orders(bucket: Any, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    orders = bucket.orders
    dates = orders["order_date"]
    keep = np.array(((dates >= start) & (dates <= end)).to_numpy(), dtype=bool)
    if "status" in orders.columns:
        status = orders["status"]
        paid = (status == "paid").to_numpy(dtype=bool, na_value=False) | status.isna().to_numpy()
    else:
        paid = np.ones(len(orders), dtype=bool)
    if paid.any():
        paid_rows = orders.loc[paid, ["customer_id", "order_date"]]
        first = paid_rows.sort_values("order_date", kind="stable").drop_duplicates("customer_id")
        keep[orders.index.get_indexer(first.index)] = True
    return orders.loc[keep]


def reduced_dataset(dataset: Any, periods: list[Period]) -> Any:
    """A pandas :class:`~cpm_analysis.data.Dataset` with the rows the KPIs of ``periods`` read.

    Examples
    --------
    >>> small = reduced_dataset(ds, [parse_period("2025-06")])  # doctest: +SKIP
    """
    import dask

    from cpm_analysis.data import Dataset

    start = min(p.previous().previous().start for p in periods)
    end = max(p.end for p in periods)
    orders = dataset.map_customers(
        _needed_orders, meta=dataset.orders._meta, tables=("orders",), start=start, end=end
    )
    others = [t for t in dataset.customer_tables if t != "orders"]
    lazy = [orders]
    for table in others:
        lazy.append(
            dataset.map_customers(
                _table_of, meta=getattr(dataset, table)._meta, tables=(table,), table=table
            )
            if dataset.cutoff is not None
            else getattr(dataset, table)
        )
    frames = dask.compute(*lazy)
    tables = {"orders": frames[0]}
    tables.update(dict(zip(others, frames[1:], strict=True)))
    tables = {t: f.reset_index(drop=True) for t, f in tables.items()}
    return Dataset(
        **tables,
        staff=dataset.staff,
        targets=dataset.targets,
        assessments=dataset.assessments,
        source=dataset.source,
        cutoff=dataset.cutoff,
    )


def _table_of(bucket: Any, table: str) -> pd.DataFrame:
    return getattr(bucket, table)


def compute_kpis_dask(dataset: Any, period: Any, **kwargs: Any) -> pd.DataFrame:
    """:func:`~cpm_analysis.kpis.compute_kpis` of a :class:`DaskDataset` (same table).

    Examples
    --------
    >>> compute_kpis_dask(ds, "2025-06", by="owner_id")  # doctest: +SKIP
    """
    from cpm_analysis.kpis.compute import compute_kpis
    from cpm_analysis.periods import parse_period, resolve_period

    target = resolve_period(period, dataset) if isinstance(period, str) else parse_period(period)
    return compute_kpis(reduced_dataset(dataset, [target]), target, **kwargs)
