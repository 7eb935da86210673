"""A period's CLV models, fitted on the distinct rows of its summary and scored, on any engine.

However many customers there are, the distinct ``(frequency, recency, T)`` rows of the weekly
summary number a few hundred thousand at most (whole days over a few years). Each bucket of
customers counts its distinct rows (:func:`summary_rows`), the counts are added up in pandas and
the models are fitted on them with the counts as weights (:func:`fit_on_rows`), which gives the
parameters a fit on the full summary gives (the models compress to distinct rows themselves, in
a canonical order). Scoring runs bucket by bucket again (:func:`score_summary`). Everything goes
through the dataset protocol (:mod:`cpm_analysis.data.protocol`): the pandas dataset is one
bucket, the Dask dataset many.

Examples
--------
>>> from cpm_analysis.clv import BetaGeoModel
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(300, seed=2).to_dataset()
>>> rows = summary_rows(ds, pd.Timestamp("2025-06-30 23:59:59"))
>>> bg = fit_on_rows(BetaGeoModel(), rows)
>>> int(rows["n_customers"].sum()) == len(period_summary(ds, pd.Timestamp("2025-06-30 23:59:59")))
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from cpm_analysis.clv.base import PURCHASE_COLUMNS, BaseModel
from cpm_analysis.clv.summary import (
    PERIOD_TIME_UNIT,
    days_per_unit,
    period_summary,
    summary_cutoff,
)
from cpm_analysis.data.protocol import customer_data

if TYPE_CHECKING:
    from cpm_analysis.clv.base import PurchaseModel
    from cpm_analysis.clv.gammagamma import GammaGammaModel
    from cpm_analysis.data.protocol import CustomerData
    from cpm_analysis.periods import Cutoff

ModelT = TypeVar("ModelT", bound=BaseModel)

SPEND_COLUMNS = ("frequency", "monetary_value")
SUMMARY_ROW_COLUMNS = ("frequency", "recency", "T", "monetary_value")
SCORE_COLUMNS = ("p_alive", "expected_purchases_90d", "expected_spend", "clv")


def _rows_step(bucket: Any, cutoff: pd.Timestamp) -> pd.DataFrame:
    summary = period_summary(bucket, cutoff)
    counts = summary.groupby(list(SUMMARY_ROW_COLUMNS), sort=False).size()
    return counts.rename("n_customers").reset_index()


def summary_rows(data: CustomerData, cutoff: Cutoff) -> pd.DataFrame:
    """Return the distinct ``frequency, recency, T, monetary_value`` rows of the period summary.

    Counted bucket by bucket and added up: columns :data:`SUMMARY_ROW_COLUMNS` and
    ``n_customers``, sorted; ``attrs["time_unit"]`` is the summary's unit (weeks).

    Examples
    --------
    >>> rows = summary_rows(ds, "2025-06")
    >>> int(rows["n_customers"].sum()) == len(period_summary(ds, "2025-06")), rows.attrs["time_unit"]
    (True, 'W')
    """
    data = customer_data(data)
    (parts,) = data.gather(
        data.map_customers(_rows_step, tables=("orders",), cutoff=summary_cutoff(cutoff, "cutoff"))
    )
    rows = parts.groupby(list(SUMMARY_ROW_COLUMNS), sort=True)["n_customers"].sum().reset_index()
    rows["n_customers"] = rows["n_customers"].astype(np.int64)
    rows.attrs["time_unit"] = PERIOD_TIME_UNIT
    return rows


def fit_on_rows(model: ModelT, rows: pd.DataFrame) -> ModelT:
    """Fit a CLV model on distinct summary rows weighted by ``n_customers``.

    Purchase models use ``frequency, recency, T``; the Gamma-Gamma model (anything with
    ``expected_spend``) ``frequency, monetary_value`` of the repeat buyers.

    Raises
    ------
    ValueError
        When there are no rows to fit.

    Examples
    --------
    >>> from cpm_analysis.clv import BetaGeoModel
    >>> bg = fit_on_rows(BetaGeoModel(), summary_rows(ds, "2025-06"))
    >>> bg.n_customers_ == len(period_summary(ds, "2025-06")), sorted(bg.params_)
    (True, ['a', 'alpha', 'b', 'r'])
    """
    spend = hasattr(model, "expected_spend")
    columns = SPEND_COLUMNS if spend else PURCHASE_COLUMNS
    chosen = rows.loc[rows["frequency"] > 0] if spend else rows
    grouped = chosen.groupby(list(columns), sort=True)["n_customers"].sum().reset_index()
    grouped.attrs["time_unit"] = rows.attrs.get("time_unit", PERIOD_TIME_UNIT)
    if len(grouped) == 0:
        raise ValueError("summary: no customers to fit (the summary is empty)")
    return model.fit(grouped, sample_weight=grouped["n_customers"].to_numpy(dtype=np.float64))


def _score_step(
    bucket: Any,
    cutoff: pd.Timestamp,
    bgnbd: Any,
    gamma_gamma: Any,
    horizon_months: int,
    discount_rate: float,
) -> pd.DataFrame:
    summary = period_summary(bucket, cutoff)
    return score_frame(summary, bgnbd, gamma_gamma, horizon_months, discount_rate)


def score_frame(
    summary: pd.DataFrame,
    bgnbd: PurchaseModel,
    gamma_gamma: GammaGammaModel,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    time_unit: str = PERIOD_TIME_UNIT,
) -> pd.DataFrame:
    """``frequency, recency, T, monetary_value`` and the :data:`SCORE_COLUMNS` of a summary.

    Examples
    --------
    >>> from cpm_analysis.clv import BetaGeoModel, GammaGammaModel
    >>> rows = summary_rows(ds, "2025-06")
    >>> bg, gg = fit_on_rows(BetaGeoModel(), rows), fit_on_rows(GammaGammaModel(), rows)
    >>> score_frame(period_summary(ds, "2025-06"), bg, gg).columns[-1]
    'clv'
    """
    from cpm_analysis.clv.value import customer_lifetime_value

    days = days_per_unit(time_unit)
    out = pd.DataFrame(index=summary.index)
    for col in SUMMARY_ROW_COLUMNS:
        out[col] = summary[col].to_numpy(dtype=np.float64)
    if len(summary) == 0:
        for col in SCORE_COLUMNS:
            out[col] = np.zeros(0)
        return out
    out["p_alive"] = np.asarray(bgnbd.probability_alive(summary), dtype=np.float64)
    out["expected_purchases_90d"] = np.asarray(
        bgnbd.expected_purchases(90 * (1.0 / days), summary), dtype=np.float64
    )
    out["expected_spend"] = np.asarray(gamma_gamma.expected_spend(summary), dtype=np.float64)
    out["clv"] = np.asarray(
        customer_lifetime_value(
            bgnbd,
            gamma_gamma,
            summary,
            horizon_months=horizon_months,
            discount_rate=discount_rate,
            time_unit=time_unit,
        ),
        dtype=np.float64,
    )
    return out


def score_summary(
    data: CustomerData,
    cutoff: Cutoff,
    bgnbd: PurchaseModel,
    gamma_gamma: GammaGammaModel,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
) -> Any:
    """Every customer's CLV scores at ``cutoff``, bucket by bucket (see :func:`score_frame`).

    Returns what :meth:`map_customers` returns: a pandas DataFrame for the pandas dataset, a
    lazy Dask DataFrame for the Dask dataset (``gather`` it, or write it out in parts).

    Examples
    --------
    >>> from cpm_analysis.clv import BetaGeoModel, GammaGammaModel
    >>> rows = summary_rows(ds, "2025-06")
    >>> bg, gg = fit_on_rows(BetaGeoModel(), rows), fit_on_rows(GammaGammaModel(), rows)
    >>> scores = score_summary(ds, "2025-06", bg, gg)
    >>> len(scores) == len(period_summary(ds, "2025-06")), "clv" in scores
    (True, True)
    """
    data = customer_data(data)
    return data.map_customers(
        _score_step,
        tables=("orders",),
        cutoff=summary_cutoff(cutoff, "cutoff"),
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        horizon_months=int(horizon_months),
        discount_rate=float(discount_rate),
    )
