"""KPIs on Dask: the orders a period needs are selected on the cluster, the KPIs computed
by the pandas code on that reduced data.

A KPI of period *P* reads the orders dated in *P*, in the period before and the one before that
(for the previous period's retention), and each customer's first paid order (new customers).
Each customer partition keeps exactly those rows (and the columns the KPIs read); customers (id,
signup, contract end, the breakdown column), tickets and survey answers (a customer's few rows,
not the transaction stream) are collected into the client, partition by partition. The pandas
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

from cpm_analysis.data.orders import paid_mask
from cpm_analysis.periods import Period


def _needed_orders(
    bucket: Any, start: pd.Timestamp, end: pd.Timestamp, columns: list[str]
) -> pd.DataFrame:
    orders = bucket.orders
    dates = orders["order_date"]
    keep = np.array(((dates >= start) & (dates <= end)).to_numpy(), dtype=bool)
    paid = paid_mask(orders)
    if paid.any():
        paid_rows = orders.loc[paid, ["customer_id", "order_date"]]
        first = paid_rows.sort_values("order_date", kind="stable").drop_duplicates("customer_id")
        keep[orders.index.get_indexer(first.index)] = True
    return orders.loc[keep, columns]


def reduced_dataset(dataset: Any, periods: list[Period], by: Any = None) -> Any:
    """A pandas :class:`~cpm_analysis.data.Dataset` with the rows the KPIs of ``periods`` read.

    Orders: those dated from the start of the period two before the first one to the end of
    the last one, plus each customer's first paid order, with the columns the KPIs use.
    Customers: id, signup date, contract end and the ``by`` column. Tickets and survey
    answers as they are.

    Examples
    --------
    >>> small = reduced_dataset(ds, [parse_period("2025-06")])  # doctest: +SKIP
    """
    from cpm_analysis.data import Dataset
    from cpm_analysis.scale.store import gather

    start = min(p.previous().previous().start for p in periods)
    end = max(p.end for p in periods)
    order_columns = [
        c for c in ("customer_id", "order_date", "amount", "status") if c in dataset.orders.columns
    ]
    orders = dataset.map_customers(
        _needed_orders,
        meta=dataset.orders._meta[order_columns],
        tables=("orders",),
        start=start,
        end=end,
        columns=order_columns,
    )
    wanted = {"customer_id", "signup_date", "churned_at"}
    if isinstance(by, str):
        wanted.add(by)
    customer_columns = [c for c in dataset.customers.columns if c in wanted]
    lazy = {"orders": orders}
    for table in dataset.customer_tables:
        if table == "orders":
            continue
        frame = getattr(dataset, table)
        columns = customer_columns if table == "customers" else list(frame.columns)
        if dataset.cutoff is not None:
            frame = dataset.map_customers(
                _table_of, meta=frame._meta[columns], tables=(table,), table=table,
                columns=columns,
            )  # fmt: skip
        lazy[table] = frame[columns]
    frames = gather(*lazy.values())
    tables = {t: f.reset_index(drop=True) for t, f in zip(lazy, frames, strict=True)}
    return Dataset(
        **tables,
        staff=dataset.staff,
        targets=dataset.targets,
        assessments=dataset.assessments,
        source=dataset.source,
        cutoff=dataset.cutoff,
    )


def _table_of(bucket: Any, table: str, columns: list[str]) -> pd.DataFrame:
    return getattr(bucket, table)[columns]


def compute_kpis_dask(dataset: Any, period: Any, **kwargs: Any) -> pd.DataFrame:
    """:func:`~cpm_analysis.kpis.compute_kpis` of a :class:`DaskDataset` (same table).

    Examples
    --------
    >>> compute_kpis_dask(ds, "2025-06", by="owner_id")  # doctest: +SKIP
    """
    from cpm_analysis.kpis.compute import compute_kpis
    from cpm_analysis.periods import parse_period, resolve_period

    target = resolve_period(period, dataset) if isinstance(period, str) else parse_period(period)
    return compute_kpis(reduced_dataset(dataset, [target], kwargs.get("by")), target, **kwargs)
