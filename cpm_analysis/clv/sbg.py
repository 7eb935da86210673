"""The shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007).

A contract customer renews at the end of every period until they cancel; each customer cancels
at each renewal opportunity with their own probability ``theta ~ Beta(alpha, beta)``, constant
over time. Across customers the contract length ``L`` (in whole periods) then follows the
shifted-beta-geometric distribution

    P(L = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta),     t = 1, 2, ...
    S(t) = P(L > t) = B(alpha, beta + t) / B(alpha, beta),

from "How to project customer retention", Journal of Interactive Marketing 21(1), 2007. The
cohort's retention rate ``r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)``
rises with ``t`` although no customer's own probability changes: the customers likely to cancel
leave first. A customer observed for ``T`` periods contributes ``log P(L = T)`` if their
contract ended at ``T`` and ``log S(T)`` if it is still running, so the log-likelihood of a
table of ``(T, churned)`` rows is evaluated once per distinct row with a weight.

The discounted expected residual lifetime of a customer who has renewed ``n - 1`` times, valued
at the end of period ``n`` just before their next renewal decision (Fader & Hardie 2010,
"Customer-base valuation in a contractual setting: the perils of ignoring heterogeneity",
Marketing Science 29(1), eq. 6), is

    DERL(d | n) = (beta + n - 1) / (alpha + beta + n - 1)
                  * 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d)),

the expected number of further payments, each discounted at ``d`` per period (the first one,
at the renewal, undiscounted). The lifetime value of a contract customer is DERL times the
value of a period.

Examples
--------
>>> from cpm_analysis.clv.sbg import ShiftedBetaGeoModel, rows_from_survivors
>>> rows = rows_from_survivors([1000, 631, 468, 382, 326, 289, 262, 241])  # "regular"
>>> model = ShiftedBetaGeoModel().fit(rows, sample_weight=rows["customers"])
>>> round(model.params_["alpha"], 3), round(model.params_["beta"], 3)
(0.704, 1.182)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import betaln, digamma, hyp2f1, polygamma

from cpm_analysis.clv.base import (
    BaseModel,
    Compressed,
    check_sample_weight,
    compress_rows,
    maximize_likelihood,
)

if TYPE_CHECKING:
    import datetime as dt

    from cpm_analysis.data import Dataset

__all__ = [
    "CONTRACT_PERIODS",
    "PERIOD_DAYS",
    "contract_period_code",
    "ShiftedBetaGeoModel",
    "contract_periods",
    "derl_values",
    "rows_from_survivors",
]

#: Length of a contract period in days, by period code (a month is 365.25 / 12 days).
PERIOD_DAYS = {"W": 7.0, "M": 30.4375, "Q": 91.3125, "Y": 365.25}

Period = Literal["W", "M", "Q", "Y"]

CONTRACT_PERIODS: dict[str, Period] = {"week": "W", "month": "M", "quarter": "Q", "year": "Y"}
"""The contract periods by name (``clv.contract_period``) and their period code."""

PERIOD_UNITS = {"W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}
"""The plural unit of each period code, as holdouts are stated."""


def contract_period_code(value: str) -> Period:
    """Return the period code of a contract period given by name (``"quarter"``) or code (``"Q"``).

    Raises
    ------
    ValueError
        Naming ``contract_period`` and the valid names.

    Examples
    --------
    >>> contract_period_code("quarter"), contract_period_code("M")
    ('Q', 'M')
    >>> contract_period_code("fortnight")
    Traceback (most recent call last):
    ...
    ValueError: contract_period: expected one of 'week', 'month', 'quarter', 'year', got 'fortnight'
    """
    if isinstance(value, str) and value in CONTRACT_PERIODS:
        return CONTRACT_PERIODS[value]
    if isinstance(value, str) and value in PERIOD_DAYS:
        return value  # type: ignore[return-value]
    raise ValueError(
        f"contract_period: expected one of {', '.join(map(repr, CONTRACT_PERIODS))}, got {value!r}"
    )


_COLUMNS = ("T", "churned")


def _check_contract_rows(data: Any, *, what: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """``T`` (whole periods, >= 0) and ``churned`` (0/1) of a contract table as float arrays."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"{what}: expected a DataFrame with columns T and churned (as contract_periods "
            f"returns), got {type(data).__name__}"
        )
    missing = [c for c in _COLUMNS if c not in data.columns]
    if missing:
        raise ValueError(
            f"{what}: missing column(s) {', '.join(repr(c) for c in missing)}; expected T (the "
            "periods observed) and churned (whether the contract ended at T), as returned by "
            "contract_periods"
        )
    T_raw = data["T"]
    if pd.api.types.is_bool_dtype(T_raw) or not pd.api.types.is_numeric_dtype(T_raw):
        raise ValueError(f"{what}: column 'T' must hold whole numbers of periods")
    T = T_raw.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(T) | (T < 0) | (T != np.round(T))
    if bad.any():
        raise ValueError(
            f"{what}: column 'T' has {int(bad.sum())} value(s) that are missing, negative or "
            "not whole numbers of periods"
        )
    c_raw = data["churned"]
    if pd.api.types.is_bool_dtype(c_raw):
        if c_raw.isna().any():
            raise ValueError(f"{what}: column 'churned' has {int(c_raw.isna().sum())} missing")
        churned = c_raw.to_numpy(dtype=np.float64)
    elif pd.api.types.is_numeric_dtype(c_raw):
        churned = c_raw.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isin(churned, (0.0, 1.0))
        if bad.any():
            raise ValueError(
                f"{what}: column 'churned' has {int(bad.sum())} value(s) other than "
                "True/False (or 1/0)"
            )
    else:
        raise ValueError(f"{what}: column 'churned' must be True/False (or 1/0)")
    early = (churned == 1) & (T < 1)
    if early.any():
        raise ValueError(
            f"{what}: {int(early.sum())} churned row(s) have T = 0; a contract that ended "
            "lasted at least one period"
        )
    return T, churned


