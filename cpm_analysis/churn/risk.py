"""The risk list: customers ranked by what their churn would cost, with reasons, for owners.

Examples
--------
>>> from cpm_analysis.churn import ChurnModel, churn_features, churn_labels, risk_list
>>> y = churn_labels(ds, "2025-09", "90D")
>>> model = ChurnModel(model="logistic", random_state=0)
>>> model = model.fit(churn_features(ds, "2025-09").loc[y.index], y)
>>> risk = risk_list(model, ds, "2025-12", clv=clv)
>>> risk[["customer_id", "owner_id", "churn_probability", "clv", "expected_loss"]].head(3).round(2)
  customer_id owner_id  churn_probability     clv  expected_loss
0     C001592     S002               0.34  954.60         319.93
1     C000685     S012               0.32  842.62         271.48
2     C000644     S013               0.63  423.70         265.52
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis.actions import LEAVING_PROBABILITY, call_list_actions, largest_losses
from cpm_analysis.availability import check_positive, missing_columns
from cpm_analysis.churn.features import churn_features
from cpm_analysis.churn.labels import Horizon, active_customers
from cpm_analysis.i18n import M_, N_
from cpm_analysis.periods import to_cutoff

if TYPE_CHECKING:
    from cpm_analysis.churn.model import Classifier
    from cpm_analysis.data import Dataset
    from cpm_analysis.periods import Cutoff

CLV_FEATURES = ("p_alive", "expected_purchases_90d")
RISK_COLUMNS = [
    "customer_id",
    "owner_id",
    "segment",
    "churn_probability",
    "clv",
    "expected_loss",
    "reasons",
]


def _per_customer(values: Any, name: str, index: pd.Index, column: str | None = None) -> pd.Series:
    """Return a Series aligned to ``index`` from a Series, or a DataFrame's ``column``."""
    if isinstance(values, pd.DataFrame):
        if column is None or column not in values.columns:
            if values.shape[1] != 1:
                raise ValueError(
                    f"{name}: expected a Series indexed by customer_id, or a DataFrame with a "
                    f"'{column}' column; got columns {list(values.columns)}"
                )
            column = values.columns[0]
        values = values[column]
    if not isinstance(values, pd.Series):
        raise ValueError(f"{name}: expected a Series indexed by customer_id")
    if values.index.has_duplicates:
        raise ValueError(f"{name}: duplicate customer ids in the index")
    return values.reindex(index.astype(object)).set_axis(index)


NO_WARNING_SIGN = N_("no single warning sign; customers with a similar history often leave")
"""The reason given to a customer more likely than not to churn when none of their behaviours
is a warning sign by itself (:mod:`cpm_analysis.churn.risk_side`): the risk comes from the
whole pattern the model learnt. A customer less at risk with no warning sign gets no reason."""

LISTED_FOR_VALUE = N_(
    "no warning sign; on the list for the value at stake (churn probability x CLV)"
)
"""The reason shown on the risk list (:func:`risk_table`) for a customer less likely than not to
churn with no warning sign: they are listed because their expected loss is large, and the list
says so rather than leaving the reason blank."""


