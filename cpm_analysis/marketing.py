"""Marketing: campaign response from the activities that carry a ``campaign``, and its scoring.

A **campaign contact** is an activity whose ``campaign`` is set, dated in the 12 months that
end at the period's cutoff (:data:`LOOKBACK_MONTHS`; campaigns run a few times a year, so a
month alone seldom holds one; a yearly period is exactly those months). It is a
**response** when its customer has a paid order (the one paid-order rule,
:func:`cpm_analysis.data.orders.paid_mask`) after the contact and within ``window_days``
(the configuration's ``windows.campaign_response_days``, default 30) of it, by the cutoff. A
contact whose window is still open at the cutoff and whose customer has not ordered yet is
*pending*: left out of the response rate, as the KPIs leave out an open window.

- :func:`campaign_contacts`: one row per contact with ``responded`` (1.0, 0.0, NaN pending);
- :func:`campaign_response`: by campaign: ``contacts``, ``customers``, ``responses``,
  ``pending``, ``response_rate`` (responses / decided contacts) and ``revenue`` (of the first
  paid order after each responding contact);
- :func:`marketer_scores`: the same by staff member for the marketing role
  (``staff.role == "marketing"``), each scored 0-100 by their response rate's percentile rank
  within the role (the team scorecards' rule without targets); without a staff table or a
  marketing role, per campaign;
- :func:`marketing_tables`: both, or the sentence saying what the data lacks.

Examples
--------
>>> acts = pd.DataFrame({"customer_id": ["a", "b"], "staff_id": "m", "campaign": "spring",
...                      "at": pd.to_datetime(["2024-06-01", "2024-06-02"])})
>>> orders = pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2024-06-10"]),
...                        "amount": [50.0], "status": ["paid"]})
>>> campaign_contacts(acts, orders, "2024", window_days=30)["responded"].tolist()
[1.0, 0.0]
>>> campaign_contacts(acts, orders, "2024-06", window_days=30)["responded"].tolist()  # b: pending
[1.0, nan]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis.availability import Check
from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.orders import paid_mask
from cpm_analysis.i18n import M_
from cpm_analysis.periods import Instant, Period, parse_period

if TYPE_CHECKING:
    pass

RESPONSE_DAYS = DEFAULT_CONFIG.windows.campaign_response_days
"""The default response window (``windows.campaign_response_days``)."""

LOOKBACK_MONTHS = DEFAULT_CONFIG.windows.campaign_lookback_months
"""Months up to the cutoff whose campaign contacts a period's page shows."""

MARKETING_ROLE = "marketing"
"""The ``staff.role`` whose members are scored on campaign response."""