def rows_from_survivors(survivors: Sequence[float]) -> pd.DataFrame:
    """Return the ``(T, churned)`` rows of one cohort from its survivor counts per period.

    ``survivors[0]`` customers started; ``survivors[t]`` of them were still active in period
    ``t + 1`` (had renewed ``t`` times). The customers lost between ``t - 1`` and ``t`` give a
    row ``T = t, churned = True``; the last count gives ``T = len(survivors) - 1, churned =
    False``. This is the data layout of Fader & Hardie (2007), table 1.

    Parameters
    ----------
    survivors : sequence of numbers
        Non-increasing counts, at least two.

    Returns
    -------
    DataFrame
        Columns ``T``, ``churned`` and ``customers`` (pass it as ``sample_weight``).

    Examples
    --------
    >>> rows_from_survivors([100, 60, 45])
       T  churned  customers
    0  1     True       40.0
    1  2     True       15.0
    2  2    False       45.0
    """
    counts = np.asarray(survivors, dtype=np.float64).ravel()
    if len(counts) < 2:
        raise ValueError("survivors: expected at least two counts (the cohort and one period)")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("survivors: counts must be finite and non-negative")
    lost = counts[:-1] - counts[1:]
    if (lost < 0).any():
        raise ValueError("survivors: counts must not increase (a cohort only loses customers)")
    k = len(counts) - 1
    return pd.DataFrame(
        {
            "T": np.append(np.arange(1, k + 1), k).astype(np.int64),
            "churned": np.append(np.ones(k, dtype=bool), False),
            "customers": np.append(lost, counts[-1]),
        }
    )


