"""What each churn feature measures, in words a manager reads (the churn drivers table).

The churn features (:func:`~cpm_analysis.churn.churn_features`) are named for code:
``orders_trend_90d``, ``expected_purchases_90d``. A page that ranks them as churn drivers shows
what they measure instead ("order trend: last 90 days vs the 90 before"), in the report's
language. A column that is not a canonical churn feature (an analyst's own table, a customer
attribute) keeps its name, with underscores shown as spaces.

Examples
--------
>>> feature_label("orders_trend_90d")
'order trend: last 90 days vs the 90 before'
>>> feature_label("company_size")
'company size'
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from cpm_analysis.availability import Unavailable
from cpm_analysis.i18n import M_, Message

_WINDOWED: list[tuple[re.Pattern[str], Callable[[str], Message]]] = [
    (re.compile(r"^orders_(\d+)d$"), lambda d: M_("orders in the last %(days)s days", days=d)),
    (re.compile(r"^spend_(\d+)d$"), lambda d: M_("spend in the last %(days)s days", days=d)),
    (
        re.compile(r"^orders_prev_(\d+)d$"),
        lambda d: M_("orders in the %(days)s days before the last %(days)s", days=d),
    ),
    (
        re.compile(r"^spend_prev_(\d+)d$"),
        lambda d: M_("spend in the %(days)s days before the last %(days)s", days=d),
    ),
    (
        re.compile(r"^orders_trend_(\d+)d$"),
        lambda d: M_("order trend: last %(days)s days vs the %(days)s before", days=d),
    ),
    (
        re.compile(r"^spend_trend_(\d+)d$"),
        lambda d: M_("spend trend: last %(days)s days vs the %(days)s before", days=d),
    ),
    (
        re.compile(r"^refund_share_(\d+)d$"),
        lambda d: M_("refunded share of spend in the last %(days)s days", days=d),
    ),
    (
        re.compile(r"^tickets_(\d+)d$"),
        lambda d: M_("service tickets in the last %(days)s days", days=d),
    ),
    (
        re.compile(r"^complaints_(\d+)d$"),
        lambda d: M_("complaints in the last %(days)s days", days=d),
    ),
    (
        re.compile(r"^first_response_hours_(\d+)d$"),
        lambda d: M_("mean first response time in the last %(days)s days", days=d),
    ),
    (
        re.compile(r"^resolution_hours_(\d+)d$"),
        lambda d: M_("mean resolution time in the last %(days)s days", days=d),
    ),
    (
        re.compile(r"^mean_csat_(\d+)d$"),
        lambda d: M_("mean CSAT in the last %(days)s days", days=d),
    ),
    (
        re.compile(r"^mean_nps_(\d+)d$"),
        lambda d: M_("mean NPS answer in the last %(days)s days", days=d),
    ),
    (
        re.compile(r"^expected_purchases_(\d+)d$"),
        lambda d: M_("expected purchases, next %(days)s days (CLV model)", days=d),
    ),
]

_FIXED: dict[str, Callable[[], Message]] = {
    "tenure_days": lambda: M_("days as a customer"),
    "days_since_first_order": lambda: M_("days since the first order"),
    "days_since_last_order": lambda: M_("days since the last order"),
    "orders_total": lambda: M_("orders in total"),
    "spend_total": lambda: M_("spend in total"),
    "avg_order_value": lambda: M_("average order value"),
    "open_tickets": lambda: M_("open service tickets"),
    "last_csat": lambda: M_("last CSAT answer"),
    "last_nps": lambda: M_("last NPS answer"),
    "p_alive": lambda: M_("chance of still being an active buyer (CLV model)"),
}


def feature_label(name: str) -> str:
    """Return what the churn feature ``name`` measures, as a translatable sentence.

    Parameters
    ----------
    name : str
        A column of :func:`~cpm_analysis.churn.churn_features`, or any other column.

    Returns
    -------
    str
        A :class:`~cpm_analysis.i18n.Message` for a canonical feature; else ``name`` with its
        underscores shown as spaces.

    Examples
    --------
    >>> feature_label("expected_purchases_90d")
    'expected purchases, next 90 days (CLV model)'
    >>> from cpm_analysis.i18n import translator
    >>> translator("zh").gettext(feature_label("orders_90d"))
    '最近 90 天的订单数'
    """
    text = str(name)
    if text in _FIXED:
        return _FIXED[text]()
    for pattern, label in _WINDOWED:
        match = pattern.match(text)
        if match:
            return label(match.group(1))
    return text.replace("_", " ")


def labelled_drivers(drivers: pd.DataFrame | Unavailable) -> pd.DataFrame | Unavailable:
    """Return the churn drivers table with each feature shown as what it measures.

    Parameters
    ----------
    drivers : DataFrame
        Indexed by feature name, as :meth:`~cpm_analysis.churn.evaluation.BacktestResult.drivers`
        returns it.

    Examples
    --------
    >>> d = pd.DataFrame({"importance_mean": [0.09]},
    ...                  index=pd.Index(["days_since_last_order"], name="feature"))
    >>> labelled_drivers(d).index.tolist()
    ['days since the last order']

    A section that is not available comes back as it is:

    >>> gone = Unavailable("The churn backtest is not available: no repeat buyers.")
    >>> labelled_drivers(gone.drivers().head(12)) is gone
    True
    """
    if isinstance(drivers, Unavailable):
        return drivers
    labels = pd.Index([feature_label(n) for n in drivers.index], dtype=object, name="feature")
    return drivers.set_axis(labels)