def campaign_contacts(
    activities: pd.DataFrame,
    orders: pd.DataFrame,
    period: str | Period,
    *,
    cutoff: Instant | None = None,
    window_days: int = RESPONSE_DAYS,
    months: int = LOOKBACK_MONTHS,
) -> pd.DataFrame:
    """Return the campaign contacts of the ``months`` to ``period``'s end and their response.

    Parameters
    ----------
    activities, orders : DataFrame
        The activities (``customer_id``, ``staff_id``, ``at``, ``campaign``) and the orders.
    period : str or Period
        The reporting period: contacts dated from ``months`` months before its end to its end.
    cutoff : timestamp, optional
        What is known (default the period's end); an order after it does not count.
    window_days : int
        Days after a contact within which a paid order is its response.
    months : int
        Months of contacts up to the period's end.

    Returns
    -------
    DataFrame
        ``campaign``, ``staff_id``, ``customer_id``, ``at``, ``responded`` (1.0 / 0.0 / NaN
        pending) and ``revenue`` (the responding order's amount, 0 otherwise).

    Raises
    ------
    ValueError
        Without a ``campaign`` column, or for a ``window_days`` below 1.

    Examples
    --------
    >>> acts = pd.DataFrame({"customer_id": ["a"], "staff_id": "m", "campaign": "x",
    ...                      "at": pd.to_datetime(["2024-06-25"])})
    >>> orders = pd.DataFrame({"customer_id": ["b"], "order_date": pd.to_datetime(["2024-06-01"]),
    ...                        "amount": [1.0]})
    >>> campaign_contacts(acts, orders, "2024-06")["responded"].tolist()  # window still open
    [nan]
    """
    if "campaign" not in activities.columns:
        raise ValueError("activities: no campaign column, so there are no campaign contacts")
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ValueError(f"window_days: expected an integer >= 1, got {window_days!r}")
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ValueError(f"months: expected an integer >= 1, got {months!r}")
    period = parse_period(period)
    known = period.end if cutoff is None else min(pd.Timestamp(cutoff), period.end)
    start = period.end.normalize() + pd.Timedelta(days=1) - pd.DateOffset(months=months)
    at = activities["at"]
    inside = np.array((at >= start) & (at <= known), dtype=bool)
    inside &= activities["campaign"].notna().to_numpy()
    acts = activities.loc[inside]
    left = pd.DataFrame(
        {
            "campaign": acts["campaign"].astype("str").to_numpy(),
            "staff_id": acts["staff_id"].astype("str").to_numpy(),
            "customer_id": acts["customer_id"].astype("str").to_numpy(),
            "at": acts["at"].to_numpy(dtype="datetime64[ns]"),
            "_row": np.arange(len(acts)),
        }
    ).sort_values("at", kind="stable")
    paid = orders.loc[paid_mask(orders)]
    paid = paid.loc[(paid["order_date"] <= known).to_numpy(dtype=bool)]
    right = pd.DataFrame(
        {
            "customer_id": paid["customer_id"].astype("str").to_numpy(),
            "order_date": paid["order_date"].to_numpy(dtype="datetime64[ns]"),
            "amount": paid["amount"].to_numpy(dtype=float),
        }
    ).sort_values("order_date", kind="stable")
    for side in (left, right):  # the same key dtype on both sides, whatever pandas infers
        side["customer_id"] = side["customer_id"].astype(object)
    joined = pd.merge_asof(
        left,
        right,
        left_on="at",
        right_on="order_date",
        by="customer_id",
        direction="forward",
        allow_exact_matches=False,
    ).sort_values("_row")
    window = joined["at"] + pd.Timedelta(days=window_days)
    hit = (joined["order_date"].notna() & (joined["order_date"] <= window)).to_numpy()
    closed = (window <= known).to_numpy()
    responded = np.where(hit, 1.0, np.where(closed, 0.0, np.nan))
    return pd.DataFrame(
        {
            "campaign": joined["campaign"].to_numpy(),
            "staff_id": joined["staff_id"].to_numpy(),
            "customer_id": joined["customer_id"].to_numpy(),
            "at": joined["at"].to_numpy(),
            "responded": responded,
            "revenue": np.where(hit, joined["amount"].to_numpy(dtype=float), 0.0),
        }
    )


def _response_by(contacts: pd.DataFrame, by: str) -> pd.DataFrame:
    grouped = contacts.assign(
        pending=contacts["responded"].isna().astype(np.int64),
        responses=(contacts["responded"] == 1.0).astype(np.int64),
    ).groupby(by, sort=True)
    table = pd.DataFrame(
        {
            "contacts": grouped.size(),
            "customers": grouped["customer_id"].nunique(),
            "responses": grouped["responses"].sum(),
            "pending": grouped["pending"].sum(),
            "response_rate": grouped["responded"].mean(),  # pending (NaN) left out
            "revenue": grouped["revenue"].sum(),
        }
    )
    return table


def campaign_response(contacts: pd.DataFrame) -> pd.DataFrame:
    """Campaign response by campaign (see the module docstring), most contacts first.

    Examples
    --------
    >>> contacts = pd.DataFrame({"campaign": ["x", "x", "y"], "customer_id": ["a", "b", "a"],
    ...                          "responded": [1.0, 0.0, np.nan], "revenue": [5.0, 0, 0]})
    >>> campaign_response(contacts)[["contacts", "responses", "response_rate"]].values.tolist()
    [[2.0, 1.0, 0.5], [1.0, 0.0, nan]]
    """
    table = _response_by(contacts, "campaign")
    return table.sort_values("contacts", ascending=False, kind="stable")


