"""The published form of a period's scored customer table.

The period pipeline (:func:`cpm_analysis.pipeline.build_period`) computes the table with
:func:`cpm_analysis.scoring.score_customers`; :func:`finalize_scored` checks it against the
contract (one row per known customer, no personal columns) and puts it in its stable form.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(200, seed=1).to_dataset().as_of("2024-06")
>>> scored = finalize_scored(ds.customers[["customer_id"]], ds, key=b"k" * 16)
>>> scored.columns.tolist()
['customer_id', 'pseudonym', 'owner_id']
"""

from __future__ import annotations

import pandas as pd

from cpm_analysis.data import Dataset
from cpm_analysis.frames import isin
from cpm_analysis.privacy import PSEUDONYM_COLUMN, pii_columns, pseudonymize


def finalize_scored(
    scored: pd.DataFrame, dataset: Dataset, *, key: bytes | None = None
) -> pd.DataFrame:
    """Check a scored table against the contract and put it in its stable, published form.

    One row per known customer; no personal columns; ``owner_id`` added from the customers when
    missing; ``pseudonym`` added when ``key`` is given; columns ``customer_id``, ``pseudonym``
    first; rows sorted by ``customer_id``; a fresh index. Equal inputs give equal bytes.

    Raises
    ------
    TypeError
        When ``scored`` is not a DataFrame.
    ValueError
        Naming the problem: no ``customer_id``, duplicate or unknown ids, personal columns.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(50, seed=1).to_dataset()
    >>> finalize_scored(ds.customers[["customer_id"]], ds)["customer_id"].is_monotonic_increasing
    True
    """
    if not isinstance(scored, pd.DataFrame):
        raise TypeError(f"scored table: expected a DataFrame, got {type(scored).__name__}")
    if "customer_id" not in scored.columns:
        raise ValueError("scored table: the column 'customer_id' is missing")
    personal = pii_columns(scored)
    if personal:
        raise ValueError(f"scored table: personal columns are not allowed ({', '.join(personal)})")
    ids = scored["customer_id"].astype("str")
    if ids.isna().any():
        raise ValueError("scored table: customer_id has missing values")
    duplicated = ids.duplicated()
    if duplicated.any():
        raise ValueError(
            f"scored table: {int(duplicated.sum())} duplicate customer_id values "
            f"(e.g. {ids[duplicated].iloc[0]}); expected one row per customer"
        )
    unknown = ~isin(ids, dataset.customers["customer_id"])
    if unknown.any():
        raise ValueError(
            f"scored table: {int(unknown.sum())} customer_id values are not customers "
            f"(e.g. {ids[unknown].iloc[0]})"
        )
    out = scored.drop(columns=[PSEUDONYM_COLUMN], errors="ignore").copy()
    out["customer_id"] = ids
    if "owner_id" not in out.columns and "owner_id" in dataset.customers.columns:
        owners = dataset.customers.set_index("customer_id")["owner_id"]
        out["owner_id"] = out["customer_id"].map(owners)
    out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
    first = ["customer_id"]
    if key is not None:
        out[PSEUDONYM_COLUMN] = pseudonymize(out["customer_id"], key)
        first.append(PSEUDONYM_COLUMN)
    return out[first + [c for c in out.columns if c not in first]]
