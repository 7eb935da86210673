"""The shared per-period precomputation behind every KPI.

A dataset is encoded once (:class:`PreparedData`: integer customer codes, int64 timestamps,
group codes of the breakdown); each period then gets a :class:`KPIContext` whose tables (paid
orders dated in the period, active customers, tickets opened in it, ...) are computed on first
use and shared by every KPI. This is what keeps all KPIs for a month of a million customers to a
couple of seconds.

Point in time
-------------
A context for period ``P`` sees the data exactly as ``dataset.as_of(P.end)`` would: only
customers signed up by the cutoff and their orders, tickets and survey answers dated by it; a
ticket's first response or resolution after the cutoff reads as not yet happened, and its
satisfaction as not yet given. The filters are applied to the encoded arrays instead of copying
the dataset for every period.

Tables of a context
-------------------
Every table holds integer ``customer`` codes (positions in ``ctx.customer_ids``) and the
``group`` code of the row (a position in ``ctx.groups``):

``paid``, ``refunded``
    Paid (status ``paid`` or no status) and refunded orders dated in the period: ``customer``,
    ``group``, ``amount``, ``order_date``. Refund amounts are negative, as in the data.
``active``
    One row per customer with a paid order dated in the period: ``customer``, ``group``,
    ``orders``, ``revenue``.
``previous_active``
    One row per customer with a paid order dated in the previous period: ``customer``,
    ``group``, ``active`` (also active in this period).
``retention``
    The base of the retention and churn KPIs: ``customer``, ``group``, ``retained``. With
    contract ends (``customers.churned_at``): the customers signed up by the previous period's
    cutoff whose contract was still running then (no ``churned_at`` by it); ``retained`` when
    the contract is still running at this cutoff (no ``churned_at`` by it), whatever their
    orders. Without them: ``previous_active``, ``retained`` = ``active``.
``new_customers``
    Customers whose first paid order ever is dated in the period: ``customer``, ``group``.
``tickets``
    Tickets opened in the period: ``customer``, ``group``, ``opened_at``, ``response_hours``,
    ``resolution_hours`` (NaN while not yet responded / resolved at the cutoff), ``age_hours``
    (cutoff minus opening), ``is_complaint`` (1.0, 0.0, NaN when unknown), ``satisfaction``.
``resolved_tickets``
    Tickets resolved in the period (whenever opened): same columns.
``surveys``
    Survey answers dated in the period: ``customer``, ``group``, ``score``.
``activities``
    Activities dated in the period: ``customer``, ``group``, ``type``, ``outcome`` (``None``
    when unknown), ``at``.
``closed_opportunities``
    Opportunities closed in the period (``closed_at`` in it, as seen at the cutoff):
    ``customer``, ``group``, ``won`` (1.0, 0.0, NaN when unknown), ``stage`` (position in
    ``lead, qualified, proposal, negotiation, closed``; -1 when unknown), ``cycle_days``.
``open_complaints``
    Complaint tickets opened by the cutoff and not resolved at it: ``customer``, ``group``.

With ``by="agent_id"`` activities count in the group of their ``staff_id`` and opportunities in
that of their ``owner_id`` (rows of staff who are not agents of a ticket count nowhere). With
``by="staff_id"`` every staff member named by a ticket's ``agent_id``, an activity's
``staff_id`` or an opportunity's ``owner_id`` is a group, and each of those rows counts in its
staff member's group (order, customer and survey KPIs are then not available). With any other
breakdown they count in their customer's group.
``scored``
    Customers signed up by the cutoff with a model score: ``customer``, ``group``, ``clv``,
    ``churn_probability``, ``active``.

Examples
--------
>>> from cpm_analysis.kpis.context import PreparedData
>>> prepared = PreparedData(ds, by="owner_id")
>>> ctx = prepared.context("2024-06")
>>> ctx.group_sum(ctx.paid["group"], ctx.paid["amount"])[:3]
array([128.68, 532.77, 352.81])
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.orders import REFUNDED, paid_mask
from cpm_analysis.kpis.registry import KPI, KPIUnavailable, get_kpi
from cpm_analysis.periods import Period, parse_period

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from cpm_analysis.config import WindowsConfig

SLA_HOURS = DEFAULT_CONFIG.sla.first_response_hours
"""The default first-response SLA of ``sla_compliance`` (``sla.first_response_hours``)."""

WINDOWS = DEFAULT_CONFIG.windows
"""The default day windows of the activity KPIs (the configuration's ``windows``)."""

AT_RISK_DAYS = WINDOWS.at_risk_days
"""A customer becomes at risk when this many days pass after a paid order without another
(default; ``windows.at_risk_days``)."""

FOLLOW_UP_DAYS = WINDOWS.follow_up_days
"""An at-risk customer counts as followed up with an activity within this many days (default;
``windows.follow_up_days``)."""

INQUIRY_ORDER_DAYS = WINDOWS.inquiry_order_days
"""An inquiry counts as converted with a paid order of its customer within this many days
(default; ``windows.inquiry_order_days``)."""

INQUIRY_CATEGORIES = ("inquiry", "product")
"""Ticket categories that are inquiries (questions before a purchase), when not a complaint."""

MISSING_GROUP = "(missing)"
"""Group label of customers (or tickets) whose breakdown value is missing."""

ALL_GROUP = "all"
"""The single group label when there is no breakdown."""

SCORES_REASON = "needs the scored customer table (CLV and churn models)"

_EMPTY = np.zeros(0, dtype=np.int64)
_NEVER = np.iinfo(np.int64).max  # stands for "no such time" (NaT) in int64 nanoseconds
_HOUR_NS = 3_600_000_000_000.0
_PAID, _REFUNDED, _OTHER = 0, 1, 2


def check_windows(windows: WindowsConfig | None) -> WindowsConfig:
    """Return ``windows`` (a :class:`~cpm_analysis.config.WindowsConfig`), default :data:`WINDOWS`.

    Raises
    ------
    ValueError
        Naming the parameter when ``windows`` is not a ``WindowsConfig``.

    Examples
    --------
    >>> check_windows(None).at_risk_days
    60
    >>> check_windows({"at_risk_days": 30})
    Traceback (most recent call last):
    ...
    ValueError: windows: expected the configuration's windows (CPMConfig.windows), got a dict
    """
    from cpm_analysis.config import WindowsConfig

    if windows is None:
        return WINDOWS
    if not isinstance(windows, WindowsConfig):
        raise ValueError(
            "windows: expected the configuration's windows (CPMConfig.windows), got a "
            f"{type(windows).__name__}"
        )
    return windows


def _i8(series: pd.Series) -> np.ndarray:
    """datetime64[ns] as int64 nanoseconds, NaT as a time after everything."""
    values = series.to_numpy(dtype="datetime64[ns]").view("i8").copy()
    values[pd.isna(series).to_numpy()] = _NEVER
    return values


def _codes(values: pd.Series, lookup: pd.Series | pd.Index) -> np.ndarray:
    """Positions of ``values`` in ``lookup`` (unique), -1 where absent (Arrow hash join)."""
    left = pa.array(pd.Series(values).astype("str"))
    right = pa.array(pd.Series(lookup).astype("str"))
    found = pc.index_in(left, value_set=right).fill_null(-1)
    return found.to_numpy(zero_copy_only=False).astype(np.int64)


def isin_values(values: pd.Series, choices: tuple[str, ...]) -> np.ndarray:
    """Whether each value is one of ``choices`` (missing values are not), as a numpy array."""
    return values.isin(list(choices)).to_numpy(dtype=bool) & values.notna().to_numpy()


def _factorize(values: pd.Series | np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Sorted group codes; missing values get a trailing ``(missing)`` group."""
    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    labels = pd.Index(uniques)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels = pd.Index([*labels.tolist(), MISSING_GROUP])
    return codes.astype(np.int64), labels


def _grouped(groups: np.ndarray | None) -> np.ndarray:
    """Return the group codes of a table's rows; a table without them cannot give the KPI."""
    if groups is None:
        raise KPIUnavailable("needs a table this dataset does not have, or rows without a group")
    return groups


class EventTimes:
    """Event times by customer, for exact vectorised "first event at or after t" lookups.

    The events are sorted by (customer, time) once; a query ranks its time among the distinct
    event times and finds the first event of its customer at or after it with one binary search
    on ``customer x (distinct times + 1) + rank``, which is exact whatever the time resolution.

    Examples
    --------
    >>> ev = EventTimes(np.array([0, 0, 1]), np.array([5, 9, 7]))
    >>> ev.first(np.array([0, 0, 1, 2]), np.array([5, 6, 8, 0]), strictly_after=False).tolist()
    [5, 9, 9223372036854775807, 9223372036854775807]
    """

    def __init__(self, customer: np.ndarray, time: np.ndarray):
        order = np.lexsort((time, customer))
        self.customer = np.asarray(customer, dtype=np.int64)[order]
        self.time = np.asarray(time, dtype=np.int64)[order]
        ordered = np.sort(self.time)  # (np.unique hashes: slower on large int64 arrays)
        self.distinct: np.ndarray = (
            ordered[np.append(True, ordered[1:] != ordered[:-1])] if len(ordered) else ordered
        )
        self._width = len(self.distinct) + 1
        rank = np.searchsorted(self.distinct, self.time)
        self._keys = self.customer * self._width + rank

    def first(self, customer: np.ndarray, after: np.ndarray, *, strictly_after: bool) -> np.ndarray:
        """Return the time of each customer's first event at (or strictly) after ``after``.

        A time after everything (int64 max) where there is none.
        """
        customer = np.asarray(customer, dtype=np.int64)
        side: Literal["left", "right"] = "right" if strictly_after else "left"
        rank = np.searchsorted(self.distinct, np.asarray(after, dtype=np.int64), side=side)
        pos = np.searchsorted(self._keys, customer * self._width + rank, side="left")
        inside = pos < len(self._keys)
        pos = np.minimum(pos, len(self._keys) - 1)
        hit = inside & (len(self._keys) > 0)
        if len(self._keys):
            hit &= self.customer[pos] == customer
        out = np.full(len(customer), _NEVER, dtype=np.int64)
        out[hit] = self.time[pos[hit]]
        return out


class PreparedData:
    """A dataset encoded once for fast per-period KPI contexts.

    Parameters
    ----------
    dataset : Dataset
        The data; a point-in-time view (``dataset.cutoff`` set) caps every context's cutoff.
    by : str or Series, optional
        The breakdown: a column of ``customers`` (``owner_id``, ``region``, ...), ``"agent_id"``
        (tickets by their agent), ``"staff_id"`` (tickets, activities and opportunities by the
        staff member named in them), or a Series mapping customer_id to a group (e.g.
        segments). Customers (tickets) without a value form the group ``(missing)``.
    scores : DataFrame or dict, optional
        The scored customer table (index customer_id; columns ``clv``, ``churn_probability``),
        or a dict of such tables by period label. See :func:`~cpm_analysis.kpis.compute_kpis`.
    windows : WindowsConfig, optional
        The day windows of the at-risk follow-up and the inquiry conversion (the
        configuration's ``windows``; default :data:`WINDOWS`).

    Examples
    --------
    >>> prepared = PreparedData(ds)
    >>> prepared.groups.tolist()
    ['all']
    """

    def __init__(
        self,
        dataset: Dataset,
        by: str | pd.Series | None = None,
        scores: pd.DataFrame | dict[str, pd.DataFrame] | None = None,
        windows: WindowsConfig | None = None,
    ):
        if not isinstance(dataset, Dataset):
            raise ValueError(f"dataset: expected a cpm_analysis Dataset, got {type(dataset)!r}")
        self.windows = check_windows(windows)
        self.dataset = dataset
        self.cap = _NEVER if dataset.cutoff is None else int(dataset.cutoff.value)
        customers = dataset.customers
        self.customer_ids = pd.Index(customers["customer_id"])
        self.n_customers = len(customers)
        self.signup = _i8(customers["signup_date"])
        # contract ends (a contract business): NaT (a running contract) is a time after everything
        self.contract_end = (
            _i8(pd.to_datetime(customers["churned_at"])) if "churned_at" in customers else None
        )
        self._encode_orders(dataset.orders)
        self._encode_tickets(dataset.tickets)
        self._encode_surveys(dataset.surveys)
        self._encode_activities(getattr(dataset, "activities", None))
        self._encode_opportunities(getattr(dataset, "opportunities", None))
        self._encode_groups(by)
        self.scores = scores

    # --- encoding ---------------------------------------------------------------------------
    def _encode_orders(self, orders: pd.DataFrame) -> None:
        code = _codes(orders["customer_id"], self.customer_ids)
        keep = code >= 0  # orders of unknown customers do not exist (as in Dataset.as_of)
        self.o_cust = code[keep]
        self.o_date = _i8(orders["order_date"])[keep]
        self.o_amount = orders["amount"].to_numpy(dtype=float)[keep]
        if "status" in orders.columns:
            status = orders["status"]
            kind = np.full(len(orders), _OTHER, dtype=np.int8)
            kind[(status == REFUNDED).to_numpy(dtype=bool, na_value=False)] = _REFUNDED
            kind[paid_mask(status)] = _PAID
            self.o_kind = kind[keep]
        else:
            self.o_kind = np.zeros(int(keep.sum()), dtype=np.int8)
        paid = self.o_kind == _PAID
        first = np.full(self.n_customers, _NEVER, dtype=np.int64)
        if paid.any():
            mins = pd.Series(self.o_date[paid]).groupby(self.o_cust[paid]).min()
            first[mins.index.to_numpy()] = mins.to_numpy()
        self.first_paid = first

    def _encode_tickets(self, tickets: pd.DataFrame | None) -> None:
        self.ticket_columns: tuple[str, ...] = ()
        if tickets is None:
            return
        self.ticket_columns = tuple(tickets.columns)
        code = _codes(tickets["customer_id"], self.customer_ids)
        keep = code >= 0
        self.t_cust = code[keep]
        self.t_open = _i8(tickets["opened_at"])[keep]
        n = len(self.t_cust)

        def times(column: str) -> np.ndarray:
            if column not in tickets.columns:
                return np.full(n, _NEVER, dtype=np.int64)
            return _i8(tickets[column])[keep]

        self.t_resp = times("first_response_at")
        self.t_res = times("resolved_at")
        if "is_complaint" in tickets.columns:
            flag = tickets["is_complaint"].astype("boolean")
            self.t_complaint = flag.to_numpy(dtype=float, na_value=np.nan)[keep]
        else:
            self.t_complaint = np.full(n, np.nan)
        if "satisfaction" in tickets.columns:
            self.t_sat = tickets["satisfaction"].to_numpy(dtype=float, na_value=np.nan)[keep]
        else:
            self.t_sat = np.full(n, np.nan)
        self.t_agent = tickets["agent_id"][keep] if "agent_id" in tickets.columns else None
        self.t_category = None
        if "category" in tickets.columns:
            self.t_category = tickets["category"].astype("str").str.lower()[keep]
            inquiry = isin_values(self.t_category, INQUIRY_CATEGORIES)
            self.t_inquiry = inquiry & ~(self.t_complaint == 1.0)

    def _encode_surveys(self, surveys: pd.DataFrame | None) -> None:
        self.has_surveys = surveys is not None
        if surveys is None:
            return
        code = _codes(surveys["customer_id"], self.customer_ids)
        keep = code >= 0
        self.s_cust = code[keep]
        self.s_date = _i8(surveys["responded_at"])[keep]
        self.s_score = surveys["score"].to_numpy(dtype=float, na_value=np.nan)[keep]

    def _encode_activities(self, activities: pd.DataFrame | None) -> None:
        self.has_activities = activities is not None
        if activities is None:
            return
        code = _codes(activities["customer_id"], self.customer_ids)
        keep = code >= 0
        self.a_cust = code[keep]
        self.a_at = _i8(activities["at"])[keep]
        self.a_type = activities["type"].to_numpy(dtype=object)[keep]
        outcome = activities["outcome"] if "outcome" in activities else None
        self.a_outcome = (
            np.full(len(self.a_cust), None, dtype=object)
            if outcome is None
            else outcome.astype(object).where(outcome.notna(), None).to_numpy()[keep]
        )
        self.a_staff = activities["staff_id"][keep]

    def _encode_opportunities(self, opportunities: pd.DataFrame | None) -> None:
        self.has_opportunities = opportunities is not None
        if opportunities is None:
            return
        from cpm_analysis.data.schema import OPPORTUNITY_STAGES

        code = _codes(opportunities["customer_id"], self.customer_ids)
        keep = code >= 0
        n = int(keep.sum())
        self.p_cust = code[keep]
        self.p_created = _i8(opportunities["created_at"])[keep]
        if "closed_at" in opportunities:
            self.p_closed = _i8(opportunities["closed_at"])[keep]
        else:
            self.p_closed = np.full(n, _NEVER, dtype=np.int64)
        if "won" in opportunities:
            won = opportunities["won"].astype("boolean")
            self.p_won = won.to_numpy(dtype=float, na_value=np.nan)[keep]
        else:
            self.p_won = np.full(n, np.nan)
        stages = {stage: i for i, stage in enumerate(OPPORTUNITY_STAGES)}
        stage = opportunities["stage"].map(stages)
        self.p_stage = stage.fillna(-1).to_numpy(dtype=np.int64)[keep]
        self.p_owner = opportunities["owner_id"][keep]

    def _encode_groups(self, by: str | pd.Series | None) -> None:
        customers = self.dataset.customers
        self.cust_group: np.ndarray | None
        self.ticket_group: np.ndarray | None = None
        if by is None:
            self.by_name: str | None = None
            self.groups = pd.Index([ALL_GROUP])
            self.cust_group = np.zeros(self.n_customers, dtype=np.int64)
        elif isinstance(by, pd.Series):
            if not by.index.is_unique:
                dup = by.index[by.index.duplicated()][0]
                raise ValueError(f"by: the Series maps customer_id '{dup}' more than once")
            self.by_name = str(by.name) if by.name is not None else "group"
            pos = _codes(self.customer_ids.to_series(), by.index)
            values = pd.Series(by.to_numpy(), dtype=by.dtype).take(np.maximum(pos, 0))
            values = values.where(pos >= 0)
            self.cust_group, self.groups = _factorize(values)
        elif isinstance(by, str):
            self.by_name = by
            if by in customers.columns and by != "customer_id":
                self.cust_group, self.groups = _factorize(customers[by])
            elif by == "agent_id" and self.t_agent is not None:
                self.cust_group = None
                self.ticket_group, self.groups = _factorize(self.t_agent)
            elif by == "staff_id" and self._staff_columns():
                self.cust_group = None
                self.groups = pd.Index(sorted(set().union(*self._staff_columns())), dtype="str")
                if self.has_tickets:
                    agents = (
                        self.t_agent
                        if self.t_agent is not None
                        else pd.Series([None] * len(self.t_cust), dtype="str")
                    )
                    self.ticket_group = _codes(agents, self.groups)
            else:
                have = ", ".join(c for c in customers.columns if c != "customer_id")
                raise ValueError(
                    f"by: '{by}' is neither a column of customers ({have}) nor 'agent_id' of "
                    "tickets nor 'staff_id' (tickets' agent_id, activities' staff_id, "
                    "opportunities' owner_id); pass a column name or a Series mapping "
                    "customer_id to a group"
                )
        else:
            raise ValueError(
                f"by: expected a column name or a Series by customer_id, got {type(by).__name__}"
            )
        self.groups = self.groups.rename(self.by_name)
        if self.ticket_group is None and self.has_tickets and self.cust_group is not None:
            self.ticket_group = self.cust_group[self.t_cust]
        if self.cust_group is not None:
            self.activity_group = self.cust_group[self.a_cust] if self.has_activities else None
            self.opp_group = self.cust_group[self.p_cust] if self.has_opportunities else None
        else:  # by agent: the staff member's own activities and opportunities
            staff = pd.Index(self.groups)
            self.activity_group = _codes(self.a_staff, staff) if self.has_activities else None
            self.opp_group = _codes(self.p_owner, staff) if self.has_opportunities else None

    def _staff_columns(self) -> list[set[str]]:
        """Return the staff ids of each staff column present (agents, activity staff, owners)."""
        out = []
        if self.has_tickets and self.t_agent is not None:
            out.append(set(self.t_agent.dropna().astype("str")))
        if self.has_activities:
            out.append(set(self.a_staff.dropna().astype("str")))
        if self.has_opportunities:
            out.append(set(self.p_owner.dropna().astype("str")))
        return out

    @cached_property
    def paid_times(self) -> EventTimes:
        """The paid orders' times by customer, for "the next paid order after" lookups."""
        paid = self.o_kind == _PAID
        return EventTimes(self.o_cust[paid], self.o_date[paid])

    @cached_property
    def activity_times(self) -> EventTimes:
        """The activities' times by customer, for "the first activity from" lookups."""
        return EventTimes(self.a_cust, self.a_at)

    @cached_property
    def lapses(self) -> tuple[np.ndarray, np.ndarray]:
        """Every moment a customer becomes at risk (customer codes, int64 ns), sorted by time.

        ``windows.at_risk_days`` after a paid order that no paid order follows within those
        days. A moment is the same whatever the cutoff after it: it only needs the orders
        before it.
        """
        times = self.paid_times
        cust, when = times.customer, times.time
        nxt = np.append(when[1:], _NEVER)
        nxt[np.append(cust[1:] != cust[:-1], True)] = _NEVER
        lapse = when + int(self.windows.at_risk_days * 24 * _HOUR_NS)
        hit = nxt > lapse
        order = np.argsort(lapse[hit], kind="stable")
        return cust[hit][order], lapse[hit][order]

    # --- queries ------------------------------------------------------------------------------
    @property
    def has_tickets(self) -> bool:
        """Whether the dataset has a tickets table."""
        return bool(self.ticket_columns)

    def scores_for(self, period: Period, *, last: bool) -> pd.DataFrame | None:
        """Return the scored customer table that applies to ``period`` (see ``compute_kpis``)."""
        if self.scores is None:
            return None
        if isinstance(self.scores, pd.DataFrame):
            return self.scores if last else None
        return self.scores.get(period.label)

    def context(
        self, period: str | Period, *, sla_hours: float = SLA_HOURS, last: bool = True
    ) -> KPIContext:
        """Return the :class:`KPIContext` of one period.

        Examples
        --------
        >>> PreparedData(ds).context("2024-06").cutoff
        Timestamp('2024-06-30 23:59:59.999999999')
        """
        period = parse_period(period)
        return KPIContext(
            self, period, sla_hours=sla_hours, scores=self.scores_for(period, last=last)
        )


class KPIContext:
    """Everything the KPIs of one period share, computed on first use.

    Attributes
    ----------
    period, previous_period : Period
        The period and the one before it (same frequency).
    cutoff : Timestamp
        The period's last instant (or the dataset's own cutoff when earlier).
    groups : Index
        Group labels of the breakdown (``['all']`` without one); KPI values align with it.
    by : str or None
        The breakdown's name.
    sla_hours : float
        The first-response SLA in hours.
    customer_ids : Index
        Customer ids; the ``customer`` codes of the tables are positions in it.

    See the module docstring for the tables (``paid``, ``active``, ``tickets``, ...).

    Examples
    --------
    >>> ctx = PreparedData(ds).context("2024-06")
    >>> ctx.kpi("revenue")
    array([11114.43])
    """

    def __init__(
        self,
        prepared: PreparedData,
        period: Period,
        *,
        sla_hours: float = SLA_HOURS,
        scores: pd.DataFrame | None = None,
    ):
        if not (np.isfinite(sla_hours) and sla_hours > 0):
            raise ValueError(f"sla_hours: expected a positive number of hours, got {sla_hours}")
        self.prepared = prepared
        self.period = period
        self.previous_period = period.previous()
        self._start = int(period.start.value)
        self._end = min(int(period.end.value), prepared.cap)
        self.cutoff = pd.Timestamp(self._end)
        self.groups = prepared.groups
        self.by = prepared.by_name
        self.n_groups = len(self.groups)
        self.sla_hours = float(sla_hours)
        self.customer_ids = prepared.customer_ids
        self._scores = scores
        self._memo: dict[str, Any] = {}
        self._notes: dict[str, list[str]] = {}
        self._current: list[str] = []

    # --- helpers for KPI functions --------------------------------------------------------------
    def group_sum(self, group: ArrayLike, values: ArrayLike | None = None) -> np.ndarray:
        """Sum of ``values`` (or the count of rows when omitted) per group; NaN values skipped.

        Examples
        --------
        >>> ctx = PreparedData(ds, by="owner_id").context("2024-06")
        >>> ctx.group_sum(ctx.paid["group"], ctx.paid["amount"])[:3]
        array([128.68, 532.77, 352.81])
        """
        group = np.asarray(group, dtype=np.int64)
        if values is None:
            return np.bincount(group, minlength=self.n_groups).astype(float)
        weights = np.asarray(values, dtype=float)
        ok = ~np.isnan(weights)
        return np.bincount(group[ok], weights=weights[ok], minlength=self.n_groups)

    def group_count(self, group: ArrayLike, values: ArrayLike) -> np.ndarray:
        """Count the non-missing ``values`` per group."""
        ok = ~np.isnan(np.asarray(values, dtype=float))
        return np.bincount(np.asarray(group, dtype=np.int64)[ok], minlength=self.n_groups).astype(
            float
        )

    def group_mean(self, group: ArrayLike, values: ArrayLike) -> np.ndarray:
        """Mean of the non-missing ``values`` per group (NaN for a group with none)."""
        return self.ratio(self.group_sum(group, values), self.group_count(group, values))

    def group_median(self, group: ArrayLike, values: ArrayLike) -> np.ndarray:
        """Median of the non-missing ``values`` per group (NaN for a group with none)."""
        values = np.asarray(values, dtype=float)
        ok = ~np.isnan(values)
        out = np.full(self.n_groups, np.nan)
        if ok.any():
            med = pd.Series(values[ok]).groupby(np.asarray(group, dtype=np.int64)[ok]).median()
            out[med.index.to_numpy()] = med.to_numpy()
        return out

    @staticmethod
    def ratio(numerator: ArrayLike, denominator: ArrayLike) -> np.ndarray:
        """``numerator / denominator`` element-wise, NaN where the denominator is 0."""
        num = np.asarray(numerator, dtype=float)
        den = np.asarray(denominator, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)

    def kpi(self, kpi_id: str) -> np.ndarray:
        """Return the values of another KPI in this period (computed once, then reused).

        Raises :class:`KPIUnavailable` when that KPI is not available.
        """
        if kpi_id not in self._memo:
            kpi = get_kpi(kpi_id)
            self._current.append(kpi_id)
            try:
                self.check_needs(kpi)
                self._memo[kpi_id] = self._as_values(kpi, kpi.func(self))
            except KPIUnavailable as reason:
                self._memo[kpi_id] = reason
            finally:
                self._current.pop()
        result = self._memo[kpi_id]
        if isinstance(result, KPIUnavailable):
            raise KPIUnavailable(str(result))
        return result

    def note(self, text: str) -> None:
        """Attach a note to the KPI being computed (shown in the ``note`` column)."""
        if self._current:
            self._notes.setdefault(self._current[-1], []).append(text)

    def notes(self, kpi_id: str) -> str:
        """Return the notes attached to ``kpi_id`` in this period, joined."""
        return "; ".join(self._notes.get(kpi_id, []))

    def check_needs(self, kpi: KPI) -> None:
        """Raise :class:`KPIUnavailable` naming the first missing input of ``kpi``."""
        ds = self.prepared.dataset
        for need in kpi.needs:
            table, _, column = need.partition(".")
            if table == "scores":
                if self._scores is None:
                    raise KPIUnavailable(SCORES_REASON)
                if column and column not in self._scores.columns:
                    raise KPIUnavailable(f"needs column '{column}' in the scored customer table")
                continue
            frame = getattr(ds, table, None)
            if frame is None:
                raise KPIUnavailable(f"needs the {table} table, which this dataset does not have")
            if column and column not in frame.columns:
                raise KPIUnavailable(f"needs column {table}.{column}, which the data lacks")

    def _as_values(self, kpi: KPI, result: Any) -> np.ndarray:
        if isinstance(result, pd.Series):
            if not result.index.isin(self.groups).all():
                raise ValueError(
                    f"KPI '{kpi.id}' returned groups that are not in the breakdown: "
                    f"{result.index.difference(self.groups)[:3].tolist()}"
                )
            return result.reindex(self.groups).to_numpy(dtype=float)
        values = np.asarray(result, dtype=float)
        if values.ndim == 0:
            if self.n_groups != 1:
                raise ValueError(
                    f"KPI '{kpi.id}' returned one number, but the breakdown by {self.by} has "
                    f"{self.n_groups} groups; return one value per group"
                )
            return values.reshape(1)
        if values.shape != (self.n_groups,):
            raise ValueError(
                f"KPI '{kpi.id}' returned shape {values.shape}; expected ({self.n_groups},), "
                "one value per group"
            )
        return values

    # --- which groups exist at the cutoff -----------------------------------------------------
    @cached_property
    def present(self) -> np.ndarray:
        """Boolean per group: whether it exists at the cutoff (a customer, or an agent's ticket)."""
        p = self.prepared
        if p.by_name is None:
            return np.ones(1, dtype=bool)  # the company always exists
        if p.cust_group is not None:
            known = p.signup <= self._end
            return np.bincount(p.cust_group[known], minlength=self.n_groups) > 0
        out = np.zeros(self.n_groups, dtype=bool)
        rows: list[tuple[np.ndarray | None, np.ndarray, np.ndarray]] = [
            (p.ticket_group, p.t_open, p.t_cust) if p.has_tickets else (None, _EMPTY, _EMPTY)
        ]
        if p.by_name == "staff_id":  # a staff member's activities and opportunities count too
            if p.has_activities:
                rows.append((p.activity_group, p.a_at, p.a_cust))
            if p.has_opportunities:
                rows.append((p.opp_group, p.p_created, p.p_cust))
        for group, when, cust in rows:
            if group is None:
                continue
            known = (when <= self._end) & (p.signup[cust] <= self._end) & (group >= 0)
            out |= np.bincount(group[known], minlength=self.n_groups) > 0
        return out

    # --- orders -------------------------------------------------------------------------------
    def _customer_groups(self) -> np.ndarray:
        if self.prepared.cust_group is None:
            raise KPIUnavailable(
                f"not defined by {self.by}: orders, customers and surveys are not attributed "
                f"to a {self.by}"
            )
        return self.prepared.cust_group

    def _orders_between(self, start: int, end: int, kind: int) -> np.ndarray:
        p = self.prepared
        end = min(end, self._end)
        rows = np.flatnonzero((p.o_date >= start) & (p.o_date <= end) & (p.o_kind == kind))
        return rows[p.signup[p.o_cust[rows]] <= self._end]

    def _order_frame(self, kind: int) -> pd.DataFrame:
        groups = self._customer_groups()
        p = self.prepared
        rows = self._orders_between(self._start, self._end, kind)
        cust = p.o_cust[rows]
        return pd.DataFrame(
            {
                "customer": cust,
                "group": groups[cust],
                "amount": p.o_amount[rows],
                "order_date": p.o_date[rows].view("datetime64[ns]"),
            }
        )

    @cached_property
    def paid(self) -> pd.DataFrame:
        """Paid orders dated in the period."""
        return self._order_frame(_PAID)

    @cached_property
    def refunded(self) -> pd.DataFrame:
        """Refunded orders dated in the period (negative amounts)."""
        return self._order_frame(_REFUNDED)

    @cached_property
    def cancelled(self) -> pd.DataFrame:
        """Cancelled orders dated in the period."""
        return self._order_frame(_OTHER)

    @cached_property
    def active(self) -> pd.DataFrame:
        """Customers with a paid order dated in the period, with their orders and revenue."""
        groups = self._customer_groups()
        paid = self.paid
        cust, inverse, counts = np.unique(
            paid["customer"].to_numpy(), return_inverse=True, return_counts=True
        )
        revenue = np.bincount(inverse, weights=paid["amount"].to_numpy(), minlength=len(cust))
        return pd.DataFrame(
            {"customer": cust, "group": groups[cust], "orders": counts, "revenue": revenue}
        )

    @cached_property
    def previous_active(self) -> pd.DataFrame:
        """Customers with a paid order dated in the previous period; ``active`` in this one."""
        groups = self._customer_groups()
        p = self.prepared
        prev = self.previous_period
        rows = self._orders_between(int(prev.start.value), int(prev.end.value), _PAID)
        cust = np.unique(p.o_cust[rows])
        now = np.zeros(self.prepared.n_customers, dtype=bool)
        now[self.active["customer"].to_numpy()] = True
        return pd.DataFrame({"customer": cust, "group": groups[cust], "active": now[cust]})

    @cached_property
    def retention(self) -> pd.DataFrame:
        """The retention base and who of it was retained (see the module docstring).

        Contract ends decide when the customers table has ``churned_at``; else paid orders.
        """
        p = self.prepared
        if p.contract_end is None:
            before = self.previous_active
            return pd.DataFrame(
                {
                    "customer": before["customer"],
                    "group": before["group"],
                    "retained": before["active"],
                }
            )
        groups = self._customer_groups()
        start = min(int(self.previous_period.end.value), self._end)
        base = np.flatnonzero((p.signup <= start) & (p.contract_end > start))
        return pd.DataFrame(
            {
                "customer": base,
                "group": groups[base],
                "retained": p.contract_end[base] > self._end,
            }
        )

    @cached_property
    def new_customers(self) -> pd.DataFrame:
        """Customers whose first paid order ever is dated in the period."""
        groups = self._customer_groups()
        p = self.prepared
        mask = (p.first_paid >= self._start) & (p.first_paid <= self._end)
        cust = np.flatnonzero(mask & (p.signup <= self._end))
        return pd.DataFrame({"customer": cust, "group": groups[cust]})

    # --- tickets ------------------------------------------------------------------------------
    def _ticket_frame(self, rows: np.ndarray) -> pd.DataFrame:
        p = self.prepared
        opened = p.t_open[rows]
        resp, res = p.t_resp[rows], p.t_res[rows]
        responded = resp <= self._end
        resolved = res <= self._end
        return pd.DataFrame(
            {
                "customer": p.t_cust[rows],
                "group": _grouped(p.ticket_group)[rows],
                "opened_at": opened.view("datetime64[ns]"),
                "response_hours": np.where(responded, (resp - opened) / _HOUR_NS, np.nan),
                "resolution_hours": np.where(resolved, (res - opened) / _HOUR_NS, np.nan),
                "age_hours": (self._end - opened) / _HOUR_NS,
                "is_complaint": p.t_complaint[rows],
                "satisfaction": np.where(resolved, p.t_sat[rows], np.nan),
            }
        )

    def _require_tickets(self) -> None:
        if not self.prepared.has_tickets:
            raise KPIUnavailable("needs the tickets table, which this dataset does not have")

    @cached_property
    def tickets(self) -> pd.DataFrame:
        """Tickets opened in the period, as seen at the cutoff."""
        self._require_tickets()
        p = self.prepared
        rows = np.flatnonzero((p.t_open >= self._start) & (p.t_open <= self._end))
        rows = rows[(p.signup[p.t_cust[rows]] <= self._end) & (_grouped(p.ticket_group)[rows] >= 0)]
        return self._ticket_frame(rows)

    @cached_property
    def resolved_tickets(self) -> pd.DataFrame:
        """Tickets resolved in the period (whenever they were opened)."""
        self._require_tickets()
        p = self.prepared
        rows = np.flatnonzero((p.t_res >= self._start) & (p.t_res <= self._end))
        rows = rows[(p.signup[p.t_cust[rows]] <= self._end) & (p.t_open[rows] <= self._end)]
        rows = rows[_grouped(p.ticket_group)[rows] >= 0]
        return self._ticket_frame(rows)

    # --- surveys ------------------------------------------------------------------------------
    @cached_property
    def surveys(self) -> pd.DataFrame:
        """Survey answers dated in the period."""
        p = self.prepared
        if not p.has_surveys:
            raise KPIUnavailable("needs the surveys table, which this dataset does not have")
        groups = self._customer_groups()
        rows = np.flatnonzero((p.s_date >= self._start) & (p.s_date <= self._end))
        cust = p.s_cust[rows]
        rows, cust = rows[p.signup[cust] <= self._end], cust[p.signup[cust] <= self._end]
        return pd.DataFrame({"customer": cust, "group": groups[cust], "score": p.s_score[rows]})

    # --- activities and opportunities ---------------------------------------------------------
    @cached_property
    def activities(self) -> pd.DataFrame:
        """Activities dated in the period (of customers signed up by the cutoff)."""
        p = self.prepared
        if not p.has_activities:
            raise KPIUnavailable("needs the activities table, which this dataset does not have")
        rows = np.flatnonzero((p.a_at >= self._start) & (p.a_at <= self._end))
        rows = rows[
            (p.signup[p.a_cust[rows]] <= self._end) & (_grouped(p.activity_group)[rows] >= 0)
        ]
        return pd.DataFrame(
            {
                "customer": p.a_cust[rows],
                "group": _grouped(p.activity_group)[rows],
                "type": p.a_type[rows],
                "outcome": p.a_outcome[rows],
                "at": p.a_at[rows].view("datetime64[ns]"),
            }
        )

    @cached_property
    def closed_opportunities(self) -> pd.DataFrame:
        """Opportunities closed in the period, as seen at the cutoff."""
        p = self.prepared
        if not p.has_opportunities:
            raise KPIUnavailable("needs the opportunities table, which this dataset does not have")
        rows = np.flatnonzero(
            (p.p_closed >= self._start) & (p.p_closed <= self._end) & (p.p_created <= self._end)
        )
        rows = rows[(p.signup[p.p_cust[rows]] <= self._end) & (_grouped(p.opp_group)[rows] >= 0)]
        return pd.DataFrame(
            {
                "customer": p.p_cust[rows],
                "group": _grouped(p.opp_group)[rows],
                "won": p.p_won[rows],
                "stage": p.p_stage[rows],
                "cycle_days": (p.p_closed[rows] - p.p_created[rows]) / (24 * _HOUR_NS),
            }
        )

    @cached_property
    def open_complaints(self) -> pd.DataFrame:
        """Complaint tickets opened by the cutoff and not resolved at the cutoff."""
        self._require_tickets()
        p = self.prepared
        rows = np.flatnonzero((p.t_open <= self._end) & (p.t_complaint == 1.0))
        rows = rows[(p.signup[p.t_cust[rows]] <= self._end) & (p.t_res[rows] > self._end)]
        rows = rows[_grouped(p.ticket_group)[rows] >= 0]
        return pd.DataFrame({"customer": p.t_cust[rows], "group": _grouped(p.ticket_group)[rows]})

    @cached_property
    def at_risk(self) -> pd.DataFrame:
        """Customers becoming at risk in the period, once per time, and their follow-up.

        A customer becomes at risk at ``t + windows.at_risk_days`` after a paid order at ``t``
        when no paid order follows within those days, and that moment falls in the period.
        ``followed`` is 1.0 with an activity of the customer in ``[at_risk_at, at_risk_at +
        windows.follow_up_days]`` by the cutoff, 0.0 without one when the window has ended by the
        cutoff, NaN while it is still open at the cutoff.
        """
        p = self.prepared
        if not p.has_activities:
            raise KPIUnavailable("needs the activities table, which this dataset does not have")
        groups = self._customer_groups()
        cust, lapse = p.lapses
        lo = np.searchsorted(lapse, self._start, side="left")
        hi = np.searchsorted(lapse, self._end, side="right")
        cust, lapse = cust[lo:hi], lapse[lo:hi]
        known = p.signup[cust] <= self._end
        cust, lapse = cust[known], lapse[known]
        window = lapse + int(p.windows.follow_up_days * 24 * _HOUR_NS)
        first = p.activity_times.first(cust, lapse, strictly_after=False)
        first = np.where(first <= self._end, first, _NEVER)  # not yet happened at the cutoff
        followed = np.where(first <= window, 1.0, np.where(window <= self._end, 0.0, np.nan))
        return pd.DataFrame(
            {
                "customer": cust,
                "group": groups[cust],
                "at_risk_at": lapse.view("datetime64[ns]"),
                "followed": followed,
            }
        )

    @cached_property
    def inquiries(self) -> pd.DataFrame:
        """Inquiry tickets opened in the period and whether a paid order followed.

        An inquiry: category in :data:`INQUIRY_CATEGORIES` (any case) and not a complaint.
        ``converted`` is 1.0 with a paid order of the customer after the opening and within
        ``windows.inquiry_order_days`` by the cutoff, 0.0 without one when that window has ended
        by the cutoff, NaN while it is open.
        """
        self._require_tickets()
        p = self.prepared
        if p.t_category is None:
            raise KPIUnavailable("needs column tickets.category, which the data lacks")
        rows = np.flatnonzero((p.t_open >= self._start) & (p.t_open <= self._end))
        rows = rows[p.signup[p.t_cust[rows]] <= self._end]
        rows = rows[p.t_inquiry[rows] & (_grouped(p.ticket_group)[rows] >= 0)]
        opened = p.t_open[rows]
        window = opened + int(p.windows.inquiry_order_days * 24 * _HOUR_NS)
        nxt = self.next_paid_order(p.t_cust[rows], opened)
        converted = np.where(nxt <= window, 1.0, np.where(window <= self._end, 0.0, np.nan))
        return pd.DataFrame(
            {
                "customer": p.t_cust[rows],
                "group": _grouped(p.ticket_group)[rows],
                "converted": converted,
            }
        )

    def next_paid_order(self, customer: np.ndarray, after: np.ndarray) -> np.ndarray:
        """Return the date (int64 ns) of each customer's first paid order after ``after``.

        Only orders dated by the cutoff count; where there is none the value is a time after
        everything (compare it with a window's end).
        """
        nxt = self.prepared.paid_times.first(customer, after, strictly_after=True)
        return np.where(nxt <= self._end, nxt, _NEVER)

    # --- model scores -------------------------------------------------------------------------
    @cached_property
    def scored(self) -> pd.DataFrame:
        """Customers signed up by the cutoff that have a score, with ``clv`` and churn."""
        if self._scores is None:
            raise KPIUnavailable(SCORES_REASON)
        groups = self._customer_groups()
        scores = self._scores
        if not scores.index.is_unique:
            dup = scores.index[scores.index.duplicated()][0]
            raise ValueError(f"scores: customer_id '{dup}' appears more than once in the index")
        p = self.prepared
        pos = _codes(scores.index.to_series(), self.customer_ids)
        ok = pos >= 0
        cust = pos[ok]
        known = p.signup[cust] <= self._end
        cust = cust[known]
        out = {"customer": cust, "group": groups[cust]}
        for column in ("clv", "churn_probability"):
            if column in scores.columns:
                values = pd.to_numeric(scores[column], errors="coerce").to_numpy(dtype=float)
                out[column] = values[ok][known]
        if "churn_probability" in out:
            prob = out["churn_probability"]
            if ((prob < 0) | (prob > 1)).any():
                raise ValueError("scores: churn_probability must lie in [0, 1]")
        active = np.zeros(p.n_customers, dtype=bool)
        active[self.active["customer"].to_numpy()] = True
        out["active"] = active[cust]
        return pd.DataFrame(out)

    def __repr__(self) -> str:
        """Show the period, the breakdown and the cutoff."""
        by = f", by={self.by}" if self.by else ""
        return f"KPIContext({self.period.label}{by}, cutoff={self.cutoff})"
