"""The BG/BB model of discrete-time repeat transactions (Fader, Hardie & Shang 2010).

Transactions can only happen at discrete opportunities (a yearly fund-raising event, an annual
renewal season, a weekly market). While alive, a customer transacts at each opportunity with
probability ``p ~ Beta(alpha, beta)``; before each opportunity an alive customer becomes
inactive for good with probability ``theta ~ Beta(gamma, delta)``. A customer is summarised by
``x`` (``frequency``: opportunities with a transaction after the first one), ``t_x``
(``recency``: the opportunity of the last transaction, 0 if none) and ``n`` (``T``: the number
of opportunities observed). The likelihood ("Customer-base analysis in a discrete-time
noncontractual setting", Marketing Science 29(6), 2010, eq. 5) is

    L = B(alpha + x, beta + n - x) / B(alpha, beta) * B(gamma, delta + n) / B(gamma, delta)
        + sum_{j = t_x}^{n - 1} B(alpha + x, beta + j - x) / B(alpha, beta)
                                 * B(gamma + 1, delta + j) / B(gamma, delta).

The sum is evaluated without a loop over customers: the beta functions are tabulated once per
distinct ``x`` and opportunity ``j``, gathered into a (rows, max n + 1) grid with the terms
outside ``t_x <= j < n`` masked, and combined with ``logsumexp``; the likelihood runs over the
distinct ``(x, t_x, n)`` rows with weights, whose number does not grow with the customers.

Predictions given a history (the paper's eqs. 11, 13 and 14), with ``B_p = B(alpha + x + 1,
beta + n - x) / B(alpha, beta)`` and ``S(k) = B(gamma, delta + k) / B(gamma, delta)`` the
probability of surviving ``k`` dropout draws:

- P(alive at opportunity n + m) = B(alpha + x, beta + n - x) / B(alpha, beta) S(n + m) / L;
- E[transactions in the next t opportunities] = B_p sum_{k=1}^{t} S(n + k) / L;
- DERT(d) = B_p sum_{k >= 1} S(n + k) / (1 + d)^k / L, the discounted expected residual
  transactions, whose sum is the sBG's DERL series
  (:func:`~cpm_analysis.clv.sbg.derl_values`).

Examples
--------
>>> from cpm_analysis.clv import BetaGeoBetaBinomModel
>>> from cpm_analysis.data import load_donations
>>> donations = load_donations()
>>> model = BetaGeoBetaBinomModel().fit(donations, sample_weight=donations["customers"])
>>> {k: round(v, 3) for k, v in model.params_.items()}
{'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import betaln, digamma, logsumexp

from cpm_analysis.clv.base import (
    Compressed,
    PurchaseModel,
    check_summary,
    compress_rows,
)
from cpm_analysis.clv.base import dot as _dot
from cpm_analysis.clv.sbg import derl_values

__all__ = ["BetaGeoBetaBinomModel"]

_COLUMNS = ("frequency", "recency", "T")


def _check_discrete(cols: dict[str, np.ndarray], what: str = "summary") -> None:
    """Whole numbers with ``frequency <= recency <= T`` (recency >= 1 when frequency >= 1)."""
    for name in _COLUMNS:
        frac = cols[name] != np.round(cols[name])
        if frac.any():
            raise ValueError(
                f"{what}: column '{name}' has {int(frac.sum())} value(s) that are not whole "
                "numbers; the BG/BB model counts discrete transaction opportunities"
            )
    over = cols["frequency"] > cols["recency"]
    if over.any():
        raise ValueError(
            f"{what}: column 'frequency' is greater than 'recency' in {int(over.sum())} row(s); "
            "a customer cannot transact more often than there were opportunities up to their "
            "last transaction"
        )


#: Most cells (distinct rows x opportunities) the likelihood grid may hold (about 400 MB).
_MAX_GRID = 50_000_000


def _grid(x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Return the opportunity grid of a set of rows.

    ``J[row, k]`` is ``k`` for the sum's terms (``k < M = max n``) and ``n`` for the last column (the alive-throughout term); ``mask``
    marks the cells that belong to a row's likelihood.
    """
    M = int(n.max()) if len(n) else 0
    if len(x) * (M + 1) > _MAX_GRID:
        raise ValueError(
            f"summary: {len(x):,} distinct histories over up to {M:,} opportunities are too many "
            "for the BG/BB model, which is meant for a few dozen discrete opportunities; for "
            "purchases at any time use BetaGeoModel, ParetoNBDModel or ModifiedBetaGeoModel"
        )
    j = np.arange(M + 1, dtype=np.float64)
    J = np.broadcast_to(j, (len(x), M + 1)).copy()
    J[:, M] = n
    mask = (j[None, :] >= tx[:, None]) & (j[None, :] < n[:, None])
    mask[:, M] = True
    return J, mask, M


