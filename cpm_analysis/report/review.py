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
from cpm_analysis.i18n import N_, Translator
from cpm_analysis.kpis.intervals import TEAM_KPIS
from cpm_analysis.kpis.scorecard import status_counts
from cpm_analysis.periods import Period, parse_period
from cpm_analysis.report.escaping import md_text
from cpm_analysis.report.tables import MISSING
from cpm_analysis.staff import StaffNames
from cpm_analysis.teams_review import TeamScorecard

_ENGLISH = Translator("en")


def executive_summary(
    kpis: pd.DataFrame,
    card: pd.DataFrame,
    risks: pd.DataFrame,
    period: Period | str,
    *,
    forecast: ForecastCheck | None = None,
    tr: Translator | None = None,
) -> str:
    """Write a few sentences for managers, generated from the numbers of the period (Markdown).

    What improved (the three KPIs with the largest relative change in their good direction),
    which targets were missed or are at risk, the three biggest risks and, when given, how
    well last period's forecast held. In the language of ``tr`` (default English).

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
    tr = tr if tr is not None else _ENGLISH
    label = parse_period(period).label
    parts: list[str] = []
    lead = []
    for kpi in ("revenue", "active_customers", "new_customers"):
        if kpi in kpis.index and bool(kpis.loc[kpi, "available"]):
            row = kpis.loc[kpi]
            name = row["label_en"].lower() if tr.lang == "en" else _kpi_label(kpi, tr)
            lead.append(
                f"{md_text(name)} {_number(row['value'], row['unit'], tr)}{_change(row, tr=tr)}"
            )
    parts.append(
        tr._(
            "In %(period)s: %(figures)s.",
            period=label,
            figures=(", " if tr.lang == "en" else "，").join(lead)
            if lead
            else tr._("no KPI available"),
        )
    )
    improved = _improvements(kpis, tr=tr)
    if improved:
        parts.append(tr._("**Improved:** %(kpis)s.", kpis="; ".join(improved)))
    counts = status_counts(card)
    rated = counts["met"] + counts["at risk"] + counts["missed"]
    if rated:
        names = card.set_index("kpi")["label_en"] if "kpi" in card else card["label_en"]
        labels = [
            n if tr.lang == "en" or "kpi" not in card else _kpi_label(k, tr)
            for k, n in names.items()
        ]
        missed = [x for x, st in zip(labels, card["status"], strict=True) if st == "missed"]
        at_risk = [x for x, st in zip(labels, card["status"], strict=True) if st == "at risk"]
        text = tr._("**Targets:** %(met)s of %(rated)s met", met=counts["met"], rated=rated)
        if missed:
            text += tr._("; missed: %(kpis)s", kpis=tr.listing(map(md_text, missed)))
        if at_risk:
            text += tr._("; at risk: %(kpis)s", kpis=tr.listing(map(md_text, at_risk)))
        parts.append(text + tr._("."))
    else:
        parts.append(tr._("**Targets:** no target set for this period."))
    if counts["not available"]:
        parts.append(
            tr._(
                "%(n)s target(s) could not be assessed: the data does not hold what the KPI needs.",
                n=counts["not available"],
            )
        )
    if len(risks):
        listed = "\n".join(
            f"{i}. **{md_text(tr.sentence(r.risk))}**: {md_text(tr.sentence(r.evidence))}"
            for i, r in enumerate(risks.itertuples(), 1)
        )
        parts.append(tr._("**Biggest risks:**") + f"\n\n{listed}")
    if forecast is not None and forecast.available:
        parts.append(tr.gettext(forecast.describe()))
    return "\n\n".join(parts)


def _number(value: Any, unit: Any, tr: Translator) -> str:
    """Return a KPI value for a sentence in ``tr``'s locale (as :func:`~cpm_analysis.actions.format_number`)."""
    if tr.lang == "en":
        return format_number(value, unit)
    if value is None or pd.isna(value):
        return tr.not_available()
    if unit == "share":
        return tr.percent(value)
    return tr.number(float(value), 0 if abs(value) >= 100 or float(value).is_integer() else 2)


