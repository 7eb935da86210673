"""The service drill-down: complaints by category and by product, who to follow up, teams.

For a period, from its point-in-time view (``dataset.as_of(period.end)``: a response or
resolution after the cutoff reads as not yet happened):

- :func:`complaints_by`: the complaint tickets (``is_complaint`` true) opened in the period,
  by ticket ``category`` or by ``product``: ``complaints``, their ``share`` of all complaints,
  ``complaint_rate`` (complaints / all tickets of the group opened in the period),
  ``resolved`` by the cutoff, the median ``resolution_hours`` of those (the KPI
  ``complaint_resolution_hours``) and ``open`` (not resolved at the cutoff);
- a complaint's **product** is the product of its customer's last paid order at or before the
  ticket's opening (:func:`ticket_products`; the first of ``product_name``, ``product_id``,
  ``category`` that the orders have), ``(no earlier order)`` without one;
- :func:`follow_up_list`: the customers to follow up: each ticket opened in the period that
  breached the first-response SLA (the rule of the KPI ``sla_compliance``,
  :func:`~cpm_analysis.kpis.definitions.sla_outcome`) and each survey answer of the period
  from a detractor (score 0-6, :data:`~cpm_analysis.kpis.definitions.DETRACTOR_MAX`). It
  holds the real ``customer_id``: the page shows it through the report's masking
  (pseudonyms), as every customer list;
- :func:`team_service`: tickets, first-response SLA compliance, CSAT, first response and
  complaint resolution by team (``staff.team`` of the ticket's agent; by agent when the staff
  table has no ``team``): the registered KPIs computed on the tickets of each team;
- :func:`service_tables`: all of them, each a table or the sentence saying what is missing.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> view = generate(300, seed=1).to_dataset().as_of("2025-06")
>>> table = complaints_by(view, "2025-06", "category")
>>> int(table["complaints"].sum()) == int(table["open"].sum() + table["resolved"].sum())
True
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from cpm_analysis.availability import Check
from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.orders import paid_mask
from cpm_analysis.i18n import M_, N_
from cpm_analysis.kpis.compute import compute_kpis
from cpm_analysis.kpis.context import SLA_HOURS
from cpm_analysis.kpis.definitions import DETRACTOR_MAX, sla_outcome
from cpm_analysis.periods import Period, parse_period

NO_ORDER = "(no earlier order)"
"""The product of a complaint whose customer had no paid order before it."""

PRODUCT_COLUMNS = ("product_name", "product_id", "category")
"""The orders' columns that name a product, in order of preference."""

TEAM_KPIS = (
    "tickets",
    "sla_compliance",
    "csat",
    "first_response_hours",
    "complaint_resolution_hours",
)
"""The KPIs of :func:`team_service`."""

REASONS = {"sla": N_("First-response SLA breached"), "detractor": N_("Detractor (NPS 0-6)")}
"""Why a customer is on the follow-up list."""

GROUP_WORDS = (N_("(no earlier order)"), N_("(none)"), N_("(missing)"), N_("(team)"))
"""Group labels the tables show, marked for the catalogue."""


def _opened_in(view: Dataset, period: Period) -> pd.DataFrame:
    tickets = view.tickets
    assert tickets is not None
    return tickets.loc[np.asarray(period.contains(tickets["opened_at"]), dtype=bool)]


