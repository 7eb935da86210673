"""Intervals for KPI rates per owner or agent, and rankings that respect them.

A small owner book with 2 complaints in 40 tickets and a large one with 60 in 1,500 are not
equally certain. These functions give each rate an exact or near-exact interval and mark the
differences that lie within noise, so that no owner is ranked last on a difference smaller than
the intervals.

- :func:`poisson_interval`: counts per unit of exposure (complaints per 100 orders, tickets per
  customer-month) with Garwood's exact interval from the chi-square quantiles.
- :func:`binomial_interval`: proportions (retention, on-time responses, conversion) with the
  Wilson score interval or the exact Clopper-Pearson interval.
- :func:`rank_within_noise`: each row's possible ranks given the intervals, and whether its
  place is settled or within noise.

Examples
--------
>>> t = binomial_interval([18, 40], [20, 50], level=0.9)
>>> t.round(3)
   rate  lower  upper
0   0.9  0.738  0.966
1   0.8  0.693  0.877
>>> rank_within_noise(t)[["rank", "rank_best", "rank_worst", "within_noise"]]
   rank  rank_best  rank_worst  within_noise
0     1          1           2          True
1     2          1           2          True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from cpm_analysis.data.dataset import Dataset
    from cpm_analysis.data.protocol import CustomerData
    from cpm_analysis.periods import Period

__all__ = [
    "KPI_LAWS",
    "TEAM_KPIS",
    "binomial_interval",
    "kpi_bounds",
    "noise_verdict",
    "poisson_interval",
    "rank_within_noise",
    "team_kpi_intervals",
]


def _level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, float | int) or not 0 < level < 1:
        raise ValueError(f"level: expected a probability in (0, 1), got {level!r}")
    return float(level)


def _counts(values: Any, name: str, *, whole: bool) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected numbers") from None
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} value(s) are missing, infinite or negative")
    if whole and (arr != np.round(arr)).any():
        raise ValueError(f"{name}: expected whole numbers (counts)")
    return arr


def _index(*values: Any) -> pd.Index | None:
    for v in values:
        if isinstance(v, pd.Series):
            return v.index
    return None


def poisson_interval(
    counts: ArrayLike, exposure: ArrayLike = 1.0, *, level: float = 0.9
) -> pd.DataFrame:
    """Rate ``counts / exposure`` with Garwood's exact Poisson interval.

    ``lower = chi2.ppf((1 - level) / 2, 2 k) / 2 / exposure`` (0 for ``k = 0``) and
    ``upper = chi2.ppf((1 + level) / 2, 2 k + 2) / 2 / exposure``: an interval that covers the
    true rate with probability at least ``level`` for every rate.

    Parameters
    ----------
    counts : array-like or Series
        Events per row (owner, agent), whole numbers.
    exposure : float or array-like
        Exposure per row (orders, customer-months), positive; 1 for plain counts.
    level : float
        Coverage, e.g. 0.9.

    Returns
    -------
    DataFrame
        ``rate``, ``lower``, ``upper`` (indexed like ``counts`` when it is a Series).

    Examples
    --------
    >>> poisson_interval([0, 10], [50, 50], level=0.95).round(4)
       rate   lower   upper
    0   0.0  0.0000  0.0738
    1   0.2  0.0959  0.3678
    """
    level = _level(level)
    k = _counts(counts, "counts", whole=True)
    e = np.broadcast_to(_counts(exposure, "exposure", whole=False), k.shape).astype(np.float64)
    if (e <= 0).any():
        raise ValueError(
            f"exposure: {int((e <= 0).sum())} value(s) are 0; exposure must be positive"
        )
    alpha = 1.0 - level
    lower = np.where(k > 0, stats.chi2.ppf(alpha / 2.0, 2.0 * np.maximum(k, 1)) / 2.0, 0.0)
    upper = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * k + 2.0) / 2.0
    return pd.DataFrame(
        {"rate": k / e, "lower": lower / e, "upper": upper / e}, index=_index(counts, exposure)
    )


def binomial_interval(
    successes: ArrayLike,
    trials: ArrayLike,
    *,
    level: float = 0.9,
    method: Literal["wilson", "clopper-pearson"] = "wilson",
) -> pd.DataFrame:
    """Proportion ``successes / trials`` with the Wilson or the Clopper-Pearson interval.

    Wilson: the score interval, ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``;
    close to nominal coverage on average. Clopper-Pearson: the exact interval from beta
    quantiles, ``Beta((1-level)/2; k, n-k+1)`` to ``Beta((1+level)/2; k+1, n-k)``, whose
    coverage is at least ``level`` for every proportion (conservative).

    Parameters
    ----------
    successes, trials : array-like or Series
        Whole numbers with ``0 <= successes <= trials`` and ``trials > 0``.
    level : float
        Coverage, e.g. 0.9.
    method : {"wilson", "clopper-pearson"}
        The interval.

    Returns
    -------
    DataFrame
        ``rate``, ``lower``, ``upper``.

    Examples
    --------
    >>> binomial_interval([0, 5], [10, 10], method="clopper-pearson", level=0.95).round(4)
       rate   lower   upper
    0   0.0  0.0000  0.3085
    1   0.5  0.1871  0.8129
    """
    level = _level(level)
    k = _counts(successes, "successes", whole=True)
    n = _counts(trials, "trials", whole=True)
    if k.shape != n.shape:
        raise ValueError(f"successes, trials: {len(k)} successes for {len(n)} trials")
    if (n <= 0).any():
        raise ValueError(f"trials: {int((n <= 0).sum())} row(s) have no trials")
    if (k > n).any():
        raise ValueError(f"successes: {int((k > n).sum())} row(s) have more successes than trials")
    alpha = 1.0 - level
    p = k / n
    match method:
        case "wilson":
            z = stats.norm.ppf(1.0 - alpha / 2.0)
            centre = (p + z * z / (2 * n)) / (1 + z * z / n)
            half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
            lower, upper = np.maximum(centre - half, 0.0), np.minimum(centre + half, 1.0)
        case "clopper-pearson":
            with np.errstate(invalid="ignore"):
                lower = np.where(
                    k > 0, stats.beta.ppf(alpha / 2.0, np.maximum(k, 1), n - k + 1), 0.0
                )
                upper = np.where(
                    k < n, stats.beta.ppf(1.0 - alpha / 2.0, k + 1, np.maximum(n - k, 1)), 1.0
                )
        case _:
            raise ValueError(f"method: expected 'wilson' or 'clopper-pearson', got {method!r}")
    return pd.DataFrame(
        {"rate": p, "lower": lower, "upper": upper}, index=_index(successes, trials)
    )


def rank_within_noise(
    table: pd.DataFrame,
    *,
    value: str = "rate",
    lower: str = "lower",
    upper: str = "upper",
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Rank rows by a value and say which places the intervals actually settle.

    Row ``i`` is *clearly ahead* of row ``j`` when their intervals do not overlap. Its best
    possible rank is 1 plus the rows clearly ahead of it, its worst the number of rows minus
    those clearly behind it. A row is ``within_noise`` when these differ (its place could change
    within the intervals); it is ``clearly_last`` (or ``clearly_first``) only when every other
    row is clearly ahead of (behind) it, so nobody is called last on a difference smaller than
    the intervals. Non-overlap of two intervals at level ``L`` is a conservative test of a
    difference (stricter than a test at ``1 - L``).

    Parameters
    ----------
    table : DataFrame
        One row per owner or agent, e.g. from :func:`binomial_interval`; rows with a missing
        value are an error.
    value, lower, upper : str
        Its columns.
    higher_is_better : bool
        False for KPIs where lower is better (complaint rate, response time).

    Returns
    -------
    DataFrame
        ``table`` with ``rank`` (1 = best, by value; ties share the lower rank),
        ``rank_best``, ``rank_worst``, ``within_noise``, ``clearly_first``, ``clearly_last``.

    Examples
    --------
    >>> t = pd.DataFrame({"rate": [0.9, 0.5, 0.85], "lower": [0.8, 0.4, 0.7],
    ...                   "upper": [0.95, 0.6, 0.93]}, index=["S1", "S2", "S3"])
    >>> rank_within_noise(t)[["rank", "rank_best", "rank_worst", "clearly_last"]]
        rank  rank_best  rank_worst  clearly_last
    S1     1          1           2         False
    S2     3          3           3          True
    S3     2          1           2         False
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table: expected a DataFrame, got {type(table).__name__}")
    missing = [c for c in (value, lower, upper) if c not in table.columns]
    if missing:
        raise ValueError(f"table: missing column(s) {', '.join(map(repr, missing))}")
    v, lo, hi = (
        pd.to_numeric(table[c], errors="coerce").to_numpy(np.float64) for c in (value, lower, upper)
    )
    bad = ~(np.isfinite(v) & np.isfinite(lo) & np.isfinite(hi))
    if bad.any():
        raise ValueError(
            f"table: {int(bad.sum())} row(s) have a missing {value!r}, {lower!r} or {upper!r}; "
            "leave rows without data out of the ranking"
        )
    if (lo > hi).any():
        raise ValueError(f"table: {lower!r} is above {upper!r} in {int((lo > hi).sum())} row(s)")
    sign = 1.0 if higher_is_better else -1.0
    if higher_is_better:
        ahead = lo[None, :] > hi[:, None]  # ahead[i, j]: j clearly better than i
    else:
        ahead = hi[None, :] < lo[:, None]
    n = len(v)
    behind = ahead.T
    rank_best = 1 + ahead.sum(axis=1)
    rank_worst = n - behind.sum(axis=1)
    rank = pd.Series(-sign * v).rank(method="min").astype(np.int64).to_numpy()
    out = table.copy()
    out["rank"] = rank
    out["rank_best"] = rank_best
    out["rank_worst"] = rank_worst
    out["within_noise"] = rank_best != rank_worst
    out["clearly_first"] = (rank_worst == 1) if n > 1 else False
    out["clearly_last"] = (rank_best == n) if n > 1 else False
    return out


TEAM_KPIS: dict[str, tuple[tuple[str, str], ...]] = {
    "owner": (("retention_rate", "binomial"), ("complaint_rate", "poisson")),
    "agent": (("sla_compliance", "binomial"),),
}
"""The rate KPIs of each role whose differences are tested against noise, and their law."""


def _team_counts(ctx: Any, kpi: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the KPI's events and exposure per group (its rate's numerator, denominator)."""
    match kpi:
        case "retention_rate":
            base = ctx.retention
            return ctx.group_sum(base["group"], base["retained"]), ctx.group_sum(base["group"])
        case "complaint_rate":
            tickets = ctx.tickets
            complaints = ctx.group_sum(tickets["group"], tickets["is_complaint"] == 1.0)
            return complaints, ctx.kpi("active_customers") / 100.0
        case "sla_compliance":
            tickets = ctx.tickets
            hours, age = tickets["response_hours"].to_numpy(), tickets["age_hours"].to_numpy()
            met = hours <= ctx.sla_hours
            breached = (hours > ctx.sla_hours) | (np.isnan(hours) & (age > ctx.sla_hours))
            return ctx.group_sum(tickets["group"], met), ctx.group_sum(
                tickets["group"], met | breached
            )
    raise ValueError(f"kpi: no interval for {kpi!r}")  # pragma: no cover - TEAM_KPIS only