def risk_list(
    model: Classifier,
    dataset: Dataset,
    cutoff: Cutoff,
    clv: pd.Series | pd.DataFrame | None = None,
    *,
    segments: pd.Series | pd.DataFrame | bool | None = None,
    features: pd.DataFrame | None = None,
    active_window: Horizon | None = "365D",
    n: int | None = None,
    n_reasons: int = 3,
) -> pd.DataFrame:
    """Return the customers alive at ``cutoff`` ranked by expected loss, with owner, segment and reasons.

    Parameters
    ----------
    model : ChurnModel or classifier
        A fitted model whose columns are churn features; :meth:`ChurnModel.explain` supplies
        the reasons (another classifier gives probabilities and empty reasons).
    dataset : Dataset
        The data; only data at or before the cutoff is used.
    cutoff : str, date or Timestamp
        When to score (a period label means its last instant).
    clv : Series or DataFrame, optional
        Customer lifetime value by ``customer_id`` (a DataFrame's ``clv`` column, or its only
        column), e.g. :func:`cpm_analysis.clv.customer_lifetime_value`. Customers without a
        value get a missing ``clv`` and ``expected_loss`` and rank after those with one.
    segments : Series, DataFrame or False, optional
        Segment by ``customer_id`` (a DataFrame's ``segment`` column, e.g. the output of
        :func:`cpm_analysis.segments.rfm_segments`). By default the customers table's
        ``segment`` column when there is one, otherwise the RFM segment at the cutoff
        (:func:`~cpm_analysis.segments.rfm_scores` + :func:`~cpm_analysis.segments.rfm_segments`).
        ``False`` leaves the column empty.
    features : DataFrame, optional
        Churn features at the cutoff if already computed (:func:`churn_features`); built
        otherwise (with the CLV features when the model uses them).
    active_window : str, Timedelta, int or None
        The active-base rule (see :func:`~cpm_analysis.churn.active_customers`).
    n : int, optional
        Keep only the ``n`` highest-ranked customers (reasons are computed for these only,
        which matters for large bases with the boosted model).
    n_reasons : int
        Reasons per customer.

    Returns
    -------
    DataFrame
        ``customer_id``, ``owner_id``, ``segment``, ``churn_probability``, ``clv``,
        ``expected_loss`` (``churn_probability x clv``) and ``reasons`` (joined by ``"; "``),
        sorted by ``expected_loss`` (by ``churn_probability`` when no CLV is given), highest
        first; ties by customer id.

    Examples
    --------
    >>> risk = risk_list(model, ds, "2025-12", n=50)
    >>> risk[["customer_id", "churn_probability", "reasons"]].head(3)
      customer_id  churn_probability                                            reasons
    0     C001334           0.993507  last CSAT 1/5; 1% likely to still be an active...
    1     C001373           0.988618  last NPS answer 1/10; 9% likely to still be an...
    2     C000533           0.986216  3% likely to still be an active buyer (BG/NBD)...
    """
    ts = to_cutoff(cutoff)
    if n is not None and not (isinstance(n, int | np.integer) and n >= 1):
        raise ValueError(f"n: expected a positive integer or None, got {n!r}")
    columns = list(getattr(model, "feature_names_in_", []))
    if features is None:
        needs_clv = any(c in columns for c in CLV_FEATURES)
        features = churn_features(dataset, ts, clv=needs_clv)
    base = active_customers(dataset, ts, active_window=active_window)
    missing = base.difference(features.index)
    if len(missing):
        raise ValueError(
            f"features: {len(missing)} active customer(s) have no feature row, e.g. "
            f"{list(missing[:3])}; were the features built at the same cutoff?"
        )
    X = features.loc[base]
    if columns:
        absent = [c for c in columns if c not in X.columns]
        if absent:
            raise ValueError(f"features: the model needs column(s) {absent} that are missing")
        X = X[columns]
    if len(X) == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in RISK_COLUMNS})
    probability = model.predict_proba(X)[:, 1]

    ids = X.index
    customers = dataset.customers.set_index("customer_id")
    owner = (
        customers["owner_id"].reindex(ids)
        if "owner_id" in customers.columns
        else pd.Series(pd.NA, index=ids, dtype="str")
    )
    if segments is False:
        segment = pd.Series(pd.NA, index=ids, dtype="str")
    elif segments is not None and segments is not True:
        segment = _per_customer(segments, "segments", ids, "segment")
    elif "segment" in customers.columns:
        segment = customers["segment"].reindex(ids)
    else:
        from cpm_analysis.segments import rfm_scores, rfm_segments

        named = rfm_segments(rfm_scores(dataset, ts))["segment"].astype("str")
        segment = _per_customer(named, "segments", ids)
    if clv is not None:
        value = _per_customer(clv, "clv", ids, "clv").astype("float64")
        loss = probability * value.to_numpy()
    else:
        value = pd.Series(np.nan, index=ids)
        loss = np.full(len(ids), np.nan)
    out = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "owner_id": owner.to_numpy(),
            "segment": segment.to_numpy(),
            "churn_probability": probability,
            "clv": value.to_numpy(),
            "expected_loss": loss,
        }
    )
    keys = (
        ["expected_loss", "churn_probability", "customer_id"]
        if clv is not None
        else [
            "churn_probability",
            "customer_id",
        ]
    )
    out = out.sort_values(
        keys,
        ascending=[False] * (len(keys) - 1) + [True],
        na_position="last",
        kind="stable",
    ).reset_index(drop=True)
    if n is not None:
        out = out.iloc[:n]
    if hasattr(model, "explain"):
        chosen = X.loc[pd.Index(out["customer_id"].to_numpy(), dtype=ids.dtype)]
        reasons = model.explain(chosen, n_reasons=n_reasons, attributes=False)["reasons"]
        text = reasons.to_numpy(dtype=object)
        leaving = out["churn_probability"].to_numpy(dtype=float) >= LEAVING_PROBABILITY
        out["reasons"] = np.where((text == "") & leaving, NO_WARNING_SIGN, text)
    else:
        out["reasons"] = ""
    return out[RISK_COLUMNS]


