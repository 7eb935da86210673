"""Team scorecards: account owners and service agents scored, ranked and flagged per period.

How a scorecard is built (for period ``P``):

1. **KPIs per person.** Owners: the KPIs of their book (the customers whose ``owner_id`` is
   theirs; the customers' tickets and survey answers count for the owner), from
   :func:`~cpm_analysis.kpis.compute_kpis` with ``by="owner_id"``. Agents: the KPIs of the
   tickets they handled (``by="agent_id"``). Each person is listed when they have a book at the
   cutoff (owners) or opened tickets in ``P`` (agents).
2. **Score 0-100 per KPI.** Against a target when there is one: the person's own target
   (targets row with ``owner_id`` = the person), else the company-level target of a rate KPI
   (a company target of an additive KPI such as revenue is not a per-person target). The score
   is ``100 x min(attainment, 1.2) / 1.2``: meeting the target exactly scores 83.3, 120% or
   more scores 100. Without a target: the percentile rank within the team
   (``100 x rank / n``, best = 100), in the KPI's good direction.
3. **KPI score**: the weighted mean of the available KPI scores (weights renormalised over the
   KPIs a person has a score for). Default KPIs and weights: :data:`OWNER_WEIGHTS`,
   :data:`AGENT_WEIGHTS` (``kpis=`` replaces the set, ``weights=`` overrides some weights).
4. **Assessment blend.** When the dataset has an ``assessments`` table, the assessment score is
   ``30% self + 70% manager`` (``assessment_weights=``) and
   ``composite = 50% KPI score + 50% assessment`` (``assessment_share=``; 1 is the pure
   assessment scheme, where the KPI score only stands in for a person without an assessment);
   the ``blend`` column states the formula used. Point in time: only assessments of periods that ended by the
   scorecard's cutoff count. An assessment of exactly the period wins; else the assessments of
   periods inside it are averaged (a year averages its quarters); else the latest one finished
   before (a monthly scorecard for May uses Q1, for June Q2). Without one, composite = KPI score.
5. **Rank** by composite (1 = best; ties share the better rank).
6. **Rules** (:func:`apply_rules`) over the last ``history`` periods: the bottom two of a
   period are flagged ``improvement_plan``; last place in three consecutive periods,
   ``review``; the top performer, ``reward``; with ``penalty=True`` the last place,
   ``penalty``. ``flags`` names the rules that fired for ``P``, ``flag_reasons`` says why.
   An improvement plan also gets a deadline (``plan_due``: ``plan_days``, default 30, after
   the period's end) and a cause summary (``plan_causes``, :func:`improvement_causes`): the
   KPIs where the person's score falls furthest below the team's median.

Every default is the configuration's (:data:`cpm_analysis.config.DEFAULT_CONFIG`);
:func:`scorecard_options` turns a loaded configuration into these keyword arguments.

Examples
--------
>>> from cpm_analysis import load
>>> from cpm_analysis.teams import owner_scorecard, agent_scorecard
>>> ds = load("data/sample")
>>> card = owner_scorecard(ds, "2024-06")
>>> card[["composite", "rank", "flags"]].head(3).round(1)
          composite  rank   flags
owner_id
S012           80.1     1  reward
S016           78.5     2
S020           77.0     3
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.config import DEFAULT_CONFIG, CPMConfig, WindowsConfig
from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.protocol import CustomerData
from cpm_analysis.i18n import M_, Message, join
from cpm_analysis.kpis.compute import kpi_history
from cpm_analysis.kpis.context import MISSING_GROUP
from cpm_analysis.kpis.intervals import kpi_bounds, noise_verdict, rank_within_noise
from cpm_analysis.kpis.registry import get_kpi
from cpm_analysis.kpis.targets import _clean_targets, attainment, period_targets
from cpm_analysis.periods import Period, parse_period, resolve_period

_DEFAULTS = DEFAULT_CONFIG.scorecard
_RANKING = DEFAULT_CONFIG.ranking

OWNER_WEIGHTS: dict[str, float] = dict(_DEFAULTS.owner_weights)
"""Default KPIs and weights of the owner (sales) scorecard (``scorecard.owner_weights``)."""

AGENT_WEIGHTS: dict[str, float] = dict(_DEFAULTS.agent_weights)
"""Default KPIs and weights of the agent (service) scorecard (``scorecard.agent_weights``);
``tickets`` is tickets handled."""

ASSESSMENT_WEIGHTS: dict[str, float] = DEFAULT_CONFIG.assessment.weights
"""Default weights of self- and manager assessment in the assessment score."""
EVALUATORS: tuple[str, ...] = ("self", "manager", "peer", "subordinate", "customer")
"""Evaluator types of an assessment: ``<type>_score`` columns, weights in ``assessment.*``."""

_EVALUATOR_SHARE: dict[str, Callable[[str], Message]] = {
    "self": lambda share: M_("%(share)s self", share=share),
    "manager": lambda share: M_("%(share)s manager", share=share),
    "peer": lambda share: M_("%(share)s peer", share=share),
    "subordinate": lambda share: M_("%(share)s subordinate", share=share),
    "customer": lambda share: M_("%(share)s customer", share=share),
}
"""An evaluator's share of the assessment, as the scorecard's ``blend`` column writes it."""

ASSESSMENT_SHARE = DEFAULT_CONFIG.assessment.share
"""Default share of the assessment score in the composite (the rest is the KPI score)."""

ATTAINMENT_CAP = _DEFAULTS.attainment_cap
"""Attainment at or above which a KPI scores 100."""

SLA_HOURS = DEFAULT_CONFIG.sla.first_response_hours
"""Default first-response SLA of the ``sla_compliance`` KPI."""

RULES: dict[str, str] = {
    "improvement_plan": "bottom two of the period: improvement plan",
    "review": "last place three periods running: review",
    "reward": "top performer of the period: reward",
    "penalty": "last place of the period: penalty (off by default)",
    "within_noise": "a rule not applied because the place lies within noise (ranking.<rule>."
    "within_noise: spare)",
}
"""The rules :func:`apply_rules` applies, by the name that appears in ``flags``."""

NOISE_MODES: tuple[str, ...] = ("spare", "mark", "ignore")
"""What a rule does with a place within noise (``ranking.<rule>.within_noise``)."""

# An agent handling more tickets is better, although fewer tickets is better for the company.
_AGENT_DIRECTIONS = {"tickets": "higher"}


def _check_weights(weights: Mapping[str, float] | None, defaults: Mapping[str, float]) -> dict:
    merged = dict(defaults)
    if weights is None:
        return merged
    if not isinstance(weights, Mapping):
        raise ValueError(f"weights: expected a dict of KPI id to weight, got {weights!r}")
    for key, value in weights.items():
        if key not in defaults:
            raise ValueError(
                f"weights: '{key}' is not a KPI of this scorecard ({', '.join(defaults)})"
            )
        if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0):
            raise ValueError(f"weights: the weight of '{key}' must be a number >= 0, got {value!r}")
        merged[key] = float(value)
    if sum(merged.values()) <= 0:
        raise ValueError("weights: at least one weight must be positive")
    return merged


def _check_kpis(kpis: Mapping[str, float] | None, defaults: dict[str, float]) -> dict:
    """Return the scorecard's checked KPIs and default weights: ``kpis`` or the defaults.

    ``kpis`` may name any registered KPI ids.
    """
    if kpis is None:
        return dict(defaults)
    if not isinstance(kpis, Mapping) or not kpis:
        raise ValueError(f"kpis: expected a non-empty dict of KPI id to weight, got {kpis!r}")
    for key in kpis:
        get_kpi(key)  # raises for an id the registry does not know
    return _check_weights(kpis, dict.fromkeys(kpis, 0.0))


def _check_assessment(weights: Mapping[str, float] | None, share: float) -> dict[str, float]:
    merged = dict(ASSESSMENT_WEIGHTS)
    if weights is not None:
        unknown = set(weights) - set(EVALUATORS)
        if unknown:
            raise ValueError(
                f"assessment_weights: unknown key '{sorted(unknown)[0]}' "
                f"(use {', '.join(repr(e) for e in EVALUATORS)})"
            )
        merged.update({k: float(v) for k, v in weights.items()})
    if any(v < 0 for v in merged.values()) or sum(merged.values()) <= 0:
        raise ValueError("assessment_weights: weights must be >= 0 with a positive sum")
    total = sum(merged.values())
    if not (isinstance(share, int | float) and 0 <= share <= 1):
        raise ValueError(f"assessment_share: expected a share in [0, 1], got {share!r}")
    return {k: v / total for k, v in merged.items()}


def _percentile_score(values: pd.Series, higher: bool) -> pd.Series:
    """100 x rank / n among people with a value (best = 100), ties averaged."""
    signed = values if higher else -values
    return signed.rank(pct=True, method="average") * 100.0


def _percentile_at(moved: pd.Series, values: pd.Series, higher: bool) -> pd.Series:
    """Return each person's percentile score had their value been ``moved``, the others not.

    ``100 x (1 + others below + others equal / 2) / n``: at ``moved == values`` it is
    :func:`_percentile_score`.
    """
    have = values.dropna()
    x = moved.reindex(have.index).to_numpy(dtype=float)
    v = have.to_numpy(dtype=float)
    if not higher:
        x, v = -x, -v
    others = ~np.eye(len(v), dtype=bool)
    below = ((v[None, :] < x[:, None]) & others).sum(axis=1)
    equal = ((v[None, :] == x[:, None]) & others).sum(axis=1)
    score = 100.0 * (1.0 + below + 0.5 * equal) / max(len(v), 1)
    return pd.Series(np.where(np.isnan(x), np.nan, score), index=have.index).reindex(values.index)


def _kpi_score(
    value: pd.Series,
    target: pd.Series,
    higher: bool,
    attainment_cap: float,
    team: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Score 0-100 of each person's ``value`` of one KPI (step 2), and its attainment.

    Against the target where there is one, else by the percentile among the ``team``'s values
    (default: ``value`` itself; a moved value is ranked among the team's point values).
    """
    people = value.index
    att = pd.Series(
        attainment(value.to_numpy(), target.to_numpy(), np.full(len(value), higher)), index=people
    )
    reached = (value >= target) if higher else (value <= target)
    from_target = 100.0 * att.clip(lower=0, upper=attainment_cap) / attainment_cap
    from_target = from_target.where(att.notna(), np.where(reached, 100 / attainment_cap, 0.0))
    if team is None:
        from_team = _percentile_score(value.dropna(), higher).reindex(people)
    else:
        from_team = _percentile_at(value, team, higher)
    return from_target.where(target.notna(), from_team).where(value.notna()), att


