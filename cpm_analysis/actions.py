"""What to do about a period: the biggest risks and the improvement actions, with their evidence.

- :func:`biggest_risks`: the missed targets, the churn exposure and the slipping value of the
  period, each with its evidence;
- :func:`improvement_actions`: concrete actions generated from missed targets, team flags and
  the churn risk list; :func:`action_options` reads their texts from the configuration.

Examples
--------
>>> card = pd.DataFrame({"kpi": ["nps"], "label_en": ["NPS"], "actual": [5.0],
...                      "target": [30.0], "attainment": [0.2], "status": ["missed"],
...                      "trend": ["worsening"], "unit": ["points"]})
>>> biggest_risks(card, None)["risk"].tolist()
['NPS below target']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.config import DEFAULT_CONFIG, CPMConfig
from cpm_analysis.i18n import M_, N_, Message, join, named
from cpm_analysis.kpis.scorecard import STATUS_ORDER
from cpm_analysis.teams_review import TeamScorecard

KPI_ACTIONS: dict[str, str] = dict(DEFAULT_CONFIG.actions.kpis)
"""The standard improvement action of each KPI that misses its target (``actions.kpis``)."""


FLAG_ACTIONS: dict[str, str] = DEFAULT_CONFIG.ranking.actions
"""The action of each scorecard rule (``ranking.<rule>.action``)."""


LEAVING_ACTION = N_(
    "Retention call from the account owner: ask what changed and fix open issues first; "
    "no loyalty reward or upsell while they are at risk."
)
"""The action of a customer more likely than not to churn, whatever their segment."""

LEAVING_PROBABILITY = 0.5
"""The churn probability from which a customer counts as leaving (more likely than not)."""


def risk_aware_actions(
    actions: pd.Series,
    churn_probability: pd.Series | None,
    *,
    threshold: float = LEAVING_PROBABILITY,
) -> pd.Series:
    """Return the segments' actions with the leaving customers' replaced by a retention action.

    A segment's action (``segment_map.yaml``) suits its typical customer; a customer of a
    rewarding segment (Champions: "Reward loyalty ... no discounts needed") who is more likely
    than not to churn needs a retention call instead (:data:`LEAVING_ACTION`), so that the
    action never contradicts the risk shown beside it.

    Examples
    --------
    >>> acts = pd.Series(["Reward loyalty", "Reward loyalty"])
    >>> risk_aware_actions(acts, pd.Series([0.9, 0.1])).str[:15].tolist()
    ['Retention call ', 'Reward loyalty']
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold: expected a probability between 0 and 1, got {threshold!r}")
    if churn_probability is None:
        return actions
    leaving = churn_probability.reindex(actions.index).to_numpy(dtype=float, na_value=np.nan)
    out = actions.astype("str").copy()
    out[leaving >= threshold] = LEAVING_ACTION
    return out


CHECK_IN_ACTION = N_(
    "Check-in call from the account owner: much value is at stake and the risk is rising; ask "
    "how things are going and fix open issues before any reward or upsell."
)
"""The action of a call-list customer of a rewarding or growing segment who is not (yet) more
likely than not to churn."""

REWARDING_GROUPS: frozenset[str] = frozenset({"top", "growth"})
"""Segment groups whose actions reward or grow the customer (loyalty perks, upsell, membership):
the wrong message to a customer on the call list."""

DEFAULT_CALL_ACTION = N_("Call the customer about their recent experience and needs.")
"""The action of a call-list customer when the scored table has no segment actions."""


def largest_losses(scored: pd.DataFrame, n: int) -> pd.Index:
    """Return the row labels of the ``n`` customers with the largest expected loss, largest first.

    The one ranking behind every call list (the risk list of page 04 and the action list the
    CRM imports): customers without an expected loss are never listed, and ties keep the
    table's order.

    Examples
    --------
    >>> s = pd.DataFrame({"expected_loss": [5.0, None, 9.0, 5.0]})
    >>> largest_losses(s, 3).tolist()
    [2, 0, 3]
    """
    loss = pd.to_numeric(scored["expected_loss"], errors="coerce")
    return loss.dropna().sort_values(ascending=False, kind="stable").index[:n]