RISK_TABLE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "owner_id",
    "segment",
    "tier",
    "churn_probability",
    "clv",
    "expected_loss",
    "reason_codes",
    "recommended_action",
)


def risk_table(scored: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    """Return the ``n`` active customers with the largest expected loss, with their reasons.

    Returns :class:`~cpm_analysis.availability.Unavailable` when the scored table has
    no churn columns (the churn model was not trained for the period).

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b", "c"], "churn_probability": [0.9, 0.2, None],
    ...                   "expected_loss": [5.0, 9.0, None]})
    >>> risk_table(s)["customer_id"].tolist()
    ['b', 'a']

    A listed customer without a reason is said to be listed for the value at stake:

    >>> s["reason_codes"] = ["no order for 94 days, usual gap 21", "", None]
    >>> risk_table(s)["reason_codes"].str[:15].tolist()
    ['no warning sign', 'no order for 94']
    """
    check_positive("n", n)
    missing = missing_columns(scored, ("churn_probability", "expected_loss"), M_("The risk list"))
    if missing is not None:
        return missing
    columns = [c for c in RISK_TABLE_COLUMNS if c in scored.columns]
    top = scored.loc[largest_losses(scored, n)]
    out = top[columns].reset_index(drop=True)
    if "recommended_action" in out:  # a call list: no reward or upsell for those to keep
        out["recommended_action"] = call_list_actions(top).to_numpy()
    if "reason_codes" in out:
        blank = out["reason_codes"].fillna("").astype("str").str.strip() == ""
        out["reason_codes"] = out["reason_codes"].where(~blank, LISTED_FOR_VALUE)
    return out


def risk_overview(scored: pd.DataFrame) -> pd.DataFrame:
    """Churn risk by segment over the active base: customers, mean probability, expected loss.

    Examples
    --------
    >>> s = pd.DataFrame({"segment": ["A", "A"], "churn_probability": [0.2, 0.4],
    ...                   "expected_loss": [1.0, 2.0], "clv": [5.0, 5.0]})
    >>> float(risk_overview(s).loc["A", "expected_loss"])
    3.0
    """
    missing = missing_columns(scored, ("churn_probability",), M_("Churn risk by segment"))
    if missing is not None:
        return missing
    frame = scored.loc[scored["churn_probability"].notna()]
    grouped = frame.groupby("segment", observed=True, sort=False)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "mean_churn_probability": grouped["churn_probability"].mean(),
            "clv": grouped["clv"].sum(min_count=1) if "clv" in frame else np.nan,
            "expected_loss": grouped["expected_loss"].sum(min_count=1),
        }
    )
    total = out["expected_loss"].sum()
    out["loss_share"] = out["expected_loss"] / total if total > 0 else np.nan
    return out.sort_values("expected_loss", ascending=False, kind="stable")
