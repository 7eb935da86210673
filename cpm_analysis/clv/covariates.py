"""BG/NBD and Pareto/NBD with time-invariant covariates (Fader & Hardie 2007, note 019).

Following Fader & Hardie, "Incorporating time-invariant covariates into the Pareto/NBD and
BG/NBD models" (2007), a customer's covariates ``z`` (channel, region, company size: fixed over
the customer's life) scale the mixing distributions:

- purchase side, both models: ``alpha_i = alpha0 * exp(-gamma1' z_i)``, so that the mean
  purchase rate ``r / alpha_i`` grows by ``exp(gamma1)`` per unit of ``z``;
- dropout side, BG/NBD: ``a_i = a0 * exp(gamma2' z_i)`` and ``b_i = b0 * exp(gamma3' z_i)``
  (the note's form, with separate coefficients for ``a`` and ``b``);
- dropout side, Pareto/NBD: ``beta_i = beta0 * exp(-gamma2' z_i)``, so that the mean dropout
  rate ``s / beta_i`` grows by ``exp(gamma2)`` per unit of ``z``.

``r`` (and ``s``) are shared. The purchase and the dropout covariates may differ; each is a
numeric column of the summary (a 0/1 dummy for a category: ``pd.get_dummies(..., drop_first=True,
dtype=float)``), named in ``__init__`` as pymc-marketing names them
(``purchase_covariate_cols``, ``dropout_covariate_cols``), so the estimator keeps the
scikit-learn contract (``fit(summary, sample_weight=None)``, parameters in ``__init__``).

How it is computed: customers with the same covariate values share their parameters, so the
log-likelihood is the sum over the distinct covariate patterns of the plain model's own
likelihood (its tested, vectorised code on the pattern's distinct rows) at that pattern's
parameters, and its gradient follows by the chain rule. The cost grows with the number of
distinct covariate patterns: categorical covariates (a handful of patterns) are cheap; a
continuous covariate gives one pattern per distinct value (bin it first).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from cpm_analysis.data import load_cdnow
>>> from cpm_analysis.clv import rfm_summary
>>> s = rfm_summary(load_cdnow(sample=True), observation_end="1998-06-30")
>>> s["web"] = (np.arange(len(s)) % 2).astype(float)  # a covariate without any effect
>>> m = BetaGeoCovariateModel(purchase_covariate_cols=["web"]).fit(s)
>>> abs(m.coefficients_["purchase"]["web"]) < 3 * m.coefficient_standard_errors_["purchase"]["web"]
True
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from cpm_analysis.clv.base import (
    PURCHASE_COLUMNS,
    _numeric_hessian,
    check_sample_weight,
    check_summary,
    compress_rows,
)
from cpm_analysis.clv.bgnbd import BetaGeoModel
from cpm_analysis.clv.paretonbd import ParetoNBDModel

__all__ = ["BetaGeoCovariateModel", "ParetoNBDCovariateModel"]

# Above this many distinct covariate patterns a UserWarning says the fit will be slow.
_MANY_PATTERNS = 200


def _covariates(summary: pd.DataFrame, names: Sequence[str], what: str) -> np.ndarray:
    """Return the named covariate columns as a float matrix (rows x columns)."""
    missing = [c for c in names if c not in summary.columns]
    if missing:
        raise ValueError(
            f"summary: missing covariate column(s) {', '.join(map(repr, missing))} named in "
            f"{what}; join the customer attributes onto the summary first"
        )
    out = np.empty((len(summary), len(names)))
    for j, name in enumerate(names):
        col = summary[name]
        if pd.api.types.is_bool_dtype(col):
            col = col.astype(np.float64)
        if not pd.api.types.is_numeric_dtype(col):
            raise ValueError(
                f"summary: covariate column {name!r} is not numeric; encode a category as 0/1 "
                "dummies (pd.get_dummies(..., drop_first=True, dtype=float))"
            )
        arr = col.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(
                f"summary: covariate column {name!r} has {int(bad.sum())} missing or infinite "
                "value(s)"
            )
        out[:, j] = arr
    return out


class _CovariateModel(BaseEstimator):
    """Shared fitting and prediction of the covariate models (see the module docstring)."""

    _plain: type
    # per natural parameter of the plain model: (its baseline name, covariate side, sign)
    _links: tuple[tuple[str, str | None, float], ...]
    _model_name: str

    def __init__(
        self,
        purchase_covariate_cols: Sequence[str] = (),
        dropout_covariate_cols: Sequence[str] = (),
        *,
        max_iter: int = 1000,
        tol: float = 1e-9,
    ) -> None:
        self.purchase_covariate_cols = purchase_covariate_cols
        self.dropout_covariate_cols = dropout_covariate_cols
        self.max_iter = max_iter
        self.tol = tol

    # -- layout of the parameter vector --------------------------------------------------------
    def _names(self) -> tuple[list[str], list[str]]:
        for attr in ("purchase_covariate_cols", "dropout_covariate_cols"):
            value = getattr(self, attr)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{attr}: expected a list of column names, got {value!r}")
            if len(set(value)) != len(value):
                raise ValueError(f"{attr}: a column is named twice in {list(value)}")
        return list(self.purchase_covariate_cols), list(self.dropout_covariate_cols)

    def _blocks(self, kp: int, kd: int) -> list[tuple[str, int, int]]:
        """(part, start, stop) of each coefficient block in the vector after the baselines."""
        out, at = [], len(self._links)
        for name, side, _ in self._links:
            if side is None:
                continue
            k = kp if side == "purchase" else kd
            out.append((self._part(name), at, at + k))
            at += k
        return out

    def _part(self, name: str) -> str:
        side = dict((n, s) for n, s, _ in self._links)[name]
        return (
            "purchase"
            if side == "purchase"
            else f"dropout_{name}"
            if self._two_dropout
            else "dropout"
        )

    @property
    def _two_dropout(self) -> bool:
        return sum(1 for _, s, _ in self._links if s == "dropout") > 1

    def _pattern_params(
        self, phi: np.ndarray, zp: np.ndarray, zd: np.ndarray
    ) -> tuple[np.ndarray, list[tuple[int, int, float, np.ndarray] | None]]:
        """Natural parameters per pattern (patterns x 4) and each one's design row."""
        blocks = iter(self._blocks(zp.shape[1], zd.shape[1]))
        theta = np.empty((len(zp), len(self._links)))
        designs: list[tuple[int, int, float, np.ndarray] | None] = []
        for j, (_, side, sign) in enumerate(self._links):
            if side is None:
                theta[:, j] = np.exp(phi[j])
                designs.append(None)
                continue
            _, start, stop = next(blocks)
            z = zp if side == "purchase" else zd
            theta[:, j] = np.exp(phi[j] + sign * (z @ phi[start:stop]))
            designs.append((start, stop, sign, z))
        return theta, designs

    # -- fit -------------------------------------------------------------------------------------
    def fit(
        self, summary: pd.DataFrame, sample_weight: npt.ArrayLike | None = None
    ) -> _CovariateModel:
        """Fit the baseline parameters and the covariate coefficients by maximum likelihood.

        Parameters
        ----------
        summary : DataFrame
            One row per customer: ``frequency``, ``recency``, ``T`` (as from
            :func:`~cpm_analysis.clv.rfm_summary`) and the covariate columns named in
            ``__init__``.
        sample_weight : array-like, optional
            Customers per row.

        Returns
        -------
        self

        Examples
        --------
        >>> summary = summary.assign(web=(np.arange(len(summary)) % 2).astype(float))
        >>> model = BetaGeoCovariateModel(["web"], ["web"]).fit(summary)
        >>> sorted(model.coefficients_)
        ['dropout_a', 'dropout_b', 'purchase']
        """
        purchase_cols, dropout_cols = self._names()
        cols = check_summary(summary, PURCHASE_COLUMNS)
        weights = check_sample_weight(sample_weight, len(summary))
        zp_all = _covariates(summary, purchase_cols, "purchase_covariate_cols")
        zd_all = _covariates(summary, dropout_cols, "dropout_covariate_cols")
        both = np.hstack([zp_all, zd_all])
        if both.shape[1]:
            patterns = compress_rows({str(j): both[:, j] for j in range(both.shape[1])}, sort=True)
            codes, n_patterns = patterns.inverse, patterns.n_rows
            first = np.zeros(n_patterns, dtype=np.int64)
            first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
        else:
            codes, n_patterns, first = np.zeros(len(summary), dtype=np.int64), 1, np.array([0])
        if n_patterns > _MANY_PATTERNS:
            warnings.warn(
                f"{n_patterns} distinct covariate patterns: the fit evaluates the likelihood once "
                "per pattern and will be slow; bin continuous covariates",
                UserWarning,
                stacklevel=2,
            )
        zp, zd = zp_all[first], zd_all[first]
        plain = self._plain()
        factories = []
        for g in range(n_patterns):
            rows = codes == g
            data = compress_rows(
                {k: v[rows] for k, v in cols.items()},
                None if weights is None else weights[rows],
                sort=True,
            )
            factories.append(plain._nll_factory(data))
        n_customers = float(len(summary) if weights is None else weights.sum())
        # start from the plain model's fit, coefficients 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start_model = self._plain().fit(summary, sample_weight=weights)
        k = len(self._links) + sum(b - a for _, a, b in self._blocks(zp.shape[1], zd.shape[1]))
        phi0 = np.zeros(k)
        phi0[: len(self._links)] = np.log([start_model.params_[n] for n, _, _ in self._links])

        def total(phi: np.ndarray) -> tuple[float, np.ndarray]:
            theta, designs = self._pattern_params(phi, zp, zd)
            value, grad = 0.0, np.zeros_like(phi)
            with np.errstate(all="ignore"):
                for g, nll in enumerate(factories):
                    out = nll(theta[g])
                    value += float(out[0])
                    dlog = np.asarray(out[1], dtype=np.float64) * theta[g]  # d/d log theta_g
                    for j, design in enumerate(designs):
                        grad[j] += dlog[j]
                        if design is not None:
                            start, stop, sign, z = design
                            grad[start:stop] += sign * dlog[j] * z[g]
            if not np.isfinite(value):
                return np.inf, np.zeros_like(phi)
            return value, grad

        scale = 1.0 / max(n_customers, 1.0)
        result = optimize.minimize(
            lambda p: tuple(v * scale for v in total(p)),
            phi0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-20.0, 20.0)] * len(self._links) + [(-20.0, 20.0)] * (k - len(self._links)),
            options={"maxiter": int(self.max_iter), "ftol": 1e-15, "gtol": float(self.tol)},
        )
        phi = result.x
        hess = _numeric_hessian(lambda p: total(p)[1], phi)
        try:
            cov = np.linalg.inv(hess)
            se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            se = np.full(k, np.nan)
        self.converged_ = bool(result.success)
        self.fit_message_ = str(result.message)
        if not self.converged_:
            warnings.warn(
                f"{self._model_name} with covariates did not converge ({result.message}); try a "
                "larger max_iter or fewer covariates",
                ConvergenceWarning,
                stacklevel=2,
            )
        base = [n for n, _, _ in self._links]
        self.params_ = {n: float(np.exp(phi[j])) for j, n in enumerate(base)}
        self.standard_errors_ = {
            n: float(np.exp(phi[j]) * se[j]) for j, n in enumerate(base)
        }  # delta method from the log scale
        self.coefficients_ = {}
        self.coefficient_standard_errors_ = {}
        for part, start, stop in self._blocks(zp.shape[1], zd.shape[1]):
            names = purchase_cols if part == "purchase" else dropout_cols
            self.coefficients_[part] = dict(zip(names, map(float, phi[start:stop]), strict=True))
            self.coefficient_standard_errors_[part] = dict(
                zip(names, map(float, se[start:stop]), strict=True)
            )
        self.log_likelihood_ = -float(total(phi)[0])
        self.n_customers_ = round(n_customers)
        self.n_patterns_ = int(n_patterns)
        self.n_iter_ = int(result.nit)
        self.time_unit_ = summary.attrs.get("time_unit")
        self._phi = phi
        self._template = start_model
        return self

    # -- predictions ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(summary) first"
            )

    def customer_params(self, summary: pd.DataFrame) -> pd.DataFrame:
        """Each customer's own model parameters, from their covariates.

        Examples
        --------
        >>> summary = summary.assign(web=(np.arange(len(summary)) % 2).astype(float))
        >>> model = BetaGeoCovariateModel(["web"], ["web"]).fit(summary)
        >>> model.customer_params(summary).head(3).round(3)
                         r  alpha      a      b
        customer_id
        4            0.243  4.451  0.658  2.266
        21           0.243  4.374  1.010  2.799
        50           0.243  4.451  0.658  2.266
        """
        self._check_fitted()
        purchase_cols, dropout_cols = self._names()
        zp = _covariates(summary, purchase_cols, "purchase_covariate_cols")
        zd = _covariates(summary, dropout_cols, "dropout_covariate_cols")
        theta, _ = self._pattern_params(self._phi, zp, zd)
        return pd.DataFrame(theta, index=summary.index, columns=[n for n, _, _ in self._links])

    def _by_pattern(self, summary: pd.DataFrame, call: Any) -> np.ndarray:
        """Apply ``call(plain model with a pattern's parameters, rows)`` per pattern."""
        check_summary(summary, PURCHASE_COLUMNS, allow_empty=True)
        theta = self.customer_params(summary)
        patterns = compress_rows({c: theta[c].to_numpy() for c in theta.columns})
        out: np.ndarray | None = None
        for g in range(patterns.n_rows):
            rows = np.flatnonzero(patterns.inverse == g)
            twin = copy.copy(self._template)
            twin.params_ = {c: float(patterns.columns[c][g]) for c in theta.columns}
            values = np.asarray(call(twin, summary.iloc[rows]))
            if out is None:
                out = np.empty((len(summary), *values.shape[1:]))
            out[rows] = values
        return out if out is not None else np.zeros(0)

    def expected_purchases(self, t: float | npt.ArrayLike, summary: pd.DataFrame) -> pd.Series:
        """Return the expected purchases in the next ``t`` time units per customer, given their covariates.

        Examples
        --------
        >>> summary = summary.assign(web=(np.arange(len(summary)) % 2).astype(float))
        >>> model = BetaGeoCovariateModel(["web"], ["web"]).fit(summary)
        >>> model.expected_purchases(52, summary).head(3).round(3)
        customer_id
        4     1.660
        21    0.233
        50    0.255
        Name: expected_purchases, dtype: float64
        """
        self._check_fitted()
        if np.ndim(t) > 0:
            times = pd.Series(np.asarray(t, dtype=np.float64).ravel(), index=summary.index)
            values = self._by_pattern(
                summary, lambda m, s: m.expected_purchases(times.loc[s.index], s).to_numpy()
            )
        else:
            values = self._by_pattern(summary, lambda m, s: m.expected_purchases(t, s).to_numpy())
        return pd.Series(values, index=summary.index, name="expected_purchases")

    def expected_purchases_over(
        self, times: Sequence[float] | np.ndarray, summary: pd.DataFrame
    ) -> np.ndarray:
        """Return the expected purchases for several horizons (customers x horizons).

        Used by :func:`~cpm_analysis.clv.customer_lifetime_value`.

        Examples
        --------
        >>> summary = summary.assign(web=(np.arange(len(summary)) % 2).astype(float))
        >>> model = BetaGeoCovariateModel(["web"], ["web"]).fit(summary)
        >>> model.expected_purchases_over([4, 13, 52], summary).shape
        (2357, 3)
        """
        self._check_fitted()
        return self._by_pattern(summary, lambda m, s: m.expected_purchases_over(times, s))

    def probability_alive(self, summary: pd.DataFrame) -> pd.Series:
        """Probability that each customer is still active, given their covariates.

        Examples
        --------
        >>> summary = summary.assign(web=(np.arange(len(summary)) % 2).astype(float))
        >>> model = BetaGeoCovariateModel(["web"], ["web"]).fit(summary)
        >>> model.probability_alive(summary).head(3).round(3)
        customer_id
        4     0.753
        21    0.195
        50    1.000
        Name: probability_alive, dtype: float64
        """
        self._check_fitted()
        values = self._by_pattern(summary, lambda m, s: m.probability_alive(s).to_numpy())
        return pd.Series(values, index=summary.index, name="probability_alive")


