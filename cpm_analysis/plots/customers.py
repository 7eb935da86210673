"""Charts of one customer's page; every function takes an optional ``ax`` and returns it.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from types import SimpleNamespace
>>> import pandas as pd
>>> from cpm_analysis.periods import parse_period
>>> cv = SimpleNamespace(orders=pd.DataFrame(columns=["order_date", "amount"]),
...                      period=parse_period("2025-06"))
>>> "No orders" in plot_orders(cv).texts[0].get_text()
True
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from cpm_analysis.plots.language import _


# cv: a report.customer360.CustomerView, which the plots layer may not import (it is above).
def plot_orders(cv: Any, *, ax: Axes | None = None) -> Axes:
    """Return the customer's orders over time: amounts as stems, cumulative revenue as a line.

    ``cv`` is a :class:`~cpm_analysis.report.customer360.CustomerView` (its ``orders`` and
    ``period``). Refunds (negative amounts) are drawn in red. The period's end is marked.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> o = pd.DataFrame({"order_date": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...                   "amount": [10.0, -2.0]})
    >>> from types import SimpleNamespace
    >>> from cpm_analysis.periods import parse_period
    >>> cv = SimpleNamespace(orders=o, period=parse_period("2025-06"))
    >>> plot_orders(cv).get_ylabel()
    'Order amount'
    """
    if ax is None:
        _figure, ax = plt.subplots(figsize=(9, 3.5))
    orders = cv.orders
    if orders.empty:
        ax.text(
            0.5,
            0.5,
            _("No orders up to the end of the period"),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    else:
        dates = orders["order_date"].to_numpy()
        amounts = orders["amount"].to_numpy(dtype=float)
        colors = np.where(amounts < 0, "#C44E52", "#4C72B0")
        ax.vlines(dates, 0, amounts, colors=colors.tolist(), linewidth=1.5)
        ax.scatter(dates, amounts, c=colors, s=18, zorder=3)
        twin = ax.twinx()
        twin.plot(dates, np.cumsum(amounts), color="#55A868", linewidth=1.5)
        twin.set_ylabel(_("Cumulative revenue"), color="#55A868")
        twin.grid(False)
    ax.axvline(cv.period.end, color="#888888", linestyle="--", linewidth=1)
    ax.axhline(0, color="#888888", linewidth=0.8)
    ax.set_ylabel(_("Order amount"))
    ax.set_title(_("Orders up to the end of %(period)s") % {"period": cv.period.label})
    return ax
