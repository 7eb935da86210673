"""Every customer's scores from the discrete-time (BG/BB) and the contractual (sBG) model.

The scored table has three purchase-model columns, whatever the model: ``p_alive``,
``expected_purchases_90d`` and ``clv``. The continuous models (BG/NBD, Pareto/NBD, MBG/NBD)
give them through :func:`~cpm_analysis.clv.fitting.score_summary`; this module gives them when
the period's model choice (:mod:`cpm_analysis.clv.selection`) took another route:

- **BG/BB**, opportunities of one calendar year or quarter
  (:func:`~cpm_analysis.clv.selection.discrete_summary`): ``p_alive`` is the probability of
  being alive at the last complete opportunity; ``expected_purchases_90d`` the expected
  transactions at the next opportunity, pro rata for 90 days (a quarter of it for yearly
  opportunities); ``clv`` the expected transactions at each of the opportunities within
  ``horizon_months`` (at least one), each discounted by the monthly rate compounded over the
  opportunity's months, times the Gamma-Gamma expected spend. A customer whose first purchase
  is in the incomplete current opportunity has ``T = 0``.
- **sBG**, contracts renewed every ``contract_period`` (monthly by default,
  ``clv.contract_period``; :func:`~cpm_analysis.clv.contract_periods`): ``p_alive`` is the
  probability that the contract is still running after the next renewal (0 for an ended
  contract); ``expected_purchases_90d`` the expected payments at the renewals due within 90
  days (rounded to whole renewals: three monthly, thirteen weekly; pro rata, ``90 / period
  days`` of the next one, for a quarter or a year); ``clv`` the expected payments at each
  renewal within ``horizon_months`` (at least one), the ``k``-th discounted by ``(1 +
  rate)^-m`` with ``m`` its months from now (``k`` x the period's months), times the
  customer's mean paid amount (one payment per period).

Both fit on the distinct rows of their summary with the counts as weights. They read pandas
data (the Dask engine's scoring covers the continuous models).

Examples
--------
>>> from cpm_analysis.synthetic import generate_discrete
>>> sd = generate_discrete(400, seed=1)
>>> scores, models, metrics = score_route(sd.to_dataset(), "2024-12-31", "BG/BB", opportunity="Y")
>>> list(scores.columns), metrics["name"]
(['p_alive', 'expected_purchases_90d', 'clv'], 'BG/BB')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis.clv.base import PURCHASE_COLUMNS
from cpm_analysis.clv.bgbb import BetaGeoBetaBinomModel
from cpm_analysis.clv.fitting import fit_on_rows
from cpm_analysis.clv.gammagamma import GammaGammaModel
from cpm_analysis.clv.sbg import (
    CONTRACT_PERIODS,
    PERIOD_DAYS,
    ShiftedBetaGeoModel,
    contract_period_code,
    contract_periods,
)
from cpm_analysis.clv.selection import CONTRACT_PERIOD, DISCRETE_UNITS, discrete_summary
from cpm_analysis.clv.summary import period_summary, summary_cutoff
from cpm_analysis.clv.value import DAYS_PER_MONTH

if TYPE_CHECKING:
    from cpm_analysis.data import Dataset
    from cpm_analysis.periods import Cutoff

__all__ = [
    "ROUTE_MODELS",
    "bgbb_expected_purchases",
    "bgbb_scores",
    "route_inputs",
    "sbg_expected_renewals",
    "sbg_scores",
    "score_route",
]

ROUTE_MODELS = ("BG/BB", "sBG")
"""The models this module scores with."""
SCORE_COLUMNS = ["p_alive", "expected_purchases_90d", "clv"]
_OPPORTUNITY_MONTHS = {"Y": 12, "Q": 3}
# A horizon within half a week of a whole number of opportunities or contract periods counts as
# that number (52 weeks is a year of 365.25 days); other horizons are interpolated linearly.
_SNAP_DAYS = 3.5


def _periods_within(days: float, period_days: float) -> tuple[int, float]:
    """Return the whole periods of ``period_days`` within ``days`` and the fraction of the next."""
    if not (np.isfinite(days) and days >= 0):
        raise ValueError(f"t: expected a finite horizon >= 0, got {days!r} days")
    n = days / period_days
    if abs(n - round(n)) * period_days <= _SNAP_DAYS:
        return int(round(n)), 0.0
    return int(np.floor(n)), float(n - np.floor(n))


def _distinct(summary: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    rows = summary.groupby(list(columns), sort=True).size().rename("n_customers").reset_index()
    rows.attrs = dict(summary.attrs)
    return rows


def _discounted(increments: np.ndarray, months: np.ndarray, rate: float) -> np.ndarray:
    return increments @ ((1.0 + rate) ** -months.astype(np.float64))


def _bgbb_inputs(view: Any, cutoff: pd.Timestamp, unit: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the discrete summary (by the weekly summary's customers) and the weekly summary."""
    weekly = period_summary(view, cutoff)
    summary = discrete_summary(view, cutoff, unit)
    summary = summary.reindex(weekly.index, fill_value=0.0)[list(PURCHASE_COLUMNS)]
    return summary, weekly


