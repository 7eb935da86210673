"""Who counts as a customer at a cutoff, and who churned in the following horizon.

Two kinds of business are told apart by the customers table:

**Contractual** (the table has a ``churned_at`` column: subscriptions, contracts). A customer
is *alive* at the cutoff when they signed up at or before it and their ``churned_at`` is blank
or after it. They *churn* when ``churned_at`` falls in ``(cutoff, cutoff + horizon]``. The
contract says who is a customer, so no activity rule applies.

**Non-contractual** (no ``churned_at``: shops, marketplaces). Nobody announces leaving, so
the *active base* is defined explicitly: customers who signed up at or before the cutoff and
made at least one paid order in the ``active_window`` before it (``(cutoff - active_window,
cutoff]``, 365 days by default). Customers silent for longer than that are treated as already
lapsed, not as churning in the next period, and are left out of the base (they belong to a
win-back analysis). An active customer *churns* when they make no paid order in ``(cutoff,
cutoff + horizon]``.

Paid orders are those of :func:`cpm_analysis.data.paid_orders` (status ``paid``, or no status
column). Labels need the future: the data must reach ``cutoff + horizon``, otherwise
``ValueError`` is raised rather than labelling customers as churned because the data stops.

Examples
--------
>>> from cpm_analysis.churn import churn_labels
>>> y = churn_labels(ds, "2024-06", horizon="90D")
>>> round(y.mean(), 3)  # churn rate of the active base
np.float64(0.644)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from cpm_analysis.data.orders import paid_orders
from cpm_analysis.frames import isin
from cpm_analysis.periods import to_cutoff

if TYPE_CHECKING:
    from cpm_analysis.data import Dataset
    from cpm_analysis.data.protocol import CustomerData
    from cpm_analysis.periods import Cutoff

Horizon: TypeAlias = "str | pd.Timedelta | dt.timedelta | np.timedelta64 | int | float"
"""What a ``horizon`` (or ``active_window``) takes: ``"90D"``, ``"12W"``, a Timedelta (or a
``datetime.timedelta``) or a number of days; :func:`parse_horizon` reads it."""


def parse_horizon(value: Horizon, name: str = "horizon") -> pd.Timedelta:
    """Return a positive duration: ``"90D"``, ``"12W"``, a Timedelta, or a number of days.

    Examples
    --------
    >>> parse_horizon("90D")
    Timedelta('90 days 00:00:00')
    >>> parse_horizon(30)
    Timedelta('30 days 00:00:00')
    """
    if value is None:
        raise ValueError(f"{name}: a duration is required, e.g. '90D'")
    try:
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
            value, bool
        ):
            delta = pd.Timedelta(float(value), "D")
        else:
            delta = pd.Timedelta(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: cannot read {value!r} as a duration; use e.g. '90D', '12W' or 90 (days)"
        ) from None
    if pd.isna(delta) or delta <= pd.Timedelta(0):
        raise ValueError(f"{name}: expected a positive duration, got {value!r}")
    return delta


def is_contractual(dataset: CustomerData) -> bool:
    """Whether the customers table has a ``churned_at`` column (a contract business).

    Examples
    --------
    >>> is_contractual(ds)
    False
    """
    return "churned_at" in dataset.customers.columns


def _data_end(dataset: CustomerData) -> pd.Timestamp:
    """Return the last instant the data covers: the view's cutoff, or the end of the last event day."""
    if dataset.cutoff is not None:
        return dataset.cutoff
    last = dataset.last_date()
    if "churned_at" in dataset.customers.columns:
        (ends,) = dataset.gather(dataset.map_customers(_last_contract_end, tables=()))
        ended = ends["churned_at"].max()
        if pd.notna(ended) and ended > last:
            last = ended
    return last.normalize() + pd.Timedelta(1, "D") - pd.Timedelta(1, "ns")


def _last_contract_end(bucket: Any) -> pd.DataFrame:
    return pd.DataFrame({"churned_at": [bucket.customers["churned_at"].max()]}).astype(
        {"churned_at": "datetime64[ns]"}
    )