def contract_periods(
    customers: pd.DataFrame | Dataset,
    # read with pd.Timestamp (a period label is its first day): not a periods.Cutoff
    cutoff: str | dt.date | np.datetime64 | None = None,
    *,
    period: Period = "M",
) -> pd.DataFrame:
    """One ``(T, churned)`` row per contract customer, from signup dates and contract ends.

    A customer's contract runs from ``signup_date``; it is renewed every ``period`` until
    ``churned_at`` (missing for a running contract). At ``cutoff``:

    - a contract that ended on or before the cutoff lasted ``T = ceil(length / period)``
      periods (at least 1) and has ``churned = True``: the customer paid for ``T`` periods and
      did not renew at the end of the last one;
    - a running contract (or one that ends after the cutoff, which is not yet known then) has
      completed ``T = floor(length to the cutoff / period)`` periods, that is renewed ``T``
      times, and has ``churned = False``.

    Period lengths are fixed: a week is 7 days, a month 30.4375 days (365.25 / 12), a quarter
    91.3125 and a year 365.25 days. Customers who signed up after the cutoff are left out
    (they are not customers at the cutoff; the count is in ``attrs["signed_up_after_cutoff"]``).

    Parameters
    ----------
    customers : DataFrame or Dataset
        ``customer_id``, ``signup_date`` and ``churned_at`` (the contract end; missing while
        the contract runs), as in the customers table of the data contract; or a
        :class:`~cpm_analysis.data.Dataset`, whose ``customers`` table is used.
    cutoff : date-like, optional
        The end of the data: nothing after it is used. Required, except for a dataset view
        from ``Dataset.as_of(cutoff)``, whose cutoff is the default.
    period : {"W", "M", "Q", "Y"}
        The contract period.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` with ``T`` (int) and ``churned`` (bool);
        ``attrs["period"]`` holds ``period``.

    Examples
    --------
    >>> customers = pd.DataFrame({
    ...     "customer_id": [1, 2, 3],
    ...     "signup_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-06-01"]),
    ...     "churned_at": pd.to_datetime(["2024-03-10", None, None]),
    ... })
    >>> rows = contract_periods(customers, "2024-12-31", period="M")
    >>> rows["T"].tolist(), rows["churned"].tolist()
    ([3, 11, 6], [True, False, False])
    """
    match period:
        case "W" | "M" | "Q" | "Y":
            days = PERIOD_DAYS[period]
        case _:
            raise ValueError(
                f"period: expected one of {', '.join(repr(p) for p in PERIOD_DAYS)}, got {period!r}"
            )
    if not isinstance(customers, pd.DataFrame) and isinstance(
        getattr(customers, "customers", None), pd.DataFrame
    ):  # a Dataset
        if cutoff is None:
            cutoff = getattr(customers, "cutoff", None)
        customers = customers.customers
    if not isinstance(customers, pd.DataFrame):
        raise TypeError(
            f"customers: expected the customers table or a Dataset, got {type(customers).__name__}"
        )
    if cutoff is None:
        raise ValueError(
            "cutoff: required (the end of the data), unless customers is a Dataset.as_of view"
        )
    missing = [c for c in ("customer_id", "signup_date", "churned_at") if c not in customers]
    if missing:
        raise ValueError(
            f"customers: missing column(s) {', '.join(repr(c) for c in missing)}; the sBG model "
            "needs customer_id, signup_date and churned_at (the contract end)"
        )
    try:
        cut = pd.Timestamp(cutoff)
    except (TypeError, ValueError):
        raise ValueError(f"cutoff: expected a date, got {cutoff!r}") from None
    if pd.isna(cut):
        raise ValueError(f"cutoff: expected a date, got {cutoff!r}")
    signup = pd.to_datetime(customers["signup_date"], errors="coerce")
    ended = pd.to_datetime(customers["churned_at"], errors="coerce")
    bad_signup = signup.isna()
    if bad_signup.any():
        raise ValueError(
            f"customers: column 'signup_date' has {int(bad_signup.sum())} missing or unparseable "
            "value(s)"
        )
    bad_end = ended.isna() & customers["churned_at"].notna()
    if bad_end.any():
        raise ValueError(
            f"customers: column 'churned_at' has {int(bad_end.sum())} unparseable value(s)"
        )
    before = ended.notna() & (ended < signup)
    if before.any():
        raise ValueError(
            f"customers: column 'churned_at' is before 'signup_date' in {int(before.sum())} row(s)"
        )
    if getattr(signup.dt, "tz", None) is not None and cut.tzinfo is None:
        cut = cut.tz_localize(signup.dt.tz)
    keep = (signup <= cut).to_numpy()
    signup, ended = signup[keep], ended[keep]
    ids = customers["customer_id"].to_numpy()[keep]
    churned = (ended.notna() & (ended <= cut)).to_numpy()
    end = ended.where(churned, cut)
    length = (end - signup).dt.total_seconds().to_numpy() / 86400.0 / days
    # A relative 1e-9 absorbs the rounding of period lengths that are whole numbers of days.
    T = np.where(
        churned,
        np.maximum(np.ceil(length - 1e-9), 1.0),
        np.floor(length + 1e-9),
    ).astype(np.int64)
    out = pd.DataFrame({"T": T, "churned": churned}, index=pd.Index(ids, name="customer_id"))
    out.attrs["period"] = period
    out.attrs["signed_up_after_cutoff"] = int((~keep).sum())
    return out


