"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

Each transaction's value is ``Gamma(p, nu)`` with the customer's ``nu ~ Gamma(q, v)``, so a
customer's mean transaction value ``m`` over ``x`` transactions has the density behind the
log-likelihood

    gammaln(p x + q) - gammaln(p x) - gammaln(q) + q log v + (p x - 1) log m + p x log x
    - (p x + q) log(v + m x)

It is fitted on the customers with at least one repeat purchase (``frequency > 0``) and their
mean repeat-transaction value ``monetary_value``, as in the literature. Spend is assumed
independent of purchase frequency; a fit warns when the two are visibly correlated.

Unlike the purchase models the likelihood does not compress (it depends on each customer's
monetary value), so the fit starts from method-of-moments estimates and uses Newton steps with
the analytic Hessian: about ten passes over the data.

Examples
--------
>>> from cpm_analysis.clv import GammaGammaModel
>>> spend = GammaGammaModel().fit(summary)
>>> spend.params_
{'p': 6.25, 'q': 3.74, 'v': 15.44}
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import digamma, gammaln, polygamma

from cpm_analysis.clv.base import (
    BaseModel,
    check_sample_weight,
    check_summary,
    compress_rows,
    maximize_likelihood,
)
from cpm_analysis.clv.base import dot as _dot
from cpm_analysis.i18n import M_

SPEND_COLUMNS = ("frequency", "monetary_value")


def gamma_gamma_eligible(
    summary: pd.DataFrame, sample_weight: npt.ArrayLike | None = None
) -> tuple[np.ndarray, int]:
    """Which customers the Gamma-Gamma model can be fitted on, and how many repeat buyers not.

    The model describes positive transaction values of repeat buyers: a customer is eligible
    with ``frequency > 0`` and ``monetary_value > 0``. Repeat buyers whose mean repeat spend is
    0 or negative (free orders, refunds netted against sales) are *excluded*; one-time buyers
    are neither (the model never uses them). Excluded customers still get an expected spend:
    the population mean, as for one-time buyers (see :meth:`GammaGammaModel.expected_spend`).

    Parameters
    ----------
    summary : DataFrame
        With ``frequency`` and ``monetary_value`` (see :func:`~cpm_analysis.clv.rfm_summary`).
    sample_weight : array-like, optional
        Customers per row; the excluded count is then their sum.

    Returns
    -------
    mask : ndarray of bool
        One per row: eligible for the fit.
    n_excluded : int
        Repeat buyers left out for a non-positive ``monetary_value``.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [2, 1, 0], "monetary_value": [20.0, 0.0, 0.0]})
    >>> mask, n_excluded = gamma_gamma_eligible(s)
    >>> mask.tolist(), n_excluded
    ([True, False, False], 1)
    """
    cols = check_summary(summary, SPEND_COLUMNS, allow_negative=("monetary_value",))
    weights = check_sample_weight(sample_weight, len(summary))
    repeat = cols["frequency"] > 0
    if weights is not None:
        repeat &= weights > 0
    positive = cols["monetary_value"] > 0
    left_out = repeat & ~positive
    n_excluded = int(left_out.sum()) if weights is None else round(float(weights[left_out].sum()))
    return repeat & positive, n_excluded


def _moments_start(x: np.ndarray, m: np.ndarray, w: np.ndarray | None = None) -> dict[str, float]:
    """Method-of-moments values of (p, q, v) from E[m], E[m^2] and E[log m].

    Given nu, ``m ~ Gamma(p x, nu x)``, so ``E[m] = p v / (q-1)``,
    ``E[m^2] ~ (p^2 + p E[1/x]) v^2 / ((q-1)(q-2))`` and
    ``E[log m] = E[digamma(p x) - log x] - digamma(q) + log v``; for each p on a grid the first
    two give q and v, and the third picks p.
    """
    fallback = {"p": 2.0, "q": 3.0, "v": float(np.average(m, weights=w)) if len(m) else 1.0}
    if len(m) < 3:
        return fallback
    m1, m2 = float(np.average(m, weights=w)), float(np.average(m * m, weights=w))
    h1 = float(np.average(1.0 / x, weights=w))
    mean_log = float(np.average(np.log(m), weights=w))
    xu, xi = np.unique(x, return_inverse=True)
    counts = np.bincount(xi, weights=w, minlength=len(xu))
    share = counts / counts.sum()
    ratio = m2 / m1**2
    p_grid = np.geomspace(0.05, 500.0, 121)
    k = ratio / (1.0 + h1 / p_grid)
    valid = k > 1.0
    if not valid.any():
        return fallback
    p_grid, k = p_grid[valid], k[valid]
    q = (2.0 * k - 1.0) / (k - 1.0)
    v = m1 * (q - 1.0) / p_grid
    expected_log = (digamma(np.outer(p_grid, xu)) - np.log(xu)) @ share - digamma(q) + np.log(v)
    resid = np.abs(expected_log - mean_log)
    best = int(np.argmin(resid))
    if not np.isfinite(resid[best]):
        return fallback
    return {"p": float(p_grid[best]), "q": float(q[best]), "v": float(v[best])}