def _opportunities_valued(unit: str, horizon_months: int) -> int:
    return max(1, round(horizon_months / _OPPORTUNITY_MONTHS[unit]))


def bgbb_scores(
    model: BetaGeoBetaBinomModel,
    summary: pd.DataFrame,
    unit: str,
    horizon_months: int,
    discount_rate: float,
) -> pd.DataFrame:
    """Return BG/BB's ``p_alive``, ``expected_purchases_90d``, discounted expected ``transactions``.

    The rule of the module docstring for each row of a discrete summary; ``transactions``
    times the Gamma-Gamma expected spend is the customer's ``clv``. The intervals
    (:mod:`cpm_analysis.clv.uncertainty`) call it with drawn parameters.

    Examples
    --------
    >>> from cpm_analysis.data import load_donations
    >>> donations = load_donations()
    >>> model = BetaGeoBetaBinomModel().fit(donations, donations["customers"])
    >>> bgbb_scores(model, donations.iloc[:2], "Y", 12, 0.01).columns.tolist()
    ['p_alive', 'expected_purchases_90d', 'transactions']
    """
    months = _OPPORTUNITY_MONTHS[unit]
    k = _opportunities_valued(unit, horizon_months)
    cumulative = model.expected_purchases_over(np.arange(k + 1), summary)
    increments = np.diff(np.asarray(cumulative, dtype=np.float64), axis=1)
    share_90d = 90.0 / (months * DAYS_PER_MONTH)
    return pd.DataFrame(
        {
            "p_alive": model.probability_alive(summary).to_numpy(dtype=np.float64),
            "expected_purchases_90d": increments[:, 0] * min(share_90d, 1.0),
            "transactions": _discounted(increments, months * np.arange(1, k + 1), discount_rate),
        },
        index=summary.index,
    )


def bgbb_expected_purchases(
    model: BetaGeoBetaBinomModel, summary: pd.DataFrame, unit: str, days: float
) -> np.ndarray:
    """Return BG/BB's expected transactions in the next ``days`` days, per row of ``summary``.

    ``days`` is converted to opportunities of ``unit`` (``"Y"`` or ``"Q"``): a whole number
    ``n`` gives ``model.expected_purchases(n)``; between ``n`` and ``n + 1`` the expectation is
    interpolated linearly (the 90-day score prorates the first opportunity the same way).

    Examples
    --------
    >>> from cpm_analysis.data import load_donations
    >>> donations = load_donations()
    >>> model = BetaGeoBetaBinomModel().fit(donations, donations["customers"])
    >>> rows = donations.iloc[:2]
    >>> bool(np.allclose(bgbb_expected_purchases(model, rows, "Y", 2 * 365.25),
    ...                  model.expected_purchases(2, rows)))
    True
    """
    whole, frac = _periods_within(float(days), _OPPORTUNITY_MONTHS[unit] * DAYS_PER_MONTH)
    both = model.expected_purchases_over([whole, whole + 1], summary)
    both = np.asarray(both, dtype=np.float64)
    return both[:, 0] + frac * (both[:, 1] - both[:, 0])


