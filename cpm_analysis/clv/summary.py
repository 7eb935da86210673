"""From orders to the per-customer recency-frequency-monetary summary the CLV models fit.

The conventions are those of the buy-till-you-die literature and of ``lifetimes``:

- only *repeat* transactions count in ``frequency`` (the first purchase does not);
- purchases on the same calendar day are one transaction, their amounts summed;
- time is measured in whole days between calendar dates (order timestamps are floored to the
  day) and reported in days (``"D"``) or weeks (``"W"``, days / 7).

Examples
--------
>>> import pandas as pd
>>> orders = pd.DataFrame(
...     {
...         "customer_id": ["a", "a", "a", "b"],
...         "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08"]),
...         "amount": [10.0, 5.0, 20.0, 7.0],
...     }
... )
>>> summary = rfm_summary(orders, observation_end="2024-01-29", time_unit="D")
>>> summary.loc["a"].tolist()  # frequency, recency, T, monetary_value
[1.0, 14.0, 28.0, 20.0]
>>> summary.loc["b"].tolist()
[0.0, 0.0, 21.0, 0.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis.data.orders import paid_mask
from cpm_analysis.data.protocol import customer_data
from cpm_analysis.periods import to_cutoff

if TYPE_CHECKING:
    from cpm_analysis.data import Dataset
    from cpm_analysis.data.protocol import CustomerData
    from cpm_analysis.periods import Cutoff

DAYS_PER_UNIT = {"D": 1.0, "W": 7.0}
_NS_PER_DAY = 86_400_000_000_000


def days_per_unit(time_unit: str) -> float:
    """Days in one ``time_unit`` (``"D"`` or ``"W"``), raising ``ValueError`` otherwise.

    Examples
    --------
    >>> days_per_unit("W")
    7.0
    """
    key = str(time_unit).strip().upper()
    if key not in DAYS_PER_UNIT:
        raise ValueError(f"time_unit: expected 'D' (days) or 'W' (weeks), got {time_unit!r}")
    return DAYS_PER_UNIT[key]


def summary_cutoff(value: Cutoff, name: str = "observation_end") -> pd.Timestamp:
    """Return the instant up to which orders count.

    Read with :func:`~cpm_analysis.periods.to_cutoff`: a date (``"2024-06-30"``,
    :class:`datetime.date`) or period label means the end of that day or period. Because the
    summary works in whole days, a Timestamp or datetime at exactly midnight is read the same
    way, as the whole of that day (``lifetimes`` compares at the day too); any other time of day
    is an exact instant.

    Examples
    --------
    >>> summary_cutoff(pd.Timestamp("2024-06-30"))
    Timestamp('2024-06-30 23:59:59.999999999')
    >>> summary_cutoff("2024-06-30 12:00")
    Timestamp('2024-06-30 12:00:00')
    """
    if value is None:
        raise ValueError(f"{name}: a date is required")
    try:
        ts = to_cutoff(value)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    if ts == ts.normalize():
        ts = ts + pd.Timedelta(1, "D") - pd.Timedelta(1, "ns")
    return ts


def _as_orders(orders: Any) -> pd.DataFrame:
    frame = getattr(orders, "orders", None) if not isinstance(orders, pd.DataFrame) else orders
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"orders: expected a DataFrame or a Dataset, got {type(orders).__name__}")
    return frame


def _factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Return integer codes (int32 or int64) in order of first appearance, and the unique values.

    They come from arrow's dictionary encoding for arrow-backed columns, else ``pd.factorize``.
    """
    array = values.array
    if hasattr(array, "__arrow_array__") and not values.hasnans:
        import pyarrow as pa

        chunked = array.__arrow_array__()
        combined = chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
        encoded = combined.dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False)  # int32: half the bytes to move
        uniques = pd.Index(pd.array(encoded.dictionary, dtype=values.dtype))
        return codes, uniques
    codes, uniques = pd.factorize(values, sort=False)
    return codes, pd.Index(uniques)


def _datetimes_ns(values: pd.Series, column: str) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(values):
        try:
            values = pd.to_datetime(values)
        except (TypeError, ValueError):
            parsed = pd.to_datetime(values, errors="coerce")
            bad = int((parsed.isna() & values.notna()).sum())
            raise ValueError(f"{column}: {bad} row(s) cannot be read as dates") from None
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    out = values.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return out


