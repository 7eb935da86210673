"""The performance review of a period: what managers read first.

Everything the ``05_performance_review`` notebook shows is computed here from the numbers of
the period, so that the prose of the report (the executive summary, the improvement actions)
is generated, tested and reproducible rather than written by hand:

- :func:`scorecard`: the company KPIs against their SMART targets of the period (``met``,
  ``at risk``, ``missed``; ``not available`` when the data cannot give the KPI, e.g. service
  KPIs without a tickets table);
- :func:`kpi_trends` and :func:`plot_kpi_trends`: the last 12 periods of the headline KPIs;
- :func:`team_scorecard`: the owner or agent scorecard with its rule flags, or the reason it is
  not available;
- :func:`biggest_risks`, :func:`improvement_actions`, :func:`executive_summary`;
- :func:`forecast_check`: last period's purchase and churn predictions against what happened
  in this period.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.kpis import compute_kpis
>>> from cpm_analysis.periods import parse_period
>>> ds = generate(300, seed=1).to_dataset()
>>> period = parse_period("2025-06")
>>> card = scorecard(compute_kpis(ds, period), ds.targets, period)
>>> set(card["status"]) <= {"met", "at risk", "missed", "not available", "no data"}
True
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from cpm_analysis import availability
from cpm_analysis.config import DEFAULT_CONFIG, CPMConfig
from cpm_analysis.data import Dataset
from cpm_analysis.kpis.targets import period_targets
from cpm_analysis.periods import Period, parse_period
from cpm_analysis.report.escaping import md_text

HEADLINE_KPIS: tuple[str, ...] = (
    "revenue",
    "active_customers",
    "repeat_rate",
    "retention_rate",
    "nps",
    "csat",
)
"""KPIs drawn in the trend small multiples (those the data allows)."""

TREND_PERIODS = 12
"""Periods of history in the trends."""

KPI_ACTIONS: dict[str, str] = dict(DEFAULT_CONFIG.actions.kpis)
"""The standard improvement action of each KPI that misses its target (``actions.kpis``)."""

FLAG_ACTIONS: dict[str, str] = DEFAULT_CONFIG.ranking.actions
"""The action of each scorecard rule (``ranking.<rule>.action``)."""

STATUS_ORDER = {"missed": 0, "at risk": 1, "no data": 2, "not available": 3, "met": 4}


# --- scorecard ---------------------------------------------------------------------------------


def period_kpis(
    view: Dataset,
    period: Period | str,
    scored: pd.DataFrame | None = None,
    *,
    sla_hours: float = DEFAULT_CONFIG.sla.first_response_hours,
) -> pd.DataFrame:
    """Every KPI of the period, with the model KPIs from the scored table when it has them.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> bool(period_kpis(ds, "2025-06").loc["revenue", "available"])
    True
    """
    from cpm_analysis.kpis import compute_kpis

    scores = None
    if scored is not None and {"customer_id", "clv", "churn_probability"} <= set(scored.columns):
        scores = scored.set_index("customer_id")[["clv", "churn_probability"]]
    return compute_kpis(view, period, scores=scores, sla_hours=sla_hours)


def scorecard(
    kpis: pd.DataFrame,
    targets: pd.DataFrame | None,
    period: Period | str,
    *,
    owner: str | None = None,
    amber: float = DEFAULT_CONFIG.targets.at_risk_band,
) -> pd.DataFrame:
    """Build the KPI scorecard of the period: every target of the scope with its status.

    Parameters
    ----------
    kpis : DataFrame
        :func:`cpm_analysis.kpis.compute_kpis` of the period (the scope's data).
    targets : DataFrame or None
        The targets table (``dataset.targets``); ``None`` gives an empty scorecard.
    period : Period or str
    owner : str, optional
        Use this owner's own targets (see :func:`period_targets`).
    amber : float
        Width of the *at risk* band below a target (see
        :func:`~cpm_analysis.kpis.evaluate_targets`).

    Returns
    -------
    DataFrame
        :func:`~cpm_analysis.kpis.evaluate_targets` columns, status ``not available`` (with
        the reason in ``note``) where the data cannot give the KPI, sorted missed first.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.kpis import compute_kpis
    >>> ds = generate(300, seed=1).to_dataset()
    >>> card = scorecard(compute_kpis(ds, "2025-06"), ds.targets, "2025-06")
    >>> card["status"].iloc[0] in {"missed", "at risk", "met"}
    True
    """
    from cpm_analysis.kpis import evaluate_targets

    rows = period_targets(targets, period, owner)
    if rows.empty:
        return pd.DataFrame(
            columns=["kpi", "label_en", "actual", "target", "attainment", "status", "trend"]
        )
    evaluation = evaluate_targets(kpis, rows, amber=amber)
    available = kpis["available"].astype(bool)
    unavailable = evaluation["kpi"].map(~available).fillna(False).astype(bool)
    evaluation.loc[unavailable.to_numpy(), "status"] = "not available"
    notes = evaluation["kpi"].map(kpis["note"]).fillna("")
    evaluation.loc[unavailable.to_numpy(), "note"] = notes.loc[unavailable].to_numpy()
    order = evaluation["status"].map(STATUS_ORDER).fillna(9)
    evaluation = evaluation.assign(_order=order.to_numpy())
    evaluation = evaluation.sort_values(["_order", "attainment"], kind="stable")
    return evaluation.drop(columns="_order").reset_index(drop=True)


def scorecard_table(card: pd.DataFrame) -> pd.DataFrame:
    """Return the scorecard's columns for display, indexed by the KPI's English label.

    Examples
    --------
    >>> card = pd.DataFrame({"kpi": ["nps"], "label_en": ["NPS"], "actual": [5.0],
    ...                      "target": [30.0], "attainment": [0.2], "status": ["missed"],
    ...                      "trend": ["worsening"], "note": [""]})
    >>> scorecard_table(card).index.tolist()
    ['NPS']
    """
    columns = ["actual", "target", "attainment", "status", "trend", "weight", "note"]
    out = card.set_index("label_en")[[c for c in columns if c in card.columns]]
    out.index.name = "KPI"
    return out


def status_counts(card: pd.DataFrame) -> dict[str, int]:
    """How many targets are met, at risk, missed and not available.

    Examples
    --------
    >>> status_counts(pd.DataFrame({"status": ["met", "missed", "met"]}))["met"]
    2
    """
    counts = card["status"].value_counts() if "status" in card else pd.Series(dtype=int)
    return {s: int(counts.get(s, 0)) for s in ("met", "at risk", "missed", "not available")}


def plot_scorecard(card: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Attainment bars of the scorecard (``target_attainment``), or a note when empty.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_scorecard(pd.DataFrame(columns=["status", "attainment"]))
    >>> "No target" in ax.texts[0].get_text()
    True
    """
    import matplotlib.pyplot as plt

    from cpm_analysis.plots.kpis import target_attainment

    rated = card.loc[card["attainment"].notna()] if "attainment" in card else card.iloc[0:0]
    if len(rated):
        return target_attainment(rated, ax=ax)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, "No target with a value for this period", ha="center", va="center")
    return ax


