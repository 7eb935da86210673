"""Is an analysis available for the data, and if not, why: the verdicts and the data checks.

Every section of the periodic report needs some inputs: a table (tickets, surveys, staff,
targets, assessments), a column (``customers.owner_id``), or enough history (repeat buyers for
the lifetime-value models, months of orders for a churn backtest). Each check returns a
:class:`Check` with the verdict and the fact behind it; an analysis that cannot run returns
the check's :class:`Unavailable` instead of a result. The checks that read only the data live
here; those that need an analysis's own rules live with it (the churn windows:
:mod:`cpm_analysis.churn.sufficiency`). :func:`cpm_analysis.pipeline.availability.checks` lists
them all in the order of page 01's "What the data allows", so that page 01 and the pages
cannot disagree; the report's helpers that render an :class:`Unavailable` in a chart or a
section are in :mod:`cpm_analysis.report.availability`.

An :class:`Unavailable` is shown on the page as one sentence saying what the section needs,
the first time it is displayed; the cells that follow it in the section (a chart, a table)
show nothing. It stands in for the missing result: reading an attribute, an item or calling it
gives the same object, so a notebook cell such as ``ctx.show(result.drivers().head(12))``
needs no branch.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(200, seed=1).to_dataset().as_of("2024-06")
>>> check = owners(ds)
>>> check.available
True
>>> missing = Check("Service KPIs", False, "tickets", "no tickets table").missing()
>>> missing.text
'Service KPIs are not available: no tickets table.'
>>> missing.report.loc["total"] is missing
True
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis.data import Dataset
from cpm_analysis.data import orders as orders_rule
from cpm_analysis.data.schema import EVENT_DATE
from cpm_analysis.i18n import M_, shown
from cpm_analysis.periods import Instant, Period

if TYPE_CHECKING:
    pass

MIN_REPEAT_BUYERS = 20
"""Customers with a repeat purchase needed to fit the purchase (BG/NBD) model."""


MIN_CLUSTER_BUYERS = 50
"""Buyers needed for the behavioural clusters."""


CALIBRATION_WEEKS = 26
"""Length of the holdout of the lifetime-value calibration check."""


class Unavailable:
    """A section result that could not be computed, with the one sentence saying why.

    Displayed (in a notebook) as that sentence, once: later displays of the same object show
    nothing, so a section with a verdict, a chart and a table states its reason one time.
    Attribute access, indexing and calls return the object itself, so the cells of a section
    need no branch. It is falsy and ``available`` is ``False``.

    Examples
    --------
    >>> gone = Unavailable("The churn backtest is not available: one year of orders.")
    >>> bool(gone), gone.available, gone.predictions is gone, gone.drivers().head(3) is gone
    (False, False, True, True)
    >>> list(gone.index), [n for n in gone.drivers().index]
    ([], [])
    >>> gone._repr_markdown_()[:25]
    '*The churn backtest is no'
    >>> gone._repr_markdown_()
    ''
    """

    available = False

    def __init__(self, text: str) -> None:
        self.text = text
        self.shown = False

    def __repr__(self) -> str:
        """Show the reason."""
        return f"Unavailable({self.text!r})"

    def __bool__(self) -> bool:
        """Be false, so that ``if value:`` skips what is not available."""
        return False

    def __getattr__(self, name: str) -> Any:
        """Return itself for any public attribute, so chained calls stay unavailable."""
        if name.startswith("_"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> Unavailable:
        """Return itself for any key."""
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Unavailable:
        """Return itself for any call."""
        return self

    def __iter__(self) -> Iterator[Any]:
        """Yield nothing: without this, iteration would index ``self[0]``, ``self[1]``, ... forever."""
        return iter(())

    def _repr_markdown_(self) -> str:
        if self.shown:
            return ""
        self.shown = True
        return f"*{_escape_markdown(shown(self.text))}*"

    def display(self) -> None:
        """Show the sentence now (once), e.g. from a cell whose value is assigned."""
        from IPython.display import Markdown, display

        text = self._repr_markdown_()
        if text:
            display(Markdown(text))


def _escape_markdown(text: str) -> str:
    import html

    escaped = html.escape(text, quote=False)
    for char in "\\`*_[]#|":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


@dataclass(frozen=True)
class Check:
    """The verdict of one check: is ``analysis`` available, what it needs, and the fact behind.

    Examples
    --------
    >>> Check("NPS", False, "surveys", "no surveys table").sentence
    'NPS is not available: no surveys table.'
    """

    analysis: str
    available: bool
    needs: str
    detail: str

    @property
    def sentence(self) -> str:
        """One sentence: the detail when available, what is missing otherwise."""
        if self.available:
            return M_("%(analysis)s: %(detail)s.", analysis=self.analysis, detail=self.detail)
        words = self.analysis.split()
        plural = " and " in self.analysis or words[0].endswith("s") or words[-1].endswith("s")
        if plural:
            return M_(
                "%(analysis)s are not available: %(detail)s.",
                analysis=self.analysis,
                detail=self.detail,
            )
        return M_(
            "%(analysis)s is not available: %(detail)s.", analysis=self.analysis, detail=self.detail
        )

    def missing(self) -> Unavailable:
        """Return the :class:`Unavailable` a page shows when this check fails."""
        return Unavailable(self.sentence)


# ``value`` may be anything (a table cell, a fit statistic): float() is tried on it at run time.
def finite(value: Any) -> bool:
    """Whether ``value`` is a finite number (not None, NaN or infinite).

    Examples
    --------
    >>> finite(1.0), finite(float("nan")), finite(float("-inf")), finite(None)
    (True, False, False, False)
    """
    try:
        return value is not None and bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


# --- facts ------------------------------------------------------------------------------------


def paid_orders(view: Dataset) -> pd.DataFrame:
    """Return the paid orders of the view (:func:`cpm_analysis.data.paid_orders`).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(50, seed=1).to_dataset()
    >>> len(paid_orders(ds)) <= len(ds.orders)
    True
    """
    return orders_rule.paid_orders(view.orders)


# The cutoffs of these facts and checks are read with pd.Timestamp (not periods.to_cutoff), so
# they are instants or dates, not the Cutoff alias (a Period is not accepted).
def history_days(view: Dataset, cutoff: Instant) -> int:
    """Days from the first order to ``cutoff`` (0 without orders).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> history_days(generate(50, seed=1).to_dataset(), "2025-06-30") > 365
    True
    """
    first = view.orders["order_date"].min() if len(view.orders) else pd.NaT
    if pd.isna(first):
        return 0
    return max(int((pd.Timestamp(cutoff) - first).days), 0)


def repeat_buyers(view: Dataset, cutoff: Instant) -> int:
    """Count the customers with a repeat purchase by ``cutoff``, as the purchase model counts them.

    A repeat purchase is a paid order on a later calendar day than the first one (the
    ``frequency > 0`` of :func:`cpm_analysis.clv.rfm_summary`).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> repeat_buyers(generate(200, seed=1).to_dataset(), "2025-06-30") > 20
    True
    """
    orders = paid_orders(view)
    end = pd.Timestamp(cutoff)
    orders = orders.loc[(orders["order_date"] <= end).to_numpy(dtype=bool)]
    if not len(orders):
        return 0
    days = orders[["customer_id"]].assign(day=orders["order_date"].dt.normalize())
    distinct = days.drop_duplicates().groupby("customer_id", observed=True).size()
    return int((distinct > 1).sum())


def buyers(view: Dataset, cutoff: Instant) -> int:
    """Count the customers with an order by ``cutoff``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> buyers(generate(100, seed=1).to_dataset(), "2025-06-30") > 0
    True
    """
    orders = view.orders
    mask = (orders["order_date"] <= pd.Timestamp(cutoff)).to_numpy(dtype=bool)
    return int(orders.loc[mask, "customer_id"].nunique())


# --- checks -----------------------------------------------------------------------------------


def sales(view: Dataset, period: Period) -> Check:
    """Orders dated in the period (sales KPIs, the forecast check's actual purchases)."""
    n = int(period.contains(view.orders["order_date"]).sum())
    if n:
        return Check(
            M_("Sales KPIs"),
            True,
            M_("orders"),
            M_("%(n)s orders in %(period)s", n=f"{n:,}", period=period.label),
        )
    return Check(
        M_("Sales KPIs"), False, M_("orders"), M_("no orders in %(period)s", period=period.label)
    )


def lifetime_value(view: Dataset, cutoff: Instant) -> Check:
    """Enough repeat buyers at ``cutoff`` to fit BG/NBD and Gamma-Gamma (as the scoring does).

    The days of history are stated; a short history is no reason on its own to leave the
    models out (the fits say when they cannot pin the parameters down).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> lifetime_value(generate(300, seed=1).to_dataset(), "2025-06-30").available
    True
    """
    days, repeat = history_days(view, cutoff), repeat_buyers(view, cutoff)
    needs = M_("orders: %(n)s+ repeat buyers", n=MIN_REPEAT_BUYERS)
    detail = M_(
        "%(days)s days of history, %(repeat)s repeat buyers", days=f"{days:,}", repeat=f"{repeat:,}"
    )
    ok = repeat >= MIN_REPEAT_BUYERS
    if not ok:
        detail = M_(
            "%(detail)s (needs %(n)s customers who bought on two days or more)",
            detail=detail,
            n=MIN_REPEAT_BUYERS,
        )
    return Check(M_("Lifetime value and P(alive)"), ok, needs, detail)


def calibration(view: Dataset, cutoff: Instant, weeks: int = CALIBRATION_WEEKS) -> Check:
    """Enough repeat buyers before the holdout for the lifetime-value calibration check.

    No minimum history: a model fitted on a short calibration window is what the check tests
    (its holdout error shows how far such a model can be trusted).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> calibration(generate(300, seed=1).to_dataset(), "2025-06-30").available
    True
    """
    end = pd.Timestamp(cutoff) - pd.Timedelta(weeks=weeks)
    repeat = repeat_buyers(view, end)
    ok = repeat >= MIN_REPEAT_BUYERS
    detail = M_(
        "%(repeat)s repeat buyers before %(date)s", repeat=f"{repeat:,}", date=f"{end:%Y-%m-%d}"
    )
    if not ok:
        detail = M_(
            "%(detail)s (needs %(n)s before a %(weeks)s-week holdout)",
            detail=detail,
            n=MIN_REPEAT_BUYERS,
            weeks=weeks,
        )
    return Check(
        M_("The lifetime-value holdout check"),
        ok,
        M_("orders before a %(weeks)s-week holdout", weeks=weeks),
        detail,
    )


def clusters(view: Dataset, cutoff: Instant) -> Check:
    """Enough buyers for the behavioural clusters."""
    n = buyers(view, cutoff)
    if n >= MIN_CLUSTER_BUYERS:
        return Check(M_("Behavioural clusters"), True, M_("orders"), M_("%(n)s buyers", n=f"{n:,}"))
    return Check(
        M_("Behavioural clusters"),
        False,
        M_("%(n)s+ buyers", n=MIN_CLUSTER_BUYERS),
        M_("%(n)s buyers (needs %(needed)s)", n=f"{n:,}", needed=MIN_CLUSTER_BUYERS),
    )


def migration(view: Dataset, period: Period) -> Check:
    """Buyers at the end of the previous period, to compare segments with."""
    previous = period.previous()
    n = buyers(view, previous.end)
    if n:
        return Check(
            M_("Segment migration"),
            True,
            M_("orders"),
            M_("%(n)s buyers by end of %(period)s", n=f"{n:,}", period=previous.label),
        )
    return Check(
        M_("Segment migration"),
        False,
        M_("orders before the period"),
        M_("no orders before %(period)s", period=period.label),
    )


def forecast(view: Dataset, period: Period) -> Check:
    """Repeat buyers at the end of the previous period, whose forecast this period checks."""
    previous = period.previous()
    repeat = repeat_buyers(view, previous.end)
    ok = repeat >= MIN_REPEAT_BUYERS
    detail = M_(
        "%(repeat)s repeat buyers by the end of %(period)s",
        repeat=f"{repeat:,}",
        period=previous.label,
    )
    if not ok:
        detail = M_("%(detail)s (needs %(n)s)", detail=detail, n=MIN_REPEAT_BUYERS)
    return Check(M_("The forecast check"), ok, M_("orders before the period"), detail)


def owners(view: Dataset) -> Check:
    """Check that customers have an account owner (``customers.owner_id``).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> owners(generate(100, seed=1).to_dataset()).detail
    '4 account owners'
    """
    customers = view.customers
    n = int(customers["owner_id"].nunique()) if "owner_id" in customers.columns else 0
    if n:
        return Check(
            M_("Account owner books"),
            True,
            "customers.owner_id",
            M_("%(n)s account owners", n=f"{n:,}"),
        )
    reason = (
        M_("the customers table has no owner_id column, so there are no account owners")
        if "owner_id" not in customers.columns
        else M_("the customers table has owner_id is empty, so there are no account owners")
    )
    return Check(M_("Account owner books"), False, "customers.owner_id", reason)


def agents(view: Dataset, period: Period, owner: str | None = None) -> Check:
    """Tickets with an ``agent_id`` (the service agent scorecard), on the company's pages only.

    An account owner's book holds only the tickets of the owner's customers, a part of each
    agent's work, so agents are judged on the company report.
    """
    if owner:
        return Check(
            M_("Agent scorecards"),
            False,
            "tickets.agent_id",
            M_(
                "agents are judged on the company report only: this book holds just the tickets "
                "of this owner's customers, part of each agent's work"
            ),
        )
    tickets, what = view.tickets, M_("Agent scorecards")
    if tickets is None:
        return Check(what, False, "tickets.agent_id", M_("the data has no tickets table"))
    if "agent_id" not in tickets.columns or tickets["agent_id"].isna().all():
        return Check(what, False, "tickets.agent_id", M_("the tickets have no agent_id"))
    return Check(what, True, "tickets.agent_id", M_("tickets with agents"))


def table(view: Dataset, name: str, analysis: str, period: Period) -> Check:
    """Check that an optional table is present (with rows in the period when it is dated).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(100, seed=1).to_dataset().as_of("2024-06")
    >>> table(ds, "surveys", "NPS", parse_period("2024-06")).available
    True
    """
    frame = getattr(view, name)
    if frame is None:
        return Check(analysis, False, name, M_("the data has no %(table)s table", table=name))
    if name in EVENT_DATE:
        n = int(period.contains(frame[EVENT_DATE[name]]).sum())
        nouns = {
            "tickets": M_("tickets opened"),
            "surveys": M_("survey answers"),
            "activities": M_("activities"),
            "opportunities": M_("opportunities"),
        }
        noun = nouns.get(name, M_("records"))
        if n == 0:
            return Check(
                analysis,
                False,
                name,
                M_("no %(noun)s in %(period)s", noun=noun, period=period.label),
            )
        return Check(
            analysis,
            True,
            name,
            M_("%(n)s %(noun)s in %(period)s", n=f"{n:,}", noun=noun, period=period.label),
        )
    if not len(frame):
        return Check(analysis, False, name, M_("the %(table)s table has no rows", table=name))
    return Check(analysis, True, name, M_("%(n)s rows", n=f"{len(frame):,}"))


def targets(view: Dataset, period: Period) -> Check:
    """Targets set for the period (the SMART goals of the scorecard)."""
    frame = view.targets
    if frame is None:
        return Check(M_("SMART goals"), False, "targets", M_("the data has no targets table"))
    n = int((frame["period"] == period.label).sum())
    if not n:
        return Check(
            M_("SMART goals"),
            False,
            M_("targets for the period"),
            M_("no targets set for %(period)s", period=period.label),
        )
    return Check(
        M_("SMART goals"),
        True,
        M_("targets for the period"),
        M_("%(n)s targets for %(period)s", n=f"{n:,}", period=period.label),
    )


# --- the scored table --------------------------------------------------------------------------


COLUMN_NEEDS = {
    "owner_id": M_("the customers have no owner_id, so there are no account owners"),
    "clv": M_(
        "the lifetime-value models were not fitted for this period (see What the data "
        "allows on the data-quality page)"
    ),
    "expected_loss": M_(
        "the expected loss is the churn probability times the lifetime value, "
        "which was not fitted for this period"
    ),
    "churn_probability": M_(
        "the churn model was not trained for this period (see What the data "
        "allows on the data-quality page)"
    ),
}
"""Why a column of the scored table is missing, as the pages say it."""


def column_label(column: str) -> str:
    """Name a column of the scored table for a sentence.

    Examples
    --------
    >>> column_label("owner_id"), column_label("expected_loss")
    ('account owner', 'expected loss')
    """
    known = {"owner_id": M_("account owner"), "clv": "CLV", "segment": M_("segment")}
    return known.get(column, column.replace("_", " "))


def missing_columns(
    scored: pd.DataFrame, columns: tuple[str, ...], what: str
) -> Unavailable | None:
    """Return why ``what`` cannot be shown when the scored table lacks one of ``columns``.

    ``None`` when every column is there with a value; else the :class:`Unavailable` of the
    first missing one, with the reason of :data:`COLUMN_NEEDS`.

    Examples
    --------
    >>> missing_columns(pd.DataFrame({"clv": [1.0]}), ("clv",), "CLV by segment") is None
    True
    >>> missing_columns(pd.DataFrame({"clv": [1.0]}), ("owner_id",), "CLV by owner").text[:40]
    'CLV by owner is not available: the custo'
    """
    for column in columns:
        if column not in scored.columns or not scored[column].notna().any():
            reason = COLUMN_NEEDS.get(column) or M_(
                "the scored table has no %(column)s", column=column
            )
            return Check(what, False, column, reason).missing()
    return None


def check_positive(name: str, value: object) -> None:
    """Raise ``ValueError`` naming the parameter unless ``value`` is a positive integer.

    Examples
    --------
    >>> check_positive("n", 0)
    Traceback (most recent call last):
    ...
    ValueError: n: expected a positive integer, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
