"""Recency, frequency and monetary (RFM) measures and their 1..``bins`` quantile scores.

Definitions, exactly enough to recompute by hand:

- Only **paid** orders count (:func:`cpm_analysis.data.paid_orders`: status ``paid`` or no
  status); refunded and cancelled orders are ignored. An order counts when its ``order_date`` is
  at or before the cutoff ``as_of`` (read with :func:`cpm_analysis.periods.to_cutoff`: a period
  label such as ``"2024-06"`` means its last instant, a date ``"2024-06-30"`` the end of that
  day, a Timestamp that exact instant).
- **Who is scored**: every customer with at least one paid order up to ``as_of``. Customers who
  signed up but never bought (or bought only after ``as_of``) have no recency and are not
  scored; they are ``dataset.customers`` minus the scores' index.
- ``recency_days``: whole calendar days from the day of the customer's last paid order to the
  day of ``as_of`` (both floored to midnight): an order on the ``as_of`` day gives 0, one the
  day before gives 1.
- ``frequency``: the number of paid orders (every order counts, also several on one day;
  unlike :func:`cpm_analysis.clv.rfm_summary`, which counts repeat purchase *days*).
- ``monetary``: the sum of the paid orders' ``amount`` (gross: refunds are not subtracted;
  :func:`monetary_value`, the one definition every page shows); ``monetary_mean`` = monetary /
  frequency (``NaN`` when frequency is 0, which only happens with a ``window``).
- With ``window`` (``"365D"``, ``pd.Timedelta`` or an int of days) frequency and monetary count
  only the orders in the trailing window ``(as_of - window, as_of]``; recency still measures the
  last paid order up to ``as_of``, however old, so a customer who did not buy in the window
  stays in the table with frequency 0 and a long recency (and scores as lapsed) instead of
  disappearing.
- **Scores** ``r_score``, ``f_score``, ``m_score`` run from 1 to ``bins``, 5 (= ``bins``) best
  on every axis: most recent, most orders, most spend. Customers are ranked on each axis and cut
  into ``bins`` groups of equal size (quantiles of the rank; sizes differ by at most one):
  ``score = 1 + floor(bins * rank / n)`` with ``rank`` 0..n-1 from worst to best. Ties are
  ranked *first-come* in a fixed order, never shared, so a heavy tie (half the customers with
  one order) is spread over the lower scores instead of collapsing the bins. Ties on one measure
  are broken by the other two, frequency and monetary before recency: equal recency by
  frequency then monetary, equal frequency by monetary then recency, equal monetary by
  frequency then recency (more orders, more spend, more recent rank higher); remaining ties by
  customer id (the later id in sort order ranks higher). Recency comes last so that the R-F
  grid does not get an artificial diagonal: among one-time buyers the F score follows what
  they spent, not how long ago they bought. Two customers with equal frequency may therefore
  get different F scores; every score level is used as soon as there are at least ``bins``
  customers.

Examples
--------
>>> import pandas as pd
>>> orders = pd.DataFrame(
...     {
...         "customer_id": ["a", "a", "b", "c"],
...         "order_date": pd.to_datetime(["2024-01-05", "2024-06-20", "2024-03-01", "2024-06-30"]),
...         "amount": [10.0, 30.0, 5.0, 8.0],
...     }
... )
>>> scores = rfm_scores(orders, "2024-06", bins=3)
>>> scores[["recency_days", "frequency", "monetary", "r_score"]]  # doctest: +NORMALIZE_WHITESPACE
             recency_days  frequency  monetary  r_score
customer_id
a                      10          2      40.0        2
b                     121          1       5.0        1
c                       0          1       8.0        3
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data import Dataset, paid_mask
from cpm_analysis.data.protocol import customer_data
from cpm_analysis.periods import Cutoff, to_cutoff

SCORE_COLUMNS: tuple[str, str, str] = ("r_score", "f_score", "m_score")
MEASURE_COLUMNS: tuple[str, ...] = ("recency_days", "frequency", "monetary", "monetary_mean")
RFM_COLUMNS: tuple[str, ...] = MEASURE_COLUMNS + SCORE_COLUMNS
_NS_PER_DAY = 86_400_000_000_000
_REQUIRED = ("customer_id", "order_date", "amount")


# ``bins`` stays Any: this is the run-time check of what a user gave (an argument, a segment
# map's ``bins`` key read from YAML, a table's attrs), raising a ValueError that names it.
def check_bins(bins: Any) -> int:
    """``bins`` as an int of at least 2, or a ``ValueError`` naming the parameter.

    Examples
    --------
    >>> check_bins(5)
    5
    """
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or int(bins) < 2:
        raise ValueError(f"bins: expected an integer of at least 2, got {bins!r}")
    return int(bins)


def read_cutoff(as_of: Cutoff) -> pd.Timestamp:
    """Return the instant ``as_of`` means (:func:`cpm_analysis.periods.to_cutoff`), errors named.

    Examples
    --------
    >>> read_cutoff("2024-06")
    Timestamp('2024-06-30 23:59:59.999999999')
    """
    if as_of is None:
        raise ValueError("as_of: a cutoff is required (a period such as '2024-06' or a date)")
    try:
        ts = to_cutoff(as_of)
    except ValueError as err:
        raise ValueError(f"as_of: {err}") from None
    try:
        return ts.as_unit("ns")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        raise ValueError(
            f"as_of: {as_of!r} reads as {ts}, outside the dates pandas supports (1677-2262); "
            "use a period such as '2024-06' or a date"
        ) from None


def read_window(window: int | str | pd.Timedelta | None) -> pd.Timedelta | None:
    """Return a trailing window as a positive Timedelta: ``"365D"``, ``"52W"``, a Timedelta or days.

    Examples
    --------
    >>> read_window(30)
    Timedelta('30 days 00:00:00')
    >>> read_window("365D")
    Timedelta('365 days 00:00:00')
    """
    if window is None:
        return None
    if isinstance(window, bool):
        raise ValueError(f"window: expected days or a duration such as '365D', got {window!r}")
    try:
        if isinstance(window, numbers.Integral):
            delta = pd.Timedelta(int(window), "D")
        else:
            delta = pd.Timedelta(window)
    except (TypeError, ValueError):
        raise ValueError(
            f"window: cannot read {window!r} as a duration; use days (365) or a Timedelta "
            "string such as '365D' or '52W' (months and years vary in length: give days)"
        ) from None
    if delta is pd.NaT or delta <= pd.Timedelta(0):
        raise ValueError(f"window: must be a positive duration, got {window!r}")
    return delta


def factorize_ids(ids: pd.Series) -> tuple[np.ndarray, Any]:
    """Integer codes of ``ids`` and their unique values (an Arrow array on the Arrow fast path).

    Examples
    --------
    >>> codes, uniques = factorize_ids(pd.Series(["b", "a", "b"], dtype="str"))
    >>> codes.tolist(), uniques.to_pylist()
    ([0, 1, 0], ['b', 'a'])
    """
    array = ids.array
    if hasattr(array, "__arrow_array__") and pd.api.types.is_string_dtype(ids.dtype):
        import pyarrow as pa

        chunked = array.__arrow_array__()
        combined = chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
        encoded = combined.dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        return codes, encoded.dictionary
    codes, uniques = pd.factorize(ids, sort=False)
    return codes.astype(np.int64, copy=False), pd.Index(uniques, dtype=ids.dtype)


def _sort_ids(uniques: Any, positions: np.ndarray, dtype: Any) -> tuple[np.ndarray, pd.Index]:
    """``positions`` reordered so that their ids sort ascending, and those ids as an Index."""
    if isinstance(uniques, pd.Index):
        chosen = uniques[positions]
        order = np.argsort(chosen.to_numpy(), kind="stable")
        return positions[order], chosen[order]
    import pyarrow as pa
    import pyarrow.compute as pc

    chosen = uniques.take(pa.array(positions))
    order = pc.sort_indices(chosen).to_numpy()
    ids = pd.Index(pd.array(chosen.take(pa.array(order)), dtype=dtype))
    return positions[order], ids


def _date_ns(values: pd.Series) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(values):
        raise ValueError(
            f"order_date: expected datetimes, got {values.dtype}; load the data with "
            "cpm_analysis.data.load or convert with pd.to_datetime"
        )
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.to_numpy(dtype="datetime64[ns]").view(np.int64)


def quantile_scores(keys: tuple[np.ndarray, ...], bins: int) -> np.ndarray:
    """Scores 1..``bins`` by equal-count quantiles of the ordering ``np.lexsort(keys)``.

    ``keys`` are as for :func:`numpy.lexsort` (the last key is the primary one, ascending =
    worse); the sort is stable, so rows tied on every key keep their order (the row order
    breaks the last ties). Integer keys whose ranges multiply to less than 2**62 are packed
    into one int64 key and sorted once, which is several times faster than a lexsort.

    Examples
    --------
    >>> quantile_scores((np.array([1, 1, 1, 1, 2, 3]),), 3).tolist()
    [1, 1, 2, 2, 3, 3]
    """
    n = len(keys[-1])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    packed = None
    if all(np.issubdtype(np.asarray(k).dtype, np.integer) for k in keys):
        packed = np.zeros(n, dtype=np.int64)
        capacity = 1
        for key in reversed(keys):  # primary key first: it gets the highest place value
            key = np.asarray(key, dtype=np.int64)
            low = int(key.min())
            span = int(key.max()) - low + 1
            capacity *= span
            if capacity >= 2**62:
                packed = None
                break
            packed *= span
            packed += key - low
    order = np.argsort(packed, kind="stable") if packed is not None else np.lexsort(keys)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    return rank * bins // n + 1


def rfm_scores(
    data: Dataset | pd.DataFrame,
    as_of: Cutoff,
    *,
    bins: int = 5,
    window: int | str | pd.Timedelta | None = None,
) -> pd.DataFrame:
    """Recency, frequency and monetary value per customer, and their quantile scores.

    See the module docstring (:mod:`cpm_analysis.segments.rfm`) for the exact definitions.

    Parameters
    ----------
    data : Dataset or DataFrame
        A dataset (its ``orders`` are used) or an orders table with the canonical columns
        ``customer_id``, ``order_date`` (datetime), ``amount`` and optionally ``status``. Any
        dataset of the dataset protocol (:mod:`cpm_analysis.data.protocol`) works, a Dask one
        too: the measures are computed bucket by bucket, the ranking on the per-customer table
        in memory.
    as_of : str, date or Timestamp
        The cutoff: a period label (``"2024-06"``: its last instant), a date (``"2024-06-30"``:
        the end of that day) or an exact Timestamp. Orders after it are ignored.
    bins : int, default 5
        Number of score levels (at least 2); ``bins`` is the best score on every axis.
    window : int, str or Timedelta, optional
        Count frequency and monetary over the trailing window ``(as_of - window, as_of]`` only
        (an int is days). Recency still looks back to the last paid order however old.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), one row per customer with a paid order up to
        ``as_of``: ``recency_days``, ``frequency`` (int), ``monetary``, ``monetary_mean``
        (float), ``r_score``, ``f_score``, ``m_score`` (int 1..bins). ``attrs`` holds
        ``as_of`` (the cutoff instant), ``bins`` and ``window``.

    Raises
    ------
    ValueError
        For ``bins`` < 2, a malformed ``as_of`` or ``window``, missing columns, or counted
        orders without a customer id, date or amount.

    Examples
    --------
    >>> from cpm_analysis.data import load_cdnow
    >>> scores = rfm_scores(load_cdnow(), "1998-06")
    >>> scores["r_score"].value_counts().sort_index().tolist()
    [4714, 4714, 4714, 4714, 4714]
    """
    bins = check_bins(bins)
    cutoff = read_cutoff(as_of)
    delta = read_window(window)
    if isinstance(data, pd.DataFrame):
        measures = rfm_measures(data, cutoff, delta)
    else:
        # the measures describe each customer from their own orders: bucket by bucket, then
        # ranked together (the orders stay with the engine, four numbers a customer come back)
        dataset = customer_data(data, "data")
        (measures,) = dataset.gather(
            dataset.map_customers(_measures_step, tables=("orders",), cutoff=cutoff, window=delta)
        )
        measures = _sorted_by_id(measures)
    return score_measures(measures, bins, as_of=cutoff, window=delta)


def _measures_step(bucket: Dataset, cutoff: pd.Timestamp, window: Any) -> pd.DataFrame:
    return rfm_measures(bucket.orders, cutoff, window)


def _sorted_by_id(measures: pd.DataFrame) -> pd.DataFrame:
    if measures.index.is_monotonic_increasing:
        return measures
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(measures.index.to_numpy(dtype=object), type=pa.string())
    out = measures.iloc[pc.sort_indices(ids).to_numpy()]
    out.index = out.index.rename("customer_id")
    return out


def rfm_measures(
    orders: pd.DataFrame, cutoff: pd.Timestamp, delta: pd.Timedelta | None = None
) -> pd.DataFrame:
    """Compute the per-customer measures of :func:`rfm_scores` (no scores), sorted by id.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["b", "a"], "amount": [5.0, 7.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-01-15"])})
    >>> rfm_measures(orders, pd.Timestamp("2024-01-31"))["recency_days"].tolist()
    [16, 30]
    """
    missing = [c for c in _REQUIRED if c not in orders.columns]
    if missing:
        raise ValueError(
            f"orders: missing column(s) {', '.join(map(repr, missing))} "
            f"(have {', '.join(map(str, orders.columns))})"
        )
    keep = paid_mask(orders)
    ns = _date_ns(orders["order_date"])
    nat = ns == np.iinfo(np.int64).min
    if (nat & keep).any():
        raise ValueError(f"order_date: {int((nat & keep).sum())} paid order(s) have no date")
    keep &= ns <= cutoff.value
    amount_col = orders["amount"]
    if not pd.api.types.is_numeric_dtype(amount_col) or pd.api.types.is_bool_dtype(amount_col):
        raise ValueError(f"amount: expected numbers, got {amount_col.dtype}")
    amount = amount_col.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = keep & ~np.isfinite(amount)
    if bad.any():
        raise ValueError(f"amount: {int(bad.sum())} counted order(s) have a missing amount")
    ids = orders["customer_id"]
    no_id = keep & ids.isna().to_numpy()
    if no_id.any():
        raise ValueError(f"customer_id: {int(no_id.sum())} counted order(s) have no customer id")

    codes, uniques = factorize_ids(ids.fillna("") if ids.hasnans else ids)
    n_codes = len(uniques)
    idx = np.flatnonzero(keep)
    codes, day, amount, ns = codes[idx], ns[idx] // _NS_PER_DAY, amount[idx], ns[idx]

    last = np.full(n_codes, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, codes, day)
    present, index = _sort_ids(uniques, np.flatnonzero(last > np.iinfo(np.int64).min), ids.dtype)
    if delta is not None:
        in_window = ns > cutoff.value - delta.value
        codes, amount = codes[in_window], amount[in_window]
    frequency = np.bincount(codes, minlength=n_codes)[present].astype(np.int64)
    monetary = np.bincount(codes, weights=amount, minlength=n_codes)[present]
    recency = (cutoff.value // _NS_PER_DAY - last[present]).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(frequency > 0, monetary / np.maximum(frequency, 1), np.nan)

    out = pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency,
            "monetary": monetary,
            "monetary_mean": mean,
        },
        index=index.rename("customer_id"),
    )
    return out


def monetary_value(
    orders: pd.DataFrame, as_of: Cutoff, window: int | str | pd.Timedelta | None = None
) -> pd.Series:
    """Return each customer's monetary value: the one definition every page shows.

    The sum of the ``amount`` of the customer's **paid** orders dated at or before ``as_of``
    (gross: refunded and cancelled orders are not counted, as in the revenue KPI), the
    ``monetary`` of :func:`rfm_scores`; with ``window`` only the orders in
    ``(as_of - window, as_of]``. The segments page, the value tiers and the customer page all
    show this number.

    Parameters
    ----------
    orders : DataFrame
        ``customer_id``, ``order_date``, ``amount`` and optionally ``status``.
    as_of : Timestamp, str or Period
        The cutoff (see :func:`cpm_analysis.periods.to_cutoff`).
    window : int, str or Timedelta, optional
        The trailing window, as in :func:`rfm_scores`.

    Returns
    -------
    Series
        Indexed by ``customer_id`` (sorted), named ``monetary``: every customer with a paid
        order up to ``as_of``.

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "a"], "amount": [10.0, 20.0, -5.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-02-01",
    ...                                                      "2024-02-05"]),
    ...                        "status": ["paid", "paid", "refunded"]})
    >>> monetary_value(orders, "2024-02").to_dict()
    {'a': 30.0}
    """
    cutoff = read_cutoff(as_of)
    return rfm_measures(orders, cutoff, read_window(window))["monetary"]


def score_measures(
    measures: pd.DataFrame,
    bins: int,
    *,
    as_of: pd.Timestamp | None = None,
    window: pd.Timedelta | None = None,
) -> pd.DataFrame:
    """Add ``r_score``, ``f_score``, ``m_score`` to per-customer measures sorted by id.

    The ranking half of :func:`rfm_scores` (see the module docstring for the tie rules); the
    Dask engine computes the measures on the cluster and ranks them here.

    Examples
    --------
    >>> m = pd.DataFrame({"recency_days": [3, 1], "frequency": [1, 2], "monetary": [5.0, 9.0],
    ...                   "monetary_mean": [5.0, 4.5]}, index=pd.Index(["a", "b"]))
    >>> score_measures(m, 2)["r_score"].tolist()
    [1, 2]
    """
    recency = measures["recency_days"].to_numpy(dtype=np.int64)
    frequency = measures["frequency"].to_numpy(dtype=np.int64)
    monetary = measures["monetary"].to_numpy(dtype=np.float64)
    # monetary as dense integer ranks, so that the three sorts below run on packed int64 keys
    spend = np.unique(monetary, return_inverse=True)[1].astype(np.int64).reshape(-1)
    out = measures[list(MEASURE_COLUMNS)].copy()
    out["r_score"] = quantile_scores((spend, frequency, -recency), bins)
    out["f_score"] = quantile_scores((-recency, spend, frequency), bins)
    out["m_score"] = quantile_scores((-recency, frequency, spend), bins)
    out.attrs = {"as_of": as_of, "bins": bins, "window": window}
    return out
