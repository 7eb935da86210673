"""Shared machinery of the CLV models: input checks, row compression, maximum likelihood.

Every model maximises its log-likelihood with :func:`scipy.optimize.minimize` over the logarithm
of its (positive) parameters, from the mean negative log-likelihood per customer plus an
optional L2 penalty ``penalizer_coef * sum(params ** 2)`` (as in ``lifetimes``). The purchase
models fit the *distinct* ``(frequency, recency, T)`` rows once each, weighted by how many
customers share them, so their cost follows the number of distinct rows, not of customers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg, optimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from cpm_analysis.i18n import M_

# Bounds of the log-parameters: exp(+-20) spans 2e-9 .. 5e8, far beyond any sensible value, and
# keeps every intermediate quantity finite.
LOG_BOUND = 20.0
# Fits on more distinct rows than this start from a fit on this many of them.
WARM_START_ROWS = 5_000
# Relative change of the objective at which L-BFGS-B stops (besides the gradient test).
FTOL = 1e-12
# A fitted parameter below 1 / NEAR_BOUND or above NEAR_BOUND is reported in ``at_boundary_``:
# the data push it towards 0 or infinity (e.g. BG/NBD a -> 0 or b -> infinity: no dropout).
NEAR_BOUND = 1e6
# ``no_dropout_``: fewer than NO_DROPOUT_SHARE of the repeat buyers have P(alive) < NO_DROPOUT_ALIVE.
NO_DROPOUT_ALIVE = 0.99
NO_DROPOUT_SHARE = 0.01

__all__ = [
    "ConvergenceWarning",
    "NotFittedError",
    "check_summary",
    "compress_rows",
]

NegLogLikelihood: TypeAlias = Callable[
    [np.ndarray], tuple[float, np.ndarray] | tuple[float, np.ndarray, np.ndarray]
]
"""``neg_ll(params) -> (value, gradient)``, or ``(value, gradient, hessian)``, in natural
parameters: what :func:`maximize_likelihood` minimises."""


class PurchasePredictor(Protocol):
    """What :func:`~cpm_analysis.clv.customer_lifetime_value` needs of a purchase model.

    The purchase models (:class:`PurchaseModel`) and the covariate models
    (:mod:`cpm_analysis.clv.covariates`, not subclasses of it) both have it; a model that also
    has ``expected_purchases_over(times, summary)`` is evaluated for all horizons at once.
    """

    def expected_purchases(self, t: float | npt.ArrayLike, summary: pd.DataFrame, /) -> pd.Series:
        """Return the expected purchases in the next ``t`` time units, per customer."""
        ...


def check_summary(
    summary: Any,  # Any: this is the check of what a user passed (TypeError if not a DataFrame)
    columns: Sequence[str],
    *,
    what: str = "summary",
    allow_empty: bool = False,
    allow_negative: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Validate the numeric summary columns a model needs and return them as float arrays.

    Raises ``ValueError`` naming the column and the number of offending rows for a missing
    column, non-numeric values, missing or infinite values, a negative frequency, recency or
    ``T``, a recency greater than ``T`` and a non-zero recency with a zero frequency. Columns
    named in ``allow_negative`` may hold negative values (a mean spend pulled below zero by
    refunds, which the Gamma-Gamma model leaves out).

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [1, 0], "recency": [2.0, 0.0], "T": [3.0, 4.0]})
    >>> check_summary(s, ["frequency", "recency", "T"])["T"]
    array([3., 4.])
    """
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(
            f"{what}: expected a DataFrame such as rfm_summary() returns, got "
            f"{type(summary).__name__}"
        )
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise ValueError(
            f"{what}: missing column(s) {', '.join(repr(c) for c in missing)}; expected "
            f"{', '.join(columns)} (as returned by rfm_summary)"
        )
    if not allow_empty and len(summary) == 0:
        raise ValueError(f"{what}: no rows")
    out: dict[str, np.ndarray] = {}
    for col in columns:
        values = summary[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            numeric = pd.to_numeric(values, errors="coerce")
            bad = int((numeric.isna() & values.notna()).sum())
            if bad or pd.api.types.is_bool_dtype(values):
                raise ValueError(
                    f"{what}: column '{col}' has {bad or len(values)} non-numeric value(s)"
                )
            values = numeric
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        nonfinite = ~np.isfinite(arr)
        if nonfinite.any():
            raise ValueError(
                f"{what}: column '{col}' has {int(nonfinite.sum())} missing or infinite value(s)"
            )
        negative = arr < 0
        if negative.any() and col not in allow_negative:
            raise ValueError(f"{what}: column '{col}' has {int(negative.sum())} negative value(s)")
        out[col] = arr
    if "recency" in out and "T" in out:
        # Summaries read back from a CSV rounded to two decimals can show recency a hair
        # above T; anything beyond rounding is an error.
        over = out["recency"] > out["T"] + 1e-6 * np.maximum(1.0, out["T"])
        if over.any():
            raise ValueError(
                f"{what}: column 'recency' is greater than 'T' in {int(over.sum())} row(s); "
                "recency is the time from the first to the last purchase and T the time from the "
                "first purchase to the end of the period"
            )
        out["recency"] = np.minimum(out["recency"], out["T"])
    if "recency" in out and "frequency" in out:
        stray = (out["frequency"] == 0) & (out["recency"] > 0)
        if stray.any():
            raise ValueError(
                f"{what}: column 'recency' is positive in {int(stray.sum())} row(s) whose "
                "frequency is 0 (a customer without repeat purchases has recency 0)"
            )
    return out


@dataclass
class Compressed:
    """Distinct rows of a set of columns with their multiplicities.

    ``columns[name]`` holds the distinct rows' values; ``uniques[name]`` and ``codes[name]``
    give the same values as the column's distinct values and an index into them, so that
    functions of one column can be evaluated once per distinct value.
    """

    columns: dict[str, np.ndarray]
    weights: np.ndarray
    inverse: np.ndarray
    uniques: dict[str, np.ndarray]
    codes: dict[str, np.ndarray]

    @property
    def n_rows(self) -> int:
        return len(self.weights)

    def subset(self, rows: np.ndarray, scale: float = 1.0) -> Compressed:
        """Return some of the distinct rows (weights multiplied by ``scale``); no inverse mapping."""
        return Compressed(
            columns={k: v[rows] for k, v in self.columns.items()},
            weights=self.weights[rows] * scale,
            inverse=np.zeros(0, dtype=np.int64),
            uniques=self.uniques,
            codes={k: v[rows] for k, v in self.codes.items()},
        )


def check_sample_weight(sample_weight: npt.ArrayLike | None, n_rows: int) -> np.ndarray | None:
    """``sample_weight`` as finite non-negative floats, one per row, or ``None``.

    Examples
    --------
    >>> check_sample_weight([1, 2], 2)
    array([1., 2.])
    """
    if sample_weight is None:
        return None
    try:
        w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError("sample_weight: expected numbers, one per summary row") from None
    if len(w) != n_rows:
        raise ValueError(f"sample_weight: {len(w)} weights for {n_rows} summary rows")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight: weights must be finite and non-negative")
    if not (w > 0).any():
        raise ValueError("sample_weight: at least one weight must be positive")
    return w


def compress_rows(
    columns: dict[str, np.ndarray], weights: np.ndarray | None = None, *, sort: bool = False
) -> Compressed:
    """Return the distinct rows of equal-length float columns, their counts and the inverse mapping.

    Each column is factorised (hash-based), the codes are combined into one integer key per row,
    and the key is sorted together with the row number packed into its low bits (a plain
    ``np.sort`` of int64, much faster than ``argsort``). Distinct rows come out in key order;
    with ``sort=True`` the codes follow the sorted values, so the distinct rows come out sorted
    by value whatever the input order (model fits use this, so that a fit on a summary and on
    its distinct rows with ``weights`` see identical data). ``weights`` (one per row) are summed
    per distinct row instead of counting the rows.

    Examples
    --------
    >>> c = compress_rows({"x": np.array([1.0, 1.0, 2.0]), "t": np.array([3.0, 3.0, 3.0])})
    >>> c.columns["x"], c.weights
    (array([1., 2.]), array([2., 1.]))
    """
    names = list(columns)
    n = len(columns[names[0]])
    key = np.zeros(n, dtype=np.int64)
    size = 1
    col_codes: dict[str, np.ndarray] = {}
    uniques: dict[str, np.ndarray] = {}
    for name in names:
        codes, uniq = pd.factorize(columns[name], sort=sort)
        col_codes[name] = codes.astype(np.int64, copy=False)
        uniques[name] = np.asarray(uniq, dtype=np.float64)
        k = max(len(uniq), 1)
        if size * k >= 2**62:
            key = pd.factorize(key, sort=False)[0].astype(np.int64)
            size = int(key.max()) + 1 if n else 1
        key = key * k + col_codes[name]
        size *= k
    row_bits = max(int(n - 1).bit_length(), 1)
    if n and size.bit_length() + row_bits <= 62:
        packed = (key << row_bits) | np.arange(n, dtype=np.int64)
        packed.sort()
        order = packed & ((1 << row_bits) - 1)
        packed >>= row_bits
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(packed[1:], packed[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        group = np.cumsum(new) - 1
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = group
        first = order[starts]
        counts = np.diff(np.append(starts, n)).astype(np.float64)
    else:
        inv, uniq_key = pd.factorize(key, sort=False)
        inverse = inv.astype(np.int64, copy=False)
        k = len(uniq_key)
        counts = np.bincount(inverse, minlength=k).astype(np.float64)
        first = np.empty(k, dtype=np.int64)
        first[inverse[::-1]] = np.arange(n - 1, -1, -1)
    if weights is not None:
        counts = np.bincount(inverse, weights=weights, minlength=len(first)).astype(np.float64)
    codes_first = {name: col_codes[name][first] for name in names}
    return Compressed(
        columns={name: uniques[name][codes_first[name]] for name in names},
        weights=counts,
        inverse=inverse,
        uniques=uniques,
        codes=codes_first,
    )


@dataclass
class FitResult:
    """What :func:`maximize_likelihood` returns."""

    params: np.ndarray
    log_likelihood: float
    standard_errors: np.ndarray
    converged: bool
    n_iter: int
    message: str
    log_hessian: np.ndarray | None = None


def _numeric_hessian(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Forward differences of an analytic gradient (k + 1 gradient evaluations)."""
    k = len(x)
    hess = np.empty((k, k))
    g0 = grad(x)
    for j in range(k):
        h = 1e-4 * max(abs(x[j]), 1e-3)
        up = x.copy()
        up[j] += h
        hess[:, j] = (grad(up) - g0) / h
    return (hess + hess.T) / 2


def _standard_errors(
    raw: Callable[[np.ndarray], tuple[float, np.ndarray]],
    exact_hessian: np.ndarray | None,
    theta: np.ndarray,
    penalizer_coef: float,
    n_customers: float,
) -> np.ndarray:
    """Return the standard errors: square roots of the inverse Hessian's diagonal.

    They are NaN when the Hessian of the total objective is not positive definite.
    """
    k = len(theta)
    with np.errstate(all="ignore"):
        if exact_hessian is not None:
            h = exact_hessian + 2 * penalizer_coef * n_customers * np.eye(k)
        else:
            h = _numeric_hessian(lambda t: raw(t)[1] + 2 * penalizer_coef * n_customers * t, theta)
        if not np.all(np.isfinite(h)):
            return np.full(k, np.nan)
        try:
            np.linalg.cholesky(h)
            var = np.diag(np.linalg.inv(h))
        except np.linalg.LinAlgError:
            return np.full(k, np.nan)
    return np.where(var > 0, np.sqrt(np.abs(var)), np.nan)


def maximize_likelihood(
    neg_ll: NegLogLikelihood,
    x0: np.ndarray,
    *,
    n_customers: float,
    names: Sequence[str],
    model: str,
    penalizer_coef: float = 0.0,
    max_iter: int = 1000,
    tol: float = 1e-8,
    method: str = "L-BFGS-B",
    final: bool = True,
    curvature: np.ndarray | None = None,
) -> FitResult:
    """Minimise a total negative log-likelihood over log-parameters and report the fit.

    Parameters
    ----------
    neg_ll : callable
        ``neg_ll(params) -> (total negative log-likelihood, gradient)`` in natural parameters,
        or ``(value, gradient, hessian)`` for ``method="trust-exact"``.
    x0 : array
        Starting natural parameters (positive).
    n_customers : float
        Customers in the likelihood, for the per-customer mean the optimiser works on.
    method : {"L-BFGS-B", "trust-exact"}
        The optimiser; ``trust-exact`` (Newton with a trust region) needs the Hessian.
    final : bool
        False for a preliminary fit (a warm start): no warning, no standard errors, but the
        Hessian of the mean objective in log-parameters (``log_hessian``) for preconditioning.
    curvature : array, optional
        An approximate Hessian of the mean objective in log-parameters (from a preliminary fit);
        L-BFGS then works on variables in which it is the identity, which takes the
        iterations on the full data from about twenty down to a few.

    Returns
    -------
    FitResult
        Natural parameters, the total (unpenalised) log-likelihood, standard errors from the
        inverse Hessian of the penalised objective, and convergence information. A fit that did
        not converge emits a :class:`~sklearn.exceptions.ConvergenceWarning` (a ``UserWarning``)
        saying what to try; the parameters returned are always finite (the best point found).

    Examples
    --------
    >>> f = lambda p: (float(((p - 2) ** 2).sum()), 2 * (p - 2))
    >>> r = maximize_likelihood(f, np.array([1.0]), n_customers=1, names=["x"], model="demo")
    >>> round(float(r.params[0]), 4)
    2.0
    """
    x0 = np.asarray(x0, dtype=np.float64)
    if not np.all(np.isfinite(x0)) or np.any(x0 <= 0):
        raise ValueError(f"initial_params: {model} needs positive finite values, got {x0}")
    scale = 1.0 / max(float(n_customers), 1.0)
    best: dict[str, Any] = {"f": np.inf, "phi": np.log(x0)}
    cache: dict[bytes, tuple[float, np.ndarray, np.ndarray | None]] = {}

    def full(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray | None]:
        """Total negative log-likelihood, gradient (and Hessian) in natural parameters."""
        key = theta.tobytes()
        if key not in cache:
            if len(cache) > 8:
                cache.clear()
            with np.errstate(all="ignore"):
                out = neg_ll(theta)
            h = np.asarray(out[2], dtype=np.float64) if len(out) > 2 else None
            cache[key] = (float(out[0]), np.asarray(out[1], dtype=np.float64), h)
        return cache[key]

    def raw(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad, _ = full(theta)
        return value, grad

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        if not np.all(np.abs(phi) <= LOG_BOUND + 1e-9):  # trust-exact has no bounds
            return np.inf, np.zeros_like(phi)
        theta = np.exp(phi)
        value, grad = raw(theta)
        value = value * scale + penalizer_coef * float(np.sum(theta**2))
        grad = (grad * scale + 2 * penalizer_coef * theta) * theta
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(phi)
        if value < best["f"]:
            best["f"], best["phi"] = value, phi.copy()
        return float(value), grad

    def objective_hess(phi: np.ndarray) -> np.ndarray:
        if not np.all(np.abs(phi) <= LOG_BOUND + 1e-9):
            return np.eye(len(phi))
        theta = np.exp(phi)
        _, grad, hess = full(theta)
        if hess is None:
            raise ValueError(f"{model}: method='trust-exact' needs the Hessian")
        h = hess * scale + 2 * penalizer_coef * np.eye(len(theta))
        g = grad * scale + 2 * penalizer_coef * theta
        out = h * np.outer(theta, theta) + np.diag(g * theta)
        return out if np.all(np.isfinite(out)) else np.eye(len(theta))

    phi0 = np.clip(np.log(x0), -LOG_BOUND, LOG_BOUND)
    if method == "trust-exact":
        res = optimize.minimize(
            objective,
            phi0,
            jac=True,
            hess=objective_hess,
            method="trust-exact",
            options={"maxiter": max_iter, "gtol": tol},
        )
    else:
        chol = None
        if curvature is not None:
            try:
                chol = np.linalg.cholesky(curvature)
            except np.linalg.LinAlgError:
                chol = None
        if chol is None:
            res = optimize.minimize(
                objective,
                phi0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(-LOG_BOUND, LOG_BOUND)] * len(phi0),
                options={"maxiter": max_iter, "gtol": tol, "ftol": FTOL, "maxls": 50},
            )
        else:
            # phi = phi0 + chol^-T psi: the objective's Hessian in psi is about the identity.
            def to_phi(psi: np.ndarray) -> np.ndarray:
                return phi0 + linalg.solve_triangular(chol.T, psi, lower=False)

            def objective_psi(psi: np.ndarray) -> tuple[float, np.ndarray]:
                phi_ = to_phi(psi)
                if np.any(np.abs(phi_) > LOG_BOUND):
                    return np.inf, np.zeros_like(psi)
                value, grad = objective(phi_)
                return value, linalg.solve_triangular(chol, grad, lower=True)

            res = optimize.minimize(
                objective_psi,
                np.zeros_like(phi0),
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": max_iter, "gtol": tol, "ftol": FTOL, "maxls": 50},
            )
            res.x = to_phi(res.x)
    if method == "trust-exact" and not res.success and np.isfinite(best["f"]):
        # a failed trust-region step (e.g. an indefinite Hessian far from the optimum):
        # continue with L-BFGS-B from the best point found
        res = optimize.minimize(
            objective,
            np.clip(best["phi"], -LOG_BOUND, LOG_BOUND),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(phi0),
            options={"maxiter": max_iter, "gtol": tol, "ftol": FTOL, "maxls": 50},
        )
    phi = np.asarray(res.x, dtype=np.float64)
    converged = bool(res.success)
    message = str(getattr(res, "message", ""))
    f_final, g_final = objective(phi) if np.all(np.isfinite(phi)) else (np.inf, None)
    if not np.isfinite(f_final) or f_final > best["f"]:
        phi = best["phi"]
        f_final, g_final = objective(phi)
    if not np.isfinite(f_final):
        raise RuntimeError(
            f"{model}: the log-likelihood is not finite at any parameters tried; check the "
            "summary or pass initial_params"
        )
    if converged and g_final is not None:
        # L-BFGS-B also stops on a stalled line search; check the gradient ourselves.
        worst = float(np.max(np.abs(g_final)))
        if worst > max(1e3 * tol, 1e-5):
            converged = False
            message = M_(
                "the gradient is still %(gradient)s (%(reason)s)",
                gradient=f"{worst:.2g}",
                reason=message,
            )
    bounds_hit = [n for n, v in zip(names, phi, strict=True) if abs(v) >= LOG_BOUND - 1e-6]
    if bounds_hit:
        converged = False
        message = M_(
            "parameter(s) %(params)s ran to the edge of the search range (exp(+-%(bound)s)); "
            "the data do not pin them down",
            params=", ".join(bounds_hit),
            bound=f"{LOG_BOUND:g}",
        )
    theta = np.exp(phi)
    value, _ = raw(theta)
    se = np.full(len(theta), np.nan)
    if final:
        se = _standard_errors(raw, full(theta)[2], theta, penalizer_coef, n_customers)
        if converged and not np.all(np.isfinite(se)):
            converged = False
            bad = [n for n, v in zip(names, se, strict=True) if not np.isfinite(v)]
            message = M_(
                "the Hessian is singular at the optimum, so %(params)s are not identified by "
                "the data",
                params=", ".join(bad),
            )
    if not final:
        try:
            curv = _numeric_hessian(lambda ph: objective(ph)[1], phi)
        except (ValueError, FloatingPointError):  # pragma: no cover - defensive
            curv = None
        return FitResult(
            theta, -value, np.full(len(theta), np.nan), converged, res.nit, message, curv
        )
    if not converged:
        warnings.warn(
            f"{model} did not converge: {message}. Try penalizer_coef=0.001 (or larger), "
            "different initial_params, a larger max_iter, or check the summary (units, "
            "calibration period).",
            ConvergenceWarning,
            stacklevel=3,
        )

    return FitResult(
        params=theta,
        log_likelihood=-value,
        standard_errors=se,
        converged=converged,
        n_iter=int(getattr(res, "nit", 0)),
        message=message,
    )


class BaseModel(BaseEstimator):
    """Common behaviour of the CLV models (scikit-learn style).

    Parameters are set in ``__init__`` only; :meth:`fit` sets the attributes ending in ``_``;
    methods of an unfitted model raise :class:`~sklearn.exceptions.NotFittedError`.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from cpm_analysis.clv import BetaGeoModel
    >>> clone(BetaGeoModel(penalizer_coef=0.01)).get_params()["penalizer_coef"]
    0.01
    """

    _param_names: tuple[str, ...] = ()
    _model_name = "model"
    _method = "L-BFGS-B"

    def __init__(
        self,
        *,
        penalizer_coef: float = 0.0,
        initial_params: dict[str, float] | None = None,
        max_iter: int = 1000,
        tol: float = 1e-8,
    ) -> None:
        self.penalizer_coef = penalizer_coef
        self.initial_params = initial_params
        self.max_iter = max_iter
        self.tol = tol

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with a "
                "customer summary (rfm_summary) before using this method."
            )

    def _check_init(self) -> None:
        if not (np.isfinite(self.penalizer_coef) and self.penalizer_coef >= 0):
            raise ValueError(
                f"penalizer_coef: expected a non-negative number, got {self.penalizer_coef!r}"
            )
        if self.initial_params is not None:
            unknown = set(self.initial_params) - set(self._param_names)
            if unknown:
                raise ValueError(
                    f"initial_params: unknown parameter(s) {sorted(unknown)}; expected "
                    f"{', '.join(self._param_names)}"
                )

    def _start(self, default: dict[str, float]) -> np.ndarray:
        start = {**default, **(self.initial_params or {})}
        return np.array([float(start[n]) for n in self._param_names])

    def _store_fit(self, result: FitResult, n_customers: int, summary: pd.DataFrame) -> None:
        self.params_ = {n: float(v) for n, v in zip(self._param_names, result.params, strict=True)}
        self.log_likelihood_ = result.log_likelihood
        self.standard_errors_ = {
            n: float(v) for n, v in zip(self._param_names, result.standard_errors, strict=True)
        }
        self.n_customers_ = int(n_customers)
        self.converged_ = result.converged
        self.fit_message_ = result.message
        self.n_iter_ = result.n_iter
        self.time_unit_ = summary.attrs.get("time_unit")
        self.at_boundary_ = tuple(
            n
            for n, v in zip(self._param_names, result.params, strict=True)
            if not (1.0 / NEAR_BOUND < v < NEAR_BOUND)
        )
        warnings_: list[str] = []
        if not result.converged:
            warnings_.append(
                M_(
                    "The %(model)s fit did not converge (%(reason)s); its figures are the best "
                    "found, not a maximum of the likelihood.",
                    model=self._model_name,
                    reason=result.message,
                )
            )
        if self.at_boundary_:
            edge = {
                "model": self._model_name,
                "params": ", ".join(f"{n} = {self.params_[n]:.3g}" for n in self.at_boundary_),
                "low": f"{1 / NEAR_BOUND:g}",
                "high": f"{NEAR_BOUND:g}",
            }
            warnings_.append(
                M_(
                    "The %(model)s fit pushed %(params)s to the edge of the range (below "
                    "%(low)s or above %(high)s): the data do not pin it down, and predictions "
                    "use the limit of the model there.",
                    **edge,
                )
                if len(self.at_boundary_) == 1
                else M_(
                    "The %(model)s fit pushed %(params)s to the edge of the range (below "
                    "%(low)s or above %(high)s): the data do not pin them down, and predictions "
                    "use the limit of the model there.",
                    **edge,
                )
            )
        self.fit_warnings_ = warnings_

    def _diagnostic_extras(self) -> dict[str, Any]:
        """Model-specific health figures for :meth:`diagnostics` (none by default)."""
        return {}

    def diagnostics(self) -> dict[str, Any]:
        """Return the health of the fit, JSON-able, for a report page to print.

        Returns
        -------
        dict
            ``model`` (its name), ``converged`` (``converged_``: the optimiser met its
            tolerance), ``at_boundary`` (``at_boundary_``: names of parameters below 1e-6 or
            above 1e6), any model-specific flags (``no_dropout`` for the purchase models,
            ``excluded`` for the Gamma-Gamma model) and ``warnings`` (``fit_warnings_``: one
            plain-language sentence per problem; empty when the fit is healthy).

        Examples
        --------
        >>> import pandas as pd
        >>> from cpm_analysis.clv import BetaGeoModel
        >>> s = pd.DataFrame({"frequency": [0, 1, 2, 0, 3] * 10, "recency": [0, 5, 8, 0, 9] * 10,
        ...                   "T": [10.0, 12, 9, 11, 10] * 10})
        >>> sorted(BetaGeoModel().fit(s).diagnostics())
        ['at_boundary', 'converged', 'model', 'no_dropout', 'warnings']
        """
        self._check_fitted()
        return {
            "model": self._model_name,
            "converged": bool(self.converged_),
            "at_boundary": list(self.at_boundary_),
            **self._diagnostic_extras(),
            "warnings": list(self.fit_warnings_),
        }


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the unique values (first-appearance order) and the inverse index, hash-based.

    Examples
    --------
    >>> unique_inverse(np.array([2.0, 1.0, 2.0]))
    (array([2., 1.]), array([0, 1, 0]))
    """
    codes, uniques = pd.factorize(values, sort=False)
    return np.asarray(uniques, dtype=np.float64), codes.astype(np.int64, copy=False)


def as_times(
    t: Any,  # Any: the check of a user's horizon (a number, array or Series; ValueError otherwise)
    index: pd.Index,
    name: str = "t",
) -> float | np.ndarray:
    """Return a non-negative scalar time, or one per customer aligned to ``index``.

    Examples
    --------
    >>> as_times(52, pd.RangeIndex(2))
    52.0
    """
    if np.ndim(t) == 0:
        try:
            value = float(t)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: expected a number of time units, got {t!r}") from None
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name}: expected a non-negative finite time, got {t!r}")
        return value
    if isinstance(t, pd.Series):
        if not t.index.equals(index):
            t = t.reindex(index)
        arr = t.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = np.asarray(t, dtype=np.float64).ravel()
    if len(arr) != len(index):
        raise ValueError(f"{name}: got {len(arr)} times for {len(index)} customers")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} time(s) are missing, infinite or negative")
    return arr


PURCHASE_COLUMNS = ("frequency", "recency", "T")


class PurchaseModel(BaseModel):
    """Shared interface of the buy-till-you-die purchase models (BG/NBD, Pareto/NBD).

    Examples
    --------
    >>> from cpm_analysis.clv import BetaGeoModel, ParetoNBDModel
    >>> issubclass(ParetoNBDModel, PurchaseModel) and issubclass(BetaGeoModel, PurchaseModel)
    True
    """

    #: Parameters whose limit ("low": towards 0, "high": towards infinity) means no dropout;
    #: a subclass names its own (BG/NBD ``a`` low and ``b`` high).
    _dropout_limits: dict[str, str] = {}

    def _nll_factory(
        self, data: Compressed
    ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _default_start(self, data: Compressed) -> dict[str, float]:
        raise NotImplementedError  # pragma: no cover - abstract

    def fit(
        self, summary: pd.DataFrame, sample_weight: npt.ArrayLike | None = None
    ) -> PurchaseModel:
        """Fit the model by maximum likelihood to a customer summary.

        Parameters
        ----------
        summary : DataFrame
            One row per customer with ``frequency``, ``recency`` and ``T`` (see
            :func:`~cpm_analysis.clv.rfm_summary`). Rates are per the summary's time unit.
        sample_weight : array-like, optional
            How many customers each row stands for, e.g. the counts of a summary's distinct
            rows (:func:`cpm_analysis.scale.clv.distinct_rows`); a fit on the distinct rows with
            their counts gives the same parameters as a fit on the full summary.

        Returns
        -------
        self

        Examples
        --------
        >>> from cpm_analysis.clv import BetaGeoModel
        >>> bgf = BetaGeoModel().fit(summary)
        >>> round(bgf.log_likelihood_, 2)
        -9582.43
        """
        self._check_init()
        cols = check_summary(summary, PURCHASE_COLUMNS)
        weights = check_sample_weight(sample_weight, len(summary))
        data = compress_rows(cols, weights, sort=True)
        w = data.weights
        start = self._start(self._default_start(data))
        curvature = None
        if data.n_rows > WARM_START_ROWS:
            # Warm start: fit an evenly spaced subset of the distinct rows first (weights
            # scaled to the full count), so the fit on all rows needs only a few iterations.
            rows = np.linspace(0, data.n_rows - 1, WARM_START_ROWS).astype(np.int64)
            sub = data.subset(rows, float(w.sum()) / float(w[rows].sum()))
            pre = maximize_likelihood(
                self._nll_factory(sub),
                start,
                method=self._method,
                n_customers=float(w.sum()),
                names=self._param_names,
                model=self._model_name,
                penalizer_coef=self.penalizer_coef,
                max_iter=self.max_iter,
                tol=1e-6,
                final=False,
            )
            if pre.converged:
                start = pre.params
                curvature = pre.log_hessian
        result = maximize_likelihood(
            self._nll_factory(data),
            start,
            method=self._method,
            n_customers=float(w.sum()),
            names=self._param_names,
            model=self._model_name,
            penalizer_coef=self.penalizer_coef,
            max_iter=self.max_iter,
            tol=self.tol,
            curvature=curvature,
        )
        self._store_fit(result, round(float(w.sum())), summary)
        self.n_distinct_rows_ = data.n_rows
        self._fitted_index = summary.index
        self._fitted = cols
        self._check_dropout(data)
        return self

    def _check_dropout(self, data: Compressed) -> None:
        """Set ``no_dropout_``: P(alive) >= 0.99 for at least 99 % of the repeat buyers.

        Repeat buyers only: in BG/NBD a customer without repeat purchases has P(alive) = 1
        by construction, so one-time buyers say nothing about dropout.
        """
        c = data.columns
        repeat = c["frequency"] > 0
        w = data.weights[repeat]
        if w.sum() > 0:
            alive = self._p_alive(c["frequency"][repeat], c["recency"][repeat], c["T"][repeat])
            lapsed = float(w[~(alive >= NO_DROPOUT_ALIVE)].sum()) / float(w.sum())
        else:
            lapsed = 0.0
        # a dropout parameter pushed to its no-dropout end (BG/NBD a -> 0 or b -> infinity)
        degenerate = [
            n
            for n, end in self._dropout_limits.items()
            if n in self.at_boundary_ and (self.params_[n] < 1.0) == (end == "low")
        ]
        self.no_dropout_ = bool(lapsed < NO_DROPOUT_SHARE or degenerate)
        if self.no_dropout_:
            why = (
                M_(
                    "P(alive) is at least %(alive)s for %(share)s of the repeat buyers or more",
                    alive=f"{NO_DROPOUT_ALIVE:g}",
                    share=f"{1 - NO_DROPOUT_SHARE:.0%}",
                )
                if lapsed < NO_DROPOUT_SHARE
                else M_(
                    "%(params)s went to the model's no-dropout limit",
                    params=" and ".join(degenerate),
                )
            )
            self.fit_warnings_.append(
                M_(
                    "The %(model)s fit found no detectable dropout (%(why)s): the model treats "
                    "almost everyone as still active and its forecasts assume nobody lapses (a "
                    "longer history usually shows who did).",
                    model=self._model_name,
                    why=why,
                )
            )

    def _diagnostic_extras(self) -> dict[str, Any]:
        return {"no_dropout": bool(getattr(self, "no_dropout_", False))}

    # -- prediction helpers ----------------------------------------------------------------
    def _data(self, summary: pd.DataFrame | None) -> tuple[pd.Index, dict[str, np.ndarray]]:
        self._check_fitted()
        if summary is None:
            return self._fitted_index, self._fitted
        return summary.index, check_summary(summary, PURCHASE_COLUMNS, allow_empty=True)

    def _theta(self) -> tuple[float, ...]:
        return tuple(self.params_[n] for n in self._param_names)

    def _expected_many(
        self, times: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _expected_each(
        self, t: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _p_alive(
        self, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _expected_new(self, t: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def expected_purchases(
        self, t: float | npt.ArrayLike, summary: pd.DataFrame | None = None
    ) -> pd.Series:
        """Return the expected number of purchases in the next ``t`` time units, per customer.

        The conditional expectation E[Y(t) | frequency, recency, T] of the purchases in
        (T, T + t] given each customer's history.

        Parameters
        ----------
        t : float or array-like
            Horizon in the summary's time unit (weeks for ``time_unit="W"``); a scalar, or one
            value per customer (a Series is aligned on the index).
        summary : DataFrame, optional
            Customers to score (``frequency``, ``recency``, ``T``); default the fitted ones.

        Returns
        -------
        Series
            Named ``expected_purchases``, indexed like the summary.

        Examples
        --------
        >>> bgf.expected_purchases(52).nlargest(3).round(3)
        customer_id
        15562    25.757
        1760     25.063
        619      17.683
        Name: expected_purchases, dtype: float64
        >>> bgf.expected_purchases(summary["duration_holdout"], summary).head(3).round(3)
        customer_id
        4     1.226
        21    0.203
        50    0.195
        Name: expected_purchases, dtype: float64
        """
        index, cols = self._data(summary)
        tt = as_times(t, index)
        x, tx, T = cols["frequency"], cols["recency"], cols["T"]
        if np.ndim(tt) == 0:
            values = self._expected_many(np.array([tt]), x, tx, T)[:, 0]
        else:
            values = self._expected_each(np.asarray(tt, dtype=np.float64), x, tx, T)
        return pd.Series(values, index=index, name="expected_purchases")

    def expected_purchases_over(
        self, times: Sequence[float] | np.ndarray, summary: pd.DataFrame | None = None
    ) -> np.ndarray:
        """Return the expected purchases for several horizons at once: an array (customers, horizons).

        Faster than calling :meth:`expected_purchases` per horizon (the special functions are
        evaluated once per distinct customer history); used by
        :func:`~cpm_analysis.clv.customer_lifetime_value`.

        Examples
        --------
        >>> bgf.expected_purchases_over([4, 13, 52]).shape
        (2357, 3)
        """
        index, cols = self._data(summary)
        ts = np.array([as_times(t, index) for t in times], dtype=np.float64)
        return self._expected_many(ts, cols["frequency"], cols["recency"], cols["T"])

    def probability_alive(self, summary: pd.DataFrame | None = None) -> pd.Series:
        """Probability that each customer is still active at the end of their history (T).

        Parameters
        ----------
        summary : DataFrame, optional
            Customers to score; default the fitted ones.

        Returns
        -------
        Series
            Named ``probability_alive``, in [0, 1], indexed like the summary.

        Examples
        --------
        >>> (bgf.probability_alive() < 0.2).sum()
        np.int64(84)
        """
        index, cols = self._data(summary)
        values = self._p_alive(cols["frequency"], cols["recency"], cols["T"])
        return pd.Series(values, index=index, name="probability_alive")

    def expected_purchases_new_customer(self, t: float | npt.ArrayLike) -> float | np.ndarray:
        """Unconditional expected repeat purchases E[X(t)] of a new customer in ``t`` units.

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the fitted time unit.

        Returns
        -------
        float or ndarray
            Same shape as ``t``.

        Examples
        --------
        >>> round(bgf.expected_purchases_new_customer(39), 3)
        1.195
        """
        self._check_fitted()
        arr = np.asarray(t, dtype=np.float64)
        if np.any(~np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError("t: expected non-negative finite times")
        out = self._expected_new(np.atleast_1d(arr).ravel()).reshape(arr.shape)
        return float(out) if out.ndim == 0 else out


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two vectors without BLAS threads.

    A BLAS ``dot`` hands long vectors to its worker threads, which only costs time when the
    cores are shared; ``einsum`` runs its own single-threaded loop.

    Examples
    --------
    >>> dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    11.0
    """
    return float(np.einsum("i,i->", a, b))