def _improvements(kpis: pd.DataFrame, n: int = 3, tr: Translator | None = None) -> list[str]:
    tr = tr if tr is not None else _ENGLISH
    frame = kpis.loc[kpis["available"].astype(bool)]
    frame = frame.loc[frame["previous"].notna() & frame["value"].notna()]
    sign = np.where(frame["direction"] == "lower", -1.0, 1.0)
    base = frame["previous"].abs().where(frame["previous"] != 0)
    relative = sign * (frame["value"] - frame["previous"]) / base
    relative = relative.loc[(relative > 0.001).to_numpy()].sort_values(ascending=False)
    return [
        f"{md_text(frame.loc[k, 'label_en'] if tr.lang == 'en' else _kpi_label(k, tr))} "
        f"{_change(frame.loc[k], lead=False, tr=tr)}"
        for k in relative.index[:n]
    ]


def _change(row: pd.Series, lead: bool = True, tr: Translator | None = None) -> str:
    tr = tr if tr is not None else _ENGLISH
    if pd.isna(row.get("previous")) or pd.isna(row.get("value")):
        return ""
    if row.get("unit") == "share":
        points = (row["value"] - row["previous"]) * 100
        text = f"{points:+.1f} pts" if tr.lang == "en" else tr.points(points / 100)
    elif row["previous"] == 0:
        return ""
    else:
        share = row["value"] / row["previous"] - 1
        text = f"{share:+.1%}" if tr.lang == "en" else tr.change(share)
    return tr._(" (%(change)s on the previous period)", change=text) if lead else f"({text})"


# --- forecast check ----------------------------------------------------------------------------


def scorecard_table(card: pd.DataFrame, tr: Translator | None = None) -> pd.DataFrame:
    """Return the scorecard for display: each actual and target in its KPI's unit.

    Indexed by the KPI's label; ``actual`` and ``target`` are text formatted by the KPI's unit
    (a count as an integer, a share as a percentage, money with the currency, hours with their
    unit: :meth:`~cpm_analysis.i18n.Translator.quantity`), so that one column can hold
    customers, shares and amounts; attainment and weight stay numbers (shown as percentages).

    Examples
    --------
    >>> card = pd.DataFrame({"kpi": ["nps", "active_customers"], "label_en": ["NPS", "Active"],
    ...                      "unit": ["NPS points", "customers"], "actual": [5.0, 388.0],
    ...                      "target": [30.0, 432.0], "attainment": [0.2, 0.9],
    ...                      "status": ["missed", "missed"], "trend": ["", ""], "note": ["", ""]})
    >>> scorecard_table(card).loc["Active", ["Actual", "Target"]].tolist()
    ['388', '432']
    """
    tr = tr if tr is not None else _ENGLISH
    columns = ["actual", "target", "attainment", "status", "trend", "weight", "note"]
    out = card.set_index("label_en")[[c for c in columns if c in card.columns]].copy()
    units = card["unit"] if "unit" in card else card["kpi"].map(_registry_unit)
    for column in ("actual", "target"):
        if column in out:
            out[column] = [kpi_quantity(tr, v, u) for v, u in zip(card[column], units, strict=True)]
    out.index.name = "KPI"
    return out.rename(columns={c: c.capitalize() for c in ("actual", "target")})