def _sbg_nll_factory(data: Compressed) -> Callable[[np.ndarray], tuple[float, np.ndarray, Any]]:
    """Total negative log-likelihood, gradient and Hessian of weighted ``(T, churned)`` rows.

    ``log P(L = T) = betaln(alpha + 1, beta + T - 1) - betaln(alpha, beta)`` for a churned row,
    ``log S(T) = betaln(alpha, beta + T) - betaln(alpha, beta)`` for a running one; every
    ``betaln(p, q)`` has derivatives ``psi(p) - psi(p + q)`` and ``psi(q) - psi(p + q)``.
    """
    T = data.columns["T"]
    c = data.columns["churned"]
    w = data.weights
    W = float(w.sum())
    p_off = c  # alpha + 1 for churned rows, alpha for running ones
    q_off = T - c  # beta + T - 1 or beta + T

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        a, b = (np.float64(v) for v in theta)
        p, q = a + p_off, b + q_off
        ll = float(np.dot(w, betaln(p, q))) - W * float(betaln(a, b))
        psi_pq = digamma(p + q)
        psi_ab = digamma(a + b)
        grad = np.array(
            [
                float(np.dot(w, digamma(p) - psi_pq)) - W * float(digamma(a) - psi_ab),
                float(np.dot(w, digamma(q) - psi_pq)) - W * float(digamma(b) - psi_ab),
            ]
        )
        tri_pq = polygamma(1, p + q)
        tri_ab = float(polygamma(1, a + b))
        h_ab = -float(np.dot(w, tri_pq)) + W * tri_ab
        hess = np.array(
            [
                [
                    float(np.dot(w, polygamma(1, p) - tri_pq))
                    - W * (float(polygamma(1, a)) - tri_ab),
                    h_ab,
                ],
                [
                    h_ab,
                    float(np.dot(w, polygamma(1, q) - tri_pq))
                    - W * (float(polygamma(1, b)) - tri_ab),
                ],
            ]
        )
        return -ll, -grad, -hess

    return nll


def derl_values(alpha: float, beta: float, renewals: np.ndarray, d: float) -> np.ndarray:
    """DERL(d | n) of Fader & Hardie (2010) for ``renewals = n - 1``, elementwise.

    ``(beta + n - 1) / (alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n; 1/(1+d))``.
    scipy's ``hyp2f1`` returns NaN when ``beta + n`` or ``alpha`` is large (thousands and
    more); those values are summed from the series instead (:func:`_derl_series`). The BG/BB
    model's DERT uses the same sum over its dropout process.

    Examples
    --------
    >>> derl_values(3.80, 15.20, np.array([0.0, 4.0]), 0.1).round(2)  # F&H 2010, case 1
    array([3.31, 3.84])
    """
    n = np.asarray(renewals, dtype=np.float64) + 1.0
    a, b = float(alpha), float(beta)
    with np.errstate(all="ignore"):
        lead = (b + n - 1.0) / (a + b + n - 1.0)
        values = np.atleast_1d(lead * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + d)))
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        values[bad] = _derl_series(a, b, np.atleast_1d(n)[bad], d)
    return values.reshape(np.shape(n))


def _derl_series(a: float, b: float, n: np.ndarray, d: float) -> np.ndarray:
    """DERL summed term by term: sum over k >= 0 of (1 + d)^-k prod_{j <= k} r(n + j).

    ``r(m) = (b + m - 1) / (a + b + m - 1) < 1``, so each term is at most ``1 / (1 + d)``
    times the one before and the tail after a term is at most that term over ``d``; the sum
    stops when the tail is below ``1e-17`` of the total. Log space keeps every factor finite.

    Examples
    --------
    >>> from scipy.special import hyp2f1
    >>> exact = 0.8 * hyp2f1(1.0, 5.0, 6.0, 1 / 1.1)  # a = 1, b = 4, n = 1
    >>> bool(np.isclose(_derl_series(1.0, 4.0, np.array([1.0]), 0.1)[0], exact))
    True
    """
    n = np.asarray(n, dtype=np.float64)
    log_z = -np.log1p(d)
    total = np.zeros(len(n))
    log_last = np.zeros(len(n))  # log of the product so far (empty product: 1)
    active = np.ones(len(n), dtype=bool)
    start, chunk = 0, 1024
    while active.any():
        j = start + np.arange(chunk, dtype=np.float64)
        m = n[active, None] + j[None, :]
        steps = np.log(b + m - 1.0) - np.log(a + b + m - 1.0) + log_z
        log_terms = log_last[active, None] + np.cumsum(steps, axis=1) - log_z
        terms = np.exp(log_terms)
        total[active] += terms.sum(axis=1)
        log_last[active] = log_terms[:, -1] + log_z
        done = terms[:, -1] / d <= 1e-17 * np.maximum(total[active], 1e-300)
        idx = np.flatnonzero(active)
        active[idx[done]] = False
        start += chunk
        chunk = min(chunk * 2, 1 << 16)
    return total


