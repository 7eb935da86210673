"""Cohort retention: the classic triangle of customers (and revenue) kept per acquisition cohort.

A customer's cohort is the period (month, quarter or year) of their first paid order; the
customer is *active* in a period when they have a paid order dated in it. Cell ``(c, k)`` of
the customer triangle is the share of cohort ``c`` active ``k`` periods after acquisition
(``k = 0`` is the acquisition period, always 1). Cell ``(c, k)`` of the revenue triangle is the
cohort's revenue in period ``c + k`` divided by its revenue in period ``c`` (revenue retention,
which can exceed 1). Cells after the cutoff are NaN, giving the triangle.

Examples
--------
>>> from cpm_analysis import load
>>> from cpm_analysis.cohorts import cohort_retention
>>> ds = load("data/sample")
>>> tri = cohort_retention(ds, freq="Q", as_of="2025-Q4")
>>> tri.customers.iloc[:3, :4]
periods_since    0         1         2         3
cohort
2022-Q1        1.0  0.436782  0.298851  0.402299
2022-Q2        1.0  0.559055  0.409449  0.330709
2022-Q3        1.0  0.439024  0.325203  0.300813
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.orders import paid_mask
from cpm_analysis.data.protocol import customer_data
from cpm_analysis.kpis.context import _codes, _i8
from cpm_analysis.periods import Cutoff, Period, latest_period, normalize_freq, to_cutoff

_MONTHS_PER = {"M": 1, "Q": 3, "Y": 12}


@dataclass
class CohortRetention:
    """The cohort triangles.

    Attributes
    ----------
    customers : DataFrame
        Share of each cohort (rows, period labels) active ``k`` periods after acquisition
        (columns ``0, 1, 2, ...``); NaN after the cutoff.
    revenue : DataFrame
        Each cohort's revenue ``k`` periods after acquisition relative to its revenue in the
        acquisition period; NaN after the cutoff.
    sizes : Series
        Customers acquired per cohort.
    active : DataFrame
        Counts of active customers behind ``customers``.
    revenue_amount : DataFrame
        Revenue behind ``revenue``.
    freq : str
        ``"M"``, ``"Q"`` or ``"Y"``.
    cutoff : Timestamp
        The point in time of the data used.
    """

    customers: pd.DataFrame
    revenue: pd.DataFrame
    sizes: pd.Series
    active: pd.DataFrame
    revenue_amount: pd.DataFrame
    freq: str
    cutoff: pd.Timestamp

    def __getitem__(self, key: str) -> Any:
        """Dict-style access: ``result["customers"]``."""
        if key not in ("customers", "revenue", "sizes", "active", "revenue_amount"):
            raise KeyError(key)
        return getattr(self, key)


def _ordinal(nanoseconds: np.ndarray, freq: str) -> np.ndarray:
    """Period number since 1970 of int64 nanosecond times (months, quarters or years)."""
    months = nanoseconds.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    return months // _MONTHS_PER[freq]


def _label(ordinal: int, freq: str) -> str:
    months = int(ordinal) * _MONTHS_PER[freq]
    start = pd.Timestamp(year=1970 + months // 12, month=months % 12 + 1, day=1)
    return Period(start, freq).label


def _cells_step(bucket: Dataset, cutoff: pd.Timestamp, freq_code: str) -> pd.DataFrame:
    """Count the bucket's cells of the triangle.

    The cells are ``cohort`` and ``age`` (period ordinals), the customers ``active`` in the
    cell and their ``revenue``.
    """
    # the paid orders of bucket.as_of(cutoff), selected on encoded arrays (no copies)
    customers, orders = bucket.customers, bucket.orders
    signup = _i8(customers["signup_date"])
    code = _codes(orders["customer_id"], customers["customer_id"])
    date = _i8(orders["order_date"])
    ok = (code >= 0) & (date <= cutoff.value)
    ok &= paid_mask(orders)
    ok[ok] = signup[code[ok]] <= cutoff.value
    customer = code[ok]
    when = _ordinal(date[ok], freq_code)
    amount = orders["amount"].to_numpy(dtype=float)[ok]
    first = np.zeros(len(customers), dtype=np.int64)
    if len(customer):
        mins = pd.Series(when).groupby(customer).min()
        first[mins.index.to_numpy()] = mins.to_numpy()
    cohort = first[customer]
    age = when - cohort
    if not len(customer):
        empty = np.zeros(0, dtype=np.int64)
        return pd.DataFrame({"cohort": empty, "age": empty, "active": empty, "revenue": []})
    lo = int(cohort.min())
    width = int(when.max()) - lo + 1
    cell = (cohort - lo) * width + age
    revenue = np.bincount(cell, weights=amount, minlength=width * width)
    visits = pd.unique(customer * width + age)  # (customer, age) pairs; a hash, not a sort
    active = np.bincount(
        (first[visits // width] - lo) * width + visits % width, minlength=width * width
    )
    used = np.flatnonzero(active)
    return pd.DataFrame(
        {
            "cohort": used // width + lo,
            "age": used % width,
            "active": active[used].astype(np.int64),
            "revenue": revenue[used],
        }
    )


def cohort_retention(
    dataset: Dataset,
    *,
    freq: str = "M",
    as_of: Cutoff | None = None,
    n_cohorts: int | None = None,
) -> CohortRetention:
    """Return the cohort retention triangle, by customers and by revenue.

    Parameters
    ----------
    dataset : Dataset
        The data (orders are enough); any dataset of the dataset protocol
        (:mod:`cpm_analysis.data.protocol`), a Dask one too (the cells are counted bucket by
        bucket).
    freq : str
        Cohort and activity period: ``"M"`` (default), ``"Q"`` or ``"Y"``.
    as_of : str, Period or Timestamp, optional
        The cutoff: data after it is not used (``dataset.as_of``). A period label means its
        last instant; default: the end of the last complete period of ``freq`` in the data.
        A cutoff inside a period makes that last period partial.
    n_cohorts : int, optional
        Keep only the most recent ``n_cohorts`` cohorts.

    Returns
    -------
    CohortRetention
        ``customers`` (share active), ``revenue`` (revenue retention), ``sizes``, plus the
        counts behind them. Cohorts without any acquired customer are left out.

    Examples
    --------
    >>> tri = cohort_retention(ds, freq="M", as_of="2025-06")
    >>> tri.sizes.tail(3)
    cohort
    2025-04    57
    2025-05    79
    2025-06    77
    Name: customers, dtype: int64
    """
    freq_code = normalize_freq(freq)
    if n_cohorts is not None and (not isinstance(n_cohorts, int) or n_cohorts < 1):
        raise ValueError(f"n_cohorts: expected a positive integer, got {n_cohorts!r}")
    cutoff = latest_period(dataset, freq_code).end if as_of is None else to_cutoff(as_of)
    if dataset.cutoff is not None:
        cutoff = min(cutoff, dataset.cutoff)
    data = customer_data(dataset)
    # each customer's cohort comes from their own orders, so every bucket of customers counts
    # its cells of the triangle and the counts add up
    (cells,) = data.gather(
        data.map_customers(_cells_step, tables=("orders",), cutoff=cutoff, freq_code=freq_code)
    )
    last = int(_ordinal(np.array([cutoff.value]), freq_code)[0])
    cohort = cells["cohort"].to_numpy(dtype=np.int64)
    age = cells["age"].to_numpy(dtype=np.int64)
    if len(cells):
        lo = int(cohort.min())
        width = last - lo + 1
    else:
        lo, width = last, 1
    cell = (cohort - lo) * width + age
    revenue = np.bincount(
        cell, weights=cells["revenue"].to_numpy(dtype=float), minlength=width * width
    ).reshape(width, width)
    active = np.bincount(
        cell, weights=cells["active"].to_numpy(dtype=float), minlength=width * width
    ).reshape(width, width)
    active = active.astype(np.int64)

    rows = np.arange(width)
    future = (rows[:, None] + rows[None, :]) > (last - lo)
    sizes = active[:, 0]
    keep = sizes > 0
    if n_cohorts is not None:
        keep &= np.cumsum(keep[::-1])[::-1] <= n_cohorts
    labels = pd.Index([_label(lo + r, freq_code) for r in rows[keep]], name="cohort")
    columns = pd.RangeIndex(width, name="periods_since")
    active_f = pd.DataFrame(np.where(future, np.nan, active)[keep], index=labels, columns=columns)
    revenue_f = pd.DataFrame(np.where(future, np.nan, revenue)[keep], index=labels, columns=columns)
    span = int((~future[keep]).sum(axis=1).max()) if keep.any() else 0
    active_f, revenue_f = active_f.iloc[:, :span], revenue_f.iloc[:, :span]
    size = pd.Series(sizes[keep].astype(np.int64), index=labels, name="customers")
    base = revenue_f.iloc[:, 0] if span else pd.Series(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        revenue_share = revenue_f.div(base.where(base != 0), axis=0)
    return CohortRetention(
        customers=active_f.div(size, axis=0),
        revenue=revenue_share,
        sizes=size,
        active=active_f,
        revenue_amount=revenue_f,
        freq=freq_code,
        cutoff=cutoff,
    )