def headline_table(history: pd.DataFrame, tr: Translator | None = None) -> pd.DataFrame:
    """Return the headline KPIs by period for display: each value in its KPI's unit.

    :func:`~cpm_analysis.kpis.trends.trend_table` (one row per period, one column per KPI,
    labelled in the report's language) with every cell written as :func:`kpi_quantity` writes
    it, so a count is an integer, a share a percentage and a 1-5 score ``4.0 / 5``.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["2025-01"], ["active_customers", "csat"]],
    ...                                  names=["period", "kpi"])
    >>> h = pd.DataFrame({"value": [388.0, 4.24], "label_en": ["Active customers", "CSAT"],
    ...                   "label_zh": ["活跃客户数", "客户满意度"]}, index=idx)
    >>> headline_table(h).iloc[0].tolist()
    ['388', '4.2 / 5']
    """
    from cpm_analysis.kpis.trends import headline_kpis, trend_table

    tr = tr if tr is not None else _ENGLISH
    table = trend_table(history, lang=tr.lang)
    out = table.astype(object)
    for column, kpi_id in zip(table.columns, headline_kpis(history), strict=True):
        unit = _registry_unit(kpi_id)
        out[column] = [kpi_quantity(tr, v, unit) for v in table[column]]
    return out


def _registry_unit(kpi_id: str) -> str | None:
    from cpm_analysis.kpis.registry import get_kpi

    try:
        return get_kpi(kpi_id).unit
    except (KeyError, ValueError):
        return None


def kpi_quantity(tr: Translator, value: Any, unit: str | None) -> str:
    """Return a KPI value with its unit (``5.2 hr``, ``35.0%``, ``€1,549.00``, ``4.2 / 5``).

    Examples
    --------
    >>> kpi_quantity(_ENGLISH, 4.24, "score 1-5"), kpi_quantity(_ENGLISH, 388.0, "customers")
    ('4.2 / 5', '388')
    >>> kpi_quantity(_ENGLISH, None, "share")
    '–'
    """
    if value is None or not np.isfinite(float(value)):
        return MISSING
    value = float(value)
    if unit == "score 1-5":
        return f"{tr.number(value, 1)} / 5"
    if unit is not None and unit.startswith("NPS"):
        return tr.number(value, 1)
    if unit == "per 100 customers":
        return tr._("%(number)s per 100 customers", number=tr.number(value, 1))
    return tr.quantity(value, unit)


# --- team scorecards --------------------------------------------------------------------------


def team_message(team: TeamScorecard, tr: Translator | None = None) -> Any:
    """Return Markdown: who was ranked and flagged, and how the composite weighs the KPIs.

    Or the sentence saying why there is no scorecard. In the language of ``tr`` (default
    English).

    Examples
    --------
    >>> team_message(TeamScorecard("agent", None, "no tickets")).available
    False
    """
    from IPython.display import Markdown

    if not team.available:
        return team.missing()
    return Markdown(team_text(team, tr) + "\n\n" + md_text(weights_text(team, tr)))


FLAG_WORDS: dict[str, str] = {
    "reward": N_("Top performer: reward"),
    "improvement_plan": N_("Bottom of the ranking: improvement plan"),
    "review": N_("Last place three periods running: performance review"),
    "penalty": N_("Last place: penalty"),
    "within_noise": N_("Place within noise: rule not applied"),
}
"""What each team rule (:data:`cpm_analysis.teams.RULES`) means, in words, by its code."""


def flag_words(flags: str, reasons: str = "", tr: Translator | None = None) -> str:
    """Write a person's flags in words, each with why (never the rule's code).

    Examples
    --------
    >>> flag_words("improvement_plan", "bottom 2 of 12 in 2025-06 (rank 11)")
    'Bottom of the ranking: improvement plan (bottom 2 of 12 in 2025-06 (rank 11))'
    >>> flag_words("")
    ''
    """
    tr = tr if tr is not None else _ENGLISH
    codes = [c.strip() for c in str(flags).split(",") if c.strip()]
    whys = [r.strip() for r in str(reasons).split(";")] if reasons else []
    parts = []
    for i, code in enumerate(codes):
        words = tr.gettext(FLAG_WORDS[code]) if code in FLAG_WORDS else code.replace("_", " ")
        why = tr.sentence(whys[i]) if i < len(whys) and whys[i] else ""
        parts.append(tr._("%(flag)s (%(why)s)", flag=words, why=why) if why else words)
    return "; ".join(parts) if tr.lang == "en" else "；".join(parts)