def team_kpi_intervals(
    view: Dataset,
    period: Period | str,
    role: Literal["owner", "agent"] = "owner",
    *,
    level: float = 0.9,
    sla_hours: float | None = None,
) -> pd.DataFrame:
    """Return the rate KPIs of every owner (or agent) with intervals, ranked within noise.

    For each KPI of :data:`TEAM_KPIS`: the retention rate (retained / active last period) and
    the SLA compliance (met / answered or breached) are proportions with Wilson intervals;
    the complaint rate (complaints per 100 active customers) is a Poisson rate with Garwood's
    interval. :func:`rank_within_noise` then says which places the intervals settle: a person
    is called ``clearly last`` only when every other one is clearly ahead, so nobody is ranked
    last on a difference smaller than the intervals. People without exposure for a KPI (no
    active customer last period, no ticket) are left out of that KPI's ranking; data without
    owners (or agents) gives an empty table.

    Parameters
    ----------
    view : Dataset
        The point-in-time data.
    period : Period or str
    role : {"owner", "agent"}
    level : float
        Coverage of the intervals.
    sla_hours : float, optional
        The first-response SLA (default the configuration's).

    Returns
    -------
    DataFrame
        One row per KPI and person (``kpi``, the person's id in ``owner_id`` or ``agent_id``):
        ``events``, ``exposure`` (trials; active customers for the complaint rate), ``rate``,
        ``lower``, ``upper``, ``rank``, ``rank_best``,
        ``rank_worst``, ``within_noise``, ``clearly_first``, ``clearly_last`` and ``verdict``
        (``clearly first``, ``clearly last``, ``place settled`` or ``within noise``).

    Raises
    ------
    ValueError
        For another ``role``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=1).to_dataset()
    >>> table = team_kpi_intervals(ds.as_of("2025-06"), "2025-06")
    >>> sorted(table["kpi"].unique())
    ['complaint_rate', 'retention_rate']
    """
    from cpm_analysis.config import DEFAULT_CONFIG
    from cpm_analysis.kpis.context import PreparedData
    from cpm_analysis.kpis.registry import KPIUnavailable, get_kpi
    from cpm_analysis.periods import parse_period

    if role not in TEAM_KPIS:
        raise ValueError(f"role: expected 'owner' or 'agent', got {role!r}")
    by = "owner_id" if role == "owner" else "agent_id"
    hours = DEFAULT_CONFIG.sla.first_response_hours if sla_hours is None else sla_hours
    columns = [by, "kpi", "events", "exposure", "rate", "lower", "upper", "rank", "rank_best"]
    columns += ["rank_worst", "within_noise", "clearly_first", "clearly_last", "verdict"]
    tickets = getattr(view, "tickets", None)
    has = (
        "owner_id" in view.customers.columns
        if role == "owner"
        else tickets is not None and "agent_id" in tickets.columns
    )
    if not has:  # no owners (customers.owner_id) or no agents (tickets.agent_id)
        return pd.DataFrame(columns=columns)
    ctx = PreparedData(view, by=by).context(parse_period(period), sla_hours=hours)
    parts = []
    for kpi, law in TEAM_KPIS[role]:
        try:
            ctx.check_needs(get_kpi(kpi))
            events, exposure = _team_counts(ctx, kpi)
        except KPIUnavailable:
            continue
        keep = np.asarray(exposure, dtype=np.float64) > 0
        if not keep.any():
            continue
        names = pd.Index(ctx.groups[keep], name=by)
        k, e = np.round(events[keep]), exposure[keep]
        if law == "binomial":
            table = binomial_interval(k, e, level=level)
        else:
            table = poisson_interval(k, e, level=level)  # exposure in 100s: per 100 customers
        table.index = names
        ranked = rank_within_noise(table, higher_is_better=get_kpi(kpi).direction == "higher")
        ranked.insert(0, "exposure", e * 100.0 if law == "poisson" else e)
        ranked.insert(0, "events", k)
        ranked.insert(0, "kpi", kpi)
        parts.append(ranked.reset_index())
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    out["verdict"] = noise_verdict(out)
    return out[columns]