# --- trends ------------------------------------------------------------------------------------


def recent_periods(period: Period | str, n: int = TREND_PERIODS) -> list[Period]:
    """Return the ``n`` periods ending with ``period`` (same frequency), oldest first.

    Examples
    --------
    >>> [p.label for p in recent_periods("2025-03", 3)]
    ['2025-01', '2025-02', '2025-03']
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive integer, got {n!r}")
    last = parse_period(period)
    return [last.shift(-k) for k in range(n - 1, -1, -1)]


def kpi_trends(
    view: Dataset,
    period: Period | str,
    n: int = TREND_PERIODS,
    *,
    scores: Any = None,
    sla_hours: float = DEFAULT_CONFIG.sla.first_response_hours,
) -> pd.DataFrame:
    """:func:`~cpm_analysis.kpis.kpi_history` of the last ``n`` periods that the data covers.

    Periods that end before the first order are left out.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> h = kpi_trends(ds, "2025-06", 3)
    >>> sorted(h.index.get_level_values("period").unique())
    ['2025-04', '2025-05', '2025-06']
    """
    from cpm_analysis.kpis import kpi_history

    first = view.orders["order_date"].min()
    periods = [p for p in recent_periods(period, n) if p.end >= first]
    return kpi_history(view, periods, sla_hours=sla_hours)


def headline_kpis(history: pd.DataFrame, kpis: tuple[str, ...] = HEADLINE_KPIS) -> list[str]:
    """Return the headline KPIs with at least one value in ``history``.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_tuples([("2025-01", "revenue"), ("2025-01", "nps")],
    ...                                 names=["period", "kpi"])
    >>> h = pd.DataFrame({"value": [1.0, None], "available": [True, False]}, index=idx)
    >>> headline_kpis(h)
    ['revenue']
    """
    values = history["value"].groupby(level="kpi").count()
    return [k for k in kpis if values.get(k, 0) > 0]


def plot_kpi_trends(
    history: pd.DataFrame,
    kpis: list[str] | tuple[str, ...] | None = None,
    *,
    targets: pd.DataFrame | None = None,
    ncols: int = 3,
) -> np.ndarray:
    """Small multiples of :func:`~cpm_analysis.plots.kpis.kpi_trend`, one panel per KPI.

    Parameters
    ----------
    history : DataFrame
        From :func:`kpi_trends`.
    kpis : sequence of str, optional
        KPIs to draw; default :func:`headline_kpis`.
    targets : DataFrame, optional
        Company-level targets (drawn as markers).
    ncols : int
        Panels per row.

    Returns
    -------
    ndarray of Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> axes = plot_kpi_trends(kpi_trends(ds, "2025-06", 4), ["revenue", "orders"])
    >>> len(axes)
    2
    """
    import matplotlib.pyplot as plt

    from cpm_analysis.plots.kpis import kpi_trend

    names = list(headline_kpis(history) if kpis is None else kpis)
    if not names:
        raise ValueError("kpis: no KPI with a value in the history")
    ncols = max(1, min(ncols, len(names)))
    nrows = -(-len(names) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False)
    axes = grid.ravel()
    if targets is not None and {"owner_id"} <= set(targets.columns):
        targets = targets.loc[targets["owner_id"].isna().to_numpy()]
    for ax, kpi in zip(axes, names, strict=False):
        kpi_trend(history, kpi, targets=targets, ax=ax)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        ax.set_xlabel("")
    for ax in axes[len(names) :]:
        ax.axis("off")
    return axes[: len(names)]


# --- teams -------------------------------------------------------------------------------------


@dataclass
class TeamScorecard:
    """A team scorecard of the period, or why there is none.

    Attributes
    ----------
    role : str
        ``"owner"`` or ``"agent"``.
    table : DataFrame or None
        :func:`cpm_analysis.teams.owner_scorecard` / ``agent_scorecard``.
    note : str
        Why the scorecard is not available (empty when it is).
    """

    role: str
    table: pd.DataFrame | None
    note: str = ""
    _missing: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def available(self) -> bool:
        """Whether there is a scorecard with at least one person."""
        return self.table is not None and len(self.table) > 0

    def missing(self) -> Any:
        """Return the one sentence shown instead of the scorecard (the same object every call)."""
        from cpm_analysis.availability import Check

        if self._missing is None:
            title = "The owner scorecard" if self.role == "owner" else "The agent scorecard"
            self._missing = Check(title, False, "", self.note).missing()
        return self._missing

    def message(self) -> Any:
        """Return a Markdown line: who was ranked and who was flagged, or why no scorecard."""
        from IPython.display import Markdown

        if not self.available:
            return self.missing()
        return Markdown(self.describe())

    def describe(self) -> str:
        """Return the text of :meth:`message`.

        Examples
        --------
        >>> TeamScorecard("agent", None, "the data has no tickets table").describe()
        '**Agent scorecard not available:** the data has no tickets table.'
        """
        title = "Owner" if self.role == "owner" else "Agent"
        if not self.available:
            return f"**{title} scorecard not available:** {md_text(self.note)}."
        table = self.table
        flags = table["flags"].fillna("").astype("str")
        parts = [f"{len(table)} {self.role}s ranked by composite score."]
        for flag, label in (
            ("reward", "top performer"),
            ("improvement_plan", "improvement plan"),
            ("review", "performance review"),
        ):
            who = table.index[flags.str.contains(flag, regex=False).to_numpy()].astype("str")
            if len(who):
                parts.append(f"{label.capitalize()}: {', '.join(map(md_text, who))}.")
        return " ".join(parts)

    def display(self) -> pd.DataFrame:
        """Rank, team, KPI scores (0-100), composite, flags and their reasons.

        Examples
        --------
        >>> TeamScorecard("agent", None, "no tickets").display().available
        False
        """
        if not self.available:
            return self.missing()
        table = self.table
        scores = [c for c in table.columns if c.startswith("score_")]
        columns = ["rank", "team", *scores, "kpi_score", "assessment", "composite", "flags"]
        out = table[[c for c in columns if c in table.columns]].copy()
        if "flag_reasons" in table:
            out["flag_reasons"] = table["flag_reasons"]
        return out.rename(columns={c: c.removeprefix("score_") for c in scores})


def team_scorecard(
    view: Dataset,
    period: Period | str,
    role: str = "owner",
    *,
    owner: str | None = None,
    config: CPMConfig | None = None,
) -> TeamScorecard:
    """Build the owner or agent scorecard of the period with its rule flags (last 3 periods).

    Not available (with the reason, never estimated) when the data lacks what the role's KPIs
    need: customers with an ``owner_id`` for owners, tickets with an ``agent_id`` for agents.
    On an owner's pages (``owner`` set) agents are not scored: the book holds only the tickets
    of that owner's customers, and ranking or flagging agents on part of their work would
    contradict the company page, which holds the verdict.

    Parameters
    ----------
    view : Dataset
        The point-in-time data of the report.
    period : Period or str
    role : {"owner", "agent"}
    owner : str, optional
        The owner whose book ``view`` is (``ReportContext.owner``).
    config : CPMConfig, optional
        The business rules (KPIs, weights, assessment blend, ranking rules); default
        :data:`~cpm_analysis.config.DEFAULT_CONFIG`.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=1).to_dataset()
    >>> team_scorecard(ds, "2025-06", "owner").available
    True
    >>> team_scorecard(ds, "2025-06", "agent", owner="S001").note[:45]
    'agents are judged on the company report only:'
    """
    from cpm_analysis import teams

    if role not in ("owner", "agent"):
        raise ValueError(f"role: expected 'owner' or 'agent', got {role!r}")
    check = (
        availability.agents(view, parse_period(period), owner)
        if role == "agent"
        else availability.owners(view)
    )
    if not check.available:
        return TeamScorecard(role, None, check.detail)
    build = teams.owner_scorecard if role == "owner" else teams.agent_scorecard
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = build(view, period, **teams.scorecard_options(config or DEFAULT_CONFIG, role))
    except ValueError as err:
        return TeamScorecard(role, None, str(err))
    if table.empty:
        who = "owner with a book" if role == "owner" else "agent with tickets"
        return TeamScorecard(role, table, f"no {who} in {parse_period(period).label}")
    return TeamScorecard(role, table)


def plot_team(team: TeamScorecard, *, ax: Axes | None = None) -> Axes | None:
    """:func:`~cpm_analysis.plots.teams.composite_bars` of an available scorecard, else ``None``.

    Examples
    --------
    >>> plot_team(TeamScorecard("agent", None, "no tickets")) is None
    True
    """
    from cpm_analysis.plots.teams import composite_bars

    if not team.available:
        return None
    return composite_bars(team.table, ax=ax)


# --- risks, actions, summary -------------------------------------------------------------------


def biggest_risks(card: pd.DataFrame, scored: pd.DataFrame | None, n: int = 3) -> pd.DataFrame:
    """Return the ``n`` biggest risks of the period, each with its evidence.

    Candidates, in this order of priority:

    1. the missed target furthest from its target among those getting worse (else the
       furthest missed target);
    2. churn exposure: the expected 90-day loss of the active base (churn probability x CLV),
       and how much of it sits in tier-A customers;
    3. slipping value: customers of the *at risk* segment group (good customers who stopped
       buying) and their share of historical revenue;
    4. further missed targets, furthest first.

    Parameters
    ----------
    card : DataFrame
        From :func:`scorecard`.
    scored : DataFrame or None
        The period's scored table.
    n : int

    Returns
    -------
    DataFrame
        Columns ``risk`` and ``evidence``; at most ``n`` rows.

    Examples
    --------
    >>> card = pd.DataFrame({"kpi": ["nps"], "label_en": ["NPS"], "actual": [5.0],
    ...                      "target": [30.0], "attainment": [0.2], "status": ["missed"],
    ...                      "trend": ["worsening"], "unit": ["points"]})
    >>> biggest_risks(card, None)["risk"].tolist()
    ['NPS below target']
    """
    rows: list[dict[str, str]] = []
    missed = card.loc[card["status"] == "missed"] if "status" in card else card.iloc[0:0]
    missed = missed.sort_values("attainment", kind="stable")
    worsening = missed.loc[missed["trend"] == "worsening"]
    first = worsening if len(worsening) else missed
    if len(first):
        rows.append(_target_risk(first.iloc[0]))
        missed = missed.drop(index=first.index[0])
    if scored is not None and "expected_loss" in scored and scored["expected_loss"].notna().any():
        loss = scored["expected_loss"]
        total = float(loss.sum())
        tier_a = float(loss.loc[(scored.get("tier") == "A").to_numpy(dtype=bool)].sum())
        base = int(scored["churn_probability"].notna().sum())
        likely = int((scored["churn_probability"] >= 0.5).sum())
        rows.append(
            {
                "risk": "Churn of active customers",
                "evidence": f"{likely:,} of {base:,} active customers are more likely than not "
                f"to churn within 90 days; expected loss {total:,.0f} of 12-month value, "
                f"{tier_a / total:.0%} of it in tier-A customers."
                if total > 0
                else f"{likely:,} of {base:,} active customers likely to churn.",
            }
        )
    if scored is not None and "segment_group" in scored and "monetary" in scored:
        at_risk = (scored["segment_group"] == "at_risk").to_numpy(dtype=bool)
        revenue = float(scored["monetary"].sum())
        if at_risk.any() and revenue > 0:
            share = float(scored.loc[at_risk, "monetary"].sum()) / revenue
            segments = ", ".join(sorted(scored.loc[at_risk, "segment"].astype("str").unique()))
            rows.append(
                {
                    "risk": "Good customers slipping away",
                    "evidence": f"{int(at_risk.sum()):,} customers in the at-risk segments "
                    f"({segments}) brought {share:.0%} of historical revenue and have stopped "
                    "buying.",
                }
            )
    rows.extend(_target_risk(row) for _, row in missed.iterrows())
    return pd.DataFrame(rows[:n], columns=["risk", "evidence"])


def _target_risk(row: pd.Series) -> dict[str, str]:
    trend = f", {row['trend']}" if row.get("trend") in ("worsening", "improving", "flat") else ""
    return {
        "risk": f"{row['label_en']} below target",
        "evidence": f"{_fmt(row['actual'], row.get('unit'))} against a target of "
        f"{_fmt(row['target'], row.get('unit'))} ({row['attainment']:.0%} attainment{trend}).",
    }


def improvement_actions(
    card: pd.DataFrame,
    owners: TeamScorecard | None = None,
    agents: TeamScorecard | None = None,
    scored: pd.DataFrame | None = None,
    *,
    risk_list_size: int = DEFAULT_CONFIG.actions.risk_list_size,
    kpi_actions: dict[str, str] | None = None,
    flag_actions: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Concrete actions generated from missed targets, team flags and the churn risk list.

    - every missed or at-risk target gets the KPI's standard action (:data:`KPI_ACTIONS`),
      missed first, furthest from target first;
    - every ``improvement_plan``, ``review``, ``reward`` or ``penalty`` flag of the owner and
      agent scorecards gets the rule's action (:data:`FLAG_ACTIONS`) for that person;
    - when the scored table has churn scores: call the ``risk_list_size`` customers with the
      largest expected loss.

    ``kpi_actions`` and ``flag_actions`` (the configuration's ``actions.kpis`` and
    ``ranking.<rule>.action``, see :func:`action_options`) replace the standard texts.

    Returns
    -------
    DataFrame
        Columns ``priority`` (1 = first), ``area``, ``finding``, ``action``, ``who``.

    Examples
    --------
    >>> card = pd.DataFrame({"kpi": ["nps"], "label_en": ["NPS"], "actual": [5.0],
    ...                      "target": [30.0], "attainment": [0.2], "status": ["missed"],
    ...                      "trend": ["worsening"]})
    >>> improvement_actions(card)["area"].tolist()
    ['Target']
    """
    kpi_actions = KPI_ACTIONS if kpi_actions is None else kpi_actions
    flag_actions = FLAG_ACTIONS if flag_actions is None else flag_actions
    rows: list[dict[str, Any]] = []
    if "status" in card:
        open_ = card.loc[card["status"].isin(["missed", "at risk"])]
        open_ = open_.assign(_o=open_["status"].map(STATUS_ORDER)).sort_values(
            ["_o", "attainment"], kind="stable"
        )
        for _, row in open_.iterrows():
            rows.append(
                {
                    "area": "Target",
                    "finding": f"{row['label_en']} {row['status']}: "
                    f"{_fmt(row['actual'], row.get('unit'))} vs "
                    f"{_fmt(row['target'], row.get('unit'))} ({row['attainment']:.0%})",
                    "action": kpi_actions.get(
                        row["kpi"], f"Review the drivers of {row['label_en']} with the team."
                    ),
                    "who": "Management",
                }
            )
    if scored is not None and "expected_loss" in scored and scored["expected_loss"].notna().any():
        top = scored["expected_loss"].nlargest(risk_list_size)
        owners_n = scored.loc[top.index, "owner_id"].nunique() if "owner_id" in scored else 0
        rows.append(
            {
                "area": "Churn risk",
                "finding": f"The {len(top)} customers with the largest expected loss hold "
                f"{top.sum():,.0f} of expected 90-day loss",
                "action": "Call each of them this month with the recommended action of their "
                "segment (risk list in the churn report and customers_scored.csv).",
                "who": f"{owners_n} account owner(s)" if owners_n else "Account owners",
            }
        )
    for team in (owners, agents):
        if team is None or not team.available:
            continue
        flags = team.table["flags"].fillna("").astype("str")
        reasons = team.table.get("flag_reasons", flags).fillna("").astype("str")
        for flag in ("review", "penalty", "improvement_plan", "reward"):
            hit = flags.str.contains(flag, regex=False).to_numpy()
            for person, reason in zip(team.table.index[hit], reasons[hit], strict=True):
                rows.append(
                    {
                        "area": f"{team.role.capitalize()} scorecard",
                        "finding": f"{person}: {reason}" if reason else str(person),
                        "action": flag_actions.get(flag, FLAG_ACTIONS[flag]),
                        "who": f"Manager of {person}",
                    }
                )
    out = pd.DataFrame(rows, columns=["area", "finding", "action", "who"])
    out.insert(0, "priority", np.arange(1, len(out) + 1))
    return out


