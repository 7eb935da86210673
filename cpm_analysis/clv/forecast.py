"""The forecast check: last period's purchase and churn predictions against this period.

:func:`forecast_check` refits the purchase model at the end of the previous period and compares
its predicted repeat purchases with what customers made in the period, by segment; and ranks
last period's churn scores against who did not buy. It returns a :class:`ForecastCheck`.

Examples
--------
>>> p = pd.DataFrame({"customers": [10], "predicted": [11.0], "actual": [10.0],
...                   "error": [0.1]}, index=["total"])
>>> from cpm_analysis.periods import parse_period
>>> ForecastCheck(p, {}, parse_period("2025-05")).available
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis import availability
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.i18n import M_, N_, join
from cpm_analysis.periods import Period, parse_period

if TYPE_CHECKING:
    from cpm_analysis.clv.bgnbd import BetaGeoModel

CHURN_MEASURES = {
    "customers": N_("Customers scored last period (active base)"),
    "mean_churn_probability": N_("Mean churn probability (over last period's churn horizon)"),
    "no_purchase_rate": N_("Share who did not buy this period"),
    "roc_auc": N_("ROC AUC of last period's scores"),
    "top_decile_no_purchase_rate": N_("Share who did not buy, riskiest tenth"),
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
            values = {
                "predicted": f"{total['predicted']:,.0f}",
                "period": self.previous.label,
                "actual": f"{total['actual']:,.0f}",
            }
            if availability.finite(total["error"]):
                values["error"] = f"{abs(total['error']):.0%}"
                parts.append(
                    M_(
                        "the purchase model predicted %(predicted)s repeat purchases for this "
                        "period at the end of %(period)s; customers made %(actual)s (%(error)s "
                        "over-estimate)",
                        **values,
                    )
                    if total["error"] > 0
                    else M_(
                        "the purchase model predicted %(predicted)s repeat purchases for this "
                        "period at the end of %(period)s; customers made %(actual)s (%(error)s "
                        "under-estimate)",
                        **values,
                    )
                )
            else:
                parts.append(
                    M_(
                        "the purchase model predicted %(predicted)s repeat purchases for this "
                        "period at the end of %(period)s; customers made %(actual)s (no repeat "
                        "purchase was made, so the error is not available)",
                        **values,
                    )
                )
        if self.churn:
            parts.append(
                M_(
                    "last period's churn scores ranked who did not buy this period with a ROC "
                    "AUC of %(auc)s (%(top)s of the riskiest tenth did not buy, against "
                    "%(overall)s overall)",
                    auc=f"{self.churn['roc_auc']:.2f}",
                    top=f"{self.churn['top_decile_no_purchase_rate']:.0%}",
                    overall=f"{self.churn['no_purchase_rate']:.0%}",
                )
            )
        if not parts:
            return M_("**Forecast check:** not available. %(notes)s", notes=join(" ", self.notes))
        return M_("**Forecast check:** %(parts)s.", parts=join("; ", parts))

    def missing(self) -> Any:
        """Return the one sentence shown instead of the check (the same object every call).

        Examples
        --------
        >>> check = ForecastCheck(pd.DataFrame(), {}, parse_period("2025-05"), notes=["x"])
        >>> check.missing().text, check.missing() is check.missing()
        ('The forecast check is not available: x.', True)
        """
        return self._missing(join("; ", self.notes) if self.notes else M_("nothing to check"))

    def _missing(self, detail: str) -> Any:
        from cpm_analysis.availability import Check, Unavailable

        if not self.available:
            cache = self.__dict__.setdefault("_unavailable", {})
            if "all" not in cache:
                cache["all"] = Check(M_("The forecast check"), False, "", detail).missing()
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
        """Return the churn check as a one-row table for display, a column per measure.

        Each measure keeps its own type, so that a page formats the count as an integer, the
        rates and the mean probability as percentages and the ROC AUC as a score
        (:data:`CHURN_MEASURES` gives the measures' meaning).

        Examples
        --------
        >>> check = ForecastCheck(pd.DataFrame(), {"roc_auc": 0.7, "customers": 681.0},
        ...                       parse_period("2025-05"))
        >>> table = check.churn_table()
        >>> list(table.columns), table["customers"].dtype.name, float(table.loc[0, "roc_auc"])
        (['customers', 'roc_auc'], 'int64', 0.7)
        """
        if not self.churn:
            notes = [n for n in self.notes if "churn" in n] or self.notes
            return self._missing("; ".join(notes) or "no churn check")
        order = [key for key in CHURN_MEASURES if key in self.churn]
        table = pd.DataFrame({key: [float(self.churn[key])] for key in order})
        if "customers" in table:
            table["customers"] = table["customers"].round().astype("int64")
        return table


def forecast_check(
    dataset: CustomerData,
    period: Period | str,
    previous: pd.DataFrame,
    *,
    source: str = "",
    owner: str | None = None,
    model: BetaGeoModel | None = None,
) -> ForecastCheck:
    """Check last period's predictions against what customers did in this period.

    With *c0* the end of the previous period and *c1* the end of ``period``:

    - **Repeat purchases.** BG/NBD is refitted on the orders up to *c0* (the same maximum-
      likelihood recipe as the scoring, so the same model that produced last period's
      ``expected_purchases_90d`` and CLV) and predicts each customer's purchases over the
      period's length. *Actual*: the customer's purchases in (*c0*, *c1*], counted as the
      model counts them (paid orders merged per calendar day). Customers are those who had
      bought by *c0*; they are grouped by their segment at *c0* (from ``previous``).
    - **Churn.** Last period's ``churn_probability`` (over its model's churn horizon: the
      configured ``churn.windows``, 90 days by default; active base at *c0*)
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
        The previous period's scored table (:func:`~cpm_analysis.pipeline.previous.previous_scored`).
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
    >>> ds = generate(400, seed=1).to_dataset()
    >>> from cpm_analysis.pipeline.previous import previous_scored
    >>> prev, src = previous_scored(ds, "2025-06")
    >>> src
    'rescored at the end of 2025-05'
    >>> sorted(forecast_check(ds, "2025-06", prev).purchases.loc["total"].index)
    ['actual', 'customers', 'error', 'predicted']
    """
    dataset = customer_data(dataset, "dataset").collect()  # either engine; its pandas view
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
        purchases.index.name = M_("segment at end of %(period)s", period=last.label)
        bad = int((~np.isfinite(frame["predicted"].to_numpy())).sum())
        if bad:
            notes.append(
                M_(
                    "the purchase model gave no finite prediction for %(n)s customer(s) at the "
                    "end of %(period)s, so there is no purchase check",
                    n=f"{bad:,}",
                    period=last.label,
                )
            )
            purchases = purchases.iloc[:0]
        elif not len(frame):
            notes.append(
                M_("no customer of the book had bought by the end of %(period)s", period=last.label)
            )
            purchases = purchases.iloc[:0]
    else:
        model = None
        notes.append(M_("%(detail)s, so there is no purchase check", detail=enough.detail))
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
            notes.append(M_("every scored customer had the same outcome: no churn check"))
    else:
        notes.append(
            M_("no churn scores at the end of %(period)s: no churn check", period=last.label)
        )
    return ForecastCheck(purchases, churn, last, source, notes, model=model)