def team_text(team: TeamScorecard, tr: Translator | None = None) -> str:
    """Return the text of :func:`team_message` (in the language of ``tr``, default English).

    Examples
    --------
    >>> team_text(TeamScorecard("agent", None, "the data has no tickets table"))
    '**Agent scorecard not available:** the data has no tickets table.'
    """
    tr = tr if tr is not None else _ENGLISH
    if not team.available:
        title = (
            tr._("**Owner scorecard not available:**")
            if team.role == "owner"
            else tr._("**Agent scorecard not available:**")
        )
        return f"{title} {md_text(tr.gettext(team.note))}" + tr._(".")
    table = _scorecard_table(team)
    flags = table["flags"].fillna("").astype("str")
    ranked = (
        tr._("%(n)s owners ranked by composite score.", n=len(table))
        if team.role == "owner"
        else tr._("%(n)s agents ranked by composite score.", n=len(table))
    )
    parts = [ranked]
    for flag, label in (
        ("reward", N_("Top performer")),
        ("improvement_plan", N_("Improvement plan")),
        ("review", N_("Performance review")),
    ):
        who = table.index[flags.str.contains(flag, regex=False).to_numpy()].astype("str")
        if len(who):
            shown = team.names.series(who)
            parts.append(
                tr._(
                    "%(flag)s: %(who)s.",
                    flag=tr.gettext(label),
                    who=tr.listing(map(md_text, shown)),
                )
            )
    return " ".join(parts)


def weights_text(team: TeamScorecard, tr: Translator | None = None) -> str:
    """Explain the composite score in one line: the KPI weights and the assessment blend.

    Examples
    --------
    >>> table = pd.DataFrame({"score_revenue": [80.0], "blend": ["KPI score only (x)"]})
    >>> table.attrs["weights"] = {"revenue": 0.6, "csat": 0.4}
    >>> print(weights_text(TeamScorecard("owner", table)))  # doctest: +NORMALIZE_WHITESPACE
    Each KPI is scored 0-100: against the person's target where set (120% of the target or
    more scores 100), else by rank in the team; the KPI score weighs them Revenue 60%,
    Customer satisfaction (CSAT) 40%; composite = KPI score only (x).
    """
    tr = tr if tr is not None else _ENGLISH
    if not team.available:
        return ""
    table = _scorecard_table(team)
    weights = dict(table.attrs.get("weights", {}))
    total = sum(weights.values()) or 1.0
    listed = tr.listing(
        f"{_kpi_label(k, tr)} {tr.percent(w / total, 0)}" for k, w in weights.items()
    )
    blends = table["blend"].dropna().astype(str).unique() if "blend" in table else []
    cap = float(table.attrs.get("attainment_cap", 1.2))
    text = tr._(
        "Each KPI is scored 0-100: against the person's target where set (%(cap)s of the "
        "target or more scores 100), else by rank in the team; the KPI score weighs them "
        "%(weights)s",
        cap=tr.percent(cap, 0),
        weights=listed,
    )
    if len(blends):
        text += tr._("; composite = %(blend)s", blend=tr.sentence(blends[0]))
    return text + "."


def _scorecard_table(team: TeamScorecard) -> pd.DataFrame:
    """Return the scorecard of an available ``team`` (its callers show the sentence otherwise)."""
    if team.table is None:
        raise ValueError(f"the {team.role} scorecard is not available: {team.note}")
    return team.table


def _kpi_label(kpi_id: str, tr: Translator) -> str:
    from cpm_analysis.kpis.registry import get_kpi

    try:
        kpi = get_kpi(kpi_id)
    except ValueError:
        return kpi_id.replace("_", " ")
    return kpi.label_zh if tr.lang == "zh" else kpi.label_en