def action_options(config: CPMConfig) -> dict[str, Any]:
    """Return the keyword arguments of :func:`improvement_actions` a configuration sets.

    Examples
    --------
    >>> action_options(DEFAULT_CONFIG)["risk_list_size"]
    25
    """
    return {
        "risk_list_size": config.actions.risk_list_size,
        "kpi_actions": dict(config.actions.kpis),
        "flag_actions": config.ranking.actions,
    }


def executive_summary(
    kpis: pd.DataFrame,
    card: pd.DataFrame,
    risks: pd.DataFrame,
    period: Period | str,
    *,
    forecast: ForecastCheck | None = None,
) -> str:
    """Write a few sentences for managers, generated from the numbers of the period (Markdown).

    What improved (the three KPIs with the largest relative change in their good direction),
    which targets were missed or are at risk, the three biggest risks and, when given, how
    well last period's forecast held.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.kpis import compute_kpis
    >>> ds = generate(300, seed=1).to_dataset()
    >>> k = compute_kpis(ds, "2025-06")
    >>> card = scorecard(k, ds.targets, "2025-06")
    >>> text = executive_summary(k, card, biggest_risks(card, None), "2025-06")
    >>> text.startswith("In 2025-06")
    True
    """
    label = parse_period(period).label
    parts: list[str] = []
    lead = []
    for kpi in ("revenue", "active_customers", "new_customers"):
        if kpi in kpis.index and bool(kpis.loc[kpi, "available"]):
            row = kpis.loc[kpi]
            lead.append(
                f"{md_text(row['label_en'].lower())} {_fmt(row['value'], row['unit'])}{_change(row)}"
            )
    parts.append(f"In {label}: " + (", ".join(lead) if lead else "no KPI available") + ".")
    improved = _improvements(kpis)
    if improved:
        parts.append("**Improved:** " + "; ".join(improved) + ".")
    counts = status_counts(card)
    rated = counts["met"] + counts["at risk"] + counts["missed"]
    if rated:
        missed = card.loc[card["status"] == "missed", "label_en"].tolist()
        at_risk = card.loc[card["status"] == "at risk", "label_en"].tolist()
        text = f"**Targets:** {counts['met']} of {rated} met"
        if missed:
            text += f"; missed: {', '.join(map(md_text, missed))}"
        if at_risk:
            text += f"; at risk: {', '.join(map(md_text, at_risk))}"
        parts.append(text + ".")
    else:
        parts.append("**Targets:** no target set for this period.")
    if counts["not available"]:
        parts.append(
            f"{counts['not available']} target(s) could not be assessed: the data does not "
            "hold what the KPI needs."
        )
    if len(risks):
        listed = "\n".join(
            f"{i}. **{md_text(r.risk)}**: {md_text(r.evidence)}"
            for i, r in enumerate(risks.itertuples(), 1)
        )
        parts.append(f"**Biggest risks:**\n\n{listed}")
    if forecast is not None and forecast.available:
        parts.append(forecast.describe())
    return "\n\n".join(parts)


