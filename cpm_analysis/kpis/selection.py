"""The rows the KPIs of some periods read, selected customer bucket by customer bucket.

A KPI of period *P* reads the orders dated in *P*, in the period before and the one before that
(for the previous period's retention), those of the 60 days before the previous period (customers
becoming at risk in it), and each customer's first paid order (new customers).
Each bucket of customers (:mod:`cpm_analysis.data.protocol`) keeps exactly those orders and the
columns the KPIs read; customers (id, signup, contract end, the breakdown column), tickets and
survey answers (a customer's few rows, not the transaction stream) come as they are. The KPIs
are then computed on that pandas dataset, which gives every KPI the value the full data gives,
whichever engine holds the data.

Examples
--------
>>> from cpm_analysis.periods import parse_period
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(200, seed=1).to_dataset()
>>> small = kpi_dataset(ds, [parse_period("2025-06")])
>>> len(small.orders) < len(ds.orders)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.orders import paid_mask
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.kpis.context import AT_RISK_DAYS
from cpm_analysis.periods import Period

ORDER_COLUMNS = ("customer_id", "order_date", "amount", "status")
CUSTOMER_COLUMNS = ("customer_id", "signup_date", "churned_at")


def _needed_orders(
    bucket: Dataset, start: pd.Timestamp, end: pd.Timestamp, columns: list[str]
) -> pd.DataFrame:
    orders = bucket.orders
    dates = orders["order_date"]
    keep = np.array(((dates >= start) & (dates <= end)).to_numpy(), dtype=bool)
    paid = np.flatnonzero(paid_mask(orders))
    if len(paid):
        # each customer's first paid order (the first row among equal dates)
        codes = pd.factorize(orders["customer_id"])[0][paid]
        ns = dates.to_numpy(dtype="datetime64[ns]").view(np.int64)[paid]
        ns = np.where(ns == np.iinfo(np.int64).min, np.iinfo(np.int64).max, ns)  # NaT last
        first = pd.Series(ns).groupby(codes, sort=False).idxmin().to_numpy()
        keep[paid[first]] = True
    if keep.all():
        return orders[columns] if list(orders.columns) != columns else orders
    return orders.loc[keep, columns]


def _table_of(bucket: Dataset, table: str, columns: list[str]) -> pd.DataFrame:
    frame = getattr(bucket, table)
    return frame if list(frame.columns) == columns else frame[columns]


def kpi_dataset(
    data: CustomerData,
    periods: Sequence[Period],
    by: str | pd.Series | None = None,
    *,
    at_risk_days: int = AT_RISK_DAYS,
) -> Dataset:
    """Return a pandas :class:`~cpm_analysis.data.Dataset` with the rows the KPIs of ``periods`` read.

    Orders: those dated from the start of the period two before the first one (or from
    ``at_risk_days`` before the start of the one before it, when that is earlier) to the end
    of the last one, plus each customer's first paid order, with the columns the KPIs use.
    Customers: id, signup date, contract end and the ``by`` column. Tickets and survey
    answers as they are; the plan tables (staff, targets, assessments) as they are.

    Examples
    --------
    >>> from cpm_analysis.periods import parse_period
    >>> small = kpi_dataset(ds, [parse_period("2025-06")])
    >>> len(small.orders) < len(ds.orders), len(small.customers) <= len(ds.customers)
    (True, True)
    """
    data = customer_data(data)
    start = min(p.previous().previous().start for p in periods)
    # a customer becoming at risk early in the previous period needs the orders before it
    lookback = pd.Timedelta(days=at_risk_days)
    start = min(start, min(p.previous().start for p in periods) - lookback)
    end = max(p.end for p in periods)
    lazy = {}
    for table in data.customer_tables:
        if table == "orders":
            lazy[table] = data.map_customers(
                _needed_orders,
                tables=("orders",),
                start=start,
                end=end,
                columns=_columns(data, "orders", ORDER_COLUMNS),
            )
            continue
        wanted = None
        if table == "customers":
            wanted = CUSTOMER_COLUMNS + ((by,) if isinstance(by, str) else ())
        lazy[table] = data.map_customers(
            _table_of,
            tables=(table,),
            table=table,
            columns=_columns(data, table, wanted),
        )
    frames = data.gather(*lazy.values())
    tables = {t: f.reset_index(drop=True) for t, f in zip(lazy, frames, strict=True)}
    return Dataset(
        **tables,
        staff=data.staff,
        targets=data.targets,
        assessments=data.assessments,
        source=getattr(data, "source", "<memory>"),
        cutoff=data.cutoff,
    )


def _columns(data: Any, table: str, wanted: tuple[str, ...] | None) -> list[str]:
    columns = list(getattr(data, table).columns)
    return columns if wanted is None else [c for c in columns if c in wanted]
