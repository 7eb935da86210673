"""The supplementary tables: account owners by a customer attribute, and returned orders.

``owners`` (the Superstore ``People`` sheet: the regional manager of each region) has
``owner_id`` and one customer column, e.g. ``region``. Every customer without an ``owner_id``
gets the owner of its value of that column; when the source has no ``staff`` table, one is made
from the owners (``staff_id`` the owner id, ``role`` sales). A value given two owners keeps the
first; the other rows are rejected (table ``owners``).

``returns`` (the Superstore ``Returns`` sheet) lists returned order ids, once or once per
returned line. Each returned order keeps its amount and date and becomes ``refunded``: it no
longer counts as a purchase and counts in the refund KPIs. An id that is not an order of the
source is rejected (table ``returns``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpm_analysis.data import reasons
from cpm_analysis.data.ids import normalise_ids
from cpm_analysis.data.validate import check_columns, convert_table
from cpm_analysis.exceptions import DataValidationError
from cpm_analysis.frames import isin


def apply_owners(
    raw: pd.DataFrame, customers: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """Return the customers with owners assigned by attribute, the staff rows made, the rejected rows.

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": ["1", "2"], "region": ["West", "East"]})
    >>> owners = pd.DataFrame({"owner_id": ["ann", "bob"], "region": ["West", "East"]})
    >>> out, staff, rejected = apply_owners(owners, customers)
    >>> out["owner_id"].tolist(), staff["role"].tolist(), len(rejected)
    (['ann', 'bob'], ['sales', 'sales'], 0)
    """
    check_columns("owners", raw)
    by = [c for c in raw.columns if c != "owner_id"]
    if len(by) != 1:
        raise DataValidationError(
            "owners: expected owner_id and one customer column to assign owners by (such as "
            f"region), found {', '.join(map(str, raw.columns))}. Map the others away or drop them.",
            table="owners",
        )
    column = by[0]
    if column not in customers.columns:
        raise DataValidationError(
            f"owners: customers have no column '{column}' to assign owners by "
            f"(customer columns: {', '.join(map(str, customers.columns))})",
            table="owners",
            column=column,
        )
    typed, q = convert_table("owners", raw)
    value = typed[column].astype("str").str.strip()
    q.add(value.isna().to_numpy(), column, reasons.missing(column))
    dup = value.where(~pd.Series(q.bad, index=value.index)).duplicated() & value.notna()
    q.add(dup.to_numpy(), column, reasons.SECOND_OWNER % {"column": column})
    good = ~q.bad
    owner_of = pd.Series(typed["owner_id"].to_numpy()[good], index=value.to_numpy()[good])
    customers = customers.copy()
    assigned = customers[column].astype("str").str.strip().map(owner_of).astype("str")
    if "owner_id" in customers:
        assigned = customers["owner_id"].where(customers["owner_id"].notna(), assigned)
    customers["owner_id"] = assigned.astype("str")
    ids = pd.unique(owner_of.to_numpy())
    staff = pd.DataFrame({"staff_id": pd.Series(ids, dtype="str"), "role": "sales"})
    return customers, (staff if len(staff) else None), q.frame()


def apply_returns(raw: pd.DataFrame, order_ids: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Which orders were returned (a mask over ``order_ids``) and the rejected return rows.

    Examples
    --------
    >>> mask, rejected = apply_returns(pd.DataFrame({"order_id": ["A", "A", "Z"]}),
    ...                                pd.Series(["A", "B"]))
    >>> mask.tolist(), rejected["reason"].tolist()
    ([True, False], ['order_id not found in orders'])
    """
    check_columns("returns", raw)
    typed, q = convert_table("returns", raw)
    ids = normalise_ids(order_ids)
    known = isin(typed["order_id"], ids)
    q.add(~known & typed["order_id"].notna().to_numpy(), "order_id", reasons.UNKNOWN_ORDER)
    returned = typed["order_id"][~q.bad]
    return isin(ids, returned), q.frame()
