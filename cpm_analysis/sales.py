"""The sales page's tables: the opportunity funnel, the sales cycle, win rate by owner, team roll-ups.

Every table reads the opportunities closed in the period exactly as the KPIs do (the rows of
:attr:`cpm_analysis.kpis.context.KPIContext.closed_opportunities`: ``closed_at`` in the
period, ``created_at`` by the cutoff, of customers signed up by the cutoff), each counted for
the staff member in its ``owner_id``:

- :func:`funnel`: of the opportunities closed in the period, how many reached each stage
  (``stage`` is the furthest stage reached, in the order of
  :data:`~cpm_analysis.data.schema.OPPORTUNITY_STAGES`) and the conversion from the stage
  before (``reached`` of the stage / ``reached`` of the one before: the KPI
  ``conversion_to_<stage>``), and how many were won;
- :func:`sales_cycle`: days from ``created_at`` to ``closed_at`` (count, mean, quartiles),
  for all, won and not won (lost) opportunities;
- :func:`owner_sales`: by owner, opportunities closed, won, the win rate (won / closed with a
  known ``won``: the KPI ``opportunity_win_rate``) and the mean and median sales cycle (the
  mean is the KPI ``sales_cycle_days``);
- :func:`team_rollups`: each manager's whole team and the team of each direct report
  (:func:`cpm_analysis.org.manager_rollup`), one row per (manager, member), one column per KPI;
- :func:`sales_tables`: all of them for a period, each a table or the sentence saying what the
  data lacks (:class:`~cpm_analysis.availability.Unavailable`).

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(300, seed=1).to_dataset()
>>> table = funnel(ds, "2025-06")
>>> table.index.tolist()
['lead', 'qualified', 'proposal', 'negotiation', 'closed']
>>> bool(table["reached"].is_monotonic_decreasing)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis.availability import Check, Unavailable
from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.schema import OPPORTUNITY_STAGES
from cpm_analysis.i18n import M_, N_
from cpm_analysis.kpis.context import PreparedData
from cpm_analysis.kpis.registry import KPIUnavailable
from cpm_analysis.periods import Period, parse_period

if TYPE_CHECKING:
    from cpm_analysis.config import WindowsConfig

STAGE_WORDS = (N_("lead"), N_("qualified"), N_("proposal"), N_("negotiation"), N_("closed"))
"""The funnel's stages (:data:`~cpm_analysis.data.schema.OPPORTUNITY_STAGES`), marked for the
catalogue: the page shows them translated."""

OUTCOMES = (N_("all"), N_("won"), N_("not won"))
"""The rows of :func:`sales_cycle`."""

SALES_ROLLUP_KPIS = (
    "revenue",
    "active_customers",
    "retention_rate",
    "opportunity_win_rate",
    "sales_cycle_days",
    "visit_success_rate",
    "at_risk_follow_up_rate",
)
"""The KPIs of the sales roll-up (the book view: the team's customers)."""

SERVICE_ROLLUP_KPIS = (
    "tickets",
    "sla_compliance",
    "csat",
    "complaint_resolution_hours",
    "inquiry_conversion",
)
"""The KPIs of the service roll-up (the work view: the tickets the team handled)."""


def closed_opportunities(dataset: Dataset, period: str | Period) -> pd.DataFrame:
    """Return the opportunities closed in ``period`` as the KPIs see them, with their owner.

    Returns
    -------
    DataFrame
        One row per opportunity: ``owner_id``, ``stage`` (name, or missing when unknown),
        ``stage_index`` (position in the funnel, -1 when unknown), ``won`` (1.0, 0.0, NaN
        when unknown) and ``cycle_days``.

    Raises
    ------
    KPIUnavailable
        Without an opportunities table.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> rows = closed_opportunities(generate(300, seed=1).to_dataset(), "2025-06")
    >>> rows.columns.tolist()
    ['owner_id', 'stage', 'stage_index', 'won', 'cycle_days']
    """
    if getattr(dataset, "opportunities", None) is None:
        raise KPIUnavailable("needs the opportunities table, which this dataset does not have")
    ctx = PreparedData(dataset, by="staff_id").context(parse_period(period))
    rows = ctx.closed_opportunities
    index = rows["stage"].to_numpy(dtype=np.int64)
    names = np.asarray(OPPORTUNITY_STAGES, dtype=object)
    return pd.DataFrame(
        {
            "owner_id": np.asarray(ctx.groups, dtype=object)[rows["group"].to_numpy()],
            "stage": np.where(index >= 0, names[np.clip(index, 0, None)], None),
            "stage_index": index,
            "won": rows["won"].to_numpy(dtype=float),
            "cycle_days": rows["cycle_days"].to_numpy(dtype=float),
        }
    )


def _rows(dataset: Dataset | pd.DataFrame, period: str | Period | None) -> pd.DataFrame:
    if isinstance(dataset, pd.DataFrame):
        return dataset
    if period is None:
        raise ValueError("period: needed with a dataset")
    return closed_opportunities(dataset, period)


def funnel(dataset: Dataset | pd.DataFrame, period: str | Period | None = None) -> pd.DataFrame:
    """Count the funnel of the opportunities closed in ``period``: reached, conversion, won.

    Parameters
    ----------
    dataset : Dataset or DataFrame
        The data, or the rows of :func:`closed_opportunities`.
    period : str or Period
        The period (with a dataset).

    Returns
    -------
    DataFrame
        Indexed by stage, in funnel order: ``reached`` (closed opportunities whose furthest
        stage is this one or later), ``conversion`` (``reached`` / ``reached`` of the stage
        before; NaN for the first stage or when none reached the stage before),
        ``share_of_leads`` (``reached`` / all closed with a known stage) and ``won`` (won
        among those that reached the stage).

    Examples
    --------
    >>> rows = pd.DataFrame({"stage_index": [0, 1, 4, 4], "won": [0.0, 0.0, 1.0, 0.0]})
    >>> funnel(rows)["reached"].tolist()
    [4, 3, 2, 2, 2]
    >>> funnel(rows)["conversion"].round(2).tolist()[1:]
    [0.75, 0.67, 1.0, 1.0]
    """
    rows = _rows(dataset, period)
    stage = rows["stage_index"].to_numpy(dtype=np.int64)
    won = rows["won"].to_numpy(dtype=float) == 1.0
    steps = np.arange(len(OPPORTUNITY_STAGES))
    reached_mask = stage[None, :] >= steps[:, None]  # stages x opportunities
    reached = reached_mask.sum(axis=1)
    before = np.concatenate([[np.nan], reached[:-1].astype(float)])
    with np.errstate(invalid="ignore", divide="ignore"):
        conversion = np.where(before > 0, reached / before, np.nan)
    known = int((stage >= 0).sum())
    return pd.DataFrame(
        {
            "reached": reached.astype(np.int64),
            "conversion": conversion,
            "share_of_leads": reached / known if known else np.full(len(steps), np.nan),
            "won": (reached_mask & won[None, :]).sum(axis=1).astype(np.int64),
        },
        index=pd.Index(list(OPPORTUNITY_STAGES), name="stage"),
    )


def _cycle_stats(days: pd.Series) -> dict[str, float]:
    days = days.dropna()
    return {
        "opportunities": int(len(days)),
        "mean_days": float(days.mean()) if len(days) else np.nan,
        "median_days": float(days.median()) if len(days) else np.nan,
        "p25_days": float(days.quantile(0.25)) if len(days) else np.nan,
        "p75_days": float(days.quantile(0.75)) if len(days) else np.nan,
    }


def sales_cycle(
    dataset: Dataset | pd.DataFrame, period: str | Period | None = None
) -> pd.DataFrame:
    """Summarise the sales cycle of the opportunities closed in ``period`` (days to close).

    Returns
    -------
    DataFrame
        Indexed by ``outcome`` (``all``, ``won``, ``not won``; an opportunity with an unknown
        ``won`` counts in ``all`` only): ``opportunities``, ``mean_days`` (over all: the KPI
        ``sales_cycle_days``), ``median_days``, ``p25_days`` and ``p75_days``.

    Examples
    --------
    >>> rows = pd.DataFrame({"won": [1.0, 0.0, 0.0, np.nan], "cycle_days": [10.0, 20, 40, 30]})
    >>> sales_cycle(rows)["mean_days"].tolist()
    [25.0, 10.0, 30.0]
    """
    rows = _rows(dataset, period)
    days = pd.Series(rows["cycle_days"].to_numpy(dtype=float))
    won = rows["won"].to_numpy(dtype=float)
    table = pd.DataFrame.from_dict(
        {
            "all": _cycle_stats(days),
            "won": _cycle_stats(days[won == 1.0]),
            "not won": _cycle_stats(days[won == 0.0]),
        },
        orient="index",
    )
    table["opportunities"] = table["opportunities"].astype(np.int64)
    table.index.name = "outcome"
    return table


def owner_sales(
    dataset: Dataset | pd.DataFrame, period: str | Period | None = None
) -> pd.DataFrame:
    """Win rate and sales cycle by opportunity owner, over the opportunities closed in ``period``.

    Returns
    -------
    DataFrame
        Indexed by ``owner_id`` (owners with a closed opportunity), ordered by win rate (best
        first): ``closed``, ``won``, ``win_rate`` (won / closed with a known ``won``),
        ``mean_days`` and ``median_days`` of the cycle.

    Examples
    --------
    >>> rows = pd.DataFrame({"owner_id": ["a", "a", "b"], "won": [1.0, 0.0, 1.0],
    ...                      "cycle_days": [10.0, 30.0, 5.0]})
    >>> owner_sales(rows)[["closed", "win_rate", "mean_days"]].values.tolist()
    [[1.0, 1.0, 5.0], [2.0, 0.5, 20.0]]
    """
    rows = _rows(dataset, period)
    won = rows["won"].astype(float)
    grouped = pd.DataFrame(
        {
            "owner_id": rows["owner_id"].astype("str").to_numpy(),
            "won": won.to_numpy(),
            "won_count": (won == 1.0).to_numpy(dtype=np.int64),
            "cycle_days": rows["cycle_days"].astype(float).to_numpy(),
        }
    ).groupby("owner_id", sort=True)
    table = pd.DataFrame(
        {
            "closed": grouped.size(),
            "won": grouped["won_count"].sum(),
            "win_rate": grouped["won"].mean(),  # NaN won left out, as the KPI
            "mean_days": grouped["cycle_days"].mean(),
            "median_days": grouped["cycle_days"].median(),
        }
    )
    return table.sort_values("win_rate", ascending=False, kind="stable", na_position="last")


def rollup_table(rollup: pd.DataFrame) -> pd.DataFrame:
    """Pivot :func:`cpm_analysis.org.manager_rollup` to one row per (manager, member).

    The columns are the KPIs (their ids, in the roll-up's order); the ``member``
    :data:`cpm_analysis.org.TEAM` row is the manager's whole team.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_tuples([("m", "(team)", "revenue"), ("m", "a", "revenue")],
    ...                                 names=["manager", "member", "kpi"])
    >>> rollup_table(pd.DataFrame({"value": [3.0, 1.0]}, index=idx)).values.tolist()
    [[3.0], [1.0]]
    """
    kpis = list(dict.fromkeys(rollup.index.get_level_values("kpi")))
    wide = rollup["value"].unstack("kpi")
    order = list(
        dict.fromkeys(zip(*(rollup.index.get_level_values(i) for i in (0, 1)), strict=True))
    )
    wide = wide.reindex(pd.MultiIndex.from_tuples(order, names=["manager", "member"]))
    return wide[kpis].rename_axis(columns=None)


def team_rollups(
    dataset: Dataset,
    period: str | Period,
    *,
    sla_hours: float | None = None,
    windows: WindowsConfig | None = None,
) -> dict[str, Any]:
    """Roll the sales (book) and service (work) KPIs up to every manager, as tables.

    Returns
    -------
    dict
        ``"sales"``: :data:`SALES_ROLLUP_KPIS` over each team's customers; ``"service"``:
        :data:`SERVICE_ROLLUP_KPIS` over the tickets each team handled; each a
        :func:`rollup_table`, or the :class:`~cpm_analysis.availability.Unavailable`
        sentence when the data has no reporting lines (no staff table, no
        ``staff.manager_id``, nobody with a report, or customers without ``owner_id`` for
        the sales view). Managers whose whole team has no rows in the view (every KPI of the
        team is zero or not defined: a service team in the sales view) are left out.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> tables = team_rollups(generate(300, seed=1).to_dataset(), "2025-06")
    >>> tables["sales"].index.names
    FrozenList(['manager', 'member'])
    """
    from cpm_analysis.org import TEAM, manager_rollup

    period = parse_period(period)
    out: dict[str, Any] = {}
    staff = dataset.staff
    if staff is None or "manager_id" not in staff.columns:
        text = M_(
            "Team roll-ups are not available: they need a staff table with manager_id "
            "(the reporting lines)."
        )
        return {"sales": Unavailable(text), "service": Unavailable(text)}
    for name, kpis, view in (
        ("sales", SALES_ROLLUP_KPIS, "book"),
        ("service", SERVICE_ROLLUP_KPIS, "work"),
    ):
        try:
            rollup = manager_rollup(
                dataset,
                period,
                kpis=kpis,
                view=view,  # type: ignore[arg-type]
                sla_hours=sla_hours,
                windows=windows,
            )
        except ValueError as err:  # no reporting lines or no owners: say so
            out[name] = Unavailable(f"The {name} roll-up is not available: {err}.")
            continue
        table = rollup_table(rollup)
        # a manager whose team has none of the view's rows (a service team in the sales view):
        # every KPI of the whole team is zero or not defined
        whole = table.xs(TEAM, level="member").astype(float)
        keep = whole.index[(whole.fillna(0).to_numpy() != 0).any(axis=1)]
        table = table.loc[table.index.get_level_values("manager").isin(keep)]
        if not len(table):
            table = Unavailable(f"The {name} roll-up is not available: no team has rows in it.")
        out[name] = table
    return out


def opportunity_check(dataset: Dataset, period: Period, rows: pd.DataFrame | None = None) -> Check:
    """Whether the funnel and the sales cycle can be shown: opportunities closed in the period.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> opportunity_check(generate(300, seed=1).to_dataset(), parse_period("2025-06")).available
    True
    """
    what, needs = M_("The opportunity funnel and sales cycle"), "opportunities.stage, closed_at"
    table = getattr(dataset, "opportunities", None)
    if table is None:
        return Check(what, False, needs, M_("the data has no opportunities table"))
    lacking = [c for c in ("stage", "closed_at") if c not in table.columns]
    if lacking:
        return Check(
            what,
            False,
            needs,
            M_("the opportunities table has no %(columns)s", columns=", ".join(lacking)),
        )
    n = len(closed_opportunities(dataset, period) if rows is None else rows)
    if not n:
        return Check(
            what, False, needs, M_("no opportunity was closed in %(period)s", period=period.label)
        )
    return Check(
        what,
        True,
        needs,
        M_("%(n)s opportunities closed in %(period)s", n=f"{n:,}", period=period.label),
    )


def sales_tables(
    dataset: Dataset,
    period: str | Period,
    *,
    sla_hours: float | None = None,
    rollups: bool = True,
    windows: WindowsConfig | None = None,
) -> dict[str, Any]:
    """Every table of the sales sections for ``period`` (see the module docstring).

    Returns
    -------
    dict
        ``"funnel"``, ``"cycle"``, ``"owners"`` (each a table, or the sentence saying the data
        has no opportunities or no ``closed_at``), ``"closed"`` (the rows behind them, for the
        charts) and, with ``rollups``, the two roll-ups ``"sales_rollup"`` and
        ``"service_rollup"``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from dataclasses import replace
    >>> ds = replace(generate(300, seed=1).to_dataset(), opportunities=None)
    >>> sales_tables(ds, "2025-06")["funnel"].text
    'The opportunity funnel and sales cycle are not available: the data has no opportunities table.'
    """
    period = parse_period(period)
    out: dict[str, Any] = {}
    table = getattr(dataset, "opportunities", None)
    rows = None
    if table is not None and {"stage", "closed_at"} <= set(table.columns):
        rows = closed_opportunities(dataset, period)
    check = opportunity_check(dataset, period, rows)
    if rows is None or not check.available:  # one sentence per section (each shown once)
        out.update({key: check.missing() for key in ("funnel", "cycle", "owners", "closed")})
    else:
        out.update(
            funnel=funnel(rows), cycle=sales_cycle(rows), owners=owner_sales(rows), closed=rows
        )
    if rollups:
        tables = team_rollups(dataset, period, sla_hours=sla_hours, windows=windows)
        out["sales_rollup"], out["service_rollup"] = tables["sales"], tables["service"]
    return out