def noise_verdict(ranked: pd.DataFrame) -> pd.Series:
    """Say of each row of :func:`rank_within_noise` where it stands.

    ``clearly last``, ``clearly first``, ``place settled`` (its rank cannot change within the
    intervals) or ``within noise``.

    Examples
    --------
    >>> t = pd.DataFrame({"rate": [0.9, 0.5, 0.85], "lower": [0.8, 0.4, 0.7],
    ...                   "upper": [0.95, 0.6, 0.93]}, index=["S1", "S2", "S3"])
    >>> noise_verdict(rank_within_noise(t)).tolist()
    ['within noise', 'clearly last', 'within noise']
    """
    return pd.Series(
        np.select(
            [ranked["clearly_last"], ranked["clearly_first"], ~ranked["within_noise"]],
            ["clearly last", "clearly first", "place settled"],
            "within noise",
        ),
        index=ranked.index,
        dtype="str",
    )


KPI_LAWS: dict[str, str] = {
    "retention_rate": "binomial",
    "churn_rate": "binomial",
    "repeat_rate": "binomial",
    "sla_compliance": "binomial",
    "complaint_share": "binomial",
    "complaint_rate": "poisson",
    "tickets": "poisson",
    "orders": "poisson",
    "new_customers": "poisson",
    "active_customers": "poisson",
    "revenue": "sum",
    "csat": "mean",
    "nps": "mean",
}
"""The KPIs with an interval of their value (:func:`kpi_bounds`), and its law.

- ``binomial``: a share ``k / n`` (Wilson interval, :func:`binomial_interval`);
- ``poisson``: a count, or a count per exposure (Garwood's interval, :func:`poisson_interval`);
- ``sum``: a sum of the book's customer amounts (revenue), normal with the compound-Poisson
  variance ``sum over customers of their amount squared``, the lower end at least 0;
- ``mean``: a mean of ratings (CSAT 1-5, NPS -100..100), normal with the sample standard
  deviation, ``mean +- z sd / sqrt(n)`` clipped to the scale; one rating spans the scale.

Every other KPI has no interval and counts as exact."""

