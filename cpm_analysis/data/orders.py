"""Order filters shared by every analysis."""

from __future__ import annotations

import pandas as pd

PAID = "paid"


def paid_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """The orders that count as purchases: status ``paid``, or every order without a status.

    Refunded and cancelled orders never count as purchases; KPIs that need refunds read them
    from the full orders table.

    Examples
    --------
    >>> orders = pd.DataFrame({"amount": [10.0, -4.0, 7.0],
    ...                        "status": ["paid", "refunded", "cancelled"]})
    >>> paid_orders(orders)["amount"].tolist()
    [10.0]
    """
    if "status" not in orders.columns:
        return orders
    status = orders["status"]
    return orders.loc[(status == PAID).to_numpy(dtype=bool) | status.isna().to_numpy()]