def _gg_nll_factory(
    x: np.ndarray, m: np.ndarray, w: np.ndarray | None = None
) -> Callable[[np.ndarray], tuple[Any, ...]]:
    """Total negative log-likelihood, gradient and Hessian in (p, q, v).

    ``w`` weights the rows (customers per distinct row); without it every row counts once.
    """
    n = float(len(x)) if w is None else float(w.sum())
    xu, xi = np.unique(x, return_inverse=True)
    cnt = np.bincount(xi, weights=w, minlength=len(xu)).astype(np.float64)
    mx = m * x
    log_m = np.log(m)
    wx = x if w is None else w * x  # the weight of each row's x-scaled terms

    def total(values: np.ndarray) -> float:
        return float(values.sum()) if w is None else _dot(w, values)

    const_p = _dot(wx, log_m + np.log(x))  # sum x (log m + log x)
    sum_log_m = total(log_m)

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        p, q, v = (np.float64(t) for t in theta)
        y = mx + v
        log_y = np.log(y)
        inv = 1.0 / y
        inv2 = inv * inv
        s_xl, s_l = _dot(wx, log_y), total(log_y)
        s_xi, s_i = _dot(wx, inv), total(inv)
        s_xi2, s_i2 = _dot(wx, inv2), total(inv2)
        px = p * xu
        ll = (
            _dot(cnt, gammaln(px + q) - gammaln(px))
            - n * gammaln(q)
            + n * q * np.log(v)
            + p * const_p
            - sum_log_m
            - p * s_xl
            - q * s_l
        )
        psi_pq, psi_p = digamma(px + q), digamma(px)
        grad = np.array(
            [
                _dot(cnt * xu, psi_pq - psi_p) + const_p - s_xl,
                _dot(cnt, psi_pq) - n * digamma(q) + n * np.log(v) - s_l,
                n * q / v - p * s_xi - q * s_i,
            ]
        )
        tri_pq, tri_p = polygamma(1, px + q), polygamma(1, px)
        h = np.empty((3, 3))
        h[0, 0] = _dot(cnt * xu * xu, tri_pq - tri_p)
        h[0, 1] = h[1, 0] = _dot(cnt * xu, tri_pq)
        h[0, 2] = h[2, 0] = -s_xi
        h[1, 1] = _dot(cnt, tri_pq) - n * polygamma(1, q)
        h[1, 2] = h[2, 1] = n / v - s_i
        h[2, 2] = -n * q / v**2 + p * s_xi2 + q * s_i2
        return -ll, -grad, -h

    return nll