def transaction_days(
    orders: pd.DataFrame | Dataset,
    *,
    observation_end: Cutoff,
    calibration_end: Cutoff | None = None,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
) -> dict[str, Any]:
    """Paid orders merged into one transaction per customer and calendar day (vectorised).

    The building block of :func:`rfm_summary` and the cumulative-transactions plot. Orders with
    a status that does not count (:func:`cpm_analysis.data.paid_mask`: refunded, cancelled)
    and orders after ``observation_end`` are left out.

    Returns
    -------
    dict
        ``customers`` (Index of ids, by code), ``code`` (customer code per transaction),
        ``day`` (days since 1970-01-01, int64), ``amount`` (summed per day), ``holdout`` (bool,
        after ``calibration_end``), ``start`` (position of each customer's first transaction;
        transactions are sorted by customer, day), ``obs_day`` and ``cal_day`` (int64 days).

    Examples
    --------
    >>> orders = pd.DataFrame(
    ...     {"customer_id": ["a", "a"], "order_date": pd.to_datetime(["2024-01-01"] * 2),
    ...      "amount": [1.0, 2.0]}
    ... )
    >>> transaction_days(orders, observation_end="2024-01-31")["amount"]
    array([3.])
    """
    frame = _as_orders(orders)
    missing = [c for c in (customer_col, date_col, amount_col) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"orders: missing column(s) {', '.join(repr(c) for c in missing)} "
            f"(have {', '.join(map(str, frame.columns))}); map your names with customer_col=, "
            "date_col=, amount_col="
        )
    obs = summary_cutoff(observation_end, "observation_end")
    cal = obs if calibration_end is None else summary_cutoff(calibration_end, "calibration_end")
    if cal > obs:
        raise ValueError(f"calibration_end: {cal.date()} is after observation_end {obs.date()}")
    obs_ns, cal_ns = obs.value, cal.value

    ns = _datetimes_ns(frame[date_col], date_col)
    keep = ns <= obs_ns  # NaT is the smallest int64: caught below
    nat = ns == np.iinfo(np.int64).min
    if "status" in frame.columns:
        paid = paid_mask(frame)
        keep &= paid
        nat &= paid
    if nat.any():
        raise ValueError(f"{date_col}: {int(nat.sum())} counted order(s) have no date (NaT)")
    amount = frame[amount_col]
    if not pd.api.types.is_numeric_dtype(amount):
        numeric = pd.to_numeric(amount, errors="coerce")
        bad = int((numeric.isna() & amount.notna()).to_numpy()[keep].sum())
        if bad:
            raise ValueError(f"{amount_col}: {bad} counted order(s) have a non-numeric amount")
        amount = numeric
    amount = amount.to_numpy(dtype=np.float64, na_value=np.nan)
    ids = frame[customer_col]
    missing_id = ids.isna().to_numpy() & keep
    if missing_id.any():
        raise ValueError(f"{customer_col}: {int(missing_id.sum())} counted order(s) have no id")

    codes, customers = _factorize(ids)
    if not keep.all():
        idx = np.flatnonzero(keep)
        codes, ns, amount = codes[idx], ns[idx], amount[idx]
    bad_amount = ~np.isfinite(amount)
    if bad_amount.any():
        raise ValueError(
            f"{amount_col}: {int(bad_amount.sum())} counted order(s) have a missing or infinite "
            "amount"
        )

    day = ns // _NS_PER_DAY
    obs_day = obs_ns // _NS_PER_DAY
    cal_day = cal_ns // _NS_PER_DAY
    holdout = ns > cal_ns
    if len(day) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return {
            "customers": customers[:0],
            "code": empty,
            "day": empty,
            "amount": np.zeros(0),
            "holdout": np.zeros(0, dtype=bool),
            "start": empty,
            "obs_day": obs_day,
            "cal_day": cal_day,
        }
    day_min = int(day.min())
    span = int(obs_day - day_min + 1)
    split = bool(holdout.any())
    key = codes.astype(np.int64)
    key *= span
    key += day
    key -= day_min
    if split:
        key <<= 1
        key += holdout
    if not (key[1:] >= key[:-1]).all():
        # Orders already sorted by customer and date (the usual export order) skip the sort.
        # Otherwise sort the key with the row number in its low bits: a plain int64 sort is
        # several times faster than argsort.
        row_bits = max(int(len(key) - 1).bit_length(), 1)
        if int(key.max()).bit_length() + row_bits <= 62:
            key <<= row_bits
            key |= np.arange(len(key), dtype=np.int64)
            key.sort()
            order = key & ((1 << row_bits) - 1)
            key >>= row_bits
        else:  # pragma: no cover - more than 2^62 (customer, day) combinations
            order = np.argsort(key, kind="stable")
            key = key[order]
        amount = amount[order]
    first = np.ones(len(key), dtype=bool)
    np.not_equal(key[1:], key[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    amount_day = amount if len(starts) == len(key) else np.add.reduceat(amount, starts)
    key = key[starts]
    if split:
        tx_holdout = (key & 1).astype(bool)
        key >>= 1
    else:
        tx_holdout = np.zeros(len(key), dtype=bool)
    tx_code = key // span
    tx_day = key - tx_code * span + day_min
    new_customer = np.ones(len(tx_code), dtype=bool)
    np.not_equal(tx_code[1:], tx_code[:-1], out=new_customer[1:])
    return {
        "customers": customers,
        "code": tx_code,
        "day": tx_day,
        "amount": amount_day,
        "holdout": tx_holdout,
        "start": np.flatnonzero(new_customer),
        "obs_day": int(obs_day),
        "cal_day": int(cal_day),
    }


def rfm_summary(
    orders: pd.DataFrame | CustomerData,
    *,
    observation_end: Cutoff,
    calibration_end: Cutoff | None = None,
    time_unit: str = "W",
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Summarise orders into one row per customer: frequency, recency, T and monetary value.

    Parameters
    ----------
    orders : DataFrame or Dataset
        One row per order with a customer id, an order date and an amount (a
        :class:`~cpm_analysis.data.Dataset` uses its ``orders``). When a ``status`` column
        exists only paid orders count (:func:`cpm_analysis.data.paid_mask`). Any dataset of
        the dataset protocol (:mod:`cpm_analysis.data.protocol`) works: a Dask dataset gives
        a lazy Dask DataFrame with the same rows, computed bucket by bucket on the cluster.
    observation_end : str, date, Timestamp or Period
        The end of the data used. Orders after it are ignored. A date, or a Timestamp at
        midnight, means the end of that day (see :func:`summary_cutoff`).
    calibration_end : str, date, Timestamp or Period, optional
        Split the data into a calibration period (up to and including ``calibration_end``) and a
        holdout period (``calibration_end``, ``observation_end``]; the summary then describes
        the calibration period and adds the holdout columns.
    time_unit : {"W", "D"}
        Unit of ``recency``, ``T`` and ``duration_holdout``: weeks (days / 7) or days. The
        fitted models' rates are per this unit.
    customer_col, date_col, amount_col : str
        Column names in ``orders``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (customers in order of first appearance in ``orders``), one
        row per customer whose first paid purchase is at or before ``calibration_end`` (or
        ``observation_end``):

        - ``frequency``: repeat transactions (the first purchase does not count; purchases on the
          same calendar day are one transaction);
        - ``recency``: time from the first to the last transaction;
        - ``T``: time from the first transaction to the end of the calibration period (or
          ``observation_end``);
        - ``monetary_value``: mean value of the repeat transactions (a day's orders summed), 0
          when there are none;
        - with ``calibration_end``: ``frequency_holdout`` (transactions in the holdout period),
          ``monetary_value_holdout`` (their mean value, 0 when none) and ``duration_holdout``.

        Times are whole days between calendar dates, divided by 7 for weeks. ``attrs`` holds
        ``time_unit``, which the models record so that unit mismatches are caught.

    Raises
    ------
    ValueError
        A missing column, an unreadable date or amount, an unknown ``time_unit``, or
        ``calibration_end`` after ``observation_end``.

    Examples
    --------
    >>> from cpm_analysis.data import load_cdnow
    >>> ds = load_cdnow(sample=True)
    >>> s = rfm_summary(ds, calibration_end="1997-09-30", observation_end="1998-06-30")
    >>> s[["frequency", "frequency_holdout"]].sum().tolist()
    [2457, 1882]
    """
    days_per_unit(time_unit)
    kwargs: dict[str, Any] = {
        "observation_end": observation_end,
        "calibration_end": calibration_end,
        "time_unit": time_unit,
        "customer_col": customer_col,
        "date_col": date_col,
        "amount_col": amount_col,
    }
    if isinstance(orders, pd.DataFrame):
        return _summary_of_orders(orders, **kwargs)
    data = customer_data(orders, "orders")
    # each bucket holds whole customers, so its summary is exactly its rows of the summary
    return data.map_customers(_summary_step, tables=("orders",), **kwargs)


def _summary_step(bucket: Any, **kwargs: Any) -> pd.DataFrame:
    return _summary_of_orders(bucket.orders, **kwargs)


def _summary_of_orders(
    orders: pd.DataFrame,
    *,
    observation_end: Any,
    calibration_end: Any,
    time_unit: str,
    customer_col: str,
    date_col: str,
    amount_col: str,
) -> pd.DataFrame:
    unit = days_per_unit(time_unit)
    tx = transaction_days(
        orders,
        observation_end=observation_end,
        calibration_end=calibration_end,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
    )
    code, day, amount, holdout, start = (
        tx["code"],
        tx["day"],
        tx["amount"],
        tx["holdout"],
        tx["start"],
    )
    n_tx = len(code)
    calib = ~holdout
    if n_tx:
        count_all = np.diff(np.append(start, n_tx))
        amount_all = np.add.reduceat(amount, start)
        if holdout.any():
            count_cal = np.add.reduceat(calib.astype(np.int64), start)
            amount_cal = np.add.reduceat(np.where(calib, amount, 0.0), start)
        else:
            count_cal, amount_cal = count_all, amount_all
    else:
        count_cal = count_all = np.zeros(0, dtype=np.int64)
        amount_cal = amount_all = np.zeros(0)
    # Within a customer transactions are sorted by day and calibration ones come first, so a
    # customer whose first transaction is in the holdout period has none in calibration.
    included = count_cal > 0
    start, count_cal = start[included], count_cal[included]
    count_all, amount_cal, amount_all = (
        count_all[included],
        amount_cal[included],
        amount_all[included],
    )
    first_day = day[start]
    last_day = day[start + count_cal - 1]
    frequency = count_cal - 1
    repeat_amount = amount_cal - amount[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_amount / np.maximum(frequency, 1), 0.0)
    index = tx["customers"].take(code[start])
    index.name = "customer_id"
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last_day - first_day) / unit,
            "T": (tx["cal_day"] - first_day) / unit,
            "monetary_value": monetary,
        },
        index=index,
    )
    if calibration_end is not None:
        count_hold = count_all - count_cal
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_hold = np.where(
                count_hold > 0, (amount_all - amount_cal) / np.maximum(count_hold, 1), 0.0
            )
        out["frequency_holdout"] = count_hold
        out["monetary_value_holdout"] = mean_hold
        out["duration_holdout"] = (tx["obs_day"] - tx["cal_day"]) / unit
    out.attrs["time_unit"] = str(time_unit).strip().upper()
    return out


PERIOD_TIME_UNIT = "W"


def period_summary(
    data: pd.DataFrame | CustomerData, cutoff: Cutoff, *, calibration_end: Cutoff | None = None
) -> Any:
    """Return the period's weekly RFM summary: the one summary every model of a period is fitted on.

    :func:`rfm_summary` of the paid orders up to ``cutoff`` (the period's last instant), in
    weeks (``PERIOD_TIME_UNIT``). The scored customer table, the value models of the report,
    the calibration and forecast checks and the churn features' ``p_alive`` all read it from
    here, so they describe the same customers with the same numbers.

    Parameters
    ----------
    data : Dataset, DataFrame of orders or DaskDataset
        The point-in-time view (or its orders); a Dask dataset gives a lazy Dask summary.
    cutoff : str, date, Timestamp or Period
        The end of the observation (``observation_end``).
    calibration_end : str, date, Timestamp or Period, optional
        Split off a holdout period after it (for the calibration and forecast checks).

    Examples
    --------
    >>> orders = pd.DataFrame({"customer_id": ["a", "a"], "amount": [5.0, 7.0],
    ...                        "order_date": pd.to_datetime(["2024-01-01", "2024-01-15"])})
    >>> period_summary(orders, "2024-01-28").loc["a"].tolist()
    [1.0, 2.0, 3.857142857142857, 7.0]
    """
    return rfm_summary(
        data,
        observation_end=cutoff,
        calibration_end=calibration_end,
        time_unit=PERIOD_TIME_UNIT,
    )
