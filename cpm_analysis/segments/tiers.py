"""A/B/C value tiers by cumulative share of value (Pareto / ABC analysis).

Customers are sorted by value, highest first (ties keep the table's order, which
:func:`~cpm_analysis.segments.rfm_scores` sorts by customer id). With ``shares=(0.8, 0.15,
0.05)``, tier **A** is the smallest set of top customers holding at least 80% of the total
value: a customer is in A when the customers ranked above them hold less than 80%. Tier **B**
continues to 95% (80% + 15%), and **C** is the rest, including customers with zero value. So
A's share is at least 80% and exceeds it by less than its last customer's value ("within the
granularity of one customer").

The value is historical revenue (``monetary``) by default, or any column or Series such as a
predicted customer lifetime value.

Examples
--------
>>> import pandas as pd
>>> scores = pd.DataFrame({"monetary": [500.0, 300.0, 120.0, 50.0, 30.0]},
...                       index=pd.Index(list("abcde"), name="customer_id"))
>>> value_tiers(scores)["tier"].tolist()
['A', 'A', 'B', 'B', 'C']
>>> tier_summary(value_tiers(scores))[["customers", "value_share"]]  # doctest: +NORMALIZE_WHITESPACE
      customers  value_share
tier
A             2         0.80
B             2         0.17
C             1         0.03
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cpm_analysis.config import DEFAULT_CONFIG


def check_shares(shares: Sequence[float], labels: Sequence[str] | None) -> tuple[list, list]:
    """Validate tier shares (positive, summing to 1) and their labels."""
    try:
        values = [float(s) for s in shares]
    except (TypeError, ValueError):
        raise ValueError(f"shares: expected a sequence of numbers, got {shares!r}") from None
    if len(values) < 2:
        raise ValueError(f"shares: need at least two tiers, got {shares!r}")
    if any(not math.isfinite(v) or v <= 0 for v in values):
        raise ValueError(f"shares: every share must be a positive number, got {shares!r}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"shares: must sum to 1, got {shares!r} (sum {sum(values):g})")
    if labels is None:
        if len(values) > 26:
            raise ValueError("shares: more than 26 tiers need explicit labels")
        labels = list(string.ascii_uppercase[: len(values)])
    labels = [str(label) for label in labels]
    if len(labels) != len(values):
        raise ValueError(f"labels: {len(labels)} label(s) for {len(values)} shares")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels: tier labels must be distinct, got {labels!r}")
    return values, labels


def value_tiers(
    scores: pd.DataFrame,
    shares: Sequence[float] = DEFAULT_CONFIG.segments.tier_shares,
    value: str | pd.Series = "monetary",
    *,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Grade customers A, B, C by their cumulative share of value.

    Parameters
    ----------
    scores : DataFrame
        One row per customer, e.g. from :func:`~cpm_analysis.segments.rfm_scores` or
        :func:`~cpm_analysis.segments.rfm_segments`.
    shares : sequence of float, default (0.8, 0.15, 0.05)
        Each tier's share of total value, best tier first; positive, summing to 1.
    value : str or Series, default "monetary"
        The column to rank on, or a Series by customer (e.g. predicted CLV) that covers every
        row of ``scores``; a Series is added to the output under its name.
    labels : sequence of str, optional
        Tier labels, default ``A``, ``B``, ``C``, ...

    Returns
    -------
    DataFrame
        A copy of ``scores`` with ``tier`` (ordered categorical, best first) and
        ``cumulative_share`` (the share of total value held by this customer and everyone
        ranked above them). ``attrs["tier_value"]`` names the value column.

    Raises
    ------
    ValueError
        For shares that are not positive or do not sum to 1, a missing value column, missing,
        negative or non-finite values, a Series that does not cover every customer, or a total
        value of zero.

    Examples
    --------
    >>> from cpm_analysis.segments import rfm_scores
    >>> scores = rfm_scores(ds, "2024-06")
    >>> tiers = value_tiers(scores)
    >>> float(round(tiers.loc[tiers["tier"] == "A", "monetary"].sum() / tiers["monetary"].sum(), 4))
    0.8001
    """
    fractions, tier_labels = check_shares(shares, labels)
    out = scores.copy()
    if isinstance(value, pd.Series):
        name = value.name if value.name is not None else "value"
        name = str(name)
        if name in out.columns:
            raise ValueError(
                f"value: the Series is named {name!r}, which is already a column; rename it"
            )
        if value.index.has_duplicates:
            raise ValueError("value: the Series has duplicate customer ids")
        aligned = value.reindex(out.index)
        absent = int(aligned.isna().sum())
        if absent:
            raise ValueError(
                f"value: the Series has no (or a missing) value for {absent} customer(s)"
            )
        out[name] = aligned
        column = name
    else:
        column = str(value)
        if column not in out.columns:
            raise ValueError(f"value: column {column!r} not in the table")
    series = out[column]
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise ValueError(f"value: {column!r} is not numeric ({series.dtype})")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(values).all():
        raise ValueError(
            f"value: {column!r} has {int((~np.isfinite(values)).sum())} missing value(s)"
        )
    if (values < 0).any():
        raise ValueError(
            f"value: {column!r} has {int((values < 0).sum())} negative value(s); tiers need "
            "non-negative values"
        )
    total = values.sum()
    if not total > 0:
        raise ValueError(f"value: {column!r} sums to {total:g}; tiers need a positive total")

    order = np.argsort(-values, kind="stable")
    cumulative = np.cumsum(values[order]) / total
    before = cumulative - values[order] / total
    bounds = np.cumsum(fractions)[:-1]
    # a customer joins the first tier whose bound the customers ranked above them have not
    # reached yet; the small tolerance keeps floating-point noise from splitting exact ties
    tier_sorted = np.searchsorted(bounds, before + 1e-12, side="right")
    codes = np.empty(len(values), dtype=np.int64)
    codes[order] = tier_sorted
    share = np.empty(len(values), dtype=np.float64)
    share[order] = cumulative
    out["tier"] = pd.Categorical.from_codes(
        codes, categories=pd.Index(tier_labels, dtype="str"), ordered=True
    )
    out["cumulative_share"] = share
    out.attrs["tier_value"] = column
    return out


