"""Point-in-time churn features: one row per customer from data dated at or before a cutoff.

Every feature is computed from :meth:`Dataset.as_of(cutoff) <cpm_analysis.data.Dataset.as_of>`,
the project's point-in-time view, so nothing after the cutoff can leak in: later orders,
tickets and survey answers do not exist in it, a ticket answered or resolved after the cutoff
reads as unanswered or open, and customers who signed up later have no row.

Windows ``w`` are ``(cutoff - w days, cutoff]``. With the default ``windows=(30, 90, 365)``:

=================================  ==========================================================
column                             meaning
=================================  ==========================================================
``tenure_days``                    days since signup
``days_since_first_order``         days since the first paid order (missing: none yet)
``days_since_last_order``          days since the last paid order (missing: none yet)
``orders_{w}d``, ``spend_{w}d``    paid orders and their value in each window
``orders_total``, ``spend_total``  paid orders and value since signup
``avg_order_value``                ``spend_total / orders_total`` (missing: no order)
``orders_prev_90d``,               the same over the 90 days before the last 90
``spend_prev_90d``
``orders_trend_90d``,              ``(last - previous) / (last + previous)`` of the two 90-day
``spend_trend_90d``                blocks: -1 stopped, 0 flat, +1 new (0 when both are 0)
``refund_share_365d``              refunded value / paid value, last 365 days (missing: no
                                   paid value)
``tickets_{90,365}d``              support tickets opened          (tickets table)
``complaints_{90,365}d``           of which complaints             (``is_complaint``)
``open_tickets``                   tickets not resolved by the cutoff (``resolved_at``)
``first_response_hours_365d``      mean hours to first response of the last year's tickets;
                                   an unanswered ticket counts with its wait so far
``resolution_hours_365d``          the same for resolution
``last_csat``, ``mean_csat_365d``  latest CSAT (1-5) given, and the last year's mean
``last_nps``, ``mean_nps_365d``    latest NPS answer (0-10), and the last year's mean (surveys)
``p_alive``,                       BG/NBD probability of being alive and expected purchases
``expected_purchases_90d``         in the next 90 days, fitted on the data at the cutoff only
                                   (``clv=True``; missing for customers without a purchase)
attribute columns                  every other column of the customers table: text as is
                                   (categorical), numbers and booleans as numbers, dates as
                                   ``days_since_<column>`` (missing when after the cutoff)
=================================  ==========================================================

Not used as features: ``customer_id``, ``signup_date`` (as ``tenure_days``), ``churned_at``
(the label of contract businesses), ``owner_id`` (who acts on the risk, in the risk list) and
personal data (name, e-mail, phone). Service and NPS features appear only when their table (and
column) exists, so a dataset yields the same columns at every cutoff.

Examples
--------
>>> from cpm_analysis.churn import churn_features
>>> X = churn_features(ds, "2024-06")
>>> X.loc[X.index[0], ["days_since_last_order", "orders_90d", "p_alive"]].round(3)
days_since_last_order    486.634
orders_90d                 0.000
p_alive                    1.000
Name: C000002, dtype: float64
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cpm_analysis.data.orders import REFUNDED, paid_mask
from cpm_analysis.data.protocol import customer_data
from cpm_analysis.data.schema import PII_COLUMNS
from cpm_analysis.periods import to_cutoff

if TYPE_CHECKING:
    from cpm_analysis.clv.bgnbd import BetaGeoModel
    from cpm_analysis.data.protocol import CustomerData
    from cpm_analysis.periods import Cutoff

_NS_PER_DAY = 86_400 * 10**9
_NS_PER_HOUR = 3_600 * 10**9
NOT_FEATURES = ("customer_id", "signup_date", "churned_at", "owner_id")
TREND_DAYS = 90
SERVICE_WINDOWS = (90, 365)


def customer_codes(ids: pd.Series, customers: pd.Series) -> np.ndarray:
    """Position of each id in ``customers`` (``-1`` when absent), vectorised with Arrow.

    Examples
    --------
    >>> customer_codes(pd.Series(["b", "a", "z"]), pd.Series(["a", "b"])).tolist()
    [1, 0, -1]
    """
    left = pa.array(ids.astype("str"))
    right = pa.array(customers.astype("str"))
    codes = pc.fill_null(pc.index_in(left, value_set=right), -1)
    return codes.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _ns(values: pd.Series) -> np.ndarray:
    """Datetimes as int64 nanoseconds; NaT is the smallest int64."""
    return values.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _is_nat(ns: np.ndarray) -> np.ndarray:
    return ns == np.iinfo(np.int64).min


def _count(codes: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(codes[mask], minlength=n).astype(np.float64)


def _total(codes: np.ndarray, mask: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(codes[mask], weights=weights[mask], minlength=n)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _trend(last: np.ndarray, prev: np.ndarray) -> np.ndarray:
    total = last + prev
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (last - prev) / np.where(total > 0, total, 1.0), 0.0)


def _last_per_customer(
    codes: np.ndarray, when: np.ndarray, values: np.ndarray, n: int
) -> np.ndarray:
    """Return the value of each customer's latest row (by ``when``), ``NaN`` without rows."""
    out = np.full(n, np.nan)
    if len(codes) == 0:
        return out
    order = np.lexsort((when, codes))
    sorted_codes = codes[order]
    last = np.ones(len(order), dtype=bool)
    np.not_equal(sorted_codes[1:], sorted_codes[:-1], out=last[:-1])
    out[sorted_codes[last]] = values[order][last]
    return out