def ticket_products(tickets: pd.DataFrame, orders: pd.DataFrame) -> pd.Series:
    """Return each ticket's product: that of its customer's last paid order at or before it.

    Parameters
    ----------
    tickets : DataFrame
        ``customer_id`` and ``opened_at``.
    orders : DataFrame
        ``customer_id``, ``order_date`` and one of :data:`PRODUCT_COLUMNS`.

    Returns
    -------
    Series
        Aligned with ``tickets``: the product, :data:`NO_ORDER` without an earlier paid order.

    Raises
    ------
    ValueError
        When the orders have none of :data:`PRODUCT_COLUMNS`.

    Examples
    --------
    >>> tickets = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                         "opened_at": pd.to_datetime(["2024-01-05", "2024-03-01",
    ...                                                      "2024-01-01"])})
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"], "category": ["books", "games", "x"],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01",
    ...                                                      "2024-02-01"])})
    >>> ticket_products(tickets, orders).tolist()
    ['books', 'games', '(no earlier order)']
    """
    column = next((c for c in PRODUCT_COLUMNS if c in orders.columns), None)
    if column is None:
        raise ValueError(
            f"orders: none of the columns {', '.join(PRODUCT_COLUMNS)}, so a complaint has no "
            "product"
        )
    paid = orders.loc[paid_mask(orders), ["customer_id", "order_date", column]]
    paid = paid.dropna(subset=["order_date"]).sort_values("order_date", kind="stable")
    left = pd.DataFrame(
        {
            "customer_id": tickets["customer_id"].astype("str").to_numpy(),
            "opened_at": pd.to_datetime(tickets["opened_at"]).to_numpy(),
            "_row": np.arange(len(tickets)),
        }
    ).sort_values("opened_at", kind="stable")
    right = pd.DataFrame(
        {
            "customer_id": paid["customer_id"].astype("str").to_numpy(),
            "order_date": paid["order_date"].to_numpy(dtype="datetime64[ns]"),
            "product": paid[column].astype("str").to_numpy(),
        }
    )
    left["opened_at"] = left["opened_at"].astype("datetime64[ns]")
    for side in (left, right):  # the same key dtype on both sides, whatever pandas infers
        side["customer_id"] = side["customer_id"].astype(object)
    joined = pd.merge_asof(
        left,
        right,
        left_on="opened_at",
        right_on="order_date",
        by="customer_id",
        direction="backward",
    ).sort_values("_row")
    return pd.Series(
        joined["product"].fillna(NO_ORDER).to_numpy(dtype=object),
        index=tickets.index,
        name="product",
    )


def complaints_by(
    view: Dataset, period: str | Period, by: Literal["category", "product"] = "category"
) -> pd.DataFrame:
    """Complaints opened in ``period`` by ticket category or by product (module docstring).

    Returns
    -------
    DataFrame
        Indexed by ``by`` (groups with a complaint), most complaints first: ``complaints``,
        ``share``, ``complaint_rate``, ``resolved``, ``resolution_hours`` and ``open``.

    Raises
    ------
    ValueError
        Without tickets, ``is_complaint``, the ``category`` column (by category) or a product
        column in orders (by product); for another ``by``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> view = generate(300, seed=1).to_dataset().as_of("2025-06")
    >>> complaints_by(view, "2025-06", "product").index.name
    'product'
    """
    if by not in ("category", "product"):
        raise ValueError(f"by: expected 'category' or 'product', got {by!r}")
    period = parse_period(period)
    if view.tickets is None:
        raise ValueError("dataset: no tickets table, so there are no complaints")
    for column in ("is_complaint", *(("category",) if by == "category" else ())):
        if column not in view.tickets.columns:
            raise ValueError(f"tickets: no {column} column")
    tickets = _opened_in(view, period)
    if by == "product":
        group = ticket_products(tickets, view.orders)
    else:
        group = tickets["category"].astype("str").where(tickets["category"].notna(), "(none)")
    complaint = (tickets["is_complaint"] == True).to_numpy(dtype=bool)  # noqa: E712 - NA is no
    resolved_at = tickets["resolved_at"] if "resolved_at" in tickets else pd.Series(pd.NaT)
    resolved = resolved_at.reindex(tickets.index).notna().to_numpy() & complaint
    hours = (resolved_at.reindex(tickets.index) - tickets["opened_at"]).dt.total_seconds() / 3600
    frame = pd.DataFrame(
        {
            by: group.to_numpy(),
            "ticket": 1,
            "complaints": complaint.astype(np.int64),
            "resolved": resolved.astype(np.int64),
            "hours": np.where(resolved, hours.to_numpy(dtype=float), np.nan),
        }
    )
    grouped = frame.groupby(by, sort=True)
    table = pd.DataFrame(
        {
            "complaints": grouped["complaints"].sum(),
            "tickets": grouped["ticket"].sum(),
            "resolved": grouped["resolved"].sum(),
            "resolution_hours": grouped["hours"].median(),
        }
    )
    table = table.loc[table["complaints"] > 0]
    total = table["complaints"].sum()
    table["share"] = table["complaints"] / total if total else np.nan
    table["complaint_rate"] = table["complaints"] / table["tickets"]
    table["open"] = table["complaints"] - table["resolved"]
    table = table.sort_values("complaints", ascending=False, kind="stable")
    return table[["complaints", "share", "complaint_rate", "resolved", "resolution_hours", "open"]]