def team_table(team: TeamScorecard, tr: Translator | None = None, part: str = "all") -> Any:
    """Return the team scorecard for display: each KPI's result with its unit and its score.

    One row per person: rank, team, one column per KPI holding the value in its unit and the
    0-100 score side by side (``5.2 hr · score 100``), the composite, and the flags in words
    with why. Every cell is text, so that the table fits a page without a horizontal scroll.
    A scorecard of eight KPIs is too wide for a 1024 px page in one table: ``part="results"``
    keeps the rank and the KPI columns, ``part="ranking"`` the rank, team, assessment,
    composite and flags (``"all"``, the default, both).

    Examples
    --------
    >>> team_table(TeamScorecard("agent", None, "no tickets")).available
    False
    >>> table = pd.DataFrame({"first_response_hours": [5.2], "score_first_response_hours": [100.0],
    ...     "composite": [91.25], "rank": [1], "flags": ["reward"],
    ...     "flag_reasons": ["top performer of 4 in 2025-06 (composite 91.2)"]},
    ...     index=pd.Index(["S01"], name="agent_id"))
    >>> table.attrs["weights"] = {"first_response_hours": 1.0}
    >>> row = team_table(TeamScorecard("agent", table)).iloc[0]
    >>> row["First response time (median)"], row["Composite (0-100)"]
    ('5.2 hr · score 100', '91.2')
    """
    tr = tr if tr is not None else _ENGLISH
    if part not in ("all", "results", "ranking"):
        raise ValueError(f"part: expected 'all', 'results' or 'ranking', got {part!r}")
    if not team.available:
        return team.missing()
    table = _scorecard_table(team)
    results, ranking = part in ("all", "results"), part in ("all", "ranking")
    kpi_ids = list(table.attrs.get("weights", {})) or [
        c.removeprefix("score_") for c in table.columns if c.startswith("score_")
    ]
    out = pd.DataFrame(index=pd.Index(team.names.series(table.index.astype(str))))
    out.index.name = tr.gettext("Owner") if team.role == "owner" else tr.gettext("Agent")
    if "rank" in table:
        out[tr.gettext("Rank")] = [
            tr.integer(float(r)) if pd.notna(r) else MISSING for r in table["rank"]
        ]
    if "team" in table and ranking:
        out[tr.gettext("Team")] = table["team"].astype(object).fillna(MISSING).to_numpy()
    for kpi_id in kpi_ids if results else []:
        if kpi_id not in table:
            continue
        unit = _registry_unit(kpi_id)
        scores = table.get(f"score_{kpi_id}", pd.Series(np.nan, index=table.index))
        out[_kpi_label(kpi_id, tr)] = [
            _result_cell(tr, value, unit, score)
            for value, score in zip(table[kpi_id], scores, strict=True)
        ]
    if not ranking:
        return out
    if "assessment" in table and table["assessment"].notna().any():
        out[tr.gettext("Assessment (0-100)")] = [
            tr.number(float(v), 1) if pd.notna(v) else MISSING for v in table["assessment"]
        ]
    if "composite" in table:
        out[tr.gettext("Composite (0-100)")] = [
            tr.number(float(v), 1) if pd.notna(v) else MISSING for v in table["composite"]
        ]
    if "flags" in table:
        reasons = table["flag_reasons"] if "flag_reasons" in table else pd.Series("", table.index)
        out[tr.gettext("Flags and why")] = [
            flag_words(f, r, tr)
            for f, r in zip(table["flags"].fillna(""), reasons.fillna(""), strict=True)
        ]
    return out