def _targets_for(
    targets: pd.DataFrame | None, period: Period, people: pd.Index, kpi_ids: list[str]
) -> pd.DataFrame:
    """Target per person (rows) and KPI (columns): their own, else a company rate target.

    The rows come from :func:`cpm_analysis.kpis.period_targets` (the one scoping rule); a
    company target applies to each person only for a rate KPI (an additive one, such as
    revenue, is the company's total, not each person's).
    """
    out = pd.DataFrame(np.nan, index=people, columns=kpi_ids)
    company = period_targets(targets, period)
    company = company.loc[company["kpi"].isin(kpi_ids)]
    for kpi_id, value in zip(company["kpi"], company["target"], strict=True):
        if not get_kpi(kpi_id).additive:
            out[kpi_id] = value
    own = period_targets(targets, period, owner=list(people))
    own = own.loc[own["kpi"].isin(kpi_ids)]
    for person, kpi_id, value in zip(own["owner_id"], own["kpi"], own["target"], strict=True):
        out.loc[person, kpi_id] = value
    return out


def _assessment_for(assessments: pd.DataFrame | None, period: Period) -> tuple[pd.DataFrame, str]:
    """Self and manager scores per staff for ``period``, and the assessment period(s) used."""
    empty = pd.DataFrame(columns=[f"{e}_score" for e in EVALUATORS], dtype=float)
    if assessments is None or not len(assessments):
        return empty, ""
    labels = pd.Series(assessments["period"].astype("str").unique())
    parsed = {label: parse_period(label) for label in labels}
    # point in time: only assessments of periods that ended by this period's cutoff exist
    done = {lbl: p for lbl, p in parsed.items() if p.end <= period.end}
    exact = [lbl for lbl, p in done.items() if p == period]
    inside = [lbl for lbl, p in done.items() if p.start >= period.start]
    latest = sorted(done, key=lambda lbl: (done[lbl].end, done[lbl].start))[-1:]
    chosen = exact or inside or latest
    if not chosen:
        return empty, ""
    rows = assessments.loc[assessments["period"].astype("str").isin(chosen)]
    present = [f"{e}_score" for e in EVALUATORS if f"{e}_score" in rows.columns]
    scores = rows.groupby("staff_id")[present].mean().reindex(columns=empty.columns)
    return scores, ", ".join(sorted(chosen))