class GammaGammaModel(BaseModel):
    """Gamma-Gamma model of the average transaction value.

    Fitted on the customers with ``frequency > 0`` only (one-time buyers have no repeat
    transaction whose value the model describes) and a positive ``monetary_value``: repeat
    buyers without positive spend are left out of the fit (see :func:`gamma_gamma_eligible`),
    counted in ``n_excluded_`` and valued at the population mean spend.

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty ``penalizer_coef * (p^2 + q^2 + v^2)`` added to the mean negative
        log-likelihood per customer.
    initial_params : dict, optional
        Starting values for some or all of ``p, q, v``; default method-of-moments estimates.
    max_iter : int
        Maximum Newton iterations.
    tol : float
        Gradient tolerance (on the mean log-likelihood per customer).
    exclude_nonpositive : bool
        True (the default): repeat buyers with ``monetary_value <= 0`` are left out of the fit,
        counted in ``n_excluded_``, named in ``fit_warnings_`` and in a ``UserWarning``, and
        valued at the population mean spend. False: they are an error (as in ``lifetimes``).

    Attributes
    ----------
    params_ : dict
        ``p`` (shape of a transaction's value), ``q`` and ``v`` (shape and rate of the
        customers' scale ``nu``); the mean transaction value in the population is
        ``p v / (q - 1)``.
    log_likelihood_, standard_errors_, n_customers_, converged_, fit_message_, at_boundary_, fit_warnings_
        As for :class:`~cpm_analysis.clv.BetaGeoModel`; ``n_customers_`` counts the repeat
        buyers fitted.
    n_excluded_ : int
        Repeat buyers left out for a non-positive ``monetary_value`` (always 0
        with ``exclude_nonpositive=False``, which raises instead).
    observed_mean_spend_ : float
        Mean ``monetary_value`` of the fitted repeat buyers; the population mean spend when the
        fit has ``q <= 1`` (where the model's own mean ``p v / (q - 1)`` is infinite).

    Examples
    --------
    >>> from cpm_analysis.clv import GammaGammaModel
    >>> spend = GammaGammaModel().fit(summary)
    >>> spend.expected_spend(summary).head(3).round(2)
    customer_id
    4     24.65
    21    18.91
    50    35.17
    Name: expected_spend, dtype: float64
    """

    _param_names = ("p", "q", "v")
    _model_name = "Gamma-Gamma"
    _method = "trust-exact"

    def __init__(
        self,
        *,
        penalizer_coef: float = 0.0,
        initial_params: dict[str, float] | None = None,
        max_iter: int = 1000,
        tol: float = 1e-8,
        exclude_nonpositive: bool = True,
    ) -> None:
        super().__init__(
            penalizer_coef=penalizer_coef, initial_params=initial_params, max_iter=max_iter, tol=tol
        )
        self.exclude_nonpositive = exclude_nonpositive

    def _diagnostic_extras(self) -> dict[str, Any]:
        return {"excluded": int(self.n_excluded_)}

    def fit(
        self, summary: pd.DataFrame, sample_weight: npt.ArrayLike | None = None
    ) -> GammaGammaModel:
        """Fit on the repeat buyers of a customer summary.

        Parameters
        ----------
        summary : DataFrame
            With ``frequency`` and ``monetary_value`` (see
            :func:`~cpm_analysis.clv.rfm_summary`); rows with ``frequency == 0`` are ignored.
        sample_weight : array-like, optional
            How many customers each row stands for (the counts of distinct rows, as the Dask
            engine fits them); without it every row is one customer.

        Returns
        -------
        self

        Examples
        --------
        >>> spend = GammaGammaModel().fit(summary)
        >>> spend.n_customers_  # repeat buyers only
        946
        """
        self._check_init()
        exclude = bool(self.exclude_nonpositive)
        cols = check_summary(
            summary, SPEND_COLUMNS, allow_negative=("monetary_value",) if exclude else ()
        )
        weights = check_sample_weight(sample_weight, len(summary))
        if not (cols["frequency"] > 0).any():
            raise ValueError(
                "summary: no customer has frequency > 0; the Gamma-Gamma model needs repeat buyers"
            )
        repeat, n_excluded = gamma_gamma_eligible(summary, weights)
        if n_excluded and not exclude:
            bad = int(((cols["frequency"] > 0) & (cols["monetary_value"] <= 0)).sum())
            raise ValueError(
                f"summary: column 'monetary_value' is 0 or negative in {bad} row(s) "
                "with frequency > 0; the Gamma-Gamma model needs positive spend (pass "
                "exclude_nonpositive=True to fit the others and give these customers the "
                "population mean spend)"
            )
        x, m = cols["frequency"][repeat], cols["monetary_value"][repeat]
        w = None if weights is None else weights[repeat]
        if len(x) == 0:
            raise ValueError(
                "summary: no repeat buyer has a positive 'monetary_value'; the Gamma-Gamma model "
                "needs positive spend"
            )
        if len(x) > 2 and np.std(x) > 0 and np.std(m) > 0:
            if w is None:
                corr = float(np.corrcoef(x, m)[0, 1])
            else:
                c = np.cov(x, m, aweights=w)
                corr = float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]))
            if abs(corr) > 0.3:
                warnings.warn(
                    f"Gamma-Gamma assumes spend is independent of frequency, but their "
                    f"correlation among repeat buyers is {corr:.2f}",
                    UserWarning,
                    stacklevel=2,
                )
        # Fit the distinct (frequency, monetary_value) rows, sorted, with their counts: a fit
        # on a summary and on its distinct rows with weights then see identical data.
        data = compress_rows({"frequency": x, "monetary_value": m}, w, sort=True)
        xd, md, wd = data.columns["frequency"], data.columns["monetary_value"], data.weights
        start = self._start(_moments_start(xd, md, wd))
        n_repeat = float(wd.sum())
        result = maximize_likelihood(
            _gg_nll_factory(xd, md, wd),
            start,
            method=self._method,
            n_customers=n_repeat,
            names=self._param_names,
            model=self._model_name,
            penalizer_coef=self.penalizer_coef,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        self._store_fit(result, round(n_repeat), summary)
        self.n_excluded_ = int(n_excluded)
        if n_excluded:
            sentence = M_(
                "The Gamma-Gamma model left out %(n)s repeat buyer(s) whose mean spend is 0 or "
                "negative; they are valued at the population mean spend.",
                n=n_excluded,
            )
            self.fit_warnings_.append(sentence)
            warnings.warn(sentence, UserWarning, stacklevel=2)
        p, q, v = (self.params_[k] for k in self._param_names)
        self.observed_mean_spend_ = float(np.average(md, weights=wd))
        if q <= 1.0:
            self.fit_warnings_.append(
                M_(
                    "The Gamma-Gamma fit has q = %(q)s <= 1, for which the model's mean spend is "
                    "infinite (a heavy tail of large orders); customers without repeat "
                    "purchases are valued at the observed mean spend of the repeat buyers "
                    "(%(mean)s) instead.",
                    q=f"{q:.3g}",
                    mean=f"{self.observed_mean_spend_:.4g}",
                )
            )
            warnings.warn(
                f"Gamma-Gamma q = {q:.3g} <= 1: the mean spend in the population is infinite; "
                "customers without repeat purchases get the observed mean spend of the repeat "
                "buyers instead; check the monetary values for outliers",
                UserWarning,
                stacklevel=2,
            )
        self._fitted_index = summary.index[repeat]
        self._fitted = {"frequency": x, "monetary_value": m}
        return self

    def expected_spend(
        self,
        summary: pd.DataFrame | npt.ArrayLike | None = None,
        monetary_value: npt.ArrayLike | None = None,
    ) -> pd.Series:
        """Conditional expected average transaction value per customer.

        ``E[M | x, m] = p (v + m x) / (p x + q - 1)``: a weighted average of the population mean
        ``p v / (q - 1)`` and the customer's own mean ``m``, with more weight on ``m`` the more
        transactions it rests on. Customers with ``frequency == 0``, or with a ``monetary_value``
        of 0 or less (left out of the fit), get the population mean :meth:`mean_spend`; every
        value is finite.
        Same as ``lifetimes``' ``conditional_expected_average_profit(frequency, monetary)``.

        Parameters
        ----------
        summary : DataFrame or array-like, optional
            A summary with ``frequency`` and ``monetary_value``; or the frequencies, with the
            monetary values as the second argument; default the fitted repeat buyers.
        monetary_value : array-like, optional
            The mean repeat-transaction values when ``summary`` holds frequencies.

        Returns
        -------
        Series
            Named ``expected_spend``.

        Examples
        --------
        >>> spend = GammaGammaModel().fit(summary)
        >>> spend.expected_spend(summary).head(3).round(2)
        customer_id
        4     24.65
        21    18.91
        50    35.17
        Name: expected_spend, dtype: float64
        >>> spend.expected_spend([2, 0], [30.0, 0.0])
        0    30.930809
        1    35.170371
        Name: expected_spend, dtype: float64
        """
        self._check_fitted()
        if summary is None:
            index, cols = self._fitted_index, self._fitted
        elif isinstance(summary, pd.DataFrame):
            index = summary.index
            cols = check_summary(
                summary, SPEND_COLUMNS, allow_empty=True, allow_negative=("monetary_value",)
            )
        else:
            if monetary_value is None:
                raise ValueError("monetary_value: needed when the first argument holds frequencies")
            index = summary.index if isinstance(summary, pd.Series) else None
            frame = pd.DataFrame(
                {
                    "frequency": np.asarray(summary, dtype=np.float64).ravel(),
                    "monetary_value": np.asarray(monetary_value, dtype=np.float64).ravel(),
                }
            )
            cols = check_summary(
                frame, SPEND_COLUMNS, allow_empty=True, allow_negative=("monetary_value",)
            )
            index = frame.index if index is None else index
        p, q, v = (self.params_[k] for k in self._param_names)
        x, m = cols["frequency"], cols["monetary_value"]
        own = (x > 0) & (m > 0)
        denominator = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            values = p * (v + m * x) / denominator
        # q <= 1 leaves E[M | x, m] infinite for p x <= 1 - q: the customer's own mean then
        values = np.where(denominator > 0, values, m)
        values = np.where(own, values, self.mean_spend())
        return pd.Series(values, index=index, name="expected_spend")

    def mean_spend(self) -> float:
        """Return the population mean transaction value ``p v / (q - 1)``.

        When the fit has ``q <= 1`` that mean is infinite; the observed mean spend of the fitted
        repeat buyers (``observed_mean_spend_``) is returned instead, so that every value stays
        a number (``fit_warnings_`` says so).

        Examples
        --------
        >>> spend = GammaGammaModel().fit(summary)
        >>> round(spend.mean_spend(), 1)
        35.2
        """
        self._check_fitted()
        p, q, v = (self.params_[k] for k in self._param_names)
        return float(p * v / (q - 1.0)) if q > 1 else float(self.observed_mean_spend_)