def call_list_actions(rows: pd.DataFrame) -> pd.Series:
    """Return the action of each customer on a call list (the largest expected losses).

    A call list ranks its customers as the ones to keep, so none of them gets a loyalty reward
    or an upsell: a customer more likely than not to churn already has the retention call
    (:func:`risk_aware_actions`); one of a rewarding or growing segment group
    (:data:`REWARDING_GROUPS`) below that gets a check-in call (:data:`CHECK_IN_ACTION`); the
    at-risk and lapsed segments keep their win-back actions.

    Examples
    --------
    >>> rows = pd.DataFrame({"recommended_action": ["Reward loyalty", "Win-back offer"],
    ...                      "segment_group": ["top", "at_risk"], "churn_probability": [0.3, 0.3]})
    >>> call_list_actions(rows).str[:14].tolist()
    ['Check-in call ', 'Win-back offer']
    """
    if "recommended_action" not in rows:
        return pd.Series(DEFAULT_CALL_ACTION, index=rows.index, dtype=object)
    out = rows["recommended_action"].astype(object).copy()
    if "segment_group" in rows:
        probability = pd.to_numeric(rows.get("churn_probability"), errors="coerce")
        rewarding = rows["segment_group"].isin(REWARDING_GROUPS).to_numpy()
        below = ~(probability.to_numpy(dtype=float, na_value=np.nan) >= LEAVING_PROBABILITY)
        out[rewarding & below] = CHECK_IN_ACTION
    return out