def tier_summary(tiers: pd.DataFrame, value: str | None = None) -> pd.DataFrame:
    """Each tier's number and share of customers and of value (and of revenue).

    Parameters
    ----------
    tiers : DataFrame
        The output of :func:`value_tiers`.
    value : str, optional
        The value column; default ``tiers.attrs["tier_value"]``, else ``monetary``.

    Returns
    -------
    DataFrame
        Indexed by ``tier``: ``customers``, ``customer_share``, ``value``, ``value_share``;
        plus ``revenue`` and ``revenue_share`` from ``monetary`` when the tiers were built on
        another value (e.g. CLV).

    Examples
    --------
    >>> from cpm_analysis.segments import rfm_scores
    >>> scores = rfm_scores(ds, "2024-06")
    >>> tier_summary(value_tiers(scores)).round(3)
          customers  customer_share      value  value_share
    tier
    A           634           0.398  155992.27         0.80
    B           514           0.322   29238.04         0.15
    C           446           0.280    9725.31         0.05
    """
    if "tier" not in tiers.columns:
        raise ValueError("tiers: no 'tier' column; compute it with value_tiers()")
    column = value or tiers.attrs.get("tier_value") or "monetary"
    if column not in tiers.columns:
        raise ValueError(f"value: column {column!r} not in the tiers table")
    groups = tiers.groupby("tier", observed=False, sort=True)
    out = pd.DataFrame({"customers": groups.size().astype(np.int64)})
    out["customer_share"] = out["customers"] / max(len(tiers), 1)
    out["value"] = groups[column].sum()
    out["value_share"] = out["value"] / tiers[column].sum()
    if column != "monetary" and "monetary" in tiers.columns:
        out["revenue"] = groups["monetary"].sum()
        out["revenue_share"] = out["revenue"] / tiers["monetary"].sum()
    out.index.name = "tier"
    return out
