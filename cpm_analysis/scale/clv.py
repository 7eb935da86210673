"""Lifetime value on Dask: the RFM summary per partition, fits on distinct rows, scoring.

The summary is computed per customer partition, the models are fitted on its distinct rows,
and the scoring runs per partition, written as partitioned Parquet.

Examples
--------
Not run as a doctest: it needs a Dask cluster (the parity tests in ``tests/test_scale*.py`` do).

>>> from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, rfm_summary
>>> summary = rfm_summary(ds, observation_end="2025-12-31")  # doctest: +SKIP
>>> bg = fit_on_distinct(BetaGeoModel(), summary)  # doctest: +SKIP
>>> gg = fit_on_distinct(GammaGammaModel(), summary)  # doctest: +SKIP
>>> score_clv(summary, bg, gg, path="out/scored")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.clv.base import PURCHASE_COLUMNS
from cpm_analysis.clv.summary import days_per_unit, rfm_summary

SPEND_COLUMNS = ("frequency", "monetary_value")
WEEKS_PER_DAY = 1.0 / 7.0


def customer_orders(data: Any, customer_col: str = "customer_id") -> Any:
    """Orders as a Dask DataFrame whose partitions each hold all orders of their customers.

    A :class:`~cpm_analysis.scale.DaskDataset` is partitioned that way already (and its
    :attr:`cutoff` is applied); a plain Dask DataFrame of orders is shuffled by customer.

    Examples
    --------
    Not run as a doctest: it needs a Dask cluster (the parity tests in ``tests/test_scale*.py`` do).

    >>> customer_orders(ds).npartitions == ds.npartitions  # doctest: +SKIP
    True
    """
    from cpm_analysis.scale.store import DaskDataset

    if isinstance(data, DaskDataset):
        if data.cutoff is None:
            return data.orders
        return data.map_customers(_bucket_orders, meta=data.orders._meta, tables=("orders",))
    if customer_col not in data.columns:
        raise ValueError(
            f"orders: missing column {customer_col!r} (have {', '.join(map(str, data.columns))})"
        )
    from cpm_analysis.scale.store import plain_strings

    shuffled = data.shuffle(customer_col, npartitions=data.npartitions)
    # the shuffle goes through Arrow and comes back with ``string[pyarrow]`` columns
    return shuffled.map_partitions(plain_strings, meta=plain_strings(data._meta.copy()))


def _bucket_orders(bucket: Any) -> pd.DataFrame:
    return bucket.orders


def _summary_part(orders: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    out = rfm_summary(orders, **kwargs)
    out.attrs = {}
    return out


def rfm_summary_dask(
    data: Any,
    *,
    observation_end: Any,
    calibration_end: Any = None,
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
) -> Any:
    """:func:`~cpm_analysis.clv.rfm_summary` of a Dask dataset or orders frame, lazily.

    Each partition holds whole customers, so each partition's summary is exactly its rows of
    the pandas summary. Returns a Dask DataFrame indexed by ``customer_id``.

    Examples
    --------
    Not run as a doctest: it needs a Dask cluster (the parity tests in ``tests/test_scale*.py`` do).

    >>> rfm_summary_dask(ds, observation_end="2025-12-31").compute()  # doctest: +SKIP
    """
    days_per_unit(time_unit)
    kwargs = {
        "observation_end": observation_end,
        "calibration_end": calibration_end,
        "time_unit": time_unit,
        "customer_col": customer_col,
        "date_col": date_col,
        "amount_col": amount_col,
    }
    orders = customer_orders(data, customer_col)
    meta = _summary_part(orders._meta, **kwargs)
    return orders.map_partitions(_summary_part, meta=meta, enforce_metadata=False, **kwargs)


def distinct_rows(summary: Any, columns: tuple[str, ...] = PURCHASE_COLUMNS) -> pd.DataFrame:
    """Return the distinct rows of ``columns`` with ``n_customers``, counted on the cluster.

    However many customers there are, the distinct ``(frequency, recency, T)`` rows number a
    few hundred thousand at most (whole days over a few years), which is what the models fit.

    Examples
    --------
    Not run as a doctest: it needs a Dask cluster (the parity tests in ``tests/test_scale*.py`` do).

    >>> rows = distinct_rows(summary)  # doctest: +SKIP
    >>> rows["n_customers"].sum() == len(summary)  # doctest: +SKIP
    True
    """
    counts = summary.groupby(list(columns)).size(split_out=1).compute()
    rows = counts.rename("n_customers").reset_index()
    return rows


def fit_on_distinct(model: Any, summary: Any, time_unit: str = "W") -> Any:
    """Fit a CLV model on a Dask summary's distinct rows weighted by their counts.

    Gives the parameters a fit on the full summary gives (the models compress to distinct rows
    themselves, in a canonical order). Purchase models use ``frequency, recency, T``; the
    Gamma-Gamma model ``frequency, monetary_value`` of the repeat buyers.

    Examples
    --------
    Not run as a doctest: it needs a Dask cluster (the parity tests in ``tests/test_scale*.py`` do).

    >>> bg = fit_on_distinct(BetaGeoModel(), summary)  # doctest: +SKIP
    """
    from cpm_analysis.clv import GammaGammaModel

    if isinstance(model, GammaGammaModel):
        repeat = summary[summary["frequency"] > 0]
        rows = distinct_rows(repeat, SPEND_COLUMNS)
    else:
        rows = distinct_rows(summary, PURCHASE_COLUMNS)
    rows.attrs["time_unit"] = str(time_unit).strip().upper()
    if len(rows) == 0:
        raise ValueError("summary: no customers to fit (the summary is empty)")
    return model.fit(rows, sample_weight=rows["n_customers"].to_numpy(dtype=np.float64))


def _score_part(
    summary: pd.DataFrame,
    bgnbd: Any,
    gamma_gamma: Any,
    horizon_months: int,
    discount_rate: float,
    time_unit: str,
) -> pd.DataFrame:
    from cpm_analysis.clv import customer_lifetime_value

    days = days_per_unit(time_unit)
    out = pd.DataFrame(index=summary.index)
    for col in ("frequency", "recency", "T", "monetary_value"):
        out[col] = summary[col].to_numpy(dtype=np.float64)
    if len(summary) == 0:
        for col in ("p_alive", "expected_purchases_90d", "expected_spend", "clv"):
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


def score_clv(
    summary: Any,
    bgnbd: Any,
    gamma_gamma: Any,
    *,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    time_unit: str = "W",
    path: str | os.PathLike | None = None,
) -> Any:
    """Score every customer partition by partition; optionally write partitioned Parquet.

    Columns: the summary's ``frequency, recency, T, monetary_value``, then ``p_alive``,
    ``expected_purchases_90d``, ``expected_spend`` and ``clv`` (``horizon_months`` ahead,
    discounted monthly at ``discount_rate``, in the orders' currency).

    Parameters
    ----------
    summary : dask DataFrame
        From :func:`rfm_summary_dask` (or ``rfm_summary`` on a Dask dataset).
    bgnbd, gamma_gamma
        Fitted models (see :func:`fit_on_distinct`); they travel to the workers once.
    path : path, optional
        Write ``part-NNNNN.parquet`` files there (one per partition, ``customer_id`` a column)
        and return the path; without it return the lazy Dask DataFrame.

    Examples
    --------
    Not run as a doctest: it needs a Dask cluster (the parity tests in ``tests/test_scale*.py`` do).

    >>> score_clv(summary, bg, gg, path="out/scored")  # doctest: +SKIP
    """
    import dask

    args = (
        dask.delayed(bgnbd, pure=True),
        dask.delayed(gamma_gamma, pure=True),
        int(horizon_months),
        float(discount_rate),
        time_unit,
    )
    meta = _score_part(summary._meta, bgnbd, gamma_gamma, *args[2:])
    scored = summary.map_partitions(_score_part, *args, meta=meta, enforce_metadata=False)
    if path is None:
        return scored
    scored.reset_index().to_parquet(
        os.fspath(path),
        write_index=False,
        name_function=lambda i: f"part-{i:05d}.parquet",
        write_metadata_file=False,
    )
    return os.fspath(path)