def _log_terms(
    theta: tuple[float, float, float, float], x: np.ndarray, tx: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log of each likelihood term (masked cells -inf), the grid J and the mask."""
    alpha, beta, gamma, delta = theta
    J, mask, M = _grid(x, tx, n)
    safe_j = np.where(mask, J, x[:, None])  # any valid opportunity outside the mask
    second = np.where(
        np.arange(M + 1)[None, :] == M,
        betaln(gamma, delta + safe_j),
        betaln(gamma + 1.0, delta + safe_j),
    )
    log_t = (
        betaln(alpha + x[:, None], beta + safe_j - x[:, None])
        + second
        - betaln(alpha, beta)
        - betaln(gamma, delta)
    )
    return np.where(mask, log_t, -np.inf), J, mask


def bgbb_log_likelihood(
    theta: tuple[float, float, float, float], x: np.ndarray, tx: np.ndarray, n: np.ndarray
) -> np.ndarray:
    """Log-likelihood of each ``(x, t_x, n)`` row under BG/BB parameters, vectorised.

    Examples
    --------
    >>> ll = bgbb_log_likelihood((1.20, 0.75, 0.66, 2.78), np.array([3.0]), np.array([4.0]),
    ...                          np.array([6.0]))
    >>> round(float(ll[0]), 4)
    -5.0609
    """
    log_t, _, _ = _log_terms(theta, x, tx, n)
    return logsumexp(log_t, axis=1)


def _bgbb_nll_factory(data: Compressed) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Total negative log-likelihood and its gradient over weighted distinct rows.

    Every term is a product of two beta functions, so the gradient of a row's log-likelihood
    is the softmax-weighted mean of the terms' digamma differences. The special functions
    are evaluated on tables indexed by the distinct ``x`` and the opportunity ``j`` (a few
    hundred values) and gathered into the (rows, max n + 1) grid, which only holds
    arithmetic.
    """
    x = data.columns["frequency"]
    tx = data.columns["recency"]
    n = data.columns["T"]
    w = data.weights
    W = float(w.sum())
    J, mask, M = _grid(x, tx, n)
    xu, xi = np.unique(x, return_inverse=True)
    xi = xi.reshape(-1)
    Jm = np.where(mask, J, x[:, None]).astype(np.int64)  # masked cells: any valid j
    cell = xi[:, None] * (M + 1) + Jm  # index into the (distinct x, j) tables
    is_last = np.zeros((1, M + 1), dtype=bool)
    is_last[0, M] = True
    j = np.arange(M + 1, dtype=np.float64)
    j_minus_x = j[None, :] - xu[:, None]
    valid_px = j_minus_x >= 0
    safe_jx = np.where(valid_px, j_minus_x, 0.0)
    wx = np.bincount(xi, weights=w, minlength=len(xu))

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        alpha, beta, gamma, delta = (np.float64(v) for v in theta)
        # tables over (distinct x, j) and over j
        p_tab = np.where(valid_px, betaln(alpha + xu[:, None], beta + safe_jx), 0.0)
        # B(gamma, delta + n) in the last column, B(gamma + 1, delta + j) in the others
        g_cells = np.where(
            is_last, betaln(gamma, delta + j)[Jm], betaln(gamma + 1.0, delta + j)[Jm]
        )
        const = betaln(alpha, beta) + betaln(gamma, delta)
        log_t = p_tab.ravel()[cell] + g_cells - const
        log_t = np.where(mask, log_t, -np.inf)
        top = log_t.max(axis=1)
        s = np.exp(log_t - top[:, None])
        total = s.sum(axis=1)
        s /= total[:, None]  # softmax over each row's terms (0 where masked)
        ll_rows = top + np.log(total)
        # digamma tables
        psi_abj = digamma(alpha + beta + j)
        psi_bjx = np.where(valid_px, digamma(beta + safe_jx), 0.0)
        psi_gd_cells = np.where(
            is_last, digamma(gamma + delta + j)[Jm], digamma(gamma + delta + j + 1.0)[Jm]
        )
        psi_dj = digamma(delta + j)
        s_last = s[:, M]
        sum_ab = (s * psi_abj[Jm]).sum(axis=1)
        sum_gd = (s * psi_gd_cells).sum(axis=1)
        g_alpha = _dot(wx, digamma(alpha + xu)) - _dot(w, sum_ab)
        g_beta = _dot(w, (s * psi_bjx.ravel()[cell]).sum(axis=1) - sum_ab)
        g_gamma = _dot(w, s_last * digamma(gamma) + (1.0 - s_last) * digamma(gamma + 1.0))
        g_gamma -= _dot(w, sum_gd)
        g_delta = _dot(w, (s * psi_dj[Jm]).sum(axis=1) - sum_gd)
        psi_ab, psi_gd = digamma(alpha + beta), digamma(gamma + delta)
        grad = np.array(
            [
                g_alpha - W * (digamma(alpha) - psi_ab),
                g_beta - W * (digamma(beta) - psi_ab),
                g_gamma - W * (digamma(gamma) - psi_gd),
                g_delta - W * (digamma(delta) - psi_gd),
            ]
        )
        return -_dot(w, ll_rows), -grad

    return nll


class BetaGeoBetaBinomModel(PurchaseModel):
    """BG/BB (beta-geometric / beta-Bernoulli) model of discrete-time repeat transactions.

    Time is counted in transaction opportunities (whole numbers): ``frequency`` is the number
    of opportunities with a repeat transaction, ``recency`` the opportunity of the last one
    (0 when ``frequency`` is 0) and ``T`` the opportunities observed after the first
    transaction. Horizons of the predictions are numbers of future opportunities.

    Parameters
    ----------
    penalizer_coef : float
        L2 penalty ``penalizer_coef * (alpha^2 + beta^2 + gamma^2 + delta^2)`` added to the
        mean negative log-likelihood per customer.
    initial_params : dict, optional
        Starting values for some or all of ``alpha, beta, gamma, delta``.
    max_iter : int
        Maximum optimiser iterations.
    tol : float
        Gradient tolerance of the optimiser (on the mean log-likelihood per customer).

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta`` (transaction probability ~ Beta(alpha, beta)) and ``gamma``,
        ``delta`` (dropout probability per opportunity ~ Beta(gamma, delta)).
    log_likelihood_ : float
        Total log-likelihood over customers.
    standard_errors_ : dict
        From the inverse Hessian of the negative log-likelihood.
    n_customers_ : int
        Customers fitted (sum of the weights).
    n_distinct_rows_ : int
        Distinct ``(frequency, recency, T)`` rows the likelihood was evaluated on.
    converged_ : bool
        Whether the optimiser converged.

    Examples
    --------
    >>> from cpm_analysis.data import load_donations
    >>> donations = load_donations()
    >>> model = BetaGeoBetaBinomModel().fit(donations, sample_weight=donations["customers"])
    >>> round(model.log_likelihood_, 1)
    -33225.6
    >>> lapsed = donations.iloc[[1]]  # one repeat donation, in 1996
    >>> round(float(model.probability_alive(lapsed).iloc[0]), 3)
    0.075
    >>> round(float(model.expected_purchases(5, lapsed).iloc[0]), 3)
    0.086
    >>> model.expected_purchases_new_customer([1, 6]).round(4)  # Hardie's note 010
    array([0.4985, 2.2202])
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _model_name = "BG/BB"

    def fit(
        self, summary: pd.DataFrame, sample_weight: npt.ArrayLike | None = None
    ) -> BetaGeoBetaBinomModel:
        """Fit the model by maximum likelihood to a discrete-time summary.

        Parameters
        ----------
        summary : DataFrame
            One row per customer, or per distinct history with ``sample_weight``:
            ``frequency``, ``recency`` and ``T`` as whole numbers of opportunities.
        sample_weight : array-like, optional
            How many customers each row stands for (e.g. the donations table's
            ``customers``); the fit equals a fit on one row per customer.

        Returns
        -------
        self

        Examples
        --------
        >>> from cpm_analysis.data import load_donations
        >>> donations = load_donations()
        >>> model = BetaGeoBetaBinomModel().fit(donations, donations["customers"])
        >>> model.n_customers_, model.n_distinct_rows_
        (11104, 22)
        """
        cols = check_summary(summary, _COLUMNS)
        _check_discrete(cols)
        super().fit(summary, sample_weight)
        self.time_unit_ = None  # opportunities, not weeks or days
        return self

    def _default_start(self, data: Compressed) -> dict[str, float]:
        return {"alpha": 1.0, "beta": 1.0, "gamma": 1.0, "delta": 1.0}

    def _nll_factory(self, data: Compressed) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        return _bgbb_nll_factory(data)

    def _data(self, summary: pd.DataFrame | None) -> tuple[pd.Index, dict[str, np.ndarray]]:
        index, cols = super()._data(summary)
        if summary is not None:
            _check_discrete(cols)
        return index, cols

    # -- predictions, evaluated once per distinct (x, t_x, n) row ---------------------------
    @staticmethod
    def _opportunities(t: Any, name: str = "t") -> np.ndarray:
        arr = np.asarray(t, dtype=np.float64)
        if np.any(arr != np.round(arr)):
            raise ValueError(
                f"{name}: the BG/BB model predicts over whole numbers of future transaction "
                f"opportunities, got {t!r}"
            )
        return arr

    def _distinct(
        self, x: np.ndarray, tx: np.ndarray, n: np.ndarray
    ) -> tuple[Compressed, np.ndarray]:
        """Distinct rows and their log-likelihood."""
        comp = compress_rows({"x": x, "tx": tx, "n": n})
        c = comp.columns
        return comp, bgbb_log_likelihood(self._params4(), c["x"], c["tx"], c["n"])

    def _params4(self) -> tuple[float, float, float, float]:
        alpha, beta, gamma, delta = self._theta()
        return alpha, beta, gamma, delta

    def _log_p_part(self, x: np.ndarray, n: np.ndarray, extra: float) -> np.ndarray:
        alpha, beta, _, _ = self._theta()
        return betaln(alpha + x + extra, beta + n - x) - betaln(alpha, beta)

    def _log_survival(self, k: np.ndarray) -> np.ndarray:
        _, _, gamma, delta = self._theta()
        return betaln(gamma, delta + k) - betaln(gamma, delta)

    def _log_survival_table(self, n: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the log partial sums of the survival terms, and the index of each ``n``.

        ``table[i, h] = log sum_{k=1}^{h} S(nu_i + k)`` (``-inf`` for ``h = 0``) for the
        distinct ``nu`` of ``n``, and the index of each ``n`` in ``nu``. Log space keeps the
        products with the (possibly huge) ratio to the likelihood finite.
        """
        nu, inv = np.unique(n, return_inverse=True)
        table = np.full((len(nu), H + 1), -np.inf)
        if H:
            k = np.arange(1, H + 1, dtype=np.float64)
            table[:, 1:] = np.logaddexp.accumulate(
                self._log_survival(nu[:, None] + k[None, :]), axis=1
            )
        return table, inv.reshape(-1)

    def _expected_many(
        self, times: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        h = self._opportunities(times).astype(np.int64).ravel()
        comp, ll = self._distinct(x, tx, T)
        c = comp.columns
        lead = self._log_p_part(c["x"], c["n"], 1.0) - ll
        table, inv = self._log_survival_table(c["n"], int(h.max()) if h.size else 0)
        out = np.exp(lead[:, None] + table[inv][:, h])
        return out[comp.inverse]

    def _expected_each(
        self, t: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        t = self._opportunities(t)
        comp = compress_rows({"x": x, "tx": tx, "n": T, "t": t})
        c = comp.columns
        ll = bgbb_log_likelihood(self._params4(), c["x"], c["tx"], c["n"])
        lead = self._log_p_part(c["x"], c["n"], 1.0) - ll
        h = c["t"].astype(np.int64)
        table, inv = self._log_survival_table(c["n"], int(h.max()) if h.size else 0)
        return np.exp(lead + table[inv, h])[comp.inverse]

    def _p_alive(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        return self._p_alive_at(x, tx, T, 0.0)

    def _p_alive_at(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, m: float) -> np.ndarray:
        comp, ll = self._distinct(x, tx, T)
        c = comp.columns
        log_p = self._log_p_part(c["x"], c["n"], 0.0) + self._log_survival(c["n"] + m) - ll
        return np.minimum(np.exp(log_p), 1.0)[comp.inverse]

    def _expected_new(self, t: np.ndarray) -> np.ndarray:
        alpha, beta, _, _ = self._theta()
        t = self._opportunities(t)
        h = t.astype(np.int64).ravel()
        table, _ = self._log_survival_table(np.zeros(1), int(h.max()) if h.size else 0)
        return (alpha / (alpha + beta) * np.exp(table[0, h])).reshape(t.shape)

    def probability_alive(
        self, summary: pd.DataFrame | None = None, future_t: int = 0
    ) -> pd.Series:
        """Probability that each customer is alive at opportunity ``T + future_t``.

        ``future_t = 0`` is the probability of being alive at the last opportunity observed;
        ``future_t = 1`` is the paper's eq. (11), alive at the next one.

        Parameters
        ----------
        summary : DataFrame, optional
            Customers to score; default the fitted ones.
        future_t : int
            Opportunities ahead (a whole number >= 0).

        Returns
        -------
        Series
            Named ``probability_alive``, indexed like the summary.

        Examples
        --------
        >>> from cpm_analysis.data import load_donations
        >>> donations = load_donations()
        >>> model = BetaGeoBetaBinomModel().fit(donations, donations["customers"])
        >>> model.probability_alive(donations.iloc[:3], future_t=1).round(3).tolist()
        [0.108, 0.069, 0.255]
        """
        index, cols = self._data(summary)
        m = float(self._opportunities(future_t, "future_t"))
        if m < 0:
            raise ValueError(f"future_t: expected a whole number >= 0, got {future_t!r}")
        values = self._p_alive_at(cols["frequency"], cols["recency"], cols["T"], m)
        return pd.Series(values, index=index, name="probability_alive")

    def discounted_expected_residual_transactions(
        self, discount_rate: float, summary: pd.DataFrame | None = None
    ) -> pd.Series:
        """DERT: the expected transactions after ``T``, each discounted to ``T`` (eq. 14).

        ``B(alpha + x + 1, beta + n - x) / B(alpha, beta) * sum_{k >= 1} S(n + k) / (1 + d)^k
        / L``; multiplied by the value of a transaction it is the customer's residual
        lifetime value.

        Parameters
        ----------
        discount_rate : float
            Discount rate per opportunity (> 0): 0.1 is 10% an opportunity.
        summary : DataFrame, optional
            Customers to score; default the fitted ones.

        Returns
        -------
        Series
            Named ``dert``, indexed like the summary.

        Examples
        --------
        >>> from cpm_analysis.data import load_donations
        >>> donations = load_donations()
        >>> model = BetaGeoBetaBinomModel().fit(donations, donations["customers"])
        >>> dert = model.discounted_expected_residual_transactions(0.1, donations)
        >>> dert.iloc[[0, -1]].round(2).tolist()  # never donated again; donated every year
        [0.11, 5.91]
        """
        try:
            d = float(discount_rate)
        except (TypeError, ValueError):
            d = float("nan")
        if not np.isfinite(d) or d <= 0:
            raise ValueError(
                f"discount_rate: expected a rate per opportunity > 0, got {discount_rate!r}"
            )
        index, cols = self._data(summary)
        comp, ll = self._distinct(cols["frequency"], cols["recency"], cols["T"])
        c = comp.columns
        _, _, gamma, delta = self._theta()
        nu, inv = np.unique(c["n"], return_inverse=True)
        # sum_{k >= 1} S(n + k) z^k = S(n) z DERL_sBG(gamma, delta | renewals = n)
        with np.errstate(divide="ignore"):
            log_theta_part = (
                self._log_survival(nu) - np.log1p(d) + np.log(derl_values(gamma, delta, nu, d))
            )[inv.reshape(-1)]
        values = np.exp(self._log_p_part(c["x"], c["n"], 1.0) - ll + log_theta_part)

        return pd.Series(values[comp.inverse], index=index, name="dert")