def _improvements(kpis: pd.DataFrame, n: int = 3) -> list[str]:
    frame = kpis.loc[kpis["available"].astype(bool)]
    frame = frame.loc[frame["previous"].notna() & frame["value"].notna()]
    sign = np.where(frame["direction"] == "lower", -1.0, 1.0)
    base = frame["previous"].abs().where(frame["previous"] != 0)
    relative = sign * (frame["value"] - frame["previous"]) / base
    relative = relative.loc[(relative > 0.001).to_numpy()].sort_values(ascending=False)
    return [
        f"{md_text(frame.loc[k, 'label_en'])} {_change(frame.loc[k], lead=False)}"
        for k in relative.index[:n]
    ]


def _change(row: pd.Series, lead: bool = True) -> str:
    if pd.isna(row.get("previous")) or pd.isna(row.get("value")):
        return ""
    if row.get("unit") == "share":
        text = f"{(row['value'] - row['previous']) * 100:+.1f} pts"
    elif row["previous"] == 0:
        return ""
    else:
        text = f"{row['value'] / row['previous'] - 1:+.1%}"
    return f" ({text} on the previous period)" if lead else f"({text})"


def _fmt(value: Any, unit: Any = None) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    if unit == "share":
        return f"{value:.1%}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


# --- forecast check ----------------------------------------------------------------------------


