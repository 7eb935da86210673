"""The Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987).

While active a customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)``; their lifetime is
exponential with rate ``mu ~ Gamma(s, beta)``. Following Fader & Hardie, "A Note on Deriving
the Pareto/NBD Model and Related Expressions" (2005), the likelihood of a customer with ``x``
repeat purchases, the last at ``t_x``, observed for ``T`` is

    L = Gamma(r+x) alpha^r beta^s / Gamma(r)
        * [ 1 / ((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) * A_0 ]

where ``s/(r+s+x) A_0 = s * (I(t_x) - I(T))`` and

    I(u) = integral from u to infinity of (alpha+tau)^-(r+x) (beta+tau)^-(s+1) d tau
         = 2F1(s+1, r+s+x; r+s+x+1; (alpha-beta)/(alpha+u)) / ((r+s+x) (alpha+u)^(r+s+x))

when ``alpha >= beta``, and with the roles swapped,

    I(u) = 2F1(r+x, r+s+x; r+s+x+1; (beta-alpha)/(beta+u)) / ((r+s+x) (beta+u)^(r+s+x))

when ``alpha < beta``, so that the argument of the Gaussian hypergeometric function stays in
[0, 1) (the note's two cases). Everything is evaluated in log space: ``log I`` is
``log 2F1 - (r+s+x) log(alpha+u) - log(r+s+x)``, and the difference ``I(t_x) - I(T)`` is scaled
by the largest term of the row before it is exponentiated.

The 2F1 terms depend on a row only through ``(x, t_x)`` and ``(x, T)``, so they are evaluated
once per distinct such pair, far fewer than the distinct ``(x, t_x, T)`` rows. The gradient uses
the identities dI/d(alpha) = -(r+x) I[r+x+1] and dI/d(beta) = -(s+1) I[s+2] and forward
differences of ``log 2F1`` in ``r`` and ``s``.

Examples
--------
>>> from cpm_analysis.clv import ParetoNBDModel
>>> model = ParetoNBDModel().fit(summary)
>>> model.params_
{'r': 0.553, 'alpha': 10.58, 's': 0.606, 'beta': 11.67}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1, logsumexp, roots_legendre

from cpm_analysis.clv.base import Compressed, PurchaseModel, compress_rows
from cpm_analysis.clv.base import dot as _dot

# Relative step of the forward differences of log 2F1 in r and s.
_STEP = 1e-6


def log_tail_integral(
    p: np.ndarray | float,
    q: np.ndarray | float,
    u: np.ndarray,
    alpha: float,
    beta: float,
) -> np.ndarray:
    """Log of I(u) = integral_u^inf (alpha+tau)^-p (beta+tau)^-q d tau, for p + q > 1.

    The 2F1 argument is kept in [0, 1) by expanding around the larger of alpha and beta, and
    ``log 2F1`` comes from :func:`_log_hyp2f1_tail`, finite for every parameter.

    Examples
    --------
    >>> value = np.exp(log_tail_integral(1.0, 1.5, np.array([0.0]), 2.0, 2.0))[0]
    >>> bool(np.isclose(value, 2**-1.5 / 1.5))  # integral of (2 + tau)^-2.5 from 0
    True
    """
    m = np.asarray(p + q - 1.0, dtype=np.float64)
    if alpha >= beta:
        base = alpha + u
        log_f = _log_hyp2f1_tail(q, m, (alpha - beta) / base, np.log(beta + u) - np.log(base))
    else:
        base = beta + u
        log_f = _log_hyp2f1_tail(p, m, (beta - alpha) / base, np.log(alpha + u) - np.log(base))
    return log_f - m * np.log(base) - np.log(m)


# Above this argument scipy's 2F1 is slow (33 us a value) and, near the degenerate case
# Q = 1 (s -> 0), wrong by orders of magnitude; the quadrature is used instead.
_SERIES_W = 0.99
# Gauss-Legendre nodes of the fallback quadrature of log 2F1(Q, m; m+1; w) (in log z).
_LEGENDRE = roots_legendre(64)


def _log_tail_quadrature(
    big_q: np.ndarray, m: np.ndarray, w: np.ndarray, log1mw: np.ndarray
) -> np.ndarray:
    """Log of int_0^inf e^-z (1 - w e^(-z/m))^-Q dz, by Gauss-Legendre in log z.

    The integrand falls from (1-w)^-Q to about 1 around z ~ m (1-w) / w, which can be tiny;
    integrating over y = log z from 12 units below that scale (the piece below is its value
    at 0 times its length) to log 60 resolves it whatever its width.
    """
    nodes, weights = _LEGENDRE
    one_minus_w = np.exp(log1mw)
    scale = m * one_minus_w / np.maximum(w, 1e-300)
    lo = np.log(np.minimum(scale, 1.0)) - 12.0
    hi = np.full_like(lo, np.log(60.0))
    half = (hi - lo) / 2.0
    y = lo[:, None] + half[:, None] * (nodes[None, :] + 1.0)
    z = np.exp(y)
    inner = one_minus_w[:, None] - w[:, None] * np.expm1(-z / m[:, None])
    terms = np.log(weights)[None, :] + np.log(half)[:, None] + y - z
    terms = terms - big_q[:, None] * np.log(inner)
    head = lo - big_q * log1mw  # the piece [0, e^lo] at the integrand's value at 0
    return np.logaddexp(logsumexp(terms, axis=1), head)


def _log_hyp2f1_tail(
    big_q: np.ndarray | float, m: np.ndarray, w: np.ndarray, log1mw: np.ndarray
) -> np.ndarray:
    """Log 2F1(Q, m; m+1; w) for Q, m > 0 and 0 <= w < 1, with log(1 - w) given exactly.

    The value lies in [1, (1-w)^-Q]. scipy's ``hyp2f1`` is used for ``w <= 0.99`` where it
    returns a value in that range; otherwise (where scipy is slow, overflows, or is wrong near
    the degenerate case Q = 1) the integral
    ``m int_0^1 y^(m-1) (1-wy)^-Q dy = int_0^inf e^-z (1 - w e^(-z/m))^-Q dz`` by
    :func:`_log_tail_quadrature`. The result is clipped to the range.
    """
    big_q, m, w, log1mw = np.broadcast_arrays(
        np.asarray(big_q, dtype=np.float64), m, np.asarray(w, dtype=np.float64), log1mw
    )
    top = -big_q * log1mw  # log of the upper bound (1-w)^-Q
    slack = 1e-12 + 1e-9 * np.abs(top)
    out = np.full(top.shape, np.nan)
    with np.errstate(all="ignore"):
        series = np.flatnonzero(w <= _SERIES_W)
        if len(series):
            out[series] = np.log(hyp2f1(big_q[series], m[series], m[series] + 1.0, w[series]))
        bad = ~((out >= -slack) & (out <= top + slack))
        if bad.any():
            i = np.flatnonzero(bad)
            out[i] = _log_tail_quadrature(big_q[i], m[i], w[i], log1mw[i])
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0), 0.0, np.maximum(top, 0.0))


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD model of repeat purchases (exponential lifetimes, gamma-mixed).

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty ``penalizer_coef * (r^2 + alpha^2 + s^2 + beta^2)`` added to the mean
        negative log-likelihood per customer; try 0.001-0.1 when a fit does not converge.
    initial_params : dict, optional
        Starting values for some or all of ``r, alpha, s, beta`` (default ``r = s = 1`` and
        ``alpha = beta`` = mean T / mean frequency).
    max_iter : int
        Maximum optimiser iterations.
    tol : float
        Gradient tolerance of the optimiser (on the mean log-likelihood per customer).

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha`` (purchase rate ~ Gamma(r, alpha)), ``s``, ``beta`` (dropout rate ~
        Gamma(s, beta)), rates per time unit of the summary.
    log_likelihood_, standard_errors_, n_customers_, n_distinct_rows_, converged_, fit_message_, time_unit_
        As for :class:`~cpm_analysis.clv.BetaGeoModel`.
    at_boundary_, no_dropout_, fit_warnings_
        The health of the fit, as for :class:`~cpm_analysis.clv.BetaGeoModel` (here no
        dropout also when ``s`` goes to 0 or ``beta`` to infinity); see :meth:`diagnostics`.

    Notes
    -----
    Predictions and the log-likelihood are finite at every parameter: ``log 2F1`` of the tail
    integral comes from scipy where its argument is at most 0.99 and its value within the
    analytic bounds, and from a Gauss-Legendre quadrature in log space elsewhere (scipy is
    slow there, overflows, and is wrong by orders of magnitude near s -> 0).

    Examples
    --------
    >>> from cpm_analysis.clv import ParetoNBDModel
    >>> model = ParetoNBDModel().fit(summary)
    >>> model.probability_alive().describe().round(3)
    count    2357.000
    mean        0.446
    std         0.230
    min         0.000
    25%         0.318
    50%         0.350
    75%         0.476
    max         1.000
    Name: probability_alive, dtype: float64
    """

    _param_names = ("r", "alpha", "s", "beta")
    _dropout_limits = {"s": "low", "beta": "high"}
    _model_name = "Pareto/NBD"

    def _default_start(self, data: Compressed) -> dict[str, float]:
        mean_x = float(np.average(data.columns["frequency"], weights=data.weights))
        mean_t = float(np.average(data.columns["T"], weights=data.weights))
        scale = float(np.clip(mean_t / max(mean_x, 1e-2), 1e-3, 1e6)) if mean_t > 0 else 1.0
        return {"r": 1.0, "alpha": scale, "s": 1.0, "beta": scale}

    def _nll_factory(self, data: Compressed) -> Callable[[np.ndarray], tuple[Any, ...]]:
        return _pareto_nll_factory(data)

    # -- predictions ---------------------------------------------------------------------
    def _log_terms(
        self, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per customer: log of the alive-at-T term and log of the whole bracket S."""
        r, alpha, s, beta = self._theta()
        if len(x) >= 20_000:
            pairs = _Pairs(x, tx, T)
            log_i = log_tail_integral(r + pairs.x, s + 1.0, pairs.u, alpha, beta)
            log_itx, log_iT = log_i[pairs.i_tx], log_i[pairs.i_T]
        else:
            log_itx = log_tail_integral(r + x, s + 1.0, tx, alpha, beta)
            log_iT = log_tail_integral(r + x, s + 1.0, T, alpha, beta)
        log_e1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        # log(I(t_x) - I(T)); I(t_x) >= I(T), equal (difference 0) when t_x == T
        with np.errstate(divide="ignore"):
            log_d = log_itx + np.log(-np.expm1(np.minimum(log_iT - log_itx, 0.0)))
        log_s = np.logaddexp(log_e1, np.log(s) + log_d)
        return log_e1, log_s

    def _p_alive(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        log_e1, log_s = self._log_terms(x, tx, T)
        return np.exp(np.minimum(log_e1 - log_s, 0.0))

    def _growth(self, t: Any, T: np.ndarray | float) -> np.ndarray:
        """[1 - ((beta+T)/(beta+T+t))^(s-1)] / (s-1), with its limit log(...) at s = 1."""
        _, _, s, beta = self._theta()
        lg = np.log1p(np.asarray(t, dtype=np.float64) / (beta + T))
        if abs(s - 1.0) < 1e-10:
            return lg
        return -np.expm1(-(s - 1.0) * lg) / (s - 1.0)

    def _expected_many(
        self, times: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        r, alpha, s, beta = self._theta()
        scale = (r + x) * (beta + T) / (alpha + T) * self._p_alive(x, tx, T)
        return np.stack([scale * self._growth(t, T) for t in times], axis=1)

    def _expected_each(
        self, t: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        r, alpha, s, beta = self._theta()
        return (r + x) * (beta + T) / (alpha + T) * self._p_alive(x, tx, T) * self._growth(t, T)

    def _expected_new(self, t: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = self._theta()
        return r * beta / alpha * self._growth(t, 0.0)


class _Pairs:
    """Distinct (x, u) pairs, u in {t_x, T}, and each row's index into them."""

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray):
        n = len(x)
        both = compress_rows({"x": np.concatenate([x, x]), "u": np.concatenate([tx, T])})
        self.x = both.columns["x"]
        self.u = both.columns["u"]
        self.i_tx = both.inverse[:n]
        self.i_T = both.inverse[n:]