def active_customers(
    dataset: Dataset,
    cutoff: Cutoff,
    *,
    active_window: Horizon | None = "365D",
    contractual: bool | None = None,
) -> pd.Index:
    """Return the customers who count as customers at ``cutoff`` (see the module docstring).

    Uses only data dated at or before the cutoff.

    Parameters
    ----------
    dataset : Dataset
        The data.
    cutoff : str, date or Timestamp
        A period label (its last instant), a date (the end of that day) or an instant.
    active_window : str, Timedelta, int or None
        Non-contractual businesses: a customer is active when they made a paid order in this
        window before the cutoff. ``None`` keeps every customer who signed up.
    contractual : bool, optional
        Force the contractual (``True``) or non-contractual rule; by default contractual when
        the customers table has ``churned_at``.

    Returns
    -------
    Index
        Customer ids, in customers-table order, named ``customer_id``.

    Examples
    --------
    >>> active_customers(ds, "2024-06")[:3]
    Index(['C000003', 'C000006', 'C000009'], dtype='str', name='customer_id')
    """
    ts = to_cutoff(cutoff)
    customers = dataset.customers
    signed = (customers["signup_date"] <= ts).to_numpy()
    contract = is_contractual(dataset) if contractual is None else bool(contractual)
    if contract:
        if "churned_at" not in customers.columns:
            raise ValueError("contractual: the customers table has no 'churned_at' column")
        ended = customers["churned_at"]
        keep = signed & (ended.isna() | (ended > ts)).to_numpy()
    elif active_window is None:
        keep = signed
    else:
        window = parse_horizon(active_window, "active_window")
        orders = paid_orders(dataset.orders)
        dates = orders["order_date"]
        recent = ((dates > ts - window) & (dates <= ts)).to_numpy()
        buyers = orders["customer_id"].loc[recent]
        keep = signed & isin(customers["customer_id"], buyers)
    ids = customers["customer_id"].loc[keep]
    return pd.Index(ids.to_numpy(), dtype=customers["customer_id"].dtype, name="customer_id")


def churn_labels(
    dataset: CustomerData,
    cutoff: Cutoff,
    horizon: Horizon = "90D",
    *,
    active_window: Horizon | None = "365D",
    contractual: bool | None = None,
) -> pd.Series:
    """Churn label for every customer alive at ``cutoff``: 1 if they churn within ``horizon``.

    Parameters
    ----------
    dataset : Dataset
        The full data (it must reach ``cutoff + horizon``); any dataset of the dataset
        protocol, a Dask one too (labelled bucket by bucket, the Series gathered).
    cutoff : str, date or Timestamp
        A period label (its last instant), a date (the end of that day) or an instant.
    horizon : str, Timedelta or int
        The churn window after the cutoff (``"90D"``; an int is days).
    active_window : str, Timedelta, int or None
        Non-contractual businesses only: the active base is customers with a paid order in
        ``(cutoff - active_window, cutoff]``. ``None`` keeps every customer who signed up.
    contractual : bool, optional
        Force the rule; by default contractual when the customers table has ``churned_at``.

    Returns
    -------
    Series
        ``int8`` 0/1 named ``churned``, indexed by ``customer_id`` (customers-table order).
        ``attrs`` records ``cutoff``, ``horizon`` and ``rule``.

    Raises
    ------
    ValueError
        The data does not reach ``cutoff + horizon``, or a malformed horizon or window.

    Examples
    --------
    >>> y = churn_labels(ds, "2024-06", horizon="90D")
    >>> y.attrs["rule"]
    'no paid order in (cutoff, cutoff + 90 days]; base: a paid order in the 365 days before'
    """
    ts = to_cutoff(cutoff)
    delta = parse_horizon(horizon)
    end = _data_end(dataset)
    if ts + delta > end:
        raise ValueError(
            f"horizon: the label window ({ts} + {delta.days} days = {ts + delta}) runs past the "
            f"end of the data ({end}); churn in it is not known yet. Use an earlier cutoff or a "
            "shorter horizon"
        )
    contract = is_contractual(dataset) if contractual is None else bool(contractual)
    # a customer's label depends on their own rows only: bucket by bucket (one for pandas)
    (frame,) = dataset.gather(
        dataset.map_customers(
            _labels_step,
            tables=("orders",),
            ts=ts,
            delta=delta,
            active_window=active_window,
            contract=contract,
        )
    )
    labels = frame["churned"]
    labels.attrs.update(
        {"cutoff": ts, "horizon": delta, "rule": _rule(delta, active_window, contract)}
    )
    return labels


def _rule(delta: pd.Timedelta, active_window: Any, contract: bool) -> str:
    if contract:
        return (
            f"churned_at in (cutoff, cutoff + {delta.days} days]; base: contract active at cutoff"
        )
    window = (
        "every customer signed up"
        if active_window is None
        else f"a paid order in the {parse_horizon(active_window, 'active_window').days} days before"
    )
    return f"no paid order in (cutoff, cutoff + {delta.days} days]; base: {window}"


def _labels_step(
    dataset: Any, ts: pd.Timestamp, delta: pd.Timedelta, active_window: Any, contract: bool
) -> pd.DataFrame:
    base = active_customers(dataset, ts, active_window=active_window, contractual=contract)
    customers = dataset.customers
    in_base = isin(customers["customer_id"], base)
    if contract:
        ended = customers["churned_at"].loc[in_base]
        churned = ((ended > ts) & (ended <= ts + delta)).to_numpy(dtype=bool)
    else:
        orders = paid_orders(dataset.orders)
        dates = orders["order_date"]
        future = ((dates > ts) & (dates <= ts + delta)).to_numpy()
        buyers = orders["customer_id"].loc[future]
        churned = ~isin(customers["customer_id"].loc[in_base], buyers)
    return pd.DataFrame({"churned": np.asarray(churned).astype(np.int8)}, index=base)
