"""Churn features on Dask: the pandas features per customer partition, one BG/NBD fit.

Every feature but ``p_alive`` and ``expected_purchases_90d`` describes one customer from their
own rows, so each partition (which holds whole customers) gives exactly its rows of the pandas
table. The BG/NBD model behind those two is fitted once on the distinct rows of the whole
summary (:func:`~cpm_analysis.scale.clv.fit_on_distinct`) and sent to every partition.

Examples
--------
>>> from cpm_analysis.churn import churn_features
>>> X = churn_features(ds, "2025-06")  # a DaskDataset: a Dask DataFrame  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd


def _features_part(bucket: Any, **kwargs: Any) -> pd.DataFrame:
    from cpm_analysis.churn.features import churn_features

    out = churn_features(bucket, **kwargs)
    out.attrs = {}
    return out


def churn_features_dask(
    dataset: Any, cutoff: pd.Timestamp, *, clv: bool = True, windows: Sequence[int] = (30, 90, 365)
) -> Any:
    """:func:`~cpm_analysis.churn.churn_features` of a :class:`DaskDataset`, lazily.

    Examples
    --------
    >>> churn_features_dask(ds, pd.Timestamp("2025-06-30")).compute()  # doctest: +SKIP
    """
    import dask

    from cpm_analysis.scale.store import DaskDataset

    if not isinstance(dataset, DaskDataset):
        raise ValueError(
            "dataset: churn features on Dask need a DaskDataset (load(source, engine='dask')), "
            f"got {type(dataset).__name__}"
        )
    view = dataset.as_of(cutoff)
    model = None
    if clv:
        from cpm_analysis.clv import BetaGeoModel, period_summary
        from cpm_analysis.scale.clv import fit_on_distinct

        summary = period_summary(view, cutoff)
        model = fit_on_distinct(BetaGeoModel(), summary)
    kwargs = {"cutoff": cutoff, "clv": clv, "windows": tuple(windows), "clv_model": model}
    meta = _features_part(_empty_bucket(view), **kwargs)
    if model is not None:
        kwargs["clv_model"] = dask.delayed(model, pure=True)
    return view.map_customers(_features_part, meta=meta, **kwargs)


def _empty_bucket(view: Any) -> Any:
    """A pandas dataset with the view's tables and no rows (for the output's columns)."""
    from cpm_analysis.data import Dataset

    return Dataset(**{t: getattr(view, t)._meta for t in view.customer_tables})