def biggest_risks(card: pd.DataFrame, scored: pd.DataFrame | None, n: int = 3) -> pd.DataFrame:
    """Return the ``n`` biggest risks of the period, each with its evidence.

    Candidates, in this order of priority:

    1. the missed target furthest from its target among those getting worse (else the
       furthest missed target);
    2. churn exposure: the expected loss of the active base (churn probability x CLV),
       and how much of it sits in tier-A customers;
    3. slipping value: customers of the *at risk* segment group (good customers who stopped
       buying) and their share of historical revenue;
    4. further missed targets, furthest first.

    Parameters
    ----------
    card : DataFrame
        From :func:`~cpm_analysis.kpis.scorecard.scorecard`.
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
        likely = int((scored["churn_probability"] >= LEAVING_PROBABILITY).sum())
        rows.append(
            {
                "risk": M_("Churn of the customer base"),
                "evidence": M_(
                    "%(likely)s of the %(base)s customers of the base (a paid order in the last "
                    "365 days) are more likely than not to churn within 90 days; expected loss "
                    "%(loss)s of 12-month value, %(share)s of it in tier-A customers.",
                    likely=f"{likely:,}",
                    base=f"{base:,}",
                    loss=f"{total:,.0f}",
                    share=f"{tier_a / total:.0%}" if total > 0 else "",
                )
                if total > 0
                else M_(
                    "%(likely)s of the %(base)s customers of the base likely to churn.",
                    likely=f"{likely:,}",
                    base=f"{base:,}",
                ),
            }
        )
    if scored is not None and "segment_group" in scored and "monetary" in scored:
        at_risk = (scored["segment_group"] == "at_risk").to_numpy(dtype=bool)
        revenue = float(scored["monetary"].sum())
        if at_risk.any() and revenue > 0:
            share = float(scored.loc[at_risk, "monetary"].sum()) / revenue
            names = sorted(scored.loc[at_risk, "segment"].astype("str").unique())
            rows.append(
                {
                    "risk": M_("Good customers slipping away"),
                    "evidence": M_(
                        "%(n)s customers in the at-risk segments (%(segments)s) brought "
                        "%(share)s of historical revenue and have stopped buying.",
                        n=f"{int(at_risk.sum()):,}",
                        segments=join(", ", map(M_, names)),
                        share=f"{share:.0%}",
                    ),
                }
            )
    rows.extend(_target_risk(row) for _, row in missed.iterrows())
    return pd.DataFrame(rows[:n], columns=["risk", "evidence"], dtype=object)  # keeps messages


def _target_risk(row: pd.Series) -> dict[str, str]:
    values = {
        "actual": format_number(row["actual"], row.get("unit")),
        "target": format_number(row["target"], row.get("unit")),
        "attainment": f"{row['attainment']:.0%}",
    }
    trend = row.get("trend")
    return {
        "risk": M_("%(kpi)s below target", kpi=kpi_name(row)),
        "evidence": M_(
            "%(actual)s against a target of %(target)s (%(attainment)s attainment, %(trend)s).",
            trend=M_(trend),
            **values,
        )
        if trend in ("worsening", "improving", "flat")
        else M_("%(actual)s against a target of %(target)s (%(attainment)s attainment).", **values),
    }


def kpi_name(row: pd.Series | Mapping[str, str | None]) -> Message:
    """Return a KPI's name from a scorecard row: English, with its ``label_zh`` when it has one.

    Examples
    --------
    >>> kpi_name({"label_en": "Revenue", "label_zh": "销售收入"}).names
    {'zh': '销售收入'}
    """
    return named(str(row["label_en"]), zh=row.get("label_zh"))


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
                    "area": M_("Target"),
                    "finding": M_(
                        "%(kpi)s %(status)s: %(actual)s vs %(target)s (%(attainment)s)",
                        kpi=kpi_name(row),
                        status=M_(row["status"]),
                        actual=format_number(row["actual"], row.get("unit")),
                        target=format_number(row["target"], row.get("unit")),
                        attainment=f"{row['attainment']:.0%}",
                    ),
                    "action": kpi_actions.get(row["kpi"])
                    or M_("Review the drivers of %(kpi)s with the team.", kpi=kpi_name(row)),
                    "who": M_("Management"),
                }
            )
    if scored is not None and "expected_loss" in scored and scored["expected_loss"].notna().any():
        top = scored["expected_loss"].nlargest(risk_list_size)
        owners_n = scored.loc[top.index, "owner_id"].nunique() if "owner_id" in scored else 0
        rows.append(
            {
                "area": M_("Churn risk"),
                "finding": M_(
                    "The %(n)s customers with the largest expected loss hold %(loss)s of "
                    "expected loss (churn probability x CLV)",
                    n=len(top),
                    loss=f"{top.sum():,.0f}",
                ),
                "action": M_(
                    "Call each of them this month with the recommended action of their "
                    "segment (risk list in the churn report and customers_scored.csv)."
                ),
                "who": M_("%(n)s account owner(s)", n=owners_n)
                if owners_n
                else M_("Account owners"),
            }
        )
    for team in (owners, agents):
        if team is None or not team.available or team.table is None:
            continue
        flags = team.table["flags"].fillna("").astype("str")
        reasons = team.table.get("flag_reasons", flags).fillna("").astype("str")
        for flag in ("review", "penalty", "improvement_plan", "reward"):
            hit = flags.str.contains(flag, regex=False).to_numpy()
            people = team.names.series(team.table.index[hit].astype(str))
            for person, reason in zip(people, reasons[hit], strict=True):
                rows.append(
                    {
                        "area": M_("Owner scorecard")
                        if team.role == "owner"
                        else M_("Agent scorecard"),
                        "finding": M_("%(person)s: %(reason)s", person=person, reason=reason)
                        if reason
                        else str(person),
                        "action": flag_actions.get(flag, FLAG_ACTIONS[flag]),
                        "who": M_("Manager of %(person)s", person=person),
                    }
                )
    out = pd.DataFrame(rows, columns=["area", "finding", "action", "who"], dtype=object)
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


def format_number(value: float | None, unit: str | None = None) -> str:
    """Format a KPI value for a sentence: a share as a percentage, ``n/a`` when missing.

    Examples
    --------
    >>> format_number(0.256, "share"), format_number(1234.5), format_number(2.5), format_number(None)
    ('25.6%', '1,234', '2.50', 'n/a')
    """
    if value is None or pd.isna(value):
        return "n/a"
    if unit == "share":
        return f"{value:.1%}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"