class BetaGeoCovariateModel(_CovariateModel):
    """BG/NBD with time-invariant covariates on the purchase rate and on dropout.

    ``alpha_i = alpha0 exp(-gamma1' z_purchase)``, ``a_i = a0 exp(gamma2' z_dropout)``,
    ``b_i = b0 exp(gamma3' z_dropout)`` (Fader & Hardie 2007, note 019); with no covariates the
    fit is :class:`~cpm_analysis.clv.BetaGeoModel`'s.

    Parameters
    ----------
    purchase_covariate_cols : list of str
        Numeric summary columns acting on the purchase rate (``gamma1``).
    dropout_covariate_cols : list of str
        Numeric summary columns acting on the dropout probability (``gamma2``, ``gamma3``).
    max_iter : int
        Maximum L-BFGS-B iterations.
    tol : float
        Gradient tolerance (on the mean log-likelihood per customer).

    Attributes
    ----------
    params_ : dict
        Baselines ``r``, ``alpha`` (``alpha0``), ``a`` (``a0``), ``b`` (``b0``): the parameters
        of a customer whose covariates are all 0.
    standard_errors_ : dict
        Of the baselines (delta method from the log scale).
    coefficients_ : dict
        ``{"purchase": {col: gamma1}, "dropout_a": {col: gamma2}, "dropout_b": {col: gamma3}}``;
        a positive purchase coefficient means more purchases, a positive ``dropout_a``
        (or negative ``dropout_b``) coefficient a higher dropout probability.
    coefficient_standard_errors_ : dict
        The same layout, from the inverse Hessian.
    log_likelihood_, n_customers_, converged_, n_iter_, time_unit_
        As for :class:`~cpm_analysis.clv.BetaGeoModel`.
    n_patterns_ : int
        Distinct covariate patterns.

    Examples
    --------
    >>> summary = summary.assign(web=(np.arange(len(summary)) % 2).astype(float))
    >>> model = BetaGeoCovariateModel(["web"], ["web"]).fit(summary)
    >>> round(model.coefficients_["purchase"]["web"], 3)
    0.017
    """

    _plain = BetaGeoModel
    _links = (
        ("r", None, 1.0),
        ("alpha", "purchase", -1.0),
        ("a", "dropout", 1.0),
        ("b", "dropout", 1.0),
    )
    _model_name = "BG/NBD"


