"""Lifetime value on Dask, for Dask summaries and plain Dask order frames.

The period's models are fitted and scored through the dataset protocol by
:mod:`cpm_analysis.clv.fitting` on any engine. This module adds what only a Dask user needs:
a plain Dask DataFrame of orders as a dataset (:func:`orders_dataset`), fits on the distinct
rows of a Dask summary (:func:`fit_on_distinct`) and scoring written out as partitioned
Parquet (:func:`score_clv`).

Examples
--------
On the sample loaded by the Dask engine (``dask_ds``; Dask's synchronous scheduler here):

>>> from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, rfm_summary
>>> summary = rfm_summary(dask_ds, observation_end="2025-12-31")
>>> bg = fit_on_distinct(BetaGeoModel(), summary)
>>> gg = fit_on_distinct(GammaGammaModel(), summary)
>>> written = score_clv(summary, bg, gg, path=tmp / "scored")
>>> sorted(p.suffix for p in (tmp / "scored").iterdir())[-1]
'.parquet'
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd

from cpm_analysis.clv.base import PURCHASE_COLUMNS, PurchaseModel
from cpm_analysis.clv.fitting import SPEND_COLUMNS, ModelT, fit_on_rows, score_frame
from cpm_analysis.clv.gammagamma import GammaGammaModel

if TYPE_CHECKING:
    from cpm_analysis.scale.store import DaskDataset

DaskFrame: TypeAlias = Any
"""A ``dask.dataframe.DataFrame`` (Dask has no type information: any value to mypy)."""


def _customers_of(orders: pd.DataFrame) -> pd.DataFrame:
    ids = orders["customer_id"].drop_duplicates()
    return pd.DataFrame({"customer_id": ids.to_numpy()}).astype({"customer_id": ids.dtype})


def orders_dataset(orders: DaskFrame, customer_col: str = "customer_id") -> DaskDataset:
    """Wrap a plain Dask DataFrame of orders as a Dask dataset, shuffled by customer.

    Every analysis of the dataset protocol then accepts it (``rfm_summary``, ``rfm_scores``);
    its customers are the ids found in the orders.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from cpm_analysis.clv import rfm_summary
    >>> dask_orders = dd.from_pandas(dask_ds.collect().orders, npartitions=2)
    >>> summary = rfm_summary(orders_dataset(dask_orders), observation_end="2025-12-31")
    >>> len(summary) == len(rfm_summary(dask_ds, observation_end="2025-12-31"))
    True
    """
    from cpm_analysis.data.storefile import plain_strings
    from cpm_analysis.scale.store import DaskDataset

    if customer_col not in orders.columns:
        raise ValueError(
            f"orders: missing column {customer_col!r} (have {', '.join(map(str, orders.columns))})"
        )
    if customer_col != "customer_id":
        orders = orders.rename(columns={customer_col: "customer_id"})
    shuffled = orders.shuffle("customer_id", npartitions=orders.npartitions)
    # the shuffle goes through Arrow and comes back with ``string[pyarrow]`` columns
    shuffled = shuffled.map_partitions(plain_strings, meta=plain_strings(orders._meta.copy()))
    customers = shuffled.map_partitions(_customers_of, meta=_customers_of(shuffled._meta))
    return DaskDataset(
        customers=customers,
        orders=shuffled,
        npartitions=shuffled.npartitions,
        source="<dask orders>",
    )


def distinct_rows(summary: DaskFrame, columns: tuple[str, ...] = PURCHASE_COLUMNS) -> pd.DataFrame:
    """Count the distinct rows of ``columns`` of a Dask summary, with ``n_customers``.

    Examples
    --------
    >>> from cpm_analysis.clv import rfm_summary
    >>> summary = rfm_summary(dask_ds, observation_end="2025-12-31")
    >>> rows = distinct_rows(summary)
    >>> bool(rows["n_customers"].sum() == len(summary))
    True
    """
    counts = summary.groupby(list(columns)).size(split_out=1).compute()
    return counts.rename("n_customers").reset_index()


def fit_on_distinct(model: ModelT, summary: DaskFrame, time_unit: str = "W") -> ModelT:
    """Fit a CLV model on a Dask summary's distinct rows weighted by their counts.

    Gives the parameters a fit on the full summary gives (see
    :func:`cpm_analysis.clv.fit_on_rows`, which this calls).

    Examples
    --------
    >>> from cpm_analysis.clv import BetaGeoModel, rfm_summary
    >>> bg = fit_on_distinct(BetaGeoModel(), rfm_summary(dask_ds, observation_end="2025-12-31"))
    >>> sorted(bg.params_)
    ['a', 'alpha', 'b', 'r']
    """
    spend = hasattr(model, "expected_spend")
    source = summary[summary["frequency"] > 0] if spend else summary
    rows = distinct_rows(source, SPEND_COLUMNS if spend else PURCHASE_COLUMNS)
    rows.attrs["time_unit"] = str(time_unit).strip().upper()
    return fit_on_rows(model, rows)


def score_clv(
    summary: DaskFrame,
    bgnbd: PurchaseModel,
    gamma_gamma: GammaGammaModel,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    time_unit: str = "W",
    path: str | os.PathLike | None = None,
) -> Any:
    """Score a Dask summary partition by partition; optionally write partitioned Parquet.

    Columns: the summary's ``frequency, recency, T, monetary_value``, then ``p_alive``,
    ``expected_purchases_90d``, ``expected_spend`` and ``clv``
    (:func:`cpm_analysis.clv.fitting.score_frame`).

    Parameters
    ----------
    summary : dask DataFrame
        From ``rfm_summary`` of a Dask dataset.
    bgnbd, gamma_gamma
        Fitted models; they travel to the workers once.
    path : path, optional
        Write ``part-NNNNN.parquet`` files there (one per partition, ``customer_id`` a column)
        and return the path; without it return the lazy Dask DataFrame.

    Examples
    --------
    >>> from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, rfm_summary
    >>> summary = rfm_summary(dask_ds, observation_end="2025-12-31")
    >>> bg = fit_on_distinct(BetaGeoModel(), summary)
    >>> gg = fit_on_distinct(GammaGammaModel(), summary)
    >>> score_clv(summary, bg, gg, path=tmp / "scored") == str(tmp / "scored")
    True
    """
    import dask

    args = (
        dask.delayed(bgnbd, pure=True),
        dask.delayed(gamma_gamma, pure=True),
        int(horizon_months),
        float(discount_rate),
        time_unit,
    )
    meta = score_frame(summary._meta, bgnbd, gamma_gamma, *args[2:])
    scored = summary.map_partitions(score_frame, *args, meta=meta, enforce_metadata=False)
    if path is None:
        return scored
    scored.reset_index().to_parquet(
        os.fspath(path),
        write_index=False,
        name_function=lambda i: f"part-{i:05d}.parquet",
        write_metadata_file=False,
    )
    return os.fspath(path)