def _score_period(
    values: pd.DataFrame,
    period: Period,
    *,
    weights: dict[str, float],
    directions: dict[str, str],
    targets: pd.DataFrame | None,
    assessments: pd.DataFrame | None,
    assessment_weights: dict[str, float],
    assessment_share: float,
    attainment_cap: float = ATTAINMENT_CAP,
    bounds: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One period's scorecard from the KPI values per person (rows) and KPI (columns).

    ``bounds`` (KPI intervals indexed by ``kpi`` and person, columns ``lower``, ``upper``)
    adds ``kpi_score_lower``/``_upper`` and ``composite_lower``/``_upper`` (see
    :func:`_score_interval`).
    """
    kpi_ids = list(weights)
    people = values.index
    goal = _targets_for(targets, period, people, kpi_ids)
    card = pd.DataFrame(index=people)
    scores = pd.DataFrame(index=people, columns=kpi_ids, dtype=float)
    down = pd.DataFrame(0.0, index=people, columns=kpi_ids)
    up = pd.DataFrame(0.0, index=people, columns=kpi_ids)
    known = set(bounds.index.get_level_values("kpi")) if bounds is not None else set()
    for kpi_id in kpi_ids:
        higher = directions[kpi_id] == "higher"
        value = values[kpi_id].astype(float)
        target = goal[kpi_id].astype(float)
        score, att = _kpi_score(value, target, higher, attainment_cap)
        card[kpi_id] = value
        card[f"{kpi_id}_target"] = target
        card[f"{kpi_id}_attainment"] = att.where(target.notna())
        scores[kpi_id] = score
        if bounds is not None and kpi_id in known:
            ends = bounds.xs(kpi_id, level="kpi").reindex(people)
            low = ends["lower"].astype(float).where(value.notna()).fillna(value)
            high = ends["upper"].astype(float).where(value.notna()).fillna(value)
            worse, better = (low, high) if higher else (high, low)
            at_worse = _kpi_score(worse, target, higher, attainment_cap, team=value)[0]
            at_better = _kpi_score(better, target, higher, attainment_cap, team=value)[0]
            down[kpi_id] = (score - at_worse).clip(lower=0).fillna(0.0)
            up[kpi_id] = (at_better - score).clip(lower=0).fillna(0.0)
    for kpi_id in kpi_ids:
        card[f"score_{kpi_id}"] = scores[kpi_id]
    w = pd.Series(weights, dtype=float)
    have = scores.notna()
    total_w = have.mul(w, axis=1).sum(axis=1)
    kpi_score = scores.fillna(0.0).mul(w, axis=1).sum(axis=1) / total_w.where(total_w > 0)
    card["kpi_score"] = kpi_score
    if bounds is not None:
        card["kpi_score_lower"], card["kpi_score_upper"] = _score_interval(
            kpi_score, down.where(have, 0.0), up.where(have, 0.0), w, total_w
        )

    assessed, used = _assessment_for(assessments, period)
    assessed = assessed.reindex(people)
    card["self_score"] = assessed["self_score"].astype(float)
    card["manager_score"] = assessed["manager_score"].astype(float)
    card["assessment"] = (
        assessment_weights["self"] * card["self_score"]
        + assessment_weights["manager"] * card["manager_score"]
    )
    others = [e for e in EVALUATORS[2:] if assessment_weights.get(e, 0) > 0]
    if others:  # more evaluator types: the weighted mean of the scores a person has
        for e in others:
            card[f"{e}_score"] = assessed[f"{e}_score"].astype(float)
        kinds = ["self", "manager", *others]
        given = pd.DataFrame({e: card[f"{e}_score"] for e in kinds})
        w = pd.Series({e: assessment_weights.get(e, 0.0) for e in kinds})
        have = given.notna().mul(w, axis=1).sum(axis=1)
        card["assessment"] = (given.fillna(0).mul(w, axis=1).sum(axis=1) / have).where(
            given[["self", "manager"]].notna().all(axis=1) & (have > 0)
        )
    blended = (1 - assessment_share) * kpi_score + assessment_share * card["assessment"]
    if assessment_share >= 1:  # the pure assessment scheme: the KPI score plays no part
        blended = card["assessment"]
    have_both = card["assessment"].notna() & (kpi_score.notna() | (assessment_share >= 1))
    card["composite"] = blended.where(have_both, kpi_score)
    if used:
        shares = [_EVALUATOR_SHARE[e](f"{w:.0%}") for e, w in assessment_weights.items() if w > 0]
        parts = M_("%(weights)s, %(period)s", weights=join(" + ", shares), period=used)
        formula = (
            M_("assessment only (%(parts)s)", parts=parts)
            if assessment_share >= 1
            else M_(
                "%(kpi)s KPI score + %(share)s assessment (%(parts)s)",
                kpi=f"{1 - assessment_share:.0%}",
                share=f"{assessment_share:.0%}",
                parts=parts,
            )
        )
        alone = M_("KPI score only (%(reason)s)", reason=M_("no assessment for this person"))
        card["blend"] = pd.Series(  # a handful of people: messages kept, not numpy strings
            [formula if ok else alone for ok in card["assessment"].notna()],
            index=card.index,
            dtype=object,
        )
    else:
        reason = (
            M_("no assessments table")
            if assessments is None
            else M_("no assessment for %(period)s", period=str(period))
        )
        card["blend"] = M_("KPI score only (%(reason)s)", reason=reason)
    if bounds is not None:  # an assessment is a judgement, not a sample: only the KPIs vary
        share = pd.Series(np.where(have_both, assessment_share, 0.0), index=people)
        for end in ("lower", "upper"):
            spread = card[f"kpi_score_{end}"] - kpi_score
            card[f"composite_{end}"] = (card["composite"] + (1 - share) * spread.fillna(0.0)).where(
                card["composite"].notna()
            )
    card["rank"] = card["composite"].rank(ascending=False, method="min").astype("Int64")
    return card.sort_values(["composite"], ascending=False, na_position="last")


def _score_interval(
    kpi_score: pd.Series,
    down: pd.DataFrame,
    up: pd.DataFrame,
    weights: pd.Series,
    total: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """Return the KPI score's interval from each KPI score's move to its KPI's interval ends.

    The moves (``down``, ``up``: 0-100 points, per person and KPI) are weighted like the scores
    and combined in quadrature, ``sqrt(sum_k (w_k d_k)^2) / sum_k w_k``, as independent
    errors are; the ends are clipped to 0-100.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        below = np.sqrt((down.mul(weights, axis=1) ** 2).sum(axis=1)) / total
        above = np.sqrt((up.mul(weights, axis=1) ** 2).sum(axis=1)) / total
    lower = (kpi_score - below.fillna(0.0)).clip(lower=0.0, upper=100.0)
    upper = (kpi_score + above.fillna(0.0)).clip(lower=0.0, upper=100.0)
    return lower.where(kpi_score.notna()), upper.where(kpi_score.notna())


def _check_noise(within_noise: Mapping[str, str] | None) -> dict[str, str]:
    modes = dict(_RANKING.within_noise)
    if within_noise is None:
        return modes
    if not isinstance(within_noise, Mapping):
        raise ValueError(f"within_noise: expected a dict of rule to mode, got {within_noise!r}")
    for rule, mode in within_noise.items():
        if rule not in modes:
            raise ValueError(
                f"within_noise: unknown rule {rule!r} (use {', '.join(map(repr, modes))})"
            )
        if mode not in NOISE_MODES:
            raise ValueError(
                f"within_noise: the mode of {rule!r} must be one of "
                f"{', '.join(map(repr, NOISE_MODES))}, got {mode!r}"
            )
        modes[rule] = mode
    return modes


def _places(card: pd.DataFrame, score: str, values: pd.Series) -> pd.DataFrame | None:
    """Return the places the score intervals settle (:func:`rank_within_noise`), or None."""
    low, high = f"{score}_lower", f"{score}_upper"
    if low not in card.columns or high not in card.columns or len(values) < 2:
        return None
    table = pd.DataFrame(
        {
            "value": values,
            "lower": card[low].astype(float).reindex(values.index).fillna(values),
            "upper": card[high].astype(float).reindex(values.index).fillna(values),
        }
    )
    return rank_within_noise(table, value="value")


def _within_noise_of(k: int) -> Message:
    if k == 1:
        return M_("within noise of %(n)s other", n=k)
    return M_("within noise of %(n)s others", n=k)


def apply_rules(
    scorecards: Mapping[str | Period, pd.DataFrame],
    *,
    bottom: int = _RANKING.improvement_plan.bottom,
    review_after: int = _RANKING.review.after_periods,
    score: str = "composite",
    reward: bool = _RANKING.reward.enabled,
    penalty: bool = _RANKING.penalty.enabled,
    within_noise: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Apply the team rules to scorecards of several periods.

    - ``improvement_plan``: the ``bottom`` (2) lowest composites of a period (ties at the
      boundary are all flagged; only when more than ``bottom`` people are ranked);
    - ``review``: last place in ``review_after`` (3) consecutive periods, the period and the
      ones just before it (all present in ``scorecards``);
    - ``reward``: the top composite of a period (ties all flagged);
    - ``penalty`` (only with ``penalty=True``): the last place of a period (ties all flagged).

    Last and top place need at least two ranked people. People without a composite are not
    ranked and never flagged. ``bottom=0`` or ``review_after=0`` turns that rule off.

    **Noise.** When a scorecard has the score's interval (``composite_lower`` and
    ``composite_upper``, from :func:`owner_scorecard`), :func:`rank_within_noise` says which
    places the intervals settle: a first (last) place is *clear* when every other person's
    interval lies wholly below (above) the person's; a bottom place is clear when the person
    could not rank above the bottom ``bottom`` within the intervals. A rule whose place is not
    clear follows its ``within_noise`` mode: ``mark`` applies it and adds ``but within noise
    of N others`` to the reason; ``spare`` does not apply it and flags ``within_noise`` with
    why (for the review, a last place within noise does not count towards the run);
    ``ignore`` applies it on the point scores. The defaults (``ranking.<rule>.within_noise``)
    spare the penalty and the review and mark the reward and the improvement plan.

    Parameters
    ----------
    scorecards : dict
        ``{period: scorecard}``; each scorecard indexed by person with a ``score`` column (and
        optionally ``<score>_lower``, ``<score>_upper``).
    bottom : int
        How many of the bottom are flagged for an improvement plan (0: none).
    review_after : int
        Consecutive periods in last place that trigger a review (0: never).
    score : str
        The column ranked (default ``composite``; higher is better).
    reward : bool
        Flag the first place ``reward`` (``ranking.reward.enabled``, default on).
    penalty : bool
        Flag the last place ``penalty`` (``ranking.penalty.enabled``, default off).
    within_noise : dict, optional
        Rule name -> ``"spare"``, ``"mark"`` or ``"ignore"``, overriding the defaults.

    Returns
    -------
    DataFrame
        One row per rule fired: ``period``, ``person`` (the scorecard index), ``rule``,
        ``reason``; sorted by period, rule and person.

    Examples
    --------
    >>> cards = {p: pd.DataFrame({"composite": c}, index=["ann", "bo", "cy"]) for p, c in
    ...          [("2024-04", [90, 50, 10]), ("2024-05", [80, 60, 20]), ("2024-06", [70, 65, 30])]}
    >>> flags = apply_rules(cards)
    >>> flags.loc[flags["period"] == "2024-06", ["person", "rule"]].values.tolist()
    [['bo', 'improvement_plan'], ['cy', 'improvement_plan'], ['cy', 'review'], ['ann', 'reward']]
    >>> flags = apply_rules(cards, bottom=0, review_after=0, reward=False, penalty=True)
    >>> flags.loc[flags["period"] == "2024-06", ["person", "rule"]].values.tolist()
    [['cy', 'penalty']]

    With intervals, a last place within noise of the others is spared the penalty:

    >>> june = pd.DataFrame({"composite": [70, 65, 60], "composite_lower": [50, 45, 40],
    ...                      "composite_upper": [90, 85, 80]}, index=["ann", "bo", "cy"])
    >>> flags = apply_rules({"2024-06": june}, bottom=0, penalty=True)
    >>> flags[["person", "rule"]].values.tolist()
    [['ann', 'reward'], ['cy', 'within_noise']]
    >>> flags["reason"].iloc[1]
    'last of 3 in 2024-06 (composite 60.0), but within noise of 2 others: no penalty'
    """
    if isinstance(bottom, bool) or not isinstance(bottom, int) or bottom < 0:
        raise ValueError(f"bottom: expected an integer >= 0, got {bottom!r}")
    if isinstance(review_after, bool) or not isinstance(review_after, int) or review_after < 0:
        raise ValueError(f"review_after: expected an integer >= 0, got {review_after!r}")
    if not isinstance(scorecards, Mapping) or not scorecards:
        raise ValueError("scorecards: expected a non-empty dict {period: scorecard}")
    modes = _check_noise(within_noise)
    by_period: dict[Period, pd.Series] = {}
    places: dict[Period, pd.DataFrame | None] = {}
    for label, card in scorecards.items():
        period = parse_period(label)
        if score not in card.columns:
            raise ValueError(f"scorecards: the scorecard of {period} has no '{score}' column")
        by_period[period] = card[score].astype(float).dropna()
        places[period] = _places(card, score, by_period[period])
    records: list[dict[str, Any]] = []
    last_place: dict[Period, set] = {}
    noisy_last: dict[Period, set] = {}

    def add(period: Period, person: str, rule: str, reason: Message) -> None:
        records.append({"period": period.label, "person": person, "rule": rule, "reason": reason})

    def judge(
        period: Period,
        person: str,
        rule: str,
        reason: Message,
        settled: bool,
        noise: Message,
        spared: Message,
    ) -> None:
        mode = modes[rule]
        if settled or mode == "ignore":
            add(period, person, rule, reason)
        elif mode == "mark":
            add(period, person, rule, M_("%(reason)s, but %(noise)s", reason=reason, noise=noise))
        else:
            add(
                period,
                person,
                "within_noise",
                M_(
                    "%(reason)s, but %(noise)s: %(spared)s",
                    reason=reason,
                    noise=noise,
                    spared=spared,
                ),
            )

    for period in sorted(by_period):
        values = by_period[period]
        n = len(values)
        worst = values.rank(ascending=True, method="min")
        best = values.rank(ascending=False, method="min")
        place = places[period]  # None without intervals: every place counts as settled
        rank_best = place["rank_best"] if place is not None else pd.Series(1, values.index)
        rank_worst = place["rank_worst"] if place is not None else pd.Series(1, values.index)
        last = set(values.index[worst == 1]) if n >= 2 else set()
        last_place[period] = last
        noisy_last[period] = {p for p in last if place is not None and int(rank_best[p]) < n}
        if bottom and n > bottom:
            for person in values.index[worst <= bottom]:
                high = int(rank_best[person])
                judge(
                    period,
                    person,
                    "improvement_plan",
                    M_(
                        "bottom %(n)s of %(total)s in %(period)s (rank %(rank)s)",
                        n=bottom,
                        total=n,
                        period=period.label,
                        rank=int(best[person]),
                    ),
                    settled=place is None or high > n - bottom,
                    noise=M_("could rank as high as %(rank)s within noise", rank=high),
                    spared=M_("no improvement plan"),
                )
        if penalty and n >= 2:
            for person in values.index[worst == 1]:
                judge(
                    period,
                    person,
                    "penalty",
                    M_(
                        "last of %(total)s in %(period)s (%(score)s %(value)s)",
                        total=n,
                        period=period.label,
                        score=score,
                        value=f"{values[person]:.1f}",
                    ),
                    settled=person not in noisy_last[period],
                    noise=_within_noise_of(n - int(rank_best[person])),
                    spared=M_("no penalty"),
                )
        if reward and n >= 2:
            for person in values.index[best == 1]:
                judge(
                    period,
                    person,
                    "reward",
                    M_(
                        "top performer of %(total)s in %(period)s (%(score)s %(value)s)",
                        total=n,
                        period=period.label,
                        score=score,
                        value=f"{values[person]:.1f}",
                    ),
                    settled=int(rank_worst[person]) == 1,
                    noise=_within_noise_of(int(rank_worst[person]) - 1),
                    spared=M_("no reward"),
                )
        run = [period.shift(-k) for k in range(review_after - 1, -1, -1)]
        if run and all(p in last_place for p in run):
            for person in set.intersection(*(last_place[p] for p in run)):
                noisy = [p.label for p in run if person in noisy_last[p]]
                judge(
                    period,
                    person,
                    "review",
                    M_(
                        "last place %(n)s periods running (%(periods)s)",
                        n=review_after,
                        periods=", ".join(p.label for p in run),
                    ),
                    settled=not noisy,
                    noise=M_("within noise in %(periods)s", periods=", ".join(noisy)),
                    spared=M_("no review"),
                )
    out = pd.DataFrame.from_records(records, columns=["period", "person", "rule", "reason"])
    order = {label: i for i, label in enumerate(RULES)}
    return (
        out.assign(_order=out["rule"].map(order))
        .sort_values(["period", "_order", "person"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def improvement_causes(card: pd.DataFrame, kpis: list[str], n: int = 2) -> pd.Series:
    """Name, for each person, the ``n`` KPIs that pulled their score down most against the team.

    A KPI pulls a person down by how far their 0-100 score (``score_<kpi>``) falls below the
    team's median score of that KPI: the causes name where the person stands furthest below
    their peers. KPIs at or above the team median are never named; a person at or above the
    median on every KPI gets ``"no KPI below the team median"``.

    Examples
    --------
    >>> card = pd.DataFrame({"score_revenue": [90.0, 20.0, 60.0], "score_nps": [50.0, 40.0, 60.0]},
    ...                     index=["ann", "bo", "cy"])
    >>> improvement_causes(card, ["revenue", "nps"])["bo"]
    'Revenue (score 20 vs team median 60), Net Promoter Score (score 40 vs team median 50)'
    """
    columns = [f"score_{k}" for k in kpis if f"score_{k}" in card.columns]
    scores = card[columns].astype(float)
    median = scores.median()
    gap = scores - median
    out = {}
    for person in card.index:  # a handful of people per team
        row = gap.loc[person].dropna()
        worst = row[row < 0].sort_values(kind="stable").index[:n]
        out[person] = ", ".join(
            M_(
                "%(kpi)s (score %(score)s vs team median %(median)s)",
                kpi=_kpi_name(c.removeprefix("score_")),
                score=f"{scores.at[person, c]:.0f}",
                median=f"{median[c]:.0f}",
            )
            for c in worst
        ) or M_("no KPI below the team median")
    return pd.Series(out, dtype="str").reindex(card.index)


def _kpi_name(kpi_id: str) -> str:
    """Return the KPI's English label (a page shows the registry's label in its language)."""
    try:
        return get_kpi(kpi_id).label_en
    except ValueError:
        return kpi_id


def _scorecard(
    dataset: Dataset,
    period: str | Period,
    *,
    by: str,
    weights: Mapping[str, float] | None,
    defaults: dict[str, float],
    directions: dict[str, str],
    targets: pd.DataFrame | None,
    history: int,
    sla_hours: float,
    assessment_weights: Mapping[str, float] | None,
    assessment_share: float,
    bottom: int,
    kpis: Mapping[str, float] | None = None,
    attainment_cap: float = ATTAINMENT_CAP,
    review_after: int = _RANKING.review.after_periods,
    reward: bool = _RANKING.reward.enabled,
    penalty: bool = _RANKING.penalty.enabled,
    plan_days: int = _RANKING.improvement_plan.deadline_days,
    windows: WindowsConfig | None = None,
    within_noise: Mapping[str, str] | None = None,
    noise_level: float = _RANKING.noise_level,
) -> pd.DataFrame:
    if not isinstance(dataset, CustomerData):  # the dataset protocol: pandas or Dask
        raise ValueError(f"dataset: expected a cpm_analysis Dataset, got {type(dataset)!r}")
    if not isinstance(history, int) or history < 1:
        raise ValueError(f"history: expected a positive number of periods, got {history!r}")
    chosen = _check_weights(weights, _check_kpis(kpis, defaults))
    blend = _check_assessment(assessment_weights, assessment_share)
    if not (isinstance(attainment_cap, int | float) and np.isfinite(attainment_cap)) or not (
        attainment_cap > 0
    ):
        raise ValueError(f"attainment_cap: expected a positive number, got {attainment_cap!r}")
    target = resolve_period(period, dataset) if isinstance(period, str) else parse_period(period)
    periods = [target.shift(-k) for k in range(history - 1, -1, -1)]
    if targets is None:
        targets = dataset.targets
    clean = _clean_targets(targets) if targets is not None and len(targets) else None
    values = kpi_history(
        dataset, periods, by=by, kpis=list(chosen), sla_hours=sla_hours, windows=windows
    )
    modes = _check_noise(within_noise)
    if not (isinstance(noise_level, float | int) and 0 < noise_level < 1):
        raise ValueError(f"noise_level: expected a probability in (0, 1), got {noise_level!r}")
    bounds = None
    if any(mode != "ignore" for mode in modes.values()):
        bounds = kpi_bounds(
            dataset, periods, by=by, kpis=list(chosen), level=noise_level, sla_hours=sla_hours
        )
    dirs = {k: directions.get(k, get_kpi(k).direction) for k in chosen}
    cards: dict[str | Period, pd.DataFrame] = {}
    for p in periods:
        if p.label not in values.index.get_level_values("period"):
            continue
        wide = values.loc[p.label]["value"].unstack("kpi").reindex(columns=list(chosen))
        wide = wide.loc[wide.index != MISSING_GROUP]
        if by == "agent_id":
            wide = wide.loc[wide["tickets"].fillna(0) > 0] if "tickets" in wide else wide
        wide.index.name = by
        cards[p.label] = _score_period(
            wide,
            p,
            weights=chosen,
            directions=dirs,
            targets=clean,
            assessments=dataset.assessments,
            assessment_weights=blend,
            assessment_share=float(assessment_share),
            attainment_cap=float(attainment_cap),
            bounds=None if bounds is None else _period_bounds(bounds, p.label),
        )
    card = cards[target.label]
    flags = apply_rules(
        cards,
        bottom=bottom,
        review_after=review_after,
        reward=reward,
        penalty=penalty,
        within_noise=modes,
    )
    now = flags.loc[flags["period"] == target.label]
    # one flag per rule and its reasons together (a penalty and a review both spared within
    # noise are one within_noise flag), so that flags and flag_reasons pair up in order
    now = now.groupby(["person", "rule"], sort=False)["reason"].agg(" / ".join).reset_index()
    card["flags"] = (
        now.groupby("person")["rule"].agg(", ".join).reindex(card.index).fillna("").astype("str")
    )
    card["flag_reasons"] = (
        now.groupby("person")["reason"].agg("; ".join).reindex(card.index).fillna("").astype("str")
    )
    planned = card["flags"].str.contains("improvement_plan", regex=False).to_numpy()
    causes = improvement_causes(card, list(chosen)) if planned.any() else None
    card["plan_causes"] = causes.where(planned, "") if causes is not None else ""
    due = (target.last_day + pd.Timedelta(int(plan_days), "D")).strftime("%Y-%m-%d")
    card["plan_due"] = np.where(planned, due, "")
    if planned.any():
        extra = (
            "; "
            + M_("plan due %(date)s", date=due)
            + "; "
            + card["plan_causes"].map(lambda causes: M_("pulled down by %(causes)s", causes=causes))
        )
        card["flag_reasons"] = card["flag_reasons"].where(~planned, card["flag_reasons"] + extra)
    if dataset.staff is not None and "team" in dataset.staff.columns:
        team = dataset.staff.drop_duplicates("staff_id").set_index("staff_id")["team"]
        card.insert(0, "team", team.reindex(card.index).to_numpy())
    if bounds is not None:
        place = _places(card, "composite", card["composite"].astype(float).dropna())
        card["noise"] = "" if place is None else noise_verdict(place).reindex(card.index).fillna("")
    card.attrs.update(
        noise_level=float(noise_level) if bounds is not None else None,
        period=target.label,
        weights=chosen,
        directions=dirs,
        attainment_cap=float(attainment_cap),
        history={label: c["composite"].to_dict() for label, c in cards.items()},
        rules=flags.to_dict("records"),
    )
    return card


def _period_bounds(bounds: pd.DataFrame, label: str) -> pd.DataFrame:
    """Return the KPI intervals of one period, indexed by ``kpi`` and person."""
    if label not in bounds.index.get_level_values("period"):
        return bounds.iloc[:0].droplevel("period")
    return bounds.xs(label, level="period")


def owner_scorecard(
    dataset: Dataset,
    period: str | Period,
    *,
    weights: Mapping[str, float] | None = None,
    targets: pd.DataFrame | None = None,
    history: int = _DEFAULTS.history,
    sla_hours: float = SLA_HOURS,
    assessment_weights: Mapping[str, float] | None = None,
    assessment_share: float = ASSESSMENT_SHARE,
    bottom: int = _RANKING.improvement_plan.bottom,
    kpis: Mapping[str, float] | None = None,
    attainment_cap: float = ATTAINMENT_CAP,
    review_after: int = _RANKING.review.after_periods,
    reward: bool = _RANKING.reward.enabled,
    penalty: bool = _RANKING.penalty.enabled,
    plan_days: int = _RANKING.improvement_plan.deadline_days,
    windows: WindowsConfig | None = None,
    within_noise: Mapping[str, str] | None = None,
    noise_level: float = _RANKING.noise_level,
) -> pd.DataFrame:
    """Scorecard of the account owners (sales) for one period, ranked and flagged.

    See the module docstring for how KPIs are scored, weighted, blended with assessments and
    flagged.

    Parameters
    ----------
    dataset : Dataset
        Needs ``customers.owner_id``; tickets (complaints, CSAT), targets and assessments are
        used when present.
    period : str or Period
        ``"2024-06"``, ``"2024-Q2"``, ``"2024"``, a Period, or ``"latest"``.
    weights : dict, optional
        Weights by KPI id overriding those of ``kpis`` (by default :data:`OWNER_WEIGHTS`:
        revenue, new_customers, retention_rate, complaint_rate, csat); 0 leaves a KPI out.
    targets : DataFrame, optional
        The targets table (default ``dataset.targets``).
    history : int
        Periods scored for the rules, this one included (default 3, which the review rule
        needs).
    sla_hours : float
        First-response SLA of ``sla_compliance`` (not an owner KPI by default).
    assessment_weights : dict, optional
        ``{"self": 0.3, "manager": 0.7}`` by default.
    assessment_share : float
        Share of the assessment in the composite (default 0.5; 1: assessment only).
    bottom : int
        Size of the bottom group flagged for an improvement plan (default 2; 0: off).
    kpis : dict, optional
        The scorecard's KPIs (any registered ids) and their weights, replacing the default set.
    attainment_cap : float
        Attainment at or above which a KPI scores 100 (default 1.2).
    review_after : int
        Consecutive last places that flag a review (default 3; 0: off).
    reward, penalty : bool
        Flag the first place ``reward`` (default on) and the last place ``penalty`` (off).
    plan_days : int
        Days after the period's end by which an improvement plan is due (default 30,
        ``ranking.improvement_plan.deadline_days``).
    windows : WindowsConfig, optional
        The day windows of the activity KPIs (``windows``; default the built-in).
    within_noise : dict, optional
        Rule name -> ``"spare"``, ``"mark"`` or ``"ignore"``: what a rule does when the place
        that triggers it lies within noise (:func:`apply_rules`; defaults
        ``ranking.<rule>.within_noise``: the penalty and the review are spared, the reward and
        the improvement plan marked). All ``"ignore"``: no intervals are computed.
    noise_level : float
        Coverage of the KPI intervals behind the score interval (default 0.9,
        ``ranking.noise_level``).

    Returns
    -------
    DataFrame
        One row per owner (index ``owner_id``), best first: ``team`` (when staff has it),
        per KPI ``<kpi>``, ``<kpi>_target``, ``<kpi>_attainment`` (NaN without a target) and
        ``score_<kpi>``, then ``kpi_score``, ``self_score``, ``manager_score``, ``assessment``,
        ``composite``, ``blend`` (the formula used), ``rank``, ``flags``, ``flag_reasons``,
        ``plan_causes`` and ``plan_due`` (empty unless flagged ``improvement_plan``).
        ``attrs`` holds ``period``, ``weights``, ``history`` (composite per period) and
        ``rules`` (every rule fired in the history).

    Raises
    ------
    ValueError
        When customers have no ``owner_id`` column, or for bad weights.

    Examples
    --------
    >>> card = owner_scorecard(ds, "2024-06", weights={"revenue": 0.5})
    >>> card.loc[card["flags"].str.contains("reward"), "composite"].round(1)
    owner_id
    S012    79.7
    Name: composite, dtype: float64
    """
    if "owner_id" not in dataset.customers.columns:
        raise ValueError("dataset: customers has no owner_id column; owner scorecards need it")
    return _scorecard(
        dataset,
        period,
        by="owner_id",
        weights=weights,
        defaults=OWNER_WEIGHTS,
        directions={},
        targets=targets,
        history=history,
        sla_hours=sla_hours,
        assessment_weights=assessment_weights,
        assessment_share=assessment_share,
        bottom=bottom,
        kpis=kpis,
        attainment_cap=attainment_cap,
        review_after=review_after,
        reward=reward,
        penalty=penalty,
        plan_days=plan_days,
        windows=windows,
        within_noise=within_noise,
        noise_level=noise_level,
    )


def agent_scorecard(
    dataset: Dataset,
    period: str | Period,
    *,
    weights: Mapping[str, float] | None = None,
    targets: pd.DataFrame | None = None,
    history: int = _DEFAULTS.history,
    sla_hours: float = SLA_HOURS,
    assessment_weights: Mapping[str, float] | None = None,
    assessment_share: float = ASSESSMENT_SHARE,
    bottom: int = _RANKING.improvement_plan.bottom,
    kpis: Mapping[str, float] | None = None,
    attainment_cap: float = ATTAINMENT_CAP,
    review_after: int = _RANKING.review.after_periods,
    reward: bool = _RANKING.reward.enabled,
    penalty: bool = _RANKING.penalty.enabled,
    plan_days: int = _RANKING.improvement_plan.deadline_days,
    windows: WindowsConfig | None = None,
    within_noise: Mapping[str, str] | None = None,
    noise_level: float = _RANKING.noise_level,
) -> pd.DataFrame:
    """Scorecard of the service agents for one period, from the tickets they handled.

    KPIs (:data:`AGENT_WEIGHTS`): ``tickets`` (tickets opened in the period assigned to the
    agent; scored higher-is-better), ``first_response_hours``, ``resolution_hours``,
    ``sla_compliance``, ``csat`` (tickets the agent resolved in the period) and
    ``complaint_share`` (share of the agent's tickets that are complaints). Agents with no
    ticket opened in the period are not listed. Targets with ``owner_id`` set to an agent's
    staff id are that agent's own; company-level targets of rate KPIs apply to every agent.

    Parameters and the returned table are those of :func:`owner_scorecard`, indexed by
    ``agent_id``.

    Raises
    ------
    ValueError
        When the dataset has no tickets table with an ``agent_id`` column.

    Examples
    --------
    >>> agent_scorecard(ds, "2024-06")[["tickets", "composite", "rank"]].head(3).round(1)
              tickets  composite  rank
    agent_id
    S025          4.0       81.7     1
    S030          5.0       77.7     2
    S029          6.0       75.2     3
    """
    if dataset.tickets is None or "agent_id" not in dataset.tickets.columns:
        raise ValueError("dataset: agent scorecards need a tickets table with an agent_id column")
    return _scorecard(
        dataset,
        period,
        by="agent_id",
        weights=weights,
        defaults=AGENT_WEIGHTS,
        directions=_AGENT_DIRECTIONS,
        targets=targets,
        history=history,
        sla_hours=sla_hours,
        assessment_weights=assessment_weights,
        assessment_share=assessment_share,
        bottom=bottom,
        kpis=kpis,
        attainment_cap=attainment_cap,
        review_after=review_after,
        reward=reward,
        penalty=penalty,
        plan_days=plan_days,
        windows=windows,
        within_noise=within_noise,
        noise_level=noise_level,
    )


def scorecard_options(config: CPMConfig, role: str = "owner") -> dict[str, Any]:
    """Return the keyword arguments of :func:`owner_scorecard` / :func:`agent_scorecard`.

    Only the arguments a configuration sets: KPIs and weights, SLA, assessment blend,
    attainment cap, ranking rules.

    Examples
    --------
    >>> from cpm_analysis.config import parse_config
    >>> options = scorecard_options(parse_config({"assessment": {"kpi_share": 0}}))
    >>> options["assessment_share"], options["assessment_weights"]
    (1.0, {'self': 0.3, 'manager': 0.7})
    >>> scorecard_options(DEFAULT_CONFIG, "agent")["kpis"] == AGENT_WEIGHTS
    True
    """
    if role not in ("owner", "agent"):
        raise ValueError(f"role: expected 'owner' or 'agent', got {role!r}")
    card, ranking = config.scorecard, config.ranking
    return {
        "kpis": dict(card.owner_weights if role == "owner" else card.agent_weights),
        "history": card.history,
        "attainment_cap": card.attainment_cap,
        "sla_hours": config.sla.first_response_hours,
        "assessment_weights": config.assessment.weights,
        "assessment_share": config.assessment.share,
        "bottom": ranking.improvement_plan.bottom,
        "review_after": ranking.review.after_periods,
        "reward": ranking.reward.enabled,
        "penalty": ranking.penalty.enabled,
        "plan_days": ranking.improvement_plan.deadline_days,
        "windows": config.windows,
        "within_noise": ranking.within_noise,
        "noise_level": ranking.noise_level,
    }
