"""The paid-order rule: the one place that decides which orders count as purchases.

An order counts as a purchase when its ``status`` is ``paid`` or missing, or when the orders
have no ``status`` column at all (a source without statuses is a list of purchases). Refunded
and cancelled orders never count; KPIs that need refunds read them from the full orders table.

The status must already be a validated value: :func:`cpm_analysis.data.load` strips blanks,
lower-cases it and quarantines anything outside ``paid / refunded / cancelled`` (with a reason
in ``Dataset.rejected``). The rule itself coerces nothing: a status such as ``" Paid "`` reaching
it (a frame built by hand, not loaded) raises a ``ValueError`` naming the column and the values,
so two callers can never disagree on such a row.

Every analysis (CLV summary, RFM scores, churn features and labels, KPIs, cohorts, the Dask
engine, the report) calls :func:`paid_mask` or :func:`paid_orders`; no other module compares a
status to ``"paid"`` (``tests/test_data_orders.py`` scans the source).

Examples
--------
>>> import pandas as pd
>>> orders = pd.DataFrame({"amount": [10.0, -4.0, 7.0, 3.0],
...                        "status": ["paid", "refunded", "cancelled", None]})
>>> paid_mask(orders).tolist()
[True, False, False, True]
>>> paid_orders(orders)["amount"].tolist()
[10.0, 3.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpm_analysis.data.schema import ORDER_STATUSES

PAID = "paid"
REFUNDED = "refunded"
CANCELLED = "cancelled"
STATUS_COLUMN = "status"


def paid_mask(orders: pd.DataFrame | pd.Series, *, table: str = "orders") -> np.ndarray:
    """Boolean mask of the orders that count as purchases.

    Parameters
    ----------
    orders : DataFrame or Series
        An orders frame (its ``status`` column is read; without one every order counts) or a
        status Series itself. A pandas partition of a Dask orders frame works the same way.
    table : str
        The table named in the error message.

    Returns
    -------
    numpy.ndarray
        ``bool``, one entry per row: ``True`` for status ``paid`` or a missing status.

    Raises
    ------
    ValueError
        A status outside ``paid / refunded / cancelled`` (for instance ``" Paid "``): the rule
        does not guess; load the data with :func:`cpm_analysis.data.load`, which normalises
        case and blanks and quarantines unknown statuses.

    Examples
    --------
    >>> paid_mask(pd.Series(["paid", None, "refunded"])).tolist()
    [True, True, False]
    >>> paid_mask(pd.DataFrame({"amount": [1.0, 2.0]})).tolist()
    [True, True]
    >>> paid_mask(pd.Series([" Paid "]))
    Traceback (most recent call last):
    ...
    ValueError: orders.status: 1 order(s) have a status that is not a validated value (' Paid '); expected paid, refunded, cancelled or blank (cpm_analysis.data.load normalises case and blanks and quarantines other values)
    """
    if isinstance(orders, pd.DataFrame):
        if STATUS_COLUMN not in orders.columns:
            return np.ones(len(orders), dtype=bool)
        status = orders[STATUS_COLUMN]
    elif isinstance(orders, pd.Series):
        status = orders
    else:
        raise TypeError(
            f"{table}: expected an orders DataFrame or a status Series, got {type(orders).__name__}"
        )
    missing = status.isna().to_numpy(dtype=bool)
    paid = (status == PAID).to_numpy(dtype=bool, na_value=False)
    counted = paid | missing
    if not counted.all():
        others = status[~counted]
        unknown = others[~others.isin(ORDER_STATUSES).to_numpy(dtype=bool)]
        if len(unknown):
            examples = ", ".join(repr(v) for v in pd.unique(unknown.astype(object))[:3])
            raise ValueError(
                f"{table}.{STATUS_COLUMN}: {len(unknown)} order(s) have a status that is not a "
                f"validated value ({examples}); expected {', '.join(ORDER_STATUSES)} or blank "
                "(cpm_analysis.data.load normalises case and blanks and quarantines other values)"
            )
    return counted


def paid_orders(orders: pd.DataFrame, *, table: str = "orders") -> pd.DataFrame:
    """Return the orders that count as purchases (see :func:`paid_mask`), as a frame.

    The frame is returned as it is when it has no ``status`` column, else the selected rows.

    Examples
    --------
    >>> orders = pd.DataFrame({"amount": [10.0, -4.0, 7.0],
    ...                        "status": ["paid", "refunded", "cancelled"]})
    >>> paid_orders(orders)["amount"].tolist()
    [10.0]
    """
    if STATUS_COLUMN not in orders.columns:
        return orders
    return orders.loc[paid_mask(orders, table=table)]