CHURN_MEASURES = {
    "customers": "Customers scored last period (active base)",
    "mean_churn_probability": "Mean churn probability (90-day horizon)",
    "no_purchase_rate": "Share who did not buy this period",
    "roc_auc": "ROC AUC of last period's scores",
    "top_decile_no_purchase_rate": "Share who did not buy, riskiest tenth",
}


@dataclass
class ForecastCheck:
    """What :func:`forecast_check` returns.

    Attributes
    ----------
    purchases : DataFrame
        By segment at the previous cutoff, plus a ``total`` row: ``customers``,
        ``predicted`` and ``actual`` repeat purchases in the period, ``error`` (predicted /
        actual - 1).
    churn : dict
        ``customers``, ``no_purchase_rate``, ``roc_auc``, ``top_decile_no_purchase_rate``,
        ``mean_churn_probability`` (empty when last period had no churn scores).
    previous : Period
        The period whose predictions are checked.
    source : str
        Where last period's scores came from.
    notes : list of str
    model : BetaGeoModel or None
        The purchase model fitted at the end of the previous period (``None`` when there was
        no purchase check): an owner's check reuses the company's (never a refit on the book).
    """

    purchases: pd.DataFrame
    churn: dict[str, float]
    previous: Period
    source: str = ""
    notes: list[str] = field(default_factory=list)
    model: Any = field(default=None, repr=False, compare=False)

    @property
    def available(self) -> bool:
        """Whether any prediction could be checked."""
        return len(self.purchases) > 0 or bool(self.churn)

    def describe(self) -> str:
        """One or two sentences on how last period's forecast held (Markdown).

        Examples
        --------
        >>> p = pd.DataFrame({"customers": [10], "predicted": [11.0], "actual": [10.0],
        ...                   "error": [0.1]}, index=["total"])
        >>> ForecastCheck(p, {}, parse_period("2025-05")).describe()[:30]
        '**Forecast check:** the purcha'
        """
        parts = []
        if len(self.purchases):
            total = self.purchases.loc["total"]
            text = (
                f"the purchase model predicted {total['predicted']:,.0f} repeat purchases for "
                f"this period at the end of {self.previous.label}; customers made "
                f"{total['actual']:,.0f}"
            )
            if availability.finite(total["error"]):
                direction = "over" if total["error"] > 0 else "under"
                text += f" ({abs(total['error']):.0%} {direction}-estimate)"
            else:
                text += " (no repeat purchase was made, so the error is not available)"
            parts.append(text)
        if self.churn:
            parts.append(
                f"last period's churn scores ranked who did not buy this period with a ROC AUC "
                f"of {self.churn['roc_auc']:.2f} ({self.churn['top_decile_no_purchase_rate']:.0%}"
                f" of the riskiest tenth did not buy, against "
                f"{self.churn['no_purchase_rate']:.0%} overall)"
            )
        if not parts:
            return "**Forecast check:** not available. " + " ".join(self.notes)
        return "**Forecast check:** " + "; ".join(parts) + "."

    def message(self) -> Any:
        """:meth:`describe` as Markdown, or the one sentence saying why there is no check."""
        from IPython.display import Markdown

        if not self.available:
            return self._missing("; ".join(self.notes) or "nothing to check")
        return Markdown(self.describe())

    def _missing(self, detail: str) -> Any:
        from cpm_analysis.availability import Check, Unavailable

        if not self.available:
            cache = self.__dict__.setdefault("_unavailable", {})
            if "all" not in cache:
                cache["all"] = Check("The forecast check", False, "", detail).missing()
            return cache["all"]
        gone = Unavailable(f"{detail[:1].upper()}{detail[1:]}.")
        return gone

    def purchases_table(self) -> Any:
        """Return :attr:`purchases` for display, or why there is no purchase check.

        ``error`` is shown as ``difference``.

        Examples
        --------
        >>> ForecastCheck(pd.DataFrame(), {}, parse_period("2025-05"), notes=["x"]
        ...               ).purchases_table().available
        False
        """
        if len(self.purchases):
            # "difference" (predicted / actual - 1), not "error": a page shows no error word
            return self.purchases.rename(columns={"error": "difference"})
        notes = [n for n in self.notes if "purchase" in n] or self.notes
        return self._missing("; ".join(notes) or "no purchase check")

    def churn_table(self) -> pd.DataFrame:
        """Return the churn check as a one-column table for display.

        Examples
        --------
        >>> check = ForecastCheck(pd.DataFrame(), {"roc_auc": 0.7}, parse_period("2025-05"))
        >>> table = check.churn_table()
        >>> float(table.loc["ROC AUC of last period's scores", "value"])
        0.7
        """
        if not self.churn:
            notes = [n for n in self.notes if "churn" in n] or self.notes
            return self._missing("; ".join(notes) or "no churn check")
        values = pd.Series(self.churn, dtype="float64")
        return pd.DataFrame({"value": values.rename(CHURN_MEASURES)}).rename_axis("measure")

    def plot(self, *, ax: Axes | None = None) -> Axes | None:
        """Predicted against actual repeat purchases by segment (bars), ``None`` if empty.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> p = pd.DataFrame({"customers": [10, 10], "predicted": [11.0, 11.0],
        ...                   "actual": [10.0, 10.0], "error": [0.1, 0.1]},
        ...                  index=["Champions", "total"])
        >>> ForecastCheck(p, {}, parse_period("2025-05")).plot().get_title()[:9]
        'Predicted'
        """
        import matplotlib.pyplot as plt

        frame = self.purchases.drop(index="total", errors="ignore")
        if frame.empty:
            return None
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 0.45 * len(frame) + 1.5))
        y = np.arange(len(frame))
        ax.barh(y - 0.2, frame["predicted"], height=0.4, label="predicted", color="#9DB4D3")
        ax.barh(y + 0.2, frame["actual"], height=0.4, label="actual", color="#4C72B0")
        ax.set_yticks(y, frame.index.astype("str"))
        ax.invert_yaxis()
        ax.set_xlabel("Repeat purchases in the period")
        ax.set_title(f"Predicted (end of {self.previous.label}) against actual, by segment")
        ax.legend(loc="lower right")
        return ax