def follow_up_list(
    view: Dataset, period: str | Period, *, sla_hours: float = SLA_HOURS
) -> pd.DataFrame:
    """List the customers to follow up for ``period``: SLA breaches and detractors.

    Returns
    -------
    DataFrame
        One row per breached ticket and per detractor's answer, latest first:
        ``customer_id`` (real: show it masked), ``reason`` (:data:`REASONS`), ``when`` (the
        ticket's opening, the answer's date), ``ticket_id``, ``response_hours`` (first response,
        NaN when none yet) and ``agent_id`` of a ticket, the NPS ``score`` of an answer.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> view = generate(300, seed=1).to_dataset().as_of("2025-06")
    >>> follow = follow_up_list(view, "2025-06", sla_hours=24)
    >>> sorted(set(follow["reason"])) <= sorted(REASONS.values())
    True
    """
    period = parse_period(period)
    frames = []
    tickets = view.tickets
    if tickets is not None and "first_response_at" in tickets.columns:
        opened = _opened_in(view, period)
        hours = (opened["first_response_at"] - opened["opened_at"]).dt.total_seconds() / 3600
        age = (view_cutoff(view, period) - opened["opened_at"]).dt.total_seconds() / 3600
        _, breached = sla_outcome(hours, age, sla_hours)
        rows = opened.loc[breached]
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": rows["customer_id"].astype("str").to_numpy(),
                    "reason": REASONS["sla"],
                    "when": rows["opened_at"].to_numpy(),
                    "ticket_id": rows["ticket_id"].astype("str").to_numpy(),
                    "response_hours": hours.loc[breached].to_numpy(dtype=float),
                    "score": np.nan,
                    "agent_id": (
                        rows["agent_id"].astype("str").to_numpy() if "agent_id" in rows else ""
                    ),
                }
            )
        )
    surveys = view.surveys
    if surveys is not None:
        inside = surveys.loc[np.asarray(period.contains(surveys["responded_at"]), dtype=bool)]
        low = inside.loc[(inside["score"] <= DETRACTOR_MAX).to_numpy(dtype=bool)]
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": low["customer_id"].astype("str").to_numpy(),
                    "reason": REASONS["detractor"],
                    "when": low["responded_at"].to_numpy(),
                    "ticket_id": "",
                    "response_hours": np.nan,
                    "score": low["score"].to_numpy(dtype=float),
                    "agent_id": "",
                }
            )
        )
    columns = ["customer_id", "reason", "when", "ticket_id", "response_hours", "score", "agent_id"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("when", ascending=False, kind="stable").reset_index(drop=True)[columns]


def view_cutoff(view: Dataset, period: Period) -> pd.Timestamp:
    """Return the cutoff the view is seen at: its own when earlier than the period's end.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> view = generate(50, seed=1).to_dataset().as_of("2025-06")
    >>> view_cutoff(view, parse_period("2025-06")) == parse_period("2025-06").end
    True
    """
    cutoff = getattr(view, "cutoff", None)
    if cutoff is None or pd.Timestamp(cutoff) > period.end:
        return period.end
    return pd.Timestamp(cutoff)


def team_service(
    view: Dataset, period: str | Period, *, sla_hours: float = SLA_HOURS
) -> pd.DataFrame:
    """Service KPIs by team: :data:`TEAM_KPIS` on the tickets each team's agents handled.

    The team of a ticket is ``staff.team`` of its ``agent_id`` (by agent when the staff table
    has no ``team``; tickets of an agent not in staff count in ``(missing)``).

    Returns
    -------
    DataFrame
        Indexed by ``team``, one column per KPI of :data:`TEAM_KPIS` (NaN where not defined).

    Raises
    ------
    ValueError
        Without tickets or ``tickets.agent_id``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> view = generate(300, seed=1).to_dataset().as_of("2025-06")
    >>> team_service(view, "2025-06").columns.tolist()[:2]
    ['tickets', 'sla_compliance']
    """
    period = parse_period(period)
    tickets = view.tickets
    if tickets is None or "agent_id" not in tickets.columns:
        raise ValueError("tickets: no agent_id column, so tickets have no team")
    staff = view.staff
    agents = tickets["agent_id"].astype("str").where(tickets["agent_id"].notna())
    if staff is not None and "team" in staff.columns:
        names = staff["team"].astype(object).where(staff["team"].notna())
        team = pd.Series(names.to_numpy(), index=staff["staff_id"].astype("str").to_numpy())
        agents = agents.map(team)  # an agent without a team counts in (missing)
    relabelled = replace(view, tickets=tickets.assign(agent_id=agents.fillna("(missing)")))
    values = compute_kpis(
        relabelled, period, by="agent_id", kpis=list(TEAM_KPIS), sla_hours=sla_hours
    )
    wide = values["value"].unstack("kpi")[list(TEAM_KPIS)]
    wide.index.name = "team"
    return wide.rename_axis(columns=None)


def service_check(view: Dataset, period: Period) -> Check:
    """Whether the drill-down can be shown: tickets with ``is_complaint`` opened in the period.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> view = generate(300, seed=1).to_dataset().as_of("2025-06")
    >>> service_check(view, parse_period("2025-06")).available
    True
    """
    what, needs = M_("The complaint drill-down"), "tickets.is_complaint"
    if view.tickets is None:
        return Check(what, False, needs, M_("the data has no tickets table"))
    if "is_complaint" not in view.tickets.columns:
        return Check(what, False, needs, M_("the tickets have no is_complaint column"))
    n = int(len(_opened_in(view, period)))
    if not n:
        return Check(
            what, False, needs, M_("no ticket was opened in %(period)s", period=period.label)
        )
    return Check(
        what, True, needs, M_("%(n)s tickets opened in %(period)s", n=f"{n:,}", period=period.label)
    )


def service_tables(
    view: Dataset, period: str | Period, *, sla_hours: float = SLA_HOURS
) -> dict[str, Any]:
    """Every table of the service drill-down (see the module docstring).

    Returns
    -------
    dict
        ``"by_category"``, ``"by_product"``, ``"follow_up"`` and ``"teams"``: each a table or
        the :class:`~cpm_analysis.availability.Unavailable` sentence saying what is missing.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from dataclasses import replace
    >>> view = replace(generate(300, seed=1).to_dataset().as_of("2025-06"), tickets=None)
    >>> service_tables(view, "2025-06")["by_category"].text
    'The complaint drill-down is not available: the data has no tickets table.'
    """
    period = parse_period(period)
    check = service_check(view, period)
    out: dict[str, Any] = {}
    if not check.available:
        out["by_category"], out["by_product"] = check.missing(), check.missing()
    else:
        if "category" in view.tickets.columns:  # type: ignore[union-attr]
            out["by_category"] = complaints_by(view, period, "category")
        else:
            out["by_category"] = Check(
                M_("Complaints by category"),
                False,
                "tickets.category",
                M_("the tickets have no category"),
            ).missing()
        if any(c in view.orders.columns for c in PRODUCT_COLUMNS):
            out["by_product"] = complaints_by(view, period, "product")
        else:
            out["by_product"] = Check(
                M_("Complaints by product"),
                False,
                "orders.category",
                M_("the orders name no product (product_name, product_id or category)"),
            ).missing()
    has_response = view.tickets is not None and "first_response_at" in view.tickets.columns
    if not has_response and view.surveys is None:
        out["follow_up"] = Check(
            M_("The follow-up list"),
            False,
            "tickets.first_response_at, surveys",
            M_("the data has neither ticket response times nor survey answers"),
        ).missing()
    else:
        out["follow_up"] = follow_up_list(view, period, sla_hours=sla_hours)
    if view.tickets is None or "agent_id" not in view.tickets.columns:
        why = (
            M_("the data has no tickets table")
            if view.tickets is None
            else M_("the tickets name no agent")
        )
        out["teams"] = Check(M_("CSAT and SLA by team"), False, "tickets.agent_id", why).missing()
    else:
        out["teams"] = team_service(view, period, sla_hours=sla_hours)
    return out