def noise_table(
    table: pd.DataFrame, tr: Translator | None = None, names: StaffNames | None = None
) -> Any:
    """Return the owners' (or agents') rate KPIs with their 90% intervals, for display.

    One row per person and KPI (:func:`~cpm_analysis.kpis.intervals.team_kpi_intervals`): the
    KPI's name, its value in its unit with the interval (``60.0% (27.2%–85.7%)``), what it is
    computed from (``3 of 5``; complaints ``among`` the active customers), the place and the
    places the intervals allow (``1–20``), and the verdict in words. ``names`` (a
    :class:`~cpm_analysis.staff.StaffNames`) shows each person as the report does.

    Examples
    --------
    >>> table = pd.DataFrame({"owner_id": ["S01"], "kpi": ["retention_rate"], "events": [3],
    ...     "exposure": [5.0], "rate": [0.6], "lower": [0.272], "upper": [0.857], "rank": [2],
    ...     "rank_best": [1], "rank_worst": [20], "verdict": ["within noise"]})
    >>> noise_table(table).iloc[0].tolist()
    ['S01', 'Customer retention rate', '60.0% (27.2%–85.7%)', '3 of 5', '2', '1–20', 'within noise']
    """
    tr = tr if tr is not None else _ENGLISH
    if not isinstance(table, pd.DataFrame):
        return table  # a section that is not available: its sentence
    role = "owner_id" if "owner_id" in table.columns else "agent_id"
    people = table[role].astype("str") if role in table else pd.Series([], dtype="str")
    laws = {kpi: law for pairs in TEAM_KPIS.values() for kpi, law in pairs}
    rows = []
    for row in table.itertuples(index=False):  # a few rows per person and KPI, not customers
        unit = _registry_unit(str(row.kpi))
        ends = [_interval_end(tr, v, unit) for v in (row.lower, row.upper)]
        events, exposure = tr.integer(float(row.events)), tr.integer(float(row.exposure))
        rows.append(
            (
                _kpi_label(str(row.kpi), tr),
                tr._(
                    "%(value)s (%(lower)s–%(upper)s)",
                    value=kpi_quantity(tr, row.rate, unit),
                    lower=ends[0],
                    upper=ends[1],
                ),
                _computed_from(tr, str(row.kpi), laws.get(str(row.kpi)), events, exposure),
                tr.integer(float(row.rank)) if pd.notna(row.rank) else MISSING,
                tr._(
                    "%(best)s–%(worst)s",
                    best=tr.integer(float(row.rank_best)),
                    worst=tr.integer(float(row.rank_worst)),
                )
                if pd.notna(row.rank_best)
                else MISSING,
                tr.sentence(str(row.verdict)),
            )
        )
    headers = [
        N_("KPI"),
        N_("Value (90% interval)"),
        N_("Computed from"),
        N_("Place"),
        N_("Place within noise"),
        N_("Verdict"),
    ]
    out = pd.DataFrame(rows, columns=[tr.gettext(h) for h in headers], dtype=object)
    shown = names.series(people) if names is not None else people
    label = tr.gettext("Owner") if role == "owner_id" else tr.gettext("Agent")
    out.insert(0, label, np.asarray(shown, dtype=object))
    return out


def _computed_from(tr: Translator, kpi: str, law: Any, events: str, exposure: str) -> str:
    if law == "binomial":
        return tr._("%(events)s of %(exposure)s", events=events, exposure=exposure)
    if kpi == "complaint_rate":
        return tr._(
            "%(events)s complaints among %(exposure)s active customers",
            events=events,
            exposure=exposure,
        )
    return tr._("%(events)s events, exposure %(exposure)s", events=events, exposure=exposure)


def _interval_end(tr: Translator, value: Any, unit: str | None) -> str:
    if value is None or not np.isfinite(float(value)):
        return MISSING
    return tr.percent(float(value)) if unit == "share" else tr.number(float(value), 1)


def _result_cell(tr: Translator, value: Any, unit: str | None, score: Any) -> str:
    # the column's label names the rate ("Complaints per 100 active customers")
    shown = kpi_quantity(tr, value, None if unit == "per 100 customers" else unit)
    if pd.isna(score):
        return shown
    return tr._("%(value)s · score %(score)s", value=shown, score=tr.integer(float(score)))


# --- the forecast check ------------------------------------------------------------------------


def forecast_message(check: ForecastCheck, tr: Translator | None = None) -> Any:
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
    return Markdown(tr.gettext(check.describe()) if tr is not None else check.describe())