def _order_features(
    orders: pd.DataFrame, ids: pd.Series, cut: int, windows: Sequence[int]
) -> dict[str, np.ndarray]:
    n = len(ids)
    codes = customer_codes(orders["customer_id"], ids)
    age = (cut - _ns(orders["order_date"])) / _NS_PER_DAY
    amount = orders["amount"].to_numpy(dtype=np.float64, na_value=0.0)
    known = codes >= 0
    paid = paid_mask(orders)
    if "status" in orders.columns:
        refunded = (orders["status"] == REFUNDED).to_numpy(dtype=bool, na_value=False) & known
    else:
        refunded = np.zeros(len(orders), dtype=bool)
    paid = paid & known
    out: dict[str, np.ndarray] = {}
    first = np.full(n, -np.inf)
    last = np.full(n, np.inf)
    np.maximum.at(first, codes[paid], age[paid])
    np.minimum.at(last, codes[paid], age[paid])
    out["days_since_first_order"] = np.where(np.isfinite(first), first, np.nan)
    out["days_since_last_order"] = np.where(np.isfinite(last), last, np.nan)
    for w in windows:
        mask = paid & (age < w)
        out[f"orders_{w}d"] = _count(codes, mask, n)
        out[f"spend_{w}d"] = _total(codes, mask, amount, n)
    out["orders_total"] = _count(codes, paid, n)
    out["spend_total"] = _total(codes, paid, amount, n)
    out["avg_order_value"] = _ratio(out["spend_total"], out["orders_total"])
    recent = paid & (age < TREND_DAYS)
    before = paid & (age >= TREND_DAYS) & (age < 2 * TREND_DAYS)
    orders_last, spend_last = _count(codes, recent, n), _total(codes, recent, amount, n)
    out[f"orders_prev_{TREND_DAYS}d"] = _count(codes, before, n)
    out[f"spend_prev_{TREND_DAYS}d"] = _total(codes, before, amount, n)
    out[f"orders_trend_{TREND_DAYS}d"] = _trend(orders_last, out[f"orders_prev_{TREND_DAYS}d"])
    out[f"spend_trend_{TREND_DAYS}d"] = _trend(spend_last, out[f"spend_prev_{TREND_DAYS}d"])
    year = age < 365
    refunds = _total(codes, refunded & year, np.abs(amount), n)
    out["refund_share_365d"] = _ratio(refunds, _total(codes, paid & year, amount, n))
    return out