def marketer_scores(contacts: pd.DataFrame, staff: pd.DataFrame | None) -> pd.DataFrame:
    """Campaign response by marketing staff member, scored 0-100 within the role.

    Without a staff table with ``role`` or without anyone in :data:`MARKETING_ROLE`, the rows
    are the campaigns instead (``attrs["by"]`` says which).

    Returns
    -------
    DataFrame
        Indexed by ``staff_id`` (or ``campaign``): the columns of :func:`campaign_response`,
        ``score`` (percentile rank of the response rate, best = 100) and ``rank`` (1 = best),
        best first.

    Examples
    --------
    >>> contacts = pd.DataFrame({"campaign": "x", "staff_id": ["m1", "m1", "m2"],
    ...                          "customer_id": ["a", "b", "c"], "responded": [1.0, 1.0, 0.0],
    ...                          "revenue": 0.0})
    >>> staff = pd.DataFrame({"staff_id": ["m1", "m2"], "role": "marketing"})
    >>> marketer_scores(contacts, staff)["score"].tolist()
    [100.0, 50.0]
    """
    from cpm_analysis.teams import _percentile_score  # the scorecards' rule without targets

    marketers: list[str] = []
    if staff is not None and "role" in staff.columns:
        role = staff["role"].astype("str").str.lower()
        marketers = (
            staff.loc[(role == MARKETING_ROLE).to_numpy(), "staff_id"].astype("str").tolist()
        )
    if marketers:
        by = "staff_id"
        table = _response_by(contacts.loc[contacts["staff_id"].isin(marketers)], by)
        table = table.reindex(marketers)
        table[["contacts", "customers", "responses", "pending"]] = (
            table[["contacts", "customers", "responses", "pending"]].fillna(0).astype(np.int64)
        )
        table["revenue"] = table["revenue"].fillna(0.0)
        table.index.name = by
    else:
        by = "campaign"
        table = _response_by(contacts, by)
    table["score"] = _percentile_score(table["response_rate"], higher=True)
    table["rank"] = table["score"].rank(ascending=False, method="min")
    table = table.sort_values("score", ascending=False, kind="stable", na_position="last")
    table.attrs["by"] = by
    return table


def marketing_tables(
    view: Dataset,
    period: str | Period,
    *,
    window_days: int = RESPONSE_DAYS,
    months: int = LOOKBACK_MONTHS,
) -> dict[str, Any]:
    """Return the marketing tables: ``"campaigns"`` and ``"marketers"`` (or the sentence).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> view = generate(300, seed=1).to_dataset().as_of("2025-06")
    >>> sorted(marketing_tables(view, "2025-06"))
    ['campaigns', 'marketers']
    """
    period = parse_period(period)
    what, needs = M_("Campaign response"), "activities.campaign"
    acts = getattr(view, "activities", None)
    check = None
    if acts is None:
        check = Check(what, False, needs, M_("the data has no activities table"))
    elif "campaign" not in acts.columns or not acts["campaign"].notna().any():
        check = Check(what, False, needs, M_("no activity carries a campaign"))
    if check is not None:
        return {"campaigns": check.missing(), "marketers": check.missing()}
    assert acts is not None
    cutoff = getattr(view, "cutoff", None)
    contacts = campaign_contacts(
        acts, view.orders, period, cutoff=cutoff, window_days=window_days, months=months
    )
    if not len(contacts):
        empty = Check(
            what,
            False,
            needs,
            M_(
                "no campaign contact in the %(months)s months to %(period)s",
                months=months,
                period=period.label,
            ),
        )
        return {"campaigns": empty.missing(), "marketers": empty.missing()}
    return {
        "campaigns": campaign_response(contacts),
        "marketers": marketer_scores(contacts, view.staff),
    }