class ParetoNBDCovariateModel(_CovariateModel):
    """Pareto/NBD with time-invariant covariates on the purchase and the dropout rate.

    ``alpha_i = alpha0 exp(-gamma1' z_purchase)`` and ``beta_i = beta0 exp(-gamma2' z_dropout)``
    (Fader & Hardie 2007, note 019); with no covariates the fit is
    :class:`~cpm_analysis.clv.ParetoNBDModel`'s.

    Parameters
    ----------
    purchase_covariate_cols, dropout_covariate_cols, max_iter, tol
        As for :class:`BetaGeoCovariateModel`.

    Attributes
    ----------
    params_ : dict
        Baselines ``r``, ``alpha`` (``alpha0``), ``s``, ``beta`` (``beta0``).
    coefficients_ : dict
        ``{"purchase": {col: gamma1}, "dropout": {col: gamma2}}``; positive coefficients mean
        a higher purchase rate and a higher dropout rate.
    standard_errors_, coefficient_standard_errors_, log_likelihood_, n_patterns_, ...
        As for :class:`BetaGeoCovariateModel`.

    Examples
    --------
    >>> summary = summary.assign(web=(np.arange(len(summary)) % 2).astype(float))
    >>> model = ParetoNBDCovariateModel(["web"], ["web"]).fit(summary)
    >>> sorted(model.coefficients_)
    ['dropout', 'purchase']
    """

    _plain = ParetoNBDModel
    _links = (
        ("r", None, 1.0),
        ("alpha", "purchase", -1.0),
        ("s", None, 1.0),
        ("beta", "dropout", -1.0),
    )
    _model_name = "Pareto/NBD"
