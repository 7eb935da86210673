"""RFM scores on Dask: measures per customer partition on the cluster, ranks in memory.

The scores are quantile ranks over all customers, so the per-customer measures (four numbers
a customer) are brought together and ranked with the pandas code
(:func:`cpm_analysis.segments.rfm.score_measures`); the orders never leave the cluster.

Examples
--------
Not run as a doctest: it needs a Dask cluster (the parity tests in ``tests/test_scale*.py`` do).

>>> from cpm_analysis.segments import rfm_scores
>>> rfm_scores(ds, "2025-06")  # a DaskDataset: same table as with pandas  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cpm_analysis.scale.clv import customer_orders


def _measures_part(orders: pd.DataFrame, as_of: pd.Timestamp, window: Any) -> pd.DataFrame:
    from cpm_analysis.segments.rfm import MEASURE_COLUMNS, rfm_scores

    out = rfm_scores(orders, as_of, bins=2, window=window)[list(MEASURE_COLUMNS)]
    out.attrs = {}
    return out


def rfm_scores_dask(
    data: Any, as_of: pd.Timestamp, *, bins: int = 5, window: pd.Timedelta | None = None
) -> pd.DataFrame:
    """:func:`~cpm_analysis.segments.rfm_scores` of a Dask dataset or orders frame.

    Returns the same pandas DataFrame (sorted by ``customer_id``) as the pandas engine.

    Examples
    --------
    Not run as a doctest: it needs a Dask cluster (the parity tests in ``tests/test_scale*.py`` do).

    >>> rfm_scores_dask(ds, pd.Timestamp("2025-06-30 23:59:59.999999999"))  # doctest: +SKIP
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from cpm_analysis.scale.store import gather
    from cpm_analysis.segments.rfm import score_measures

    orders = customer_orders(data)
    meta = _measures_part(orders._meta, as_of, window)
    (measures,) = gather(
        orders.map_partitions(_measures_part, as_of, window, meta=meta, enforce_metadata=False)
    )
    ids = pa.array(measures.index.to_numpy(dtype=object), type=pa.string())
    order = pc.sort_indices(ids).to_numpy()
    measures = measures.iloc[order]
    measures.index = measures.index.rename("customer_id")
    return score_measures(measures, bins, as_of=as_of, window=window)