_MEAN_SCALES = {"csat": (1.0, 5.0), "nps": (-100.0, 100.0)}


def _normal(value: np.ndarray, se: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    z = stats.norm.ppf(0.5 + level / 2.0)
    return value - z * se, value + z * se


def _mean_bounds(
    ctx: Any, group: Any, values: np.ndarray, scale: tuple[float, float], level: float
) -> tuple[np.ndarray, np.ndarray]:
    n = ctx.group_count(group, values)
    mean = ctx.group_mean(group, values)
    square = ctx.group_sum(group, np.asarray(values, dtype=float) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.maximum(square - n * mean**2, 0.0) / np.where(n > 1, n - 1, np.nan)
        lower, upper = _normal(mean, np.sqrt(var / n), level)
    lower = np.where(n == 1, scale[0], lower)
    upper = np.where(n == 1, scale[1], upper)
    return np.clip(lower, *scale), np.clip(upper, *scale)


def _bounds_of(ctx: Any, kpi: str, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the lower and upper end of ``kpi``'s value per group (NaN where undefined)."""
    law = KPI_LAWS[kpi]
    if kpi == "churn_rate":
        low, high = _bounds_of(ctx, "retention_rate", level)
        return 1.0 - high, 1.0 - low
    if law == "binomial":
        match kpi:
            case "repeat_rate":
                active = ctx.active
                k = ctx.group_sum(active["group"], active["orders"] >= 2)
                n = ctx.group_sum(active["group"])
            case "complaint_share":
                flag = ctx.tickets["is_complaint"].to_numpy()
                k = ctx.group_sum(ctx.tickets["group"], flag == 1.0)
                n = ctx.group_count(ctx.tickets["group"], flag)
            case _:
                k, n = _team_counts(ctx, kpi)
        ok = n > 0
        lower, upper = np.full(len(n), np.nan), np.full(len(n), np.nan)
        if ok.any():
            table = binomial_interval(np.round(k[ok]), n[ok], level=level)
            lower[ok], upper[ok] = table["lower"].to_numpy(), table["upper"].to_numpy()
        return lower, upper
    if law == "poisson":
        if kpi == "complaint_rate":
            k, exposure = _team_counts(ctx, kpi)
        else:
            k, exposure = ctx.kpi(kpi), np.ones(ctx.n_groups)
        ok = exposure > 0
        lower, upper = np.full(len(k), np.nan), np.full(len(k), np.nan)
        if ok.any():
            table = poisson_interval(np.round(k[ok]), exposure[ok], level=level)
            lower[ok], upper[ok] = table["lower"].to_numpy(), table["upper"].to_numpy()
        return lower, upper
    if law == "sum":  # revenue: the book's customers' paid amounts in the period
        active = ctx.active
        value = ctx.kpi("revenue")
        var = ctx.group_sum(active["group"], active["revenue"].to_numpy() ** 2)
        lower, upper = _normal(value, np.sqrt(var), level)
        return np.maximum(lower, 0.0), upper
    if kpi == "csat":
        resolved = ctx.resolved_tickets
        return _mean_bounds(
            ctx, resolved["group"], resolved["satisfaction"].to_numpy(), _MEAN_SCALES[kpi], level
        )
    score = ctx.surveys["score"].to_numpy()  # nps
    net = 100.0 * ((score >= 9).astype(float) - (score <= 6).astype(float))
    net = np.where(np.isnan(score), np.nan, net)
    return _mean_bounds(ctx, ctx.surveys["group"], net, _MEAN_SCALES[kpi], level)


def kpi_bounds(
    dataset: CustomerData,
    periods: Iterable[Period | str],
    *,
    by: str,
    kpis: Iterable[str],
    level: float = 0.9,
    sla_hours: float | None = None,
) -> pd.DataFrame:
    """Return the interval of each KPI value per period and group (owner, agent, ...).

    For every KPI of ``kpis`` with a law in :data:`KPI_LAWS`, the ``level`` interval of its
    value, computed from the same rows as the value (:func:`~cpm_analysis.kpis.compute_kpis`);
    KPIs without a law, or not available in the data, are left out (they count as exact).

    Parameters
    ----------
    dataset : Dataset
        Any dataset of the dataset protocol.
    periods : list of str or Period
    by : str
        The breakdown, as in :func:`~cpm_analysis.kpis.compute_kpis` (``"owner_id"``,
        ``"agent_id"``).
    kpis : list of str
        KPI ids.
    level : float
        Coverage of each interval.
    sla_hours : float, optional
        The first-response SLA (default the configuration's).

    Returns
    -------
    DataFrame
        Indexed by ``period``, ``kpi`` and the group, columns ``lower`` and ``upper`` (NaN
        where the KPI is undefined for the group).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=1).to_dataset()
    >>> b = kpi_bounds(ds, ["2025-06"], by="owner_id", kpis=["revenue", "aov"])
    >>> sorted(b.index.get_level_values("kpi").unique())
    ['revenue']
    >>> bool((b["lower"] <= b["upper"]).all())
    True
    """
    from cpm_analysis.config import DEFAULT_CONFIG
    from cpm_analysis.data.protocol import customer_data
    from cpm_analysis.kpis.context import PreparedData
    from cpm_analysis.kpis.registry import KPIUnavailable, get_kpi
    from cpm_analysis.kpis.selection import kpi_dataset
    from cpm_analysis.periods import parse_period

    level = _level(level)
    hours = DEFAULT_CONFIG.sla.first_response_hours if sla_hours is None else sla_hours
    parsed = [parse_period(p) for p in periods]
    chosen = [k for k in kpis if k in KPI_LAWS]
    frames = []
    if chosen and parsed:
        prepared = PreparedData(kpi_dataset(customer_data(dataset), parsed, by), by=by)
        for period in parsed:
            ctx = prepared.context(period, sla_hours=hours)
            for kpi in chosen:
                try:
                    ctx.check_needs(get_kpi(kpi))
                    lower, upper = _bounds_of(ctx, kpi, level)
                except KPIUnavailable:
                    continue
                frames.append(
                    pd.DataFrame(
                        {
                            "period": period.label,
                            "kpi": kpi,
                            by: ctx.groups,
                            "lower": lower,
                            "upper": upper,
                        }
                    )
                )
    if not frames:
        empty = pd.DataFrame(columns=["period", "kpi", by, "lower", "upper"])
        return empty.set_index(["period", "kpi", by]).astype(float)
    return pd.concat(frames, ignore_index=True).set_index(["period", "kpi", by]).sort_index()
