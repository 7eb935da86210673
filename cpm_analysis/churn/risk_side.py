"""Which values of a behavioural churn feature signal risk, so that a reason reads as one.

A churn model's contribution says how much a feature moved a customer's score, not whether the
customer's behaviour is a warning sign: a model fitted on a noisy export can give "27 orders in
total" or "spend 341 in the last 30 days" a positive contribution, and a call list that gives
those as reasons to call contradicts itself. A behaviour is therefore a reason only when its
value is also on the risky side of the customers' own distribution (the training data's
quartiles, :attr:`~cpm_analysis.churn.ChurnModel.quartiles_`):

==========================================  ====================================================
feature                                     risky side
==========================================  ====================================================
orders, spend, lifetime orders and spend,   low: at or below the 25th percentile (and below the
average order, tenure, CSAT, NPS,           75th, so that a value most customers share is no
P(alive), expected purchases                warning: P(alive) of 100% for everyone is not one)
tickets, complaints, open tickets, refund   high: above zero and at or above the 75th
share, first response and resolution hours  percentile (and above the 25th)
spend and order trends                      a fall (below zero)
orders and spend in the window before       never on their own: the trend says whether the
the last                                    customer slowed down
days since the last order                   decided by the customer's own rhythm (overdue
                                            against their usual gap) in
                                            :func:`~cpm_analysis.churn.reasons.format_reasons`
==========================================  ====================================================

A missing value (no ticket, no answer) is never a risk sign. Columns that are not canonical
churn features (an analyst's own table) are not judged here.

Examples
--------
>>> risk_side("orders_90d", np.array([0.0, 3.0]), (0.0, 2.0)).tolist()
[True, False]
>>> risk_side("p_alive", np.array([1.0, 1.0]), (1.0, 1.0)).tolist()
[False, False]
>>> risk_side("p_alive", np.array([0.99998, 0.4]), (0.99999, 1.0)).tolist()
[False, True]
>>> risk_side("spend_trend_90d", np.array([-0.6, 0.2]), None).tolist()
[True, False]
>>> risk_side("Contract", np.array([1.0]), None).tolist()
[True]
"""

from __future__ import annotations

import re

import numpy as np

RISK_SIDES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^days_since_last_order$"), "any"),
    (re.compile(r"^(orders|spend)_prev_\d+d$"), "never"),
    (re.compile(r"^(orders|spend)_trend_\d+d$"), "fall"),
    (re.compile(r"^(orders|spend)_\d+d$"), "low"),
    (re.compile(r"^(orders_total|spend_total|avg_order_value)$"), "low"),
    (re.compile(r"^(days_since_first_order|tenure_days)$"), "low"),
    (re.compile(r"^(last_csat|last_nps|mean_csat_\d+d|mean_nps_\d+d)$"), "low"),
    (re.compile(r"^(p_alive|expected_purchases_\d+d)$"), "low"),
    (re.compile(r"^(tickets_\d+d|complaints_\d+d|open_tickets|refund_share_\d+d)$"), "high"),
    (re.compile(r"^(first_response_hours_\d+d|resolution_hours_\d+d)$"), "high"),
]
"""Each canonical churn feature's risky side (first matching pattern wins)."""


SHOWN_DECIMALS: dict[str, int] = {"p_alive": 2}
"""Features compared at the precision their reason shows (P(alive) as a whole percent), so that a
difference the reason cannot show (99.998% against a 75th percentile of 100%) is no warning."""


def side_of(name: str) -> str | None:
    """Return the risky side of a canonical feature, ``None`` for any other column.

    Examples
    --------
    >>> side_of("complaints_90d"), side_of("orders_prev_90d"), side_of("region")
    ('high', 'never', None)
    """
    for pattern, side in RISK_SIDES:
        if pattern.match(name):
            return side
    return None


def risk_side(name: str, values: np.ndarray, quartiles: tuple[float, float] | None) -> np.ndarray:
    """Return, per value, whether feature ``name`` is on its risky side (see the module).

    Parameters
    ----------
    name : str
        Feature name.
    values : ndarray of float
        The customers' values of the feature (NaN where missing).
    quartiles : tuple of float, optional
        The training data's 25th and 75th percentiles; without them a low value qualifies and a
        high one needs to be above zero.

    Returns
    -------
    ndarray of bool
    """
    x = np.asarray(values, dtype=np.float64)
    side = side_of(name)
    if side is None or side == "any":
        return np.ones(len(x), dtype=bool)
    present = np.isfinite(x)
    if side == "never":
        return np.zeros(len(x), dtype=bool)
    if side == "fall":
        return present & (x < 0)
    if quartiles is None:
        return present & (x > 0) if side == "high" else present
    q25, q75 = quartiles
    if name in SHOWN_DECIMALS:  # compared as shown: 99.999% and 100% are the same P(alive)
        digits = SHOWN_DECIMALS[name]
        x, q25, q75 = np.round(x, digits), round(q25, digits), round(q75, digits)
    with np.errstate(invalid="ignore"):
        if side == "low":
            return present & (x <= q25) & (x < q75)
        return present & (x > 0) & (x >= q75) & (x > q25)
