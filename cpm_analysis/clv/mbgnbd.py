"""The MBG/NBD purchase model (Batislam, Denizel & Filiztekin 2007).

"Empirical validation and comparison of models for customer base analysis", International
Journal of Research in Marketing 24(3), 2007. As in BG/NBD, an active customer buys at a
Poisson rate ``lambda ~ Gamma(r, alpha)`` and may drop out, with probability
``p ~ Beta(a, b)``, after each purchase; MBG/NBD also lets them drop out at time zero, right
after the first purchase. So a customer without repeat purchases is not assumed to be alive,
which BG/NBD does (its P(alive) is 1 for every one-time buyer). The likelihood of a customer
with ``x`` repeat purchases, the last at ``t_x``, observed for ``T``, is

    L = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x+1) / B(a, b)
        * [ (alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x) ]

(the same expression as ``lifetimes``' ``ModifiedBetaGeoFitter``), evaluated in log space with
an analytic gradient. The predictions, with ``z = t / (alpha + T + t)``:

    P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))
    E[Y(t) | x, t_x, T] = P(alive) (a+b+x)/(a-1)
                          [1 - (1-z)^(a-1) 2F1(a+b-r, a-1; a+b+x; z)]
    E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^(a-1) 2F1(a+b-r, a-1; a+b; t/(alpha+t))]

where Euler's transformation has turned the published ``(1-z)^(r+x) 2F1(r+x, b+x+1; a+b+x;
z)`` into a form whose parameters stay small for any frequency (Wagner & Hoppe 2008 give the
conditional expectation).

Examples
--------
>>> import pandas as pd
>>> from cpm_analysis.clv import ModifiedBetaGeoModel
>>> from cpm_analysis.data import cdnow_dir
>>> summary = pd.read_csv(cdnow_dir() / "cdnow_customers_summary.csv", index_col="ID")
>>> model = ModifiedBetaGeoModel().fit(summary)
>>> {k: round(v, 3) for k, v in model.params_.items()}
{'r': 0.525, 'alpha': 6.183, 'a': 0.891, 'b': 1.614}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats
from scipy.special import betaincinv, betaln, digamma, gammaln, hyp2f1

from cpm_analysis.clv.base import Compressed
from cpm_analysis.clv.base import dot as _dot
from cpm_analysis.clv.bgnbd import BetaGeoModel

__all__ = ["ModifiedBetaGeoModel"]

# Below this many customers predictions skip the distinct-row compression.


def _mbgnbd_nll_factory(data: Compressed) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Total negative log-likelihood and its gradient over weighted distinct rows.

    With ``d = log(a/(b+x)) + (r+x) log((alpha+T)/(alpha+t_x))`` the log-likelihood of a row is

        gammaln(r+x) - gammaln(r) + r log(alpha) + betaln(a, b+x+1) - betaln(a, b)
        - (r+x) log(alpha+T) + softplus(d)

    and ``expit(d)`` is the derivative of the softplus.
    """
    w = data.weights
    x = data.columns["frequency"]
    tx = data.columns["recency"]
    T = data.columns["T"]
    W = float(w.sum())

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = (np.float64(v) for v in theta)
        log_aT = np.log(alpha + T)
        gap = log_aT - np.log(alpha + tx)  # >= 0
        rx = r + x
        d = np.log(a) - np.log(b + x) + rx * gap
        soft = np.logaddexp(0.0, d)
        sig = np.exp(d - soft)  # expit(d)
        ll = _dot(w, gammaln(rx) + betaln(a, b + x + 1.0) - rx * log_aT + soft) + W * (
            r * np.log(alpha) - gammaln(r) - betaln(a, b)
        )
        dinv = 1.0 / (alpha + T) - 1.0 / (alpha + tx)
        psi_abx = digamma(a + b + x + 1.0)
        grad = np.array(
            [
                _dot(w, digamma(rx) - log_aT + sig * gap) + W * (np.log(alpha) - digamma(r)),
                W * r / alpha - _dot(w, rx / (alpha + T) - sig * rx * dinv),
                _dot(w, sig / a - psi_abx) + W * (digamma(a + b)),
                _dot(w, digamma(b + x + 1.0) - psi_abx - sig / (b + x))
                + W * (digamma(a + b) - digamma(b)),
            ]
        )
        # d/da betaln(a, b) = psi(a) - psi(a+b): psi(a) cancels between the two beta functions
        return -ll, -grad

    return nll