def _pareto_nll_factory(data: Compressed) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Total negative log-likelihood and gradient over weighted distinct rows.

    Per row the bracket is ``S = E1(x, T) + s (I(x, t_x) - I(x, T))``. The special functions
    and every derivative factor live on the distinct (x, u) pairs; a row only combines three
    gathered values, and its contributions to the gradient are summed back onto the pairs with
    ``bincount``, so the per-row work is a handful of vector operations.
    """
    w = data.weights
    x, tx, T = data.columns["frequency"], data.columns["recency"], data.columns["T"]
    xu, xi = data.uniques["frequency"], data.codes["frequency"]
    pairs = _Pairs(x, tx, T)
    px, pu, i_tx, i_T = pairs.x, pairs.u, pairs.i_tx, pairs.i_T
    n_pairs = len(px)
    W = float(w.sum())
    wx = np.bincount(xi, weights=w, minlength=len(xu))

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, s, beta = (np.float64(v) for v in theta)
        q = s + 1.0
        p = r + px
        hp = _STEP * max(r, 1e-3)
        hq = _STEP * max(s, 1e-3)
        # pair level: log I, its derivatives, and log E1 (the alive-at-T term, u read as T)
        log_aU = np.log(alpha + pu)
        log_bU = np.log(beta + pu)
        log_i = log_tail_integral(p, q, pu, alpha, beta)
        dlog_p = (log_tail_integral(p + hp, q, pu, alpha, beta) - log_i) / hp
        dlog_q = (log_tail_integral(p, q + hq, pu, alpha, beta) - log_i) / hq
        # I[p+1] / I, and I[q+1] / I from p I[p+1] + q I[q+1] = (alpha+u)^-p (beta+u)^-q
        log_e = -p * log_aU - q * log_bU
        ratio_p1 = np.exp(log_tail_integral(p + 1.0, q, pu, alpha, beta) - log_i)
        ratio_q1 = np.exp(log_e - log_i - np.log(q)) - ratio_p1 * p / q
        np.maximum(ratio_q1, 0.0, out=ratio_q1)
        log_e1 = -p * log_aU - s * log_bU

        # row level: S / exp(m) = e1 + s (i1 - i2)
        le1 = log_e1[i_T]
        l1 = log_i[i_tx]
        l2 = log_i[i_T]
        m = np.maximum(le1, np.log(s) + l1)
        e1 = np.exp(le1 - m)
        i1 = np.exp(l1 - m)
        i2 = np.exp(l2 - m)
        diff = np.maximum(i1 - i2, 0.0)
        total = e1 + s * diff
        ll = (
            _dot(wx, gammaln(r + xu))
            + W * (r * np.log(alpha) + s * np.log(beta) - gammaln(r))
            + _dot(w, m)
            + _dot(w, np.log(total))
        )
        wt = w / total
        c_e1 = np.bincount(i_T, weights=wt * e1, minlength=n_pairs)
        c_i1 = np.bincount(i_tx, weights=wt * i1, minlength=n_pairs)
        c_i2 = np.bincount(i_T, weights=wt * i2, minlength=n_pairs)
        c_i = c_i1 - c_i2  # sum of w/S * (I(t_x) - I(T)) contributions, by pair
        d_r = (
            _dot(wx, digamma(r + xu))
            + W * (np.log(alpha) - digamma(r))
            - _dot(c_e1, log_aU)
            + s * _dot(c_i, dlog_p)
        )
        d_alpha = W * r / alpha - _dot(c_e1, p / (alpha + pu)) - s * _dot(c_i, p * ratio_p1)
        d_s = W * np.log(beta) - _dot(c_e1, log_bU) + float(c_i.sum()) + s * _dot(c_i, dlog_q)
        d_beta = W * s / beta - s * _dot(c_e1, 1.0 / (beta + pu)) - s * q * _dot(c_i, ratio_q1)
        return -ll, -np.array([d_r, d_alpha, d_s, d_beta])

    return nll


__all__ = ["ParetoNBDModel", "log_tail_integral"]
