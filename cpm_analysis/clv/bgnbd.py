"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While active a customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)``; after each repeat
purchase they drop out with probability ``p ~ Beta(a, b)``. The likelihood of a customer with
``x`` repeat purchases, the last at ``t_x``, observed for ``T`` is

    L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+t_x)^(r+x))

evaluated in log space (``gammaln``, ``betaln``, ``logaddexp``) with an analytic gradient.

Examples
--------
>>> from cpm_analysis.clv import BetaGeoModel, rfm_summary
>>> model = BetaGeoModel().fit(summary)
>>> {name: round(value, 4) for name, value in model.params_.items()}
{'r': 0.2426, 'alpha': 4.4136, 'a': 0.7929, 'b': 2.4259}
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats
from scipy.linalg import eigh_tridiagonal
from scipy.special import (
    betaln,
    digamma,
    gammaln,
    hyp2f1,
    polygamma,
)

from cpm_analysis.clv.base import Compressed, PurchaseModel, compress_rows
from cpm_analysis.clv.base import dot as _dot

# Below this many customers predictions skip the distinct-row compression.
_COMPRESS_MIN = 20_000


class BetaGeoModel(PurchaseModel):
    """BG/NBD (beta-geometric / negative binomial) model of repeat purchases.

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty ``penalizer_coef * (r^2 + alpha^2 + a^2 + b^2)`` added to the mean negative
        log-likelihood per customer (as in ``lifetimes``); try 0.001-0.1 when a fit does not
        converge.
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
        ``b`` (dropout probability ~ Beta(a, b)).
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
    fit_message_ : str
        Why the optimiser stopped, in words (for a fit that did not converge, what went wrong).
    at_boundary_ : tuple of str
        Parameters the fit pushed below 1e-6 or above 1e6 (e.g. ``("b",)``: b -> infinity).
    no_dropout_ : bool
        No dropout was detectable: P(alive) >= 0.99 for 99 % of the repeat buyers, or ``a``
        went to 0 or ``b`` to infinity; the model then says nearly everyone is active.
    fit_warnings_ : list of str
        One plain-language sentence per problem of the fit (not converged, parameters at a
        bound, no dropout), for a report page; empty for a healthy fit. :meth:`diagnostics`
        gives all of these as a JSON-able dict.
    time_unit_ : str or None
        ``"W"`` or ``"D"`` when the summary came from :func:`~cpm_analysis.clv.rfm_summary`.

    Notes
    -----
    Every prediction is finite at every parameter, including the boundaries: the conditional
    expectation is computed by :func:`_bgnbd_bracket`, which uses the no-dropout limit where the
    dropout is negligible (a -> 0, b -> infinity), the paper's closed form where scipy's 2F1
    returns a value within the expectation's analytic bounds, and Gauss quadrature over the
    dropout probability elsewhere (e.g. a + b < 1 for one-time buyers, huge a and b). Its
    relative accuracy is about 1e-5 or better while ``t / (alpha + T)`` is below 100.

    Examples
    --------
    >>> from cpm_analysis.clv import BetaGeoModel, rfm_summary
    >>> summary = rfm_summary(cdnow.orders, observation_end="1998-06-30")
    >>> model = BetaGeoModel().fit(summary)
    >>> model.expected_purchases(52).head(3).round(3)
    customer_id
    4     1.202
    21    0.120
    50    0.148
    Name: expected_purchases, dtype: float64
    >>> model.probability_alive().head(3).round(3)
    customer_id
    4     0.661
    21    0.167
    50    1.000
    Name: probability_alive, dtype: float64
    """

    _param_names = ("r", "alpha", "a", "b")
    _dropout_limits = {"a": "low", "b": "high"}
    _model_name = "BG/NBD"
    _method = "trust-exact"

    def _default_start(self, data: Compressed) -> dict[str, float]:
        mean_x = float(np.average(data.columns["frequency"], weights=data.weights))
        mean_t = float(np.average(data.columns["T"], weights=data.weights))
        alpha = float(np.clip(mean_t / max(mean_x, 1e-2), 1e-3, 1e6)) if mean_t > 0 else 1.0
        return {"r": 1.0, "alpha": alpha, "a": 1.0, "b": 1.0}

    def _nll_factory(self, data: Compressed) -> Callable[[np.ndarray], tuple[Any, ...]]:
        return _bgnbd_nll_factory(data)

    # -- predictions ---------------------------------------------------------------------
    def _log_denominator(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log(1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), computed in log space."""
        r, alpha, a, b = self._theta()
        pos = x > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = (
                np.log(a)
                - np.log(b + np.maximum(x, 1.0) - 1.0)
                + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
            )
        return np.where(pos, np.logaddexp(0.0, inner), 0.0)

    def _bracket(self, t: Any, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """E[purchases in (T, T+t] | alive at T], finite at every parameter.

        With ``k = t/(alpha+T)``, ``n = r+x`` and ``h(p) = (1 - (1+p k)^-n) / p`` (the expected
        purchases of a customer with dropout probability ``p``, the purchase rate integrated
        out) this is ``E[h(p)]`` for ``p ~ Beta(a, b+x)``, which the paper writes as
        ``(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]``.
        It lies between ``n k (1 - eps)`` and ``n k`` with ``eps = a/(a+b+x) (n+1) k/2``
        (and above ``h(1)``), bounds that :func:`_bgnbd_bracket` uses to choose its method.
        """
        r, alpha, a, b = self._theta()
        return _bgnbd_bracket(np.asarray(t, dtype=np.float64), x, T, r, alpha, a, b)

    def _expected_many(
        self, times: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        alive = np.exp(-self._log_denominator(x, tx, T))
        if len(x) >= _COMPRESS_MIN:
            comp = compress_rows({"x": x, "T": T})
            xu, Tu = comp.columns["x"], comp.columns["T"]
            # one gather of whole rows (contiguous), not one strided column per horizon
            out = np.stack([self._bracket(t, xu, Tu) for t in times], axis=1)[comp.inverse]
        else:
            out = np.stack([self._bracket(t, x, T) for t in times], axis=1)
        out *= alive[:, None]
        return out

    def _expected_each(
        self, t: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        alive = np.exp(-self._log_denominator(x, tx, T))
        if len(x) >= _COMPRESS_MIN:
            comp = compress_rows({"x": x, "T": T, "t": t})
            c = comp.columns
            return self._bracket(c["t"], c["x"], c["T"])[comp.inverse] * alive
        return self._bracket(t, x, T) * alive

    def _p_alive(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        return np.exp(-self._log_denominator(x, tx, T))

    def _expected_new(self, t: np.ndarray) -> np.ndarray:
        zeros = np.zeros_like(t)
        return self._bracket(t, zeros, zeros)

    def probability_of_n_purchases(self, t: float, n: npt.ArrayLike) -> float | np.ndarray:
        """P(X(t) = n): probability that a new customer makes ``n`` repeat purchases in ``t``.

        Equation (8) of Fader, Hardie & Lee (2005), with the negative binomial sums taken from
        :mod:`scipy.stats.nbinom`.

        Parameters
        ----------
        t : float
            Time since the first purchase, in the fitted time unit.
        n : int or array-like of int
            Numbers of repeat purchases.

        Examples
        --------
        >>> model = BetaGeoModel().fit(summary)
        >>> model.probability_of_n_purchases(39, [0, 1, 2]).round(2)
        array([0.57, 0.2 , 0.09])
        """
        self._check_fitted()
        r, alpha, a, b = self._theta()
        nn = np.asarray(n, dtype=np.float64)
        if np.any(nn < 0) or np.any(nn != np.round(nn)):
            raise ValueError("n: expected non-negative whole numbers of purchases")
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"t: expected a non-negative finite time, got {t!r}")
        prob = alpha / (alpha + t)
        head = np.exp(betaln(a, b + nn) - betaln(a, b)) * stats.nbinom.pmf(nn, r, prob)
        tail = np.where(
            nn > 0,
            np.exp(betaln(a + 1, b + np.maximum(nn, 1) - 1) - betaln(a, b))
            * stats.nbinom.sf(nn - 1, r, prob),
            0.0,
        )
        out = head + tail
        return float(out) if out.ndim == 0 else out


# Below this eps = E[p] (n+1) k / 2 the bracket is its no-dropout limit n k (1 - eps/2) to
# within eps / 2 relative (the model's limit a -> 0 or b -> infinity).
_LIMIT_EPS = 1e-10
# Relative slack of the bounds a closed-form value must satisfy to be accepted.
_BOUND_SLACK = 1e-9
# Most nodes of the Gauss-Jacobi / Gauss-Laguerre quadrature over the dropout probability.
_NODES = 256
# Above this b + x the Beta(a, b+x) dropout is the Gamma(a, b+x) limit (relative error ~1/(b+x)).
_GAMMA_LIMIT = 1e7
# Within this distance of a = 1 (a removable singularity of the closed form) the bracket is
# interpolated linearly between a = 1 -+ _NEAR_ONE (error ~ _NEAR_ONE^2).
_NEAR_ONE = 1e-3


def _h(p: np.ndarray, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(1 - (1 + p k)^-n) / p for p > 0: expected purchases with dropout probability p."""
    return -np.expm1(-n * np.log1p(p * k)) / p


@functools.lru_cache(maxsize=1024)
def _beta_rule(a: float, beta: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss nodes and weights (summing to 1) of the Beta(a, beta) distribution on [0, 1].

    Golub-Welsch on the Jacobi matrix of the shifted Jacobi polynomials, written so that no
    term cancels (scipy's ``roots_jacobi`` overflows its normalisation for large parameters);
    for very large ``beta`` the Gamma(a, beta) limit of the Beta law (generalised Laguerre).
    """
    i = np.arange(1, nodes, dtype=np.float64)
    if beta > _GAMMA_LIMIT:
        c = a - 1.0
        diag = 2.0 * np.arange(nodes) + c + 1.0
        off = np.sqrt(i * (i + c))
        p, vectors = eigh_tridiagonal(diag, off)
        return p / beta, vectors[0] ** 2
    al, be = beta - 1.0, a - 1.0  # Jacobi exponents of (1 - p) and p
    sm = al + be
    j = np.arange(nodes, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = (2 * j * j + 2 * j * (sm + 1.0) + sm * (be + 1.0)) / (
            (2 * j + sm) * (2 * j + sm + 2.0)
        )
    diag[0] = a / (a + beta)
    off = np.sqrt(
        i
        * (i + al)
        / (2 * i + sm)
        * (i + be)
        / (2 * i + sm)
        * (i + sm)
        / ((2 * i + sm + 1.0) * (2 * i + sm - 1.0))
    )
    p, vectors = eigh_tridiagonal(diag, off)
    return p, vectors[0] ** 2


def _quadrature(n: np.ndarray, k: np.ndarray, beta: float, a: float) -> np.ndarray:
    """E[h(p)] for p ~ Beta(a, beta) by Gauss quadrature; NaN where the rule fails.

    h varies on the scale p ~ 1/(n k), so the number of nodes grows with sqrt(n k): from 32
    to :data:`_NODES` in steps of 32 (the rules are cached per (a, beta, nodes)).
    """
    sharp = float(np.max(n * k)) if len(n) else 0.0
    nodes = int(min(_NODES, 32 * np.ceil((32 + 4 * np.sqrt(max(sharp, 0.0))) / 32)))
    with np.errstate(all="ignore"):
        try:
            p, weights = _beta_rule(float(a), float(beta), nodes)
        except (ValueError, np.linalg.LinAlgError):
            return np.full(len(n), np.nan)
        p = np.clip(p, np.finfo(float).tiny, 1.0)
        if not (np.isfinite(p).all() and np.isfinite(weights).all()):
            return np.full(len(n), np.nan)
        return _h(p[None, :], n[:, None], k[:, None]) @ (weights / weights.sum())


def _closed_form(
    t: np.ndarray, x: np.ndarray, T: np.ndarray, r: float, alpha: float, b: float, a: float
) -> np.ndarray:
    """(a+b+x-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)], z = t/(alpha+T+t)."""
    with np.errstate(all="ignore"):
        log1mz = np.log(alpha + T) - np.log(alpha + T + t)
        z = -np.expm1(log1mz)
        c = a + b + x - 1.0
        f = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        return c / (a - 1.0) * -np.expm1((a - 1.0) * log1mz + np.log(f))


def _bgnbd_bracket(
    t: np.ndarray, x: np.ndarray, T: np.ndarray, r: float, alpha: float, a: float, b: float
) -> np.ndarray:
    """Return the conditional expectation given alive of BG/NBD, by the cheapest exact method.

    1. no-dropout limit where ``eps`` is negligible (a -> 0, b -> infinity, t -> 0);
    2. Euler's form (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z) of the paper's formula, whose
       parameters stay small for any frequency, accepted where it is finite and within the
       bounds (scipy's 2F1 is unreliable for a+b+x-1 < 0 and for huge parameters); near
       the removable singularity a = 1 it is interpolated from a = 1 -+ 0.001;
    3. quadrature over the dropout probability, once per distinct frequency, for the rest;
    the result is clipped to the bounds, so it is always finite.
    """
    t, x, T = np.broadcast_arrays(t, x, T)
    k = t / (alpha + T)
    n = r + x
    with np.errstate(over="ignore"):
        upper = n * k
    lower = -np.expm1(-n * np.log1p(k))  # h(1): everyone drops out at the next purchase
    eps = a / (a + b + x) * (n + 1.0) * k / 2.0
    floor = np.maximum(lower, upper * (1.0 - np.minimum(eps, 1.0)))
    out = upper * (1.0 - eps / 2.0)
    todo = ~(eps < _LIMIT_EPS)
    if todo.any():
        idx = np.flatnonzero(todo)
        args = (t[idx], x[idx], T[idx], r, alpha, b)
        if abs(a - 1.0) > _NEAR_ONE:
            value = _closed_form(*args, a)
        else:  # removable singularity at a = 1: interpolate between 1 -+ _NEAR_ONE
            below = _closed_form(*args, 1.0 - _NEAR_ONE)
            above = _closed_form(*args, 1.0 + _NEAR_ONE)
            value = below + (above - below) * (a - 1.0 + _NEAR_ONE) / (2.0 * _NEAR_ONE)
        good = (
            np.isfinite(value)
            & (value <= upper[idx] * (1.0 + _BOUND_SLACK))
            & (value >= floor[idx] * (1.0 - _BOUND_SLACK))
        )
        out[idx[good]] = value[good]
        todo[idx[good]] = False
    if todo.any():
        idx = np.flatnonzero(todo)
        xs, inverse = np.unique(x[idx], return_inverse=True)
        for j, xv in enumerate(xs):
            rows = idx[inverse == j]
            value = _quadrature(n[rows], k[rows], b + xv, a)
            # a failed rule keeps the limit value, clipped to the bounds below
            out[rows] = np.where(np.isfinite(value), value, out[rows])
    return np.clip(out, floor, upper)


def _bgnbd_nll_factory(data: Compressed) -> Callable[[np.ndarray], tuple[Any, ...]]:
    """Total negative log-likelihood and its gradient over weighted distinct rows.

    With ``d = log(a/(b+x-1)) + (r+x) log((alpha+T)/(alpha+t_x))`` the log-likelihood is

        gammaln(r+x) - gammaln(r) + r log(alpha) + betaln(a, b+x) - betaln(a, b)
        - (r+x) log(alpha+T) + [x > 0] softplus(d)

    Every term but the softplus depends on ``x`` alone or on ``T`` alone, so it is summed per
    distinct value with aggregated weights; only ``softplus(d)`` and its derivative
    ``expit(d)`` are evaluated per row, and only for rows with repeat purchases.
    """
    w = data.weights
    xu, Tu, tu = data.uniques["frequency"], data.uniques["T"], data.uniques["recency"]
    xi, Ti, ti = data.codes["frequency"], data.codes["T"], data.codes["recency"]
    x = data.columns["frequency"]
    W = float(w.sum())
    wx = np.bincount(xi, weights=w, minlength=len(xu))
    wT = np.bincount(Ti, weights=w, minlength=len(Tu))
    wxT = np.bincount(Ti, weights=w * x, minlength=len(Tu))
    pos = np.flatnonzero(x > 0)
    xi_p, Ti_p, ti_p, w_p, x_p = xi[pos], Ti[pos], ti[pos], w[pos], x[pos]
    x_shift = np.maximum(xu, 1.0) - 1.0  # b + x - 1 for x >= 1

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        r, alpha, a, b = (np.float64(v) for v in theta)
        log_aT = np.log(alpha + Tu)
        log_atx = np.log(alpha + tu)
        inv_aT = 1.0 / (alpha + Tu)
        inv_atx = 1.0 / (alpha + tu)
        inv_bx = 1.0 / (b + x_shift)  # 1 / (b + x - 1), used for x >= 1 only
        gap = log_aT[Ti_p] - log_atx[ti_p]  # log((alpha+T)/(alpha+t_x)) >= 0
        rx = r + x_p
        d = (np.log(a) + np.log(inv_bx))[xi_p] + rx * gap
        # softplus(d) = log(1 + e^d) = d - log(expit(d)), and expit(d) is its derivative;
        # below d = -700 both are 0 to double precision, and the clip keeps exp finite.
        np.maximum(d, -700.0, out=d)
        p3 = np.exp(-d)
        p3 += 1.0
        np.reciprocal(p3, out=p3)
        wp3 = w_p * p3
        ll = (
            _dot(wx, (gammaln(r + xu) + betaln(a, b + xu)))
            + W * (r * np.log(alpha) - gammaln(r) - betaln(a, b))
            - _dot((r * wT + wxT), log_aT)
            + _dot(w_p, d)
            - _dot(w_p, np.log(p3))
        )
        # derivatives of d: gap (r), rx * dinv (alpha), 1/a (a), -1/(b+x-1) (b)
        g_aT = inv_aT[Ti_p]
        g_atx = inv_atx[ti_p]
        dinv = g_aT - g_atx
        rd = rx * dinv
        sum_wp3 = float(wp3.sum())
        wp3_x = np.bincount(xi_p, weights=wp3, minlength=len(xu))
        psi_abx = digamma(a + b + xu)
        grad = np.array(
            [
                _dot(wx, digamma(r + xu))
                + W * (np.log(alpha) - digamma(r))
                - _dot(wT, log_aT)
                + _dot(wp3, gap),
                W * r / alpha - _dot((r * wT + wxT), inv_aT) + _dot(wp3, rd),
                W * digamma(a + b) - _dot(wx, psi_abx) + sum_wp3 / a,
                _dot(wx, (digamma(b + xu) - psi_abx))
                + W * (digamma(a + b) - digamma(b))
                - _dot(wp3_x, inv_bx),
            ]
        )
        # Hessian: smooth part plus sum w [p3 (1-p3) dd' + p3 d2d]
        v = wp3 * (1.0 - p3)
        v_x = np.bincount(xi_p, weights=v, minlength=len(xu))
        vg_x = np.bincount(xi_p, weights=v * gap, minlength=len(xu))
        vr_x = np.bincount(xi_p, weights=v * rd, minlength=len(xu))
        sum_v = float(v.sum())
        tri_ab = W * polygamma(1, a + b)
        tri_abx = polygamma(1, a + b + xu)
        h = np.empty((4, 4))
        h[0, 0] = _dot(wx, polygamma(1, r + xu)) - W * polygamma(1, r) + _dot(v, (gap * gap))
        h[0, 1] = W / alpha - _dot(wT, inv_aT) + _dot(v, (gap * rd)) + _dot(wp3, dinv)
        h[1, 1] = (
            -W * r / alpha**2
            + _dot((r * wT + wxT), (inv_aT * inv_aT))
            + _dot(v, (rd * rd))
            - _dot((wp3 * rd), (g_atx + g_aT))
        )
        h[0, 2] = float(vg_x.sum()) / a
        h[0, 3] = -_dot(vg_x, inv_bx)
        h[1, 2] = float(vr_x.sum()) / a
        h[1, 3] = -_dot(vr_x, inv_bx)
        h[2, 2] = tri_ab - _dot(wx, tri_abx) + sum_v / a**2 - sum_wp3 / a**2
        h[2, 3] = tri_ab - _dot(wx, tri_abx) - _dot(v_x, inv_bx) / a
        h[3, 3] = (
            _dot(wx, (polygamma(1, b + xu) - tri_abx))
            - W * (polygamma(1, b) - polygamma(1, a + b))
            + _dot((v_x + wp3_x), (inv_bx * inv_bx))
        )
        h = np.triu(h) + np.triu(h, 1).T
        return -ll, -grad, -h

    return nll