def _bracket_by_quantiles(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: np.ndarray,
    x: np.ndarray,
    T: np.ndarray,
    nodes: int = 256,
) -> np.ndarray:
    """Integrate the MBG/NBD expectation numerically, where ``hyp2f1`` fails.

    The integral is E[(1 - (1 + p u)^-(r+x)) / p] over p ~ Beta(a, b+x+1), u = t/(alpha+T), by
    the midpoint rule in probability space: the mean of the integrand at the beta quantiles of
    (j + 1/2) / nodes. The integrand is bounded and smooth in p, so the rule is accurate
    however concentrated the beta distribution is; it is only used where ``hyp2f1`` fails.

    Examples
    --------
    >>> one = np.array([1.0])
    >>> exact = 5.5 / 1.5 * (1 - hyp2f1(2, 4, 5.5, 1 / 3) * (2 / 3) ** 2)  # lifetimes' form
    >>> approx = _bracket_by_quantiles(1.0, 1.0, 2.5, 2.0, one, one, one)[0]
    >>> bool(abs(approx - exact) < 1e-4 * exact)
    True
    """
    q = (np.arange(nodes) + 0.5) / nodes
    xu, xi = np.unique(x, return_inverse=True)  # the quantiles depend on x only
    p = betaincinv(a, b + xu[:, None] + 1.0, q[None, :])[xi.reshape(-1)]
    u = (t / (alpha + T))[:, None]
    k = (r + x)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h = -np.expm1(-k * np.log1p(p * u)) / p
    h = np.where(p > 0, h, k * u)  # the limit at p = 0
    return h.mean(axis=1)


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD (modified beta-geometric / negative binomial) model of repeat purchases.

    The interface is :class:`~cpm_analysis.clv.BetaGeoModel`'s: fit on an
    :func:`~cpm_analysis.clv.rfm_summary` (with ``sample_weight`` for distinct rows), then
    :meth:`expected_purchases`, :meth:`expected_purchases_over`, :meth:`probability_alive`,
    :meth:`expected_purchases_new_customer` and :meth:`probability_of_n_purchases`;
    :func:`~cpm_analysis.clv.customer_lifetime_value` and
    :func:`~cpm_analysis.clv.calibration_holdout_report` accept it like the other purchase
    models.

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty ``penalizer_coef * (r^2 + alpha^2 + a^2 + b^2)`` added to the mean negative
        log-likelihood per customer (as in ``lifetimes``).
    initial_params : dict, optional
        Starting values for some or all of ``r, alpha, a, b``.
    max_iter : int
        Maximum optimiser iterations.
    tol : float
        Gradient tolerance of the optimiser (on the mean log-likelihood per customer).

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha`` (purchase rate ~ Gamma(r, alpha), per time unit of the summary), ``a``,
        ``b`` (dropout probability ~ Beta(a, b), at time zero and after each purchase).
    log_likelihood_ : float
        Total log-likelihood over customers.
    standard_errors_ : dict
        From the inverse Hessian of the negative log-likelihood.
    n_customers_ : int
        Customers fitted.
    n_distinct_rows_ : int
        Distinct ``(frequency, recency, T)`` rows the likelihood was evaluated on.
    converged_ : bool
        Whether the optimiser converged.
    time_unit_ : str or None
        ``"W"`` or ``"D"`` when the summary came from :func:`~cpm_analysis.clv.rfm_summary`.

    Examples
    --------
    >>> import pandas as pd
    >>> from cpm_analysis.data import cdnow_dir
    >>> summary = pd.read_csv(cdnow_dir() / "cdnow_customers_summary.csv", index_col="ID")
    >>> model = ModifiedBetaGeoModel().fit(summary)
    >>> round(model.log_likelihood_, 1)
    -9582.1
    >>> model.probability_alive().loc[[1, 2]].round(3).tolist()
    [0.706, 0.171]
    >>> model.expected_purchases(39).loc[[1, 2]].round(3).tolist()
    [1.263, 0.189]
    """

    # BG/NBD's plumbing (expected purchases over many horizons, P(alive) from the likelihood's
    # denominator) is inherited; the likelihood, the bracket and the new-customer curve are MBG's.
    _param_names = ("r", "alpha", "a", "b")
    _model_name = "MBG/NBD"
    _method = "L-BFGS-B"  # the likelihood gives a gradient, not BG/NBD's exact Hessian

    def _default_start(self, data: Compressed) -> dict[str, float]:
        mean_x = float(np.average(data.columns["frequency"], weights=data.weights))
        mean_t = float(np.average(data.columns["T"], weights=data.weights))
        alpha = float(np.clip(mean_t / max(mean_x, 1e-2), 1e-3, 1e6)) if mean_t > 0 else 1.0
        return {"r": 1.0, "alpha": alpha, "a": 1.0, "b": 1.0}

    def _nll_factory(self, data: Compressed) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        return _mbgnbd_nll_factory(data)

    # -- predictions -----------------------------------------------------------------------
    def _log_denominator(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log(1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), in log space."""
        r, alpha, a, b = self._theta()
        inner = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return np.logaddexp(0.0, inner)

    def _bracket(self, t: Any, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """(a+b+x)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-r, a-1; a+b+x; z)], z = t/(alpha+T+t).

        This is E[(1 - (1 + p u)^-(r+x)) / p] over p ~ Beta(a, b+x+1) with
        u = t / (alpha + T): the expected purchases of a customer alive at T, so it lies in
        [0, (r+x) u]. Where scipy's ``hyp2f1`` overflows or loses its accuracy (extreme
        parameters, e.g. a or b in the thousands and beyond) the value falls outside that
        range and is computed from the expectation instead (:func:`_bracket_by_quantiles`).
        """
        r, alpha, a, b = self._theta()
        a_ = 1.0 + 1e-7 if abs(a - 1.0) < 1e-7 else a  # removable singularity at a = 1
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), np.shape(x))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log1mz = np.log(alpha + T) - np.log(alpha + T + t)  # log(1 - z)
            z = -np.expm1(log1mz)
            c = a_ + b + x
            f = hyp2f1(a_ + b - r, a_ - 1.0, c, z)
            out = c / (a_ - 1.0) * -np.expm1((a_ - 1.0) * log1mz + np.log(f))
            upper = (r + x) * t / (alpha + T)
        out = np.where(t > 0, out, 0.0)
        bad = ~np.isfinite(out) | (out < -1e-9 * upper) | (out > upper * (1 + 1e-9))
        if bad.any():
            out = out.copy()
            out[bad] = _bracket_by_quantiles(r, alpha, a, b, t[bad], x[bad], T[bad])
        return np.clip(out, 0.0, np.where(np.isfinite(upper), upper, np.inf))

    def _expected_new(self, t: np.ndarray) -> np.ndarray:
        # b/(a-1)[...] is the conditional bracket at x = 0, T = 0 times P(alive) = b/(a+b).
        _, _, a, b = self._theta()
        zeros = np.zeros_like(t)
        return self._bracket(t, zeros, zeros) * (b / (a + b))

    def probability_of_n_purchases(self, t: float, n: npt.ArrayLike) -> float | np.ndarray:
        """P(X(t) = n): probability that a new customer makes ``n`` repeat purchases in ``t``.

        ``B(a, b+n+1)/B(a, b) NB(n; r, alpha/(alpha+t)) + B(a+1, b+n)/B(a, b) P(NB >= n)``,
        with the negative binomial terms from :mod:`scipy.stats.nbinom` (``lifetimes``'
        ``probability_of_n_purchases_up_to_time``).

        Parameters
        ----------
        t : float
            Time since the first purchase, in the fitted time unit.
        n : int or array-like of int
            Numbers of repeat purchases.

        Examples
        --------
        >>> import pandas as pd
        >>> from cpm_analysis.data import cdnow_dir
        >>> summary = pd.read_csv(cdnow_dir() / "cdnow_customers_summary.csv", index_col="ID")
        >>> model = ModifiedBetaGeoModel().fit(summary)
        >>> round(float(model.probability_of_n_purchases(39, np.arange(200)).sum()), 6)
        1.0
        """
        self._check_fitted()
        r, alpha, a, b = self._theta()
        nn = np.asarray(n, dtype=np.float64)
        if np.any(nn < 0) or np.any(nn != np.round(nn)):
            raise ValueError("n: expected non-negative whole numbers of purchases")
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"t: expected a non-negative finite time, got {t!r}")
        prob = alpha / (alpha + t)
        head = np.exp(betaln(a, b + nn + 1.0) - betaln(a, b)) * stats.nbinom.pmf(nn, r, prob)
        tail = np.exp(betaln(a + 1.0, b + nn) - betaln(a, b)) * stats.nbinom.sf(nn - 1, r, prob)
        out = head + tail
        return float(out) if out.ndim == 0 else out
