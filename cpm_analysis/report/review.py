"""The performance review page: the prose and display forms of what managers read first.

The numbers come from the period pipeline (:class:`cpm_analysis.pipeline.PeriodResult`):
the scorecard (:mod:`cpm_analysis.kpis.scorecard`), trends (:mod:`cpm_analysis.kpis.trends`),
team scorecards (:mod:`cpm_analysis.teams_review`), risks and actions
(:mod:`cpm_analysis.actions`) and the forecast check (:mod:`cpm_analysis.clv.forecast`). This
module writes them for the ``05_performance_review`` page, so that its prose is generated,
tested and reproducible rather than written by hand:

- :func:`executive_summary`: a few sentences from the numbers of the period;
- :func:`scorecard_table`: the scorecard's columns for display;
- :func:`team_message`, :func:`team_text` and :func:`team_table`: a team scorecard, or the
  sentence saying why there is none;
- :func:`forecast_message`: the forecast check, or why there is none.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.actions import biggest_risks
>>> from cpm_analysis.kpis import compute_kpis
>>> from cpm_analysis.kpis.scorecard import scorecard
>>> ds = generate(300, seed=1).to_dataset()
>>> k = compute_kpis(ds, "2025-06")
>>> card = scorecard(k, ds.targets, "2025-06")
>>> executive_summary(k, card, biggest_risks(card, None), "2025-06").startswith("In 2025-06")
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.actions import format_number
from cpm_analysis.clv.forecast import ForecastCheck
from cpm_analysis.kpis.scorecard import status_counts
from cpm_analysis.periods import Period, parse_period
from cpm_analysis.report.escaping import md_text
from cpm_analysis.teams_review import TeamScorecard


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
    >>> from cpm_analysis.actions import biggest_risks
    >>> from cpm_analysis.kpis import compute_kpis
    >>> from cpm_analysis.kpis.scorecard import scorecard
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
                f"{md_text(row['label_en'].lower())} {format_number(row['value'], row['unit'])}{_change(row)}"
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


# --- forecast check ----------------------------------------------------------------------------


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


# --- team scorecards --------------------------------------------------------------------------


def team_message(team: TeamScorecard) -> Any:
    """Return a Markdown line: who was ranked and who was flagged, or why no scorecard.

    Examples
    --------
    >>> team_message(TeamScorecard("agent", None, "no tickets")).available
    False
    """
    from IPython.display import Markdown

    if not team.available:
        return team.missing()
    return Markdown(team_text(team))


def team_text(team: TeamScorecard) -> str:
    """Return the text of :func:`team_message`.

    Examples
    --------
    >>> team_text(TeamScorecard("agent", None, "the data has no tickets table"))
    '**Agent scorecard not available:** the data has no tickets table.'
    """
    title = "Owner" if team.role == "owner" else "Agent"
    if not team.available:
        return f"**{title} scorecard not available:** {md_text(team.note)}."
    table = team.table
    flags = table["flags"].fillna("").astype("str")
    parts = [f"{len(table)} {team.role}s ranked by composite score."]
    for flag, label in (
        ("reward", "top performer"),
        ("improvement_plan", "improvement plan"),
        ("review", "performance review"),
    ):
        who = table.index[flags.str.contains(flag, regex=False).to_numpy()].astype("str")
        if len(who):
            parts.append(f"{label.capitalize()}: {', '.join(map(md_text, who))}.")
    return " ".join(parts)


def team_table(team: TeamScorecard) -> Any:
    """Rank, team, KPI scores (0-100), composite, flags and their reasons, for display.

    Examples
    --------
    >>> team_table(TeamScorecard("agent", None, "no tickets")).available
    False
    """
    if not team.available:
        return team.missing()
    table = team.table
    scores = [c for c in table.columns if c.startswith("score_")]
    columns = ["rank", "team", *scores, "kpi_score", "assessment", "composite", "flags"]
    out = table[[c for c in columns if c in table.columns]].copy()
    if "flag_reasons" in table:
        out["flag_reasons"] = table["flag_reasons"]
    return out.rename(columns={c: c.removeprefix("score_") for c in scores})


# --- the forecast check ------------------------------------------------------------------------


def forecast_message(check: ForecastCheck) -> Any:
    """Return :meth:`~cpm_analysis.clv.forecast.ForecastCheck.describe` as Markdown, or why not.

    Examples
    --------
    >>> from cpm_analysis.periods import parse_period
    >>> check = ForecastCheck(pd.DataFrame(), {}, parse_period("2025-05"), notes=["x"])
    >>> forecast_message(check) is check.missing()
    True
    """
    from IPython.display import Markdown

    if not check.available:
        return check.missing()
    return Markdown(check.describe())