def previous_scored(
    dataset: Dataset,
    period: Period | str,
    *,
    seed: int = 0,
    scored_path: str | Path | None = None,
    owner: str | None = None,
    config: CPMConfig | None = None,
) -> tuple[pd.DataFrame, str]:
    """Last period's scored table: the runner's file when it matches, else scored anew.

    When ``scored_path`` (this period's ``<out>/<period>/[owners/<id>/]customers_scored.parquet``)
    is given and ``<out>/<previous period>/`` holds a scored table whose ``metrics.json`` has the same
    data fingerprint and seed, that table is read (exactly what was published last period).
    Otherwise :func:`cpm_analysis.scoring.score_customers` scores the previous period's
    cutoff on ``dataset`` (only data up to that cutoff is used). With ``owner``, the table is
    restricted to that owner's customers.

    Returns
    -------
    scored : DataFrame
    source : str
        ``"published report of <label>"`` or ``"rescored at the end of <label>"``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=1).to_dataset()  # doctest: +SKIP
    >>> previous_scored(ds, "2025-06")[1]  # doctest: +SKIP
    'rescored at the end of 2025-05'
    """
    from cpm_analysis.scoring import score_customers

    previous = parse_period(period).previous()
    if scored_path:
        here = Path(scored_path).resolve()
        label = parse_period(period).label
        period_dir = next((p for p in here.parents if p.name == label), here.parent)
        folder = period_dir.parent / previous.label
        candidate = folder / Path(scored_path).name
        metrics_file = folder / "metrics.json"
        if candidate.is_file() and metrics_file.is_file():
            try:
                meta = json.loads(metrics_file.read_text())
            except (OSError, ValueError):
                meta = {}
            same_data = meta.get("data", {}).get("fingerprint") == dataset.fingerprint()
            same_seed = meta.get("parameters", {}).get("seed") == seed
            rules = (DEFAULT_CONFIG if config is None else config).to_dict()
            same_rules = meta.get("config", DEFAULT_CONFIG.to_dict()) == rules
            if same_data and same_seed and same_rules:
                table = pd.read_parquet(candidate)
                return _own(table, owner), f"published report of {previous.label}"
    from cpm_analysis.scoring import scoring_options

    options = scoring_options(DEFAULT_CONFIG if config is None else config)
    result = score_customers(dataset, previous, seed=seed, **options)
    return _own(result.scored, owner), f"rescored at the end of {previous.label}"