class ShiftedBetaGeoModel(BaseModel):
    """Shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007).

    Each customer cancels at each renewal with a probability ``theta ~ Beta(alpha, beta)``
    fixed for that customer. The model projects a cohort's survival and retention beyond the
    data and values contract customers by their discounted expected residual lifetime (DERL).
    Time is counted in contract periods (whole numbers); the rates are per period.

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty ``penalizer_coef * (alpha^2 + beta^2)`` added to the mean negative
        log-likelihood per customer.
    initial_params : dict, optional
        Starting values for ``alpha`` and/or ``beta``.
    max_iter : int
        Maximum optimiser iterations.
    tol : float
        Gradient tolerance of the optimiser (on the mean log-likelihood per customer).

    Attributes
    ----------
    params_ : dict
        ``alpha`` and ``beta`` of the beta distribution of the per-period cancellation
        probability; its mean ``alpha / (alpha + beta)`` is the expected churn in period 1.
    log_likelihood_ : float
        Total log-likelihood over customers (weighted rows).
    standard_errors_ : dict
        From the inverse Hessian of the negative log-likelihood at the optimum.
    n_customers_ : int
        Customers fitted (sum of the weights).
    n_distinct_rows_ : int
        Distinct ``(T, churned)`` rows the likelihood was evaluated on.
    converged_ : bool
        Whether the optimiser converged.
    period_ : str or None
        The contract period (``"M"`` ...) when the rows came from :func:`contract_periods`.

    Examples
    --------
    >>> rows = rows_from_survivors([1000, 869, 743, 653, 593, 551, 517, 491])
    >>> model = ShiftedBetaGeoModel().fit(rows, sample_weight=rows["customers"])
    >>> round(model.log_likelihood_, 1)
    -1611.2
    >>> model.survival([1, 12]).round(3)
    array([0.851, 0.378])
    >>> round(float(model.derl(0.1, renewals=0)), 2)
    5.41
    """

    _param_names = ("alpha", "beta")
    _model_name = "sBG"

    def fit(
        self, data: pd.DataFrame, sample_weight: npt.ArrayLike | None = None
    ) -> ShiftedBetaGeoModel:
        """Fit ``alpha`` and ``beta`` by maximum likelihood.

        Parameters
        ----------
        data : DataFrame
            One row per customer, or per group of customers with ``sample_weight``: ``T``
            (whole periods observed) and ``churned`` (True when the contract ended at ``T``,
            False when it was still running after ``T`` periods), as returned by
            :func:`contract_periods` or :func:`rows_from_survivors`.
        sample_weight : array-like, optional
            How many customers each row stands for.

        Returns
        -------
        self

        Examples
        --------
        >>> rows = rows_from_survivors([100, 60, 45, 38])
        >>> ShiftedBetaGeoModel().fit(rows, rows["customers"]).n_customers_
        100
        """
        self._check_init()
        T, churned = _check_contract_rows(data)
        weights = check_sample_weight(sample_weight, len(data))
        comp = compress_rows({"T": T, "churned": churned}, weights, sort=True)
        informative = comp.weights[(comp.columns["T"] > 0)].sum()
        if informative <= 0:
            raise ValueError(
                "data: every row has T = 0 (no renewal decision observed yet); the sBG model "
                "needs customers observed for at least one period"
            )
        if not (comp.weights[comp.columns["churned"] == 1].sum() > 0):
            raise ValueError(
                "data: no contract ended (churned is False everywhere), so the churn "
                "probability is not identified; fit on data with observed contract ends"
            )
        w = comp.weights
        result = maximize_likelihood(
            _sbg_nll_factory(comp),
            self._start({"alpha": 1.0, "beta": 1.0}),
            method="trust-exact",
            n_customers=float(w.sum()),
            names=self._param_names,
            model=self._model_name,
            penalizer_coef=self.penalizer_coef,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        self._store_fit(result, round(float(w.sum())), data)
        self.n_distinct_rows_ = comp.n_rows
        self.period_ = data.attrs.get("period")
        return self

    # -- cohort-level curves --------------------------------------------------------------
    def _ab(self) -> tuple[float, float]:
        self._check_fitted()
        return self.params_["alpha"], self.params_["beta"]

    @staticmethod
    def _periods(t: Any, name: str = "t", minimum: float = 0.0) -> np.ndarray:
        arr = np.asarray(t, dtype=np.float64)
        if np.any(~np.isfinite(arr)) or np.any(arr < minimum):
            raise ValueError(f"{name}: expected finite numbers of periods >= {minimum:g}")
        return arr

    def survival(self, t: float | npt.ArrayLike) -> float | np.ndarray:
        """Share of a new cohort still under contract after ``t`` periods, ``S(t)``.

        ``S(t) = B(alpha, beta + t) / B(alpha, beta)``: the probability of having renewed
        ``t`` times. ``S(0) = 1``.

        Parameters
        ----------
        t : float or array-like
            Periods since signup (non-negative; whole numbers are the renewal instants).

        Returns
        -------
        float or ndarray
            Same shape as ``t``.

        Examples
        --------
        >>> model = ShiftedBetaGeoModel().fit(rows_from_survivors([10, 6, 4]),
        ...                                   [4, 2, 4])
        >>> float(model.survival(0))
        1.0
        """
        a, b = self._ab()
        tt = self._periods(t)
        out = np.exp(betaln(a, b + tt) - betaln(a, b))
        return float(out) if out.ndim == 0 else out

    def retention_rate(self, t: float | npt.ArrayLike) -> float | np.ndarray:
        """Return the expected share of the customers active in period ``t`` who renew at its end.

        ``r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)`` for ``t >= 1``;
        it rises with ``t`` as the customers likely to cancel leave first.

        Parameters
        ----------
        t : float or array-like
            Period number, at least 1.

        Returns
        -------
        float or ndarray
            Same shape as ``t``.

        Examples
        --------
        >>> rows = rows_from_survivors([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> model = ShiftedBetaGeoModel().fit(rows, rows["customers"])
        >>> model.retention_rate([1, 2, 12]).round(3)
        array([0.627, 0.756, 0.945])
        """
        a, b = self._ab()
        tt = self._periods(t, minimum=1.0)
        out = (b + tt - 1.0) / (a + b + tt - 1.0)
        return float(out) if out.ndim == 0 else out

    @staticmethod
    def _check_rate(discount_rate: Any) -> float:
        try:
            d = float(discount_rate)
        except (TypeError, ValueError):
            raise ValueError(
                f"discount_rate: expected a rate per period > 0, got {discount_rate!r}"
            ) from None
        if not np.isfinite(d) or d <= 0:
            raise ValueError(
                f"discount_rate: expected a rate per period > 0 (e.g. 0.1 for 10% a period), "
                f"got {discount_rate!r}; without discounting the expected lifetime can be "
                "infinite"
            )
        return d

    def _derl_values(self, d: float, renewals: np.ndarray) -> np.ndarray:
        """DERL for customers who renewed ``renewals`` times (n - 1), once per distinct value."""
        uniq, inv = np.unique(renewals, return_inverse=True)
        values = derl_values(self.params_["alpha"], self.params_["beta"], uniq, d)
        return values[inv.reshape(renewals.shape)]

    def derl(
        self, discount_rate: float, renewals: npt.ArrayLike = 0, data: pd.DataFrame | None = None
    ) -> float | np.ndarray | pd.Series:
        """Discounted expected residual lifetime (Fader & Hardie 2010, eq. 6), in periods.

        For a customer who has renewed ``n - 1`` times (``renewals = n - 1``), valued at the
        end of period ``n`` just before the next renewal decision:
        ``(beta + n - 1) / (alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n;
        1 / (1 + d))``, the expected number of further payments, each discounted by
        ``1 / (1 + d)`` per period (the first, at the renewal, undiscounted).

        Parameters
        ----------
        discount_rate : float
            Discount rate per contract period (> 0): 0.1 is 10% a period.
        renewals : int or array-like
            Renewals made so far (``n - 1``); 0 for a customer in their first period.
        data : DataFrame, optional
            Customers to value instead (``T``, ``churned`` as from :func:`contract_periods`):
            a running contract that has completed ``T`` periods has renewed ``T`` times; an
            ended contract has no residual lifetime (0).

        Returns
        -------
        float, ndarray or Series
            Shaped like ``renewals``, or a Series ``derl`` indexed like ``data``.

        Examples
        --------
        >>> rows = rows_from_survivors([1000, 869, 743, 653, 593, 551, 517, 491])
        >>> model = ShiftedBetaGeoModel().fit(rows, rows["customers"])
        >>> model.derl(0.1, renewals=[0, 1, 4]).round(2)
        array([5.41, 5.9 , 6.9 ])
        >>> running = pd.DataFrame({"T": [0, 4], "churned": [False, False]})
        >>> model.derl(0.1, data=running).round(2).tolist()
        [5.41, 6.9]
        """
        self._check_fitted()
        d = self._check_rate(discount_rate)
        if data is not None:
            T, churned = _check_contract_rows(data)
            values = np.where(churned == 1, 0.0, self._derl_values(d, T))
            return pd.Series(values, index=data.index, name="derl")
        r = self._periods(renewals, "renewals")
        if np.any(r != np.round(r)):
            raise ValueError("renewals: expected whole numbers of renewals")
        out = self._derl_values(d, np.atleast_1d(r)).reshape(r.shape)
        return float(out) if out.ndim == 0 else out

    def probability_alive(self, data: pd.DataFrame, future_t: float = 0) -> pd.Series:
        """Probability that each customer is still under contract ``future_t`` periods ahead.

        For a running contract that has completed ``T`` periods, ``S(T + future_t) / S(T)``
        (1 for ``future_t = 0``: the contract is observed); 0 for an ended one.

        Parameters
        ----------
        data : DataFrame
            ``T`` and ``churned`` per customer.
        future_t : float
            Periods ahead (non-negative).

        Returns
        -------
        Series
            Named ``probability_alive``, indexed like ``data``.

        Examples
        --------
        >>> model = ShiftedBetaGeoModel().fit(rows_from_survivors([10, 6, 4]), [4, 2, 4])
        >>> model.probability_alive(pd.DataFrame({"T": [2, 2], "churned": [False, True]}))
        0    1.0
        1    0.0
        Name: probability_alive, dtype: float64
        """
        a, b = self._ab()
        T, churned = _check_contract_rows(data)
        f = float(self._periods(future_t, "future_t"))
        with np.errstate(all="ignore"):
            alive = np.exp(betaln(a, b + T + f) - betaln(a, b + T))
        values = np.where(churned == 1, 0.0, alive)
        return pd.Series(values, index=data.index, name="probability_alive")

    def customer_lifetime_value(
        self,
        data: pd.DataFrame,
        value_per_period: float | pd.Series | npt.ArrayLike,
        *,
        discount_rate: float,
    ) -> pd.Series:
        """Residual lifetime value of each contract customer: DERL times the value of a period.

        Parameters
        ----------
        data : DataFrame
            ``T`` and ``churned`` per customer (see :func:`contract_periods`).
        value_per_period : float, array-like or Series
            Margin (or revenue) of one contract period: one number, or a Series aligned on
            ``data``'s index.
        discount_rate : float
            Discount rate per period (> 0).

        Returns
        -------
        Series
            Named ``clv``, in the currency of ``value_per_period``; 0 for ended contracts.

        Examples
        --------
        >>> model = ShiftedBetaGeoModel().fit(rows_from_survivors([10, 6, 4]), [4, 2, 4])
        >>> rows = pd.DataFrame({"T": [0, 5], "churned": [False, True]})
        >>> model.customer_lifetime_value(rows, 20.0, discount_rate=0.1).round(1).tolist()
        [37.0, 0.0]
        """
        derl = self.derl(discount_rate, data=data)
        if isinstance(value_per_period, pd.Series):
            value = value_per_period.reindex(data.index).to_numpy(dtype=np.float64)
        else:
            value = np.asarray(value_per_period, dtype=np.float64)
            if value.ndim == 0:
                value = np.full(len(data), float(value))
        if value.shape != (len(data),) or not np.isfinite(value).all():
            raise ValueError(
                "value_per_period: expected one finite number, or one per customer of data "
                "(a Series indexed like data)"
            )
        return pd.Series(np.asarray(derl, dtype=np.float64) * value, index=data.index, name="clv")