def _bgbb(
    view: Any, cutoff: pd.Timestamp, unit: str, horizon_months: int, discount_rate: float
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    summary, weekly = _bgbb_inputs(view, cutoff, unit)
    model = fit_on_rows(BetaGeoBetaBinomModel(), _distinct(summary, PURCHASE_COLUMNS))
    weekly_rows = _distinct(weekly, ("frequency", "recency", "T", "monetary_value"))
    spend = fit_on_rows(GammaGammaModel(exclude_nonpositive=True), weekly_rows)
    scores = bgbb_scores(model, summary, unit, horizon_months, discount_rate)
    transactions = scores.pop("transactions").to_numpy(dtype=np.float64)
    scores["clv"] = transactions * spend.expected_spend(weekly).to_numpy(dtype=np.float64)
    metrics = {
        "opportunity": DISCRETE_UNITS[unit],
        "opportunities_valued": _opportunities_valued(unit, horizon_months),
        "gamma_gamma": dict(spend.params_),
    }
    return scores, {"purchase": model, "gamma_gamma": spend}, metrics


def _sbg_inputs(view: Any, cutoff: pd.Timestamp, period: str = CONTRACT_PERIOD) -> pd.DataFrame:
    """Return the contract table (``T``, ``churned``) with each customer's ``value`` of a period.

    ``period`` is the contract period (``clv.contract_period``: week, month, quarter or year).
    """
    rows = contract_periods(view.customers, cutoff, period=contract_period_code(period))
    weekly = period_summary(view, cutoff)
    paid = weekly["monetary_value"].where(weekly["frequency"] > 0)
    value = _value_per_period(view, cutoff).reindex(rows.index)
    value = value.fillna(paid.reindex(rows.index)).fillna(0.0).to_numpy(dtype=np.float64)
    return rows.assign(value=value)


def _renewals(horizon_months: int, period: str) -> int:
    """Return how many contract periods of ``period`` the CLV horizon values (at least one)."""
    days = PERIOD_DAYS[contract_period_code(period)]
    return max(int(horizon_months * DAYS_PER_MONTH / days + 1e-9), 1)


def sbg_scores(
    model: ShiftedBetaGeoModel,
    rows: pd.DataFrame,
    horizon_months: int,
    discount_rate: float,
    period: str = CONTRACT_PERIOD,
) -> pd.DataFrame:
    """Return sBG's ``p_alive``, ``expected_purchases_90d`` and discounted expected ``payments``.

    The rule of the module docstring for each row of a contract table (``T``, ``churned``, in
    contract periods of ``period``); ``payments`` times the customer's value of a period is the
    customer's ``clv``. Renewals are discounted by the monthly ``discount_rate`` compounded over
    each period's months. The intervals (:mod:`cpm_analysis.clv.uncertainty`) call it with
    drawn parameters.

    Examples
    --------
    >>> from cpm_analysis.clv import rows_from_survivors
    >>> model = ShiftedBetaGeoModel().fit(rows_from_survivors([10, 6, 4]), [4, 2, 4])
    >>> rows = pd.DataFrame({"T": [2.0, 2.0], "churned": [False, True]})
    >>> sbg_scores(model, rows, 12, 0.01)["payments"].round(2).tolist()
    [3.19, 0.0]
    """
    days = PERIOD_DAYS[contract_period_code(period)]
    T = rows["T"].to_numpy(dtype=np.float64)
    ended = rows["churned"].to_numpy(dtype=bool)
    horizon = _renewals(horizon_months, period)
    ahead = np.arange(1, horizon + 1, dtype=np.float64)
    within_90d = 90.0 / days
    with np.errstate(all="ignore"):
        now = np.asarray(model.survival(T), dtype=np.float64)
        alive = np.asarray(model.survival(T[:, None] + ahead[None, :])) / now[:, None]
    alive[ended] = 0.0
    if within_90d >= 1:  # the renewals due within 90 days (those valued, at most)
        purchases_90d = alive[:, : min(int(round(within_90d)), horizon)].sum(axis=1)
    else:
        purchases_90d = within_90d * alive[:, 0]
    return pd.DataFrame(
        {
            "p_alive": alive[:, 0],
            "expected_purchases_90d": purchases_90d,
            "payments": _discounted(alive, ahead * days / DAYS_PER_MONTH, discount_rate),
        },
        index=rows.index,
    )


def sbg_expected_renewals(
    model: ShiftedBetaGeoModel, rows: pd.DataFrame, days: float, period: str = CONTRACT_PERIOD
) -> np.ndarray:
    """Return sBG's expected renewals (payments) in the next ``days`` days, per contract row.

    ``days`` is converted to contract periods of ``period``; ``n`` whole periods give
    ``sum_{k=1}^{n} S(T + k) / S(T)`` for a contract still running at ``T`` (0 once it has
    ended), and a part of a period adds that part of the next renewal.

    Examples
    --------
    >>> from cpm_analysis.clv import rows_from_survivors
    >>> model = ShiftedBetaGeoModel().fit(rows_from_survivors([10, 6, 4]), [4, 2, 4])
    >>> rows = pd.DataFrame({"T": [2.0, 2.0], "churned": [False, True]})
    >>> sbg_expected_renewals(model, rows, 91.3125, "quarter").round(3).tolist()
    [0.714, 0.0]
    """
    code = contract_period_code(period)
    whole, frac = _periods_within(float(days), PERIOD_DAYS[code])
    T = rows["T"].to_numpy(dtype=np.float64)
    ahead = np.arange(1, whole + 2, dtype=np.float64)
    with np.errstate(all="ignore"):
        now = np.asarray(model.survival(T), dtype=np.float64)
        alive = np.asarray(model.survival(T[:, None] + ahead[None, :])) / now[:, None]
    alive[rows["churned"].to_numpy(dtype=bool)] = 0.0
    return alive[:, :whole].sum(axis=1) + frac * alive[:, whole]


def _sbg(
    view: Any,
    cutoff: pd.Timestamp,
    horizon_months: int,
    discount_rate: float,
    period: str = CONTRACT_PERIOD,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    rows = _sbg_inputs(view, cutoff, period)
    model = fit_on_rows_contract(rows)
    scores = sbg_scores(model, rows, horizon_months, discount_rate, period)
    payments = scores.pop("payments").to_numpy(dtype=np.float64)
    scores["clv"] = payments * rows["value"].to_numpy(dtype=np.float64)
    name = {code: name for name, code in CONTRACT_PERIODS.items()}[contract_period_code(period)]
    renewals = _renewals(horizon_months, period)
    return scores, {"purchase": model}, {"contract_period": name, "renewals_valued": renewals}


def _opportunity(opportunity: str | None) -> str:
    """Return ``opportunity``, BG/BB's opportunity unit (``"Y"`` or ``"Q"``), or raise."""
    if opportunity is None or opportunity not in DISCRETE_UNITS:
        raise ValueError(
            f"opportunity: BG/BB needs 'Y' or 'Q' (the opportunity unit), got {opportunity!r}"
        )
    return opportunity


def route_inputs(
    view: Dataset,
    cutoff: Cutoff,
    model: str,
    opportunity: str | None = None,
    contract_period: str = CONTRACT_PERIOD,
) -> pd.DataFrame:
    """Return the per-customer table a route's scores are computed from, by customer id.

    BG/BB: the discrete summary (``frequency``, ``recency``, ``T`` in opportunities) with the
    weekly summary's ``spend_frequency`` (its ``frequency``) and ``monetary_value``, which
    Gamma-Gamma values. sBG: ``T`` and ``churned`` (:func:`~cpm_analysis.clv.contract_periods`)
    and ``value``, the customer's value of a contract period. The intervals of a route's
    scores (:func:`cpm_analysis.clv.tables.value_draws`) are computed on it.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate_contractual
    >>> ds = generate_contractual(300, seed=1).to_dataset()
    >>> route_inputs(ds, "2025-12-31", "sBG").columns.tolist()
    ['T', 'churned', 'value']
    """
    end = summary_cutoff(cutoff, "cutoff")
    match model:
        case "BG/BB":
            summary, weekly = _bgbb_inputs(view, end, _opportunity(opportunity))
            return summary.assign(
                spend_frequency=weekly["frequency"].to_numpy(dtype=np.float64),
                monetary_value=weekly["monetary_value"].to_numpy(dtype=np.float64),
            )
        case "sBG":
            return _sbg_inputs(view, end, contract_period)[["T", "churned", "value"]]
        case _:
            raise ValueError(
                f"model: expected one of {', '.join(repr(m) for m in ROUTE_MODELS)}, got {model!r}"
            )


def fit_on_rows_contract(rows: pd.DataFrame) -> ShiftedBetaGeoModel:
    """Fit the sBG model on the distinct ``(T, churned)`` rows of a contract table, weighted.

    Examples
    --------
    >>> from cpm_analysis.clv import rows_from_survivors
    >>> cohort = rows_from_survivors([100, 60, 45, 38])
    >>> rows = cohort.loc[cohort.index.repeat(cohort["customers"].astype(int)), ["T", "churned"]]
    >>> model = fit_on_rows_contract(rows)
    >>> model.n_customers_, model.n_distinct_rows_
    (100, 4)
    """
    distinct = _distinct(rows, ("T", "churned"))
    return ShiftedBetaGeoModel().fit(
        distinct, sample_weight=distinct["n_customers"].to_numpy(dtype=np.float64)
    )


def _value_per_period(view: Any, cutoff: pd.Timestamp) -> pd.Series:
    """Each customer's mean paid order amount (the fee of a period for monthly contracts)."""
    from cpm_analysis.data.orders import paid_mask

    orders = view.orders
    keep = np.array(orders["order_date"] <= cutoff, dtype=bool)
    if "status" in orders.columns:
        keep &= np.asarray(paid_mask(orders), dtype=bool)
    paid = orders.loc[keep]
    return paid.groupby("customer_id", sort=False)["amount"].mean()


def score_route(
    view: Dataset,
    cutoff: Cutoff,
    model: str,
    *,
    opportunity: str | None = None,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    contract_period: str = "month",
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Score every customer with BG/BB or sBG (see the module docstring).

    Parameters
    ----------
    view : Dataset
        The point-in-time data (pandas).
    cutoff : date-like or Period
        The period's end.
    model : {"BG/BB", "sBG"}
        The model the period's choice took.
    opportunity : {"Y", "Q"}, optional
        The opportunity unit of BG/BB (required for it).
    horizon_months, discount_rate :
        As for :func:`~cpm_analysis.clv.customer_lifetime_value` (months; rate per month).
    contract_period : {"week", "month", "quarter", "year"}
        How often a contract renews (sBG; ``clv.contract_period``); a period code (``"M"``)
        is read too.

    Returns
    -------
    scores : DataFrame
        By customer id: ``p_alive``, ``expected_purchases_90d``, ``clv``.
    models : dict
        ``purchase`` (and ``gamma_gamma`` for BG/BB): the fitted models.
    metrics : dict
        ``name``, ``params``, ``log_likelihood``, ``customers`` and the route's units.

    Raises
    ------
    ValueError
        For another model, or BG/BB without an opportunity unit.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate_contractual
    >>> ds = generate_contractual(300, seed=1).to_dataset()
    >>> scores, _, metrics = score_route(ds, "2025-12-31", "sBG")
    >>> bool((scores["p_alive"] <= 1).all()), sorted(metrics["params"])
    (True, ['alpha', 'beta'])
    """
    end = summary_cutoff(cutoff, "cutoff")
    match model:
        case "BG/BB":
            unit = _opportunity(opportunity)
            scores, models, extra = _bgbb(view, end, unit, horizon_months, discount_rate)
        case "sBG":
            period = contract_period_code(contract_period)
            scores, models, extra = _sbg(view, end, horizon_months, discount_rate, period)
        case _:
            raise ValueError(
                f"model: expected one of {', '.join(repr(m) for m in ROUTE_MODELS)}, got {model!r}"
            )
    fitted = models["purchase"]
    metrics = {
        "name": model,
        "params": dict(fitted.params_),
        "log_likelihood": float(fitted.log_likelihood_),
        "customers": int(fitted.n_customers_),
        "converged": bool(fitted.converged_),
        **extra,
    }
    return scores[SCORE_COLUMNS], models, metrics
