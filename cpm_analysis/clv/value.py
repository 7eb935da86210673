"""Customer lifetime value from a purchase model and a spend model, and holdout validation.

Examples
--------
>>> from cpm_analysis.clv import (
...     BetaGeoModel, GammaGammaModel, customer_lifetime_value, rfm_summary
... )
>>> summary = rfm_summary(ds.orders, observation_end="2024-12-31")
>>> purchases = BetaGeoModel().fit(summary)
>>> spend = GammaGammaModel().fit(summary)
>>> customer_lifetime_value(purchases, spend, summary, horizon_months=12).head(3).round(2)
customer_id
C000001    67.57
C000002    10.56
C000003     1.89
Name: clv, dtype: float64
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cpm_analysis.clv.summary import days_per_unit

if TYPE_CHECKING:
    from cpm_analysis.clv.base import PurchasePredictor
    from cpm_analysis.clv.gammagamma import GammaGammaModel

#: Days in a month: 365.25 / 12.
DAYS_PER_MONTH = 30.4375


def _spend_values(spend_model: Any, summary: pd.DataFrame) -> np.ndarray:
    if hasattr(spend_model, "expected_spend"):
        return spend_model.expected_spend(summary).to_numpy(dtype=np.float64)
    if isinstance(spend_model, pd.Series):
        values = spend_model.reindex(summary.index).to_numpy(dtype=np.float64)
    else:
        values = np.broadcast_to(np.asarray(spend_model, dtype=np.float64), (len(summary),))
    if len(values) != len(summary) or np.any(~np.isfinite(values)):
        raise ValueError(
            "spend_model: expected a fitted GammaGammaModel, a number, or one finite spend per "
            "customer of the summary"
        )
    return values


def customer_lifetime_value(
    purchase_model: PurchasePredictor,
    spend_model: GammaGammaModel | float | pd.Series | npt.ArrayLike,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    time_unit: str = "W",
) -> pd.Series:
    """Discounted expected value of each customer's purchases over the next months.

    ``CLV = sum over m = 1..horizon_months of
    (E[purchases by the end of month m] - E[purchases by the end of month m-1])
    * expected spend / (1 + discount_rate)^m``, the discounted cash flow of ``lifetimes``'
    ``customer_lifetime_value``.

    Units, explicitly: a month is 365.25 / 12 = 30.4375 days, that is 30.4375 / 7 = 4.348
    weeks. ``time_unit`` must be the unit of the summary the purchase model was fitted on
    (``"W"``: weeks, ``"D"``: days) and is only used to convert months into that unit; a model
    fitted on a summary from :func:`~cpm_analysis.clv.rfm_summary` remembers its unit and a
    mismatch raises ``ValueError``. ``discount_rate`` is per *month* (a 12% annual rate is about
    0.0095 a month: ``(1.12) ** (1 / 12) - 1``).

    Parameters
    ----------
    purchase_model : purchase model
        A fitted purchase model (:class:`~cpm_analysis.clv.base.PurchaseModel`, or a covariate
        model): anything with ``expected_purchases(t, summary)``.
    spend_model : GammaGammaModel, float, Series or array-like
        A fitted spend model (its ``expected_spend`` per customer is used), or a spend per
        transaction (one number, or a Series by customer id).
    summary : DataFrame
        The customers to value, with ``frequency``, ``recency``, ``T`` and (for a spend model)
        ``monetary_value``.
    horizon_months : int
        Months ahead.
    discount_rate : float
        Monthly discount rate; 0 for undiscounted value.
    time_unit : {"W", "D"}
        The time unit of the summary and the purchase model.

    Returns
    -------
    Series
        Named ``clv``, indexed like the summary, in the currency of the spend.

    Examples
    --------
    >>> clv = customer_lifetime_value(bgf, ggf, summary, horizon_months=12)
    >>> clv.sort_values(ascending=False).head(3).round(2)
    customer_id
    5420     1175.71
    11288    1003.17
    15562     972.57
    Name: clv, dtype: float64
    """
    unit_days = days_per_unit(time_unit)
    unit = str(time_unit).strip().upper()
    fitted_unit = getattr(purchase_model, "time_unit_", None)
    if fitted_unit is not None and fitted_unit != unit:
        raise ValueError(
            f"time_unit: the purchase model was fitted on a summary in '{fitted_unit}' "
            f"({'weeks' if fitted_unit == 'W' else 'days'}) but time_unit='{time_unit}'"
        )
    summary_unit = summary.attrs.get("time_unit") if isinstance(summary, pd.DataFrame) else None
    if summary_unit is not None and summary_unit != unit:
        raise ValueError(
            f"time_unit: the summary is in '{summary_unit}' but time_unit='{time_unit}'"
        )
    if int(horizon_months) != horizon_months or horizon_months < 0:
        raise ValueError(f"horizon_months: expected a whole number >= 0, got {horizon_months!r}")
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise ValueError(f"discount_rate: expected a rate > -1, got {discount_rate!r}")
    months = np.arange(0, int(horizon_months) + 1)
    times = months * DAYS_PER_MONTH / unit_days
    if hasattr(purchase_model, "expected_purchases_over"):
        cumulative = purchase_model.expected_purchases_over(times, summary)
    else:
        cumulative = np.stack(
            [purchase_model.expected_purchases(t, summary).to_numpy() for t in times], axis=1
        )
    spend = _spend_values(spend_model, summary)
    increments = np.diff(cumulative, axis=1)
    discount = (1.0 + discount_rate) ** -months[1:].astype(np.float64)
    values = (increments @ discount) * spend if len(months) > 1 else np.zeros(len(summary))
    return pd.Series(values, index=summary.index, name="clv")


def calibration_holdout_report(
    model: PurchasePredictor, summary: pd.DataFrame, *, max_frequency: int = 7
) -> pd.DataFrame:
    """Actual against predicted holdout purchases, by number of calibration repeat purchases.

    The standard check of a purchase model (Fader, Hardie & Lee 2005, figure 4): customers are
    grouped by calibration ``frequency`` (0, 1, ..., ``max_frequency - 1`` and
    ``"<max_frequency>+"``), and each group's holdout purchases are compared with the model's
    conditional expectation over the holdout period,
    ``model.expected_purchases(duration_holdout, summary)``.

    Parameters
    ----------
    model : BetaGeoModel or ParetoNBDModel
        A model fitted on the calibration summary.
    summary : DataFrame
        From :func:`~cpm_analysis.clv.rfm_summary` with ``calibration_end``: needs
        ``frequency_holdout`` and ``duration_holdout`` besides ``frequency``, ``recency``,
        ``T``.
    max_frequency : int
        Frequencies from this value up share the last group.

    Returns
    -------
    DataFrame
        Indexed by ``frequency`` (strings ``"0"``, ..., ``"7+"`` and a last row ``"total"``)
        with ``customers``, ``actual`` and ``predicted`` (total holdout purchases of the group),
        ``actual_mean`` and ``predicted_mean`` (per customer).

    Examples
    --------
    >>> report = calibration_holdout_report(bgf, summary)
    >>> float(report.loc["total", "actual"])
    1882.0
    """
    missing = [c for c in ("frequency_holdout", "duration_holdout") if c not in summary.columns]
    if missing:
        raise ValueError(
            f"summary: missing column(s) {', '.join(repr(c) for c in missing)}; build it with "
            "rfm_summary(..., calibration_end=...)"
        )
    if int(max_frequency) < 1:
        raise ValueError(f"max_frequency: expected at least 1, got {max_frequency!r}")
    predicted = model.expected_purchases(summary["duration_holdout"], summary).to_numpy()
    actual = pd.to_numeric(summary["frequency_holdout"]).to_numpy(dtype=np.float64)
    freq = summary["frequency"].to_numpy(dtype=np.float64)
    top = int(max_frequency)
    group = np.minimum(freq, top).astype(np.int64)
    labels = [str(i) for i in range(top)] + [f"{top}+"]
    customers = np.bincount(group, minlength=top + 1).astype(np.int64)
    act = np.bincount(group, weights=actual, minlength=top + 1)
    pred = np.bincount(group, weights=predicted, minlength=top + 1)
    report = pd.DataFrame(
        {"customers": customers, "actual": act, "predicted": pred},
        index=pd.Index(labels, name="frequency"),
    )
    report.loc["total"] = [customers.sum(), act.sum(), pred.sum()]
    report["customers"] = report["customers"].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        report["actual_mean"] = report["actual"] / report["customers"]
        report["predicted_mean"] = report["predicted"] / report["customers"]
    return report
