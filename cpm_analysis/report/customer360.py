"""One customer's view: orders, service history, segment path and every model's verdict.

Used by the on-demand ``customer_360`` notebook (``customer_id`` = a real id or its
pseudonym). Everything is point in time: only data up to the report period's end is read, and
the scores are the period's scored table, so the view agrees with the periodic reports.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.periods import parse_period
>>> ds = generate(300, seed=1).to_dataset()
>>> period = parse_period("2025-06")
>>> cid = ds.customers["customer_id"].iloc[0]
>>> cv = customer_view(ds.as_of(period.end), cid, period)
>>> cv.customer_id == cid
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data import Dataset, paid_orders
from cpm_analysis.i18n import M_, N_, Translator, join
from cpm_analysis.periods import Period, parse_period
from cpm_analysis.report.escaping import md_text
from cpm_analysis.segments.maps import SegmentMapSource
from cpm_analysis.segments.rfm import monetary_value
from cpm_analysis.staff import StaffNames

PATH_PERIODS = 6
"""Periods in the segment path."""

PROFILE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "owner_id",
    "region",
    "channel",
    "company_size",
    "signup_date",
    "churned_at",
)


@dataclass
class CustomerView:
    """Everything about one customer up to the period's end.

    Attributes
    ----------
    customer_id : str
        The real id (show it through ``ReportContext.show`` / ``pseudonym``).
    period : Period
    profile : DataFrame
        One row: the customer's non-personal attributes and order totals.
    orders, tickets, surveys : DataFrame
        The customer's rows (empty frames when the table is absent or has none).
    scores : Series or None
        The customer's row of the scored table.
    has_tickets, has_surveys : bool
        Whether the data holds the table at all.
    """

    customer_id: str
    period: Period
    profile: pd.DataFrame
    orders: pd.DataFrame
    tickets: pd.DataFrame
    surveys: pd.DataFrame
    scores: pd.Series | None
    has_tickets: bool
    has_surveys: bool

    def score(self, name: str) -> Any:
        """Return a score of the customer (``None`` when absent or missing).

        Examples
        --------
        >>> cv = CustomerView("C1", parse_period("2025-06"), pd.DataFrame(), pd.DataFrame(),
        ...                   pd.DataFrame(), pd.DataFrame(), pd.Series({"clv": 3.0}),
        ...                   False, False)
        >>> float(cv.score("clv")), cv.score("tier")
        (3.0, None)
        """
        if self.scores is None or name not in self.scores.index:
            return None
        value = self.scores[name]
        return None if _missing(value) else value

    def verdict(self) -> pd.DataFrame:
        """Return the models' verdict as a one-row table: segment, tier, CLV, P(alive), churn, action.

        Examples
        --------
        >>> cv = CustomerView("C1", parse_period("2025-06"), pd.DataFrame(), pd.DataFrame(),
        ...                   pd.DataFrame(), pd.DataFrame(), pd.Series({"clv": 3.0}),
        ...                   False, False)
        >>> cv.verdict()["clv"].tolist()
        [3.0]
        """
        columns = (
            "segment",
            "tier",
            "cluster_name",
            "p_alive",
            "expected_purchases_90d",
            "clv",
            "churn_probability",
            "expected_loss",
        )
        row = {"customer_id": self.customer_id}
        row.update({c: self.score(c) for c in columns if self.scores is not None})
        return pd.DataFrame([row])

    def reasons(self) -> pd.DataFrame:
        """Return the churn model's reasons for this customer, one per row (empty when none).

        Examples
        --------
        >>> cv = CustomerView("C1", parse_period("2025-06"), pd.DataFrame(), pd.DataFrame(),
        ...                   pd.DataFrame(), pd.DataFrame(),
        ...                   pd.Series({"reason_codes": "late; low"}), False, False)
        >>> cv.reasons()["reason"].tolist()
        ['late', 'low']
        """
        text = self.score("reason_codes")
        parts = [p.strip() for p in str(text).split(";")] if text else []
        return pd.DataFrame({"reason": [p for p in parts if p]}, dtype="str")

    def describe(
        self,
        shown_id: str | None = None,
        tr: Translator | None = None,
        names: StaffNames | None = None,
    ) -> str:
        """Return a short Markdown narrative of the customer, generated from the numbers.

        Parameters
        ----------
        shown_id : str, optional
            How to name the customer (their pseudonym in a masked report); default the id.
        tr : Translator, optional
            The report's language (``ctx.translator``); default English.
        names : StaffNames, optional
            How the account owner is shown (``ctx.staff_names``,
            :func:`cpm_analysis.staff.staff_names`); default their id.

        Examples
        --------
        >>> cv = CustomerView("C1", parse_period("2025-06"), pd.DataFrame([{"orders": 0}]),
        ...                   pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), None, False, False)
        >>> describe = cv.describe("P-X")
        >>> describe.startswith("**P-X**")
        True
        """
        tr = tr if tr is not None else Translator("en")
        name = shown_id or self.customer_id
        profile = self.profile.iloc[0] if len(self.profile) else pd.Series(dtype=object)
        parts: list[Any] = [f"**{md_text(name)}**"]
        owner = profile.get("owner_id")
        if not _missing(owner):
            shown = names(owner) if names is not None else owner
            parts.append(M_("(account owner %(owner)s)", owner=md_text(str(shown))))
        orders = int(profile.get("orders", 0) or 0)
        if orders == 0:
            parts.append(M_("had not bought by the end of %(period)s.", period=self.period.label))
            return tr.gettext(join(" ", parts))
        parts.append(
            M_(
                "has placed %(n)s paid order(s) worth %(revenue)s, the last on %(date)s.",
                n=orders,
                revenue=f"{profile.get('revenue', 0):,.0f}",
                date=f"{pd.Timestamp(profile['last_order']):%Y-%m-%d}",
            )
        )
        segment, tier = self.score("segment"), self.score("tier")
        if segment:
            values = {"period": self.period.label, "segment": md_text(tr.sentence(segment))}
            parts.append(
                M_(
                    "At the end of %(period)s they are in the **%(segment)s** segment (value "
                    "tier %(tier)s).",
                    tier=md_text(tier),
                    **values,
                )
                if tier
                else M_(
                    "At the end of %(period)s they are in the **%(segment)s** segment.", **values
                )
            )
        clv, alive = self.score("clv"), self.score("p_alive")
        if clv is not None:
            parts.append(
                M_(
                    "Predicted 12-month value: **%(clv)s**, probability still active %(alive)s.",
                    clv=f"{clv:,.0f}",
                    alive=f"{alive:.0%}",
                )
                if alive is not None
                else M_("Predicted 12-month value: **%(clv)s**.", clv=f"{clv:,.0f}")
            )
        churn = self.score("churn_probability")
        if churn is not None:
            level = M_("high") if churn >= 0.6 else M_("medium") if churn >= 0.3 else M_("low")
            parts.append(
                M_(
                    "Churn risk within 90 days: **%(churn)s** (%(level)s).",
                    churn=f"{churn:.0%}",
                    level=level,
                )
            )
        elif segment:
            parts.append(
                M_("Not in the active base (no paid order in the last 12 months): no churn score.")
            )
        text = join(" ", parts)
        action = self.score("recommended_action")
        if action:
            text = M_(
                "%(text)s\n\n**Recommended action:** %(action)s",
                text=text,
                action=md_text(tr.sentence(action)),
            )
        return tr.gettext(text)


def customer_view(
    view: Dataset, customer_id: str, period: Period | str, scored: pd.DataFrame | None = None
) -> CustomerView:
    """Collect one customer's data and scores at the end of ``period``.

    Parameters
    ----------
    view : Dataset
        The point-in-time data (``dataset.as_of(period.end)``).
    customer_id : str
        A real customer id (``ReportContext.customer_id`` resolves pseudonyms).
    period : Period or str
    scored : DataFrame, optional
        The period's scored table.

    Raises
    ------
    ValueError
        When the customer is not in ``view``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> customer_view(ds, "nobody", "2025-06")
    Traceback (most recent call last):
    ...
    ValueError: customer_id: 'nobody' is not a customer at the end of 2025-06
    """
    period = parse_period(period)
    customers = view.customers
    match = (customers["customer_id"] == customer_id).to_numpy(dtype=bool)
    if not match.any():
        raise ValueError(
            f"customer_id: '{customer_id}' is not a customer at the end of {period.label}"
        )
    row = customers.loc[match, [c for c in PROFILE_COLUMNS if c in customers.columns]]
    orders = _rows(view.orders, customer_id).sort_values("order_date", kind="stable")
    paid = paid_orders(orders)
    profile = row.reset_index(drop=True)
    profile["orders"] = len(paid)
    # the customer's monetary value as the segments page shows it (paid orders, gross)
    value = monetary_value(orders, period.end) if len(paid) else pd.Series(dtype="float64")
    profile["revenue"] = float(value.iloc[0]) if len(value) else 0.0
    profile["first_order"] = paid["order_date"].min() if len(paid) else pd.NaT
    profile["last_order"] = paid["order_date"].max() if len(paid) else pd.NaT
    tickets = _rows(view.tickets, customer_id) if view.has("tickets") else pd.DataFrame()
    surveys = _rows(view.surveys, customer_id) if view.has("surveys") else pd.DataFrame()
    scores = None
    if scored is not None and "customer_id" in scored.columns:
        hit = scored.loc[(scored["customer_id"] == customer_id).to_numpy(dtype=bool)]
        scores = hit.iloc[0] if len(hit) else None
    return CustomerView(
        customer_id=customer_id,
        period=period,
        profile=profile,
        orders=orders.reset_index(drop=True),
        tickets=tickets.reset_index(drop=True),
        surveys=surveys.reset_index(drop=True),
        scores=scores,
        has_tickets=view.has("tickets"),
        has_surveys=view.has("surveys"),
    )


def _rows(frame: pd.DataFrame | None, customer_id: str) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame()
    return frame.loc[(frame["customer_id"] == customer_id).to_numpy(dtype=bool)]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def orders_table(cv: CustomerView, n: int = 20) -> pd.DataFrame:
    """Return the customer's latest ``n`` orders, newest first.

    Examples
    --------
    >>> o = pd.DataFrame({"order_id": ["a", "b"], "customer_id": ["C1", "C1"],
    ...                   "order_date": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...                   "amount": [1.0, 2.0]})
    >>> cv = CustomerView("C1", parse_period("2025-06"), pd.DataFrame(), o, pd.DataFrame(),
    ...                   pd.DataFrame(), None, False, False)
    >>> orders_table(cv)["order_id"].tolist()
    ['b', 'a']
    """
    columns = ["order_id", "order_date", "amount", "status", "quantity", "category"]
    frame = cv.orders
    return (
        frame.sort_values("order_date", ascending=False, kind="stable")[
            [c for c in columns if c in frame.columns]
        ]
        .head(n)
        .reset_index(drop=True)
    )


def tickets_table(cv: CustomerView) -> pd.DataFrame:
    """Return the customer's tickets with first-response and resolution hours, newest first.

    Examples
    --------
    >>> cv = CustomerView("C1", parse_period("2025-06"), pd.DataFrame(), pd.DataFrame(),
    ...                   pd.DataFrame(), pd.DataFrame(), None, False, False)
    >>> tickets_table(cv).empty
    True
    """
    frame = cv.tickets
    if frame.empty:
        return pd.DataFrame(columns=["opened_at", "category", "is_complaint", "satisfaction"])
    out = frame.copy()
    hour = pd.Timedelta(hours=1)
    if "first_response_at" in out:
        out["first_response_hours"] = (out["first_response_at"] - out["opened_at"]) / hour
    if "resolved_at" in out:
        out["resolution_hours"] = (out["resolved_at"] - out["opened_at"]) / hour
    columns = [
        "opened_at",
        "category",
        "is_complaint",
        "agent_id",
        "first_response_hours",
        "resolution_hours",
        "satisfaction",
    ]
    out = out.sort_values("opened_at", ascending=False, kind="stable")
    return out[[c for c in columns if c in out.columns]].reset_index(drop=True)


def surveys_table(cv: CustomerView) -> pd.DataFrame:
    """Return the customer's survey answers (score 0-10), newest first.

    Examples
    --------
    >>> cv = CustomerView("C1", parse_period("2025-06"), pd.DataFrame(), pd.DataFrame(),
    ...                   pd.DataFrame(), pd.DataFrame(), None, False, False)
    >>> surveys_table(cv).empty
    True
    """
    frame = cv.surveys
    if frame.empty:
        return pd.DataFrame(columns=["responded_at", "score", "channel"])
    columns = ["responded_at", "score", "channel"]
    frame = frame.sort_values("responded_at", ascending=False, kind="stable")
    return frame[[c for c in columns if c in frame.columns]].reset_index(drop=True)


def service_note(cv: CustomerView) -> str:
    """Return a line on the customer's service history, or why there is none.

    Examples
    --------
    >>> cv = CustomerView("C1", parse_period("2025-06"), pd.DataFrame(), pd.DataFrame(),
    ...                   pd.DataFrame(), pd.DataFrame(), None, False, False)
    >>> service_note(cv)
    'The data has no tickets table. The data has no surveys table.'
    """
    parts: list[Any] = []
    if not cv.has_tickets:
        parts.append(M_("The data has no tickets table."))
    else:
        complaints = (
            int(cv.tickets["is_complaint"].fillna(False).astype(bool).sum())
            if "is_complaint" in cv.tickets
            else 0
        )
        sat = cv.tickets["satisfaction"].mean() if "satisfaction" in cv.tickets else np.nan
        values = {"n": len(cv.tickets), "complaints": complaints}
        parts.append(
            M_(
                "%(n)s ticket(s), %(complaints)s complaint(s), mean satisfaction %(sat)s/5.",
                sat=f"{sat:.1f}",
                **values,
            )
            if pd.notna(sat)
            else M_("%(n)s ticket(s), %(complaints)s complaint(s).", **values)
        )
    if not cv.has_surveys:
        parts.append(M_("The data has no surveys table."))
    else:
        last = cv.surveys.sort_values("responded_at")["score"].iloc[-1] if len(cv.surveys) else None
        parts.append(
            M_(
                "%(n)s survey answer(s), the latest scoring %(last)s/10.",
                n=len(cv.surveys),
                last=f"{last:.0f}",
            )
            if last is not None
            else M_("%(n)s survey answer(s).", n=len(cv.surveys))
        )
    return join(" ", parts)


def segment_path(
    view: Dataset,
    customer_id: str,
    period: Period | str,
    n: int = PATH_PERIODS,
    *,
    segment_map: SegmentMapSource | None = None,
) -> pd.DataFrame:
    """Return the customer's RFM segment at the end of each of the last ``n`` periods.

    Scores are relative to the whole base at each cutoff (as in the periodic reports), and
    named by ``segment_map`` (the configured map, ``ReportContext.segment_map``; default the
    built-in one), so that the last period's segment is the scored table's.

    Returns
    -------
    DataFrame
        Indexed by period label (oldest first): ``segment`` (``not yet a buyer`` before the
        first purchase), ``r_score``, ``f_score``, ``m_score``, ``recency_days``,
        ``frequency``, ``monetary``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> cid = ds.customers["customer_id"].iloc[0]
    >>> segment_path(ds, cid, "2025-06", 3).index.tolist()
    ['2025-04', '2025-05', '2025-06']
    """
    from cpm_analysis.segments import load_segment_map, rfm_scores, rfm_segments

    seg_map = load_segment_map(segment_map)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive integer, got {n!r}")
    last = parse_period(period)
    columns = ["segment", "r_score", "f_score", "m_score", "recency_days", "frequency", "monetary"]
    rows = []
    for k in range(n - 1, -1, -1):
        p = last.shift(-k)
        segments = rfm_segments(rfm_scores(view, p.end), seg_map)
        if customer_id in segments.index:
            row = segments.loc[customer_id, columns].to_dict()
            row["segment"] = str(row["segment"])
        else:
            row = dict.fromkeys(columns, np.nan)
            row["segment"] = N_("not yet a buyer")
        rows.append({"period": p.label, **row})
    return pd.DataFrame(rows).set_index("period")