def _own(scored: pd.DataFrame, owner: str | None) -> pd.DataFrame:
    if not owner or "owner_id" not in scored.columns:
        return scored
    return scored.loc[(scored["owner_id"] == owner).to_numpy(dtype=bool)].reset_index(drop=True)


def forecast_check(
    dataset: Dataset,
    period: Period | str,
    previous: pd.DataFrame,
    *,
    source: str = "",
    owner: str | None = None,
    model: Any = None,
) -> ForecastCheck:
    """Check last period's predictions against what customers did in this period.

    With *c0* the end of the previous period and *c1* the end of ``period``:

    - **Repeat purchases.** BG/NBD is refitted on the orders up to *c0* (the same maximum-
      likelihood recipe as the scoring, so the same model that produced last period's
      ``expected_purchases_90d`` and CLV) and predicts each customer's purchases over the
      period's length. *Actual*: the customer's purchases in (*c0*, *c1*], counted as the
      model counts them (paid orders merged per calendar day). Customers are those who had
      bought by *c0*; they are grouped by their segment at *c0* (from ``previous``).
    - **Churn.** Last period's ``churn_probability`` (a 90-day horizon, active base at *c0*)
      against the outcome *did not buy in (c0, c1]*. The period is usually shorter than the
      horizon, so probabilities are not compared with rates; the check is of the ranking:
      ROC AUC, and the no-purchase rate of the riskiest tenth against the overall rate.

    Parameters
    ----------
    dataset : Dataset
        Data up to at least the end of ``period``.
    period : Period or str
        The period whose outcomes are observed.
    previous : DataFrame
        The previous period's scored table (:func:`previous_scored`).
    source : str
        Where ``previous`` came from (shown in the report).
    owner : str, optional
        An account owner: the model is fitted on every customer of ``dataset`` (an owner's
        numbers are a slice of the company's), and the check is of the customers of
        ``previous`` (the owner's book) only.
    model : BetaGeoModel, optional
        The purchase model already fitted on the orders up to *c0* (the company's check of the
        same period, :attr:`ForecastCheck.model`): used instead of fitting it again.

    A prediction that is not finite is never summed into a total: the purchase check is then
    not available, and the notes say for how many customers.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(400, seed=1).to_dataset()  # doctest: +SKIP
    >>> prev, src = previous_scored(ds, "2025-06")  # doctest: +SKIP
    >>> forecast_check(ds, "2025-06", prev).purchases.loc["total"]  # doctest: +SKIP
    """
    from sklearn.metrics import roc_auc_score

    from cpm_analysis.clv import BetaGeoModel, period_summary
    from cpm_analysis.frames import isin

    period = parse_period(period)
    last = period.previous()
    c0, c1 = last.end, period.end
    if "customer_id" not in previous.columns:
        raise ValueError("previous: the scored table has no customer_id column")
    notes: list[str] = []
    view = dataset.as_of(c1)
    summary = period_summary(view, c1, calibration_end=c0)
    segment = previous.set_index("customer_id")["segment"] if "segment" in previous else None
    purchases = pd.DataFrame(columns=["customers", "predicted", "actual", "error"])
    enough = availability.forecast(view, period)
    if enough.available:
        if model is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = BetaGeoModel().fit(summary)
        frame = pd.DataFrame(
            {
                "predicted": np.asarray(
                    model.expected_purchases(summary["duration_holdout"].to_numpy(), summary),
                    dtype=float,
                ),
                "actual": summary["frequency_holdout"].to_numpy(dtype=float),
            },
            index=summary.index,
        )
        if owner:
            frame = frame.loc[isin(pd.Series(frame.index), previous["customer_id"])]
        frame["segment"] = frame.index.map(segment).astype("str") if segment is not None else "all"
        grouped = frame.groupby("segment", sort=False)
        purchases = pd.DataFrame(
            {
                "customers": grouped.size(),
                "predicted": grouped["predicted"].sum(),
                "actual": grouped["actual"].sum(),
            }
        ).sort_values("actual", ascending=False, kind="stable")
        purchases.loc["total"] = [len(frame), frame["predicted"].sum(), frame["actual"].sum()]
        purchases["customers"] = purchases["customers"].astype(int)
        purchases["error"] = (
            purchases["predicted"] / purchases["actual"].where(purchases["actual"] > 0) - 1
        )
        purchases.index.name = f"segment at end of {last.label}"
        bad = int((~np.isfinite(frame["predicted"].to_numpy())).sum())
        if bad:
            notes.append(
                f"the purchase model gave no finite prediction for {bad:,} customer(s) at the "
                f"end of {last.label}, so there is no purchase check"
            )
            purchases = purchases.iloc[:0]
        elif not len(frame):
            notes.append(f"no customer of the book had bought by the end of {last.label}")
            purchases = purchases.iloc[:0]
    else:
        model = None
        notes.append(f"{enough.detail}, so there is no purchase check")
    churn: dict[str, float] = {}
    if "churn_probability" in previous and previous["churn_probability"].notna().any():
        scored = previous.loc[previous["churn_probability"].notna()]
        paid = availability.paid_orders(view)
        in_period = paid.loc[((paid["order_date"] > c0) & (paid["order_date"] <= c1)).to_numpy()]
        bought = np.asarray(
            isin(scored["customer_id"], in_period["customer_id"].unique()), dtype=bool
        )
        y = (~bought).astype(int)
        p = scored["churn_probability"].to_numpy(dtype=float)
        if 0 < y.sum() < len(y):
            top = p >= np.quantile(p, 0.9)
            churn = {
                "customers": float(len(y)),
                "mean_churn_probability": float(p.mean()),
                "no_purchase_rate": float(y.mean()),
                "roc_auc": float(roc_auc_score(y, p)),
                "top_decile_no_purchase_rate": float(y[top].mean()),
            }
        else:
            notes.append("every scored customer had the same outcome: no churn check")
    else:
        notes.append(f"no churn scores at the end of {last.label}: no churn check")
    return ForecastCheck(purchases, churn, last, source, notes, model=model)