def _ticket_features(tickets: pd.DataFrame, ids: pd.Series, cut: int) -> dict[str, np.ndarray]:
    n = len(ids)
    codes = customer_codes(tickets["customer_id"], ids)
    known = codes >= 0
    opened = _ns(tickets["opened_at"])
    age = (cut - opened) / _NS_PER_DAY
    out: dict[str, np.ndarray] = {}
    complaint = None
    if "is_complaint" in tickets.columns:
        complaint = tickets["is_complaint"].to_numpy(dtype=bool, na_value=False)
    for w in SERVICE_WINDOWS:
        mask = known & (age < w)
        out[f"tickets_{w}d"] = _count(codes, mask, n)
        if complaint is not None:
            out[f"complaints_{w}d"] = _count(codes, mask & complaint, n)
    year = known & (age < 365)
    if "resolved_at" in tickets.columns:
        resolved = _ns(tickets["resolved_at"])
        out["open_tickets"] = _count(codes, known & _is_nat(resolved), n)
    for col, name in (
        ("first_response_at", "first_response_hours_365d"),
        ("resolved_at", "resolution_hours_365d"),
    ):
        if col in tickets.columns:
            done = _ns(tickets[col])
            until = np.where(_is_nat(done), cut, done)  # still waiting: the wait so far
            hours = (until - opened) / _NS_PER_HOUR
            out[name] = _ratio(_total(codes, year, hours, n), _count(codes, year, n))
    if "satisfaction" in tickets.columns:
        score = tickets["satisfaction"].to_numpy(dtype=np.float64, na_value=np.nan)
        given = known & ~np.isnan(score)
        if "resolved_at" in tickets.columns:
            when = np.where(
                _is_nat(_ns(tickets["resolved_at"])), opened, _ns(tickets["resolved_at"])
            )
        else:
            when = opened
        out["last_csat"] = _last_per_customer(codes[given], when[given], score[given], n)
        out["mean_csat_365d"] = _ratio(
            _total(codes, given & year, np.nan_to_num(score), n), _count(codes, given & year, n)
        )
    return out


def _survey_features(surveys: pd.DataFrame, ids: pd.Series, cut: int) -> dict[str, np.ndarray]:
    n = len(ids)
    codes = customer_codes(surveys["customer_id"], ids)
    when = _ns(surveys["responded_at"])
    score = surveys["score"].to_numpy(dtype=np.float64, na_value=np.nan)
    given = (codes >= 0) & ~np.isnan(score)
    year = given & ((cut - when) / _NS_PER_DAY < 365)
    return {
        "last_nps": _last_per_customer(codes[given], when[given], score[given], n),
        "mean_nps_365d": _ratio(
            _total(codes, year, np.nan_to_num(score), n), _count(codes, year, n)
        ),
    }


def clv_features(
    orders: pd.DataFrame,
    cutoff: pd.Timestamp,
    ids: pd.Series,
    model: BetaGeoModel | None = None,
) -> dict[str, Any]:
    """``p_alive`` and ``expected_purchases_90d`` from a BG/NBD model fitted at the cutoff.

    Uses :func:`cpm_analysis.clv.period_summary` (weeks) and :class:`cpm_analysis.clv.BetaGeoModel`
    on the orders up to ``cutoff``; customers without a paid order get missing values. A fitted
    ``model`` (weeks, fitted at the same cutoff) is used as given instead of fitting one.

    Examples
    --------
    >>> from cpm_analysis.periods import to_cutoff
    >>> june = ds.as_of("2024-06")
    >>> features = clv_features(june.orders, to_cutoff("2024-06"), june.customers["customer_id"])
    >>> sorted(features)
    ['expected_purchases_90d', 'p_alive']
    """
    try:
        from cpm_analysis.clv import BetaGeoModel, period_summary
    except ImportError as err:  # pragma: no cover - the clv module ships with the package
        raise ImportError(
            "clv=True needs cpm_analysis.clv (period_summary, BetaGeoModel); pass clv=False to "
            f"build the features without P(alive) ({err})"
        ) from err
    summary = period_summary(orders, cutoff)
    if model is None:
        model = BetaGeoModel().fit(summary)
    p_alive = model.probability_alive(summary)
    expected = model.expected_purchases(TREND_DAYS / 7.0, summary)
    for values in (p_alive, expected):
        bad = int((~np.isfinite(np.asarray(values, dtype=np.float64))).sum())
        if bad:  # the models are finite at every parameter; never hand NaN on silently
            raise RuntimeError(
                f"clv_features: {values.name} is not a finite number for {bad} customer(s) "
                f"with orders (BG/NBD parameters {model.params_}); please report this"
            )
    position = customer_codes(summary.index.to_series(), ids)
    known = position >= 0
    out = {}
    for name, values in (
        ("p_alive", p_alive),
        (f"expected_purchases_{TREND_DAYS}d", expected),
    ):
        column = np.full(len(ids), np.nan)
        column[position[known]] = np.asarray(values, dtype=np.float64)[known]
        out[name] = column
    return out


