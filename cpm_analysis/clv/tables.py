"""Lifetime value in tables: by a column of the scored table, and the top customers.

Examples
--------
>>> s = pd.DataFrame({"customer_id": ["a", "b"], "clv": [1.0, 2.0]})
>>> top_customers(s, n=1)["customer_id"].tolist()
['b']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpm_analysis.availability import check_positive, column_label, missing_columns


def value_by(scored: pd.DataFrame, by: str) -> pd.DataFrame:
    """Predicted 12-month CLV by a column of the scored table (segment, owner_id, tier, ...).

    Returns
    -------
    DataFrame
        Indexed by ``by``: customers, total and mean CLV, share of total CLV, mean P(alive),
        expected loss; sorted by total CLV, largest first.

        :class:`~cpm_analysis.availability.Unavailable` when ``scored`` lacks ``by``
        or ``clv`` (no account owners, or the lifetime-value models were not fitted).

    Examples
    --------
    >>> value_by(pd.DataFrame({"clv": [1.0]}), "owner_id").text[:50]
    'Lifetime value by account owner is not available: '
    >>> s = pd.DataFrame({"segment": ["A", "A", "B"], "clv": [1.0, 3.0, 4.0],
    ...                   "p_alive": [0.5, 0.5, 1.0]})
    >>> value_by(s, "segment")["clv_share"].tolist()
    [0.5, 0.5]
    """
    missing = missing_columns(scored, ("clv", by), f"Lifetime value by {column_label(by)}")
    if missing is not None:
        return missing
    frame = scored.loc[scored["clv"].notna()]
    grouped = frame.groupby(by, observed=True, sort=False)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "total_clv": grouped["clv"].sum(),
            "mean_clv": grouped["clv"].mean(),
        }
    )
    total = out["total_clv"].sum()
    out["clv_share"] = out["total_clv"] / total if total > 0 else np.nan
    if "p_alive" in frame:
        out["mean_p_alive"] = grouped["p_alive"].mean()
    if "expected_loss" in frame:
        out["expected_loss"] = grouped["expected_loss"].sum(min_count=1)
    return out.sort_values("total_clv", ascending=False, kind="stable")


def top_customers(scored: pd.DataFrame, by: str = "clv", n: int = 20) -> pd.DataFrame:
    """Return the ``n`` customers with the largest ``by``, with the columns a manager acts on.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b"], "clv": [1.0, 2.0]})
    >>> top_customers(s, n=1)["customer_id"].tolist()
    ['b']
    """
    check_positive("n", n)
    missing = missing_columns(scored, (by,), f"Top customers by {column_label(by)}")
    if missing is not None:
        return missing
    columns = [
        c
        for c in (
            "customer_id",
            "owner_id",
            "segment",
            "tier",
            "frequency",
            "monetary",
            "p_alive",
            "expected_purchases_90d",
            "clv",
            "churn_probability",
            "recommended_action",
        )
        if c in scored.columns
    ]
    if by not in columns:
        columns.append(by)
    return scored.nlargest(n, by)[columns].reset_index(drop=True)