def attribute_features(customers: pd.DataFrame, cut: pd.Timestamp) -> dict[str, Any]:
    """Every extra column of the customers table as a feature (see the module docstring).

    Examples
    --------
    >>> attribute_features(ds.customers, to_cutoff("2024-06")).keys()
    dict_keys(['region', 'channel', 'company_size'])
    """
    out: dict[str, Any] = {}
    skip = set(NOT_FEATURES) | set(PII_COLUMNS.get("customers", ()))
    for col in customers.columns:
        if col in skip:
            continue
        values = customers[col]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            ns = _ns(values)
            known = ~_is_nat(ns) & (ns <= cut.value)
            days = np.where(known, (cut.value - ns) / _NS_PER_DAY, np.nan)
            out[f"days_since_{col}"] = days
        elif pd.api.types.is_bool_dtype(values.dtype):
            out[col] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        elif pd.api.types.is_numeric_dtype(values.dtype):
            out[col] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[col] = values.array
    return out


def churn_features(
    dataset: CustomerData,
    cutoff: Cutoff,
    *,
    clv: bool = True,
    windows: Sequence[int] = (30, 90, 365),
    clv_model: BetaGeoModel | None = None,
) -> pd.DataFrame:
    """One row of churn features per customer, from data dated at or before ``cutoff`` only.

    Parameters
    ----------
    dataset : Dataset
        The data (only its :meth:`~cpm_analysis.data.Dataset.as_of` view at ``cutoff`` is
        read).
    cutoff : str, date or Timestamp
        A period label (its last instant), a date (the end of that day) or an instant.
    clv : bool
        Add the BG/NBD ``p_alive`` and ``expected_purchases_90d`` (needs
        :mod:`cpm_analysis.clv`; the model is fitted on the data at the cutoff).
    windows : sequence of int
        Day windows of the recency/frequency/monetary counts.
    clv_model : BetaGeoModel, optional
        A BG/NBD model already fitted (in weeks) on the summary at ``cutoff``, used instead of
        fitting one, on every engine (without it one model is fitted on the distinct rows of
        the whole summary, :func:`cpm_analysis.clv.summary_rows`).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (every customer signed up at or before the cutoff, in
        customers-table order); the columns of the module docstring. Numbers are float64,
        text attributes keep their dtype. ``attrs["cutoff"]`` is the cutoff. With a Dask
        dataset (any dataset of :mod:`cpm_analysis.data.protocol`) what its
        ``map_customers`` returns: a lazy Dask DataFrame with the same rows and columns
        (partitioned by customer, so in another order).

    Examples
    --------
    >>> X = churn_features(ds, "2024-06", clv=False)
    >>> X.columns[:4].tolist()
    ['tenure_days', 'days_since_first_order', 'days_since_last_order', 'orders_30d']
    """
    if not windows or any(int(w) <= 0 for w in windows):
        raise ValueError(f"windows: expected positive day counts, got {windows!r}")
    windows = sorted({int(w) for w in windows})
    ts = to_cutoff(cutoff)
    view = customer_data(dataset).as_of(ts)
    if clv and clv_model is None:
        # one BG/NBD fit on the whole data (its distinct summary rows), then every bucket
        # scores its customers with it
        from cpm_analysis.clv import BetaGeoModel, fit_on_rows, summary_rows

        clv_model = fit_on_rows(BetaGeoModel(), summary_rows(view, ts))
    return view.map_customers(
        _features_step, cutoff=ts, clv=clv, windows=tuple(windows), clv_model=clv_model
    )


def _features_step(
    view: Any, cutoff: pd.Timestamp, clv: bool, windows: tuple[int, ...], clv_model: Any
) -> pd.DataFrame:
    """Build the features of the customers of one bucket (the whole data for pandas)."""
    ts = cutoff
    customers = view.customers
    ids = customers["customer_id"]
    cut = ts.value
    columns: dict[str, Any] = {
        "tenure_days": (cut - _ns(customers["signup_date"])) / _NS_PER_DAY,
    }
    columns.update(_order_features(view.orders, ids, cut, windows))
    if view.tickets is not None:
        columns.update(_ticket_features(view.tickets, ids, cut))
    if view.surveys is not None:
        columns.update(_survey_features(view.surveys, ids, cut))
    if clv:
        columns.update(clv_features(view.orders, ts, ids, clv_model))
    for name, values in attribute_features(customers, ts).items():
        columns[f"attr_{name}" if name in columns else name] = values
    index = pd.Index(ids.to_numpy(), dtype=ids.dtype, name="customer_id")
    frame = pd.DataFrame(columns, index=index)
    frame.attrs["cutoff"] = ts
    return frame
