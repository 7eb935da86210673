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
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from sklearn.exceptions import ConvergenceWarning, NotFittedError

# Bounds of the log-parameters: exp(+-20) spans 2e-9 .. 5e8, far beyond any sensible value, and
# keeps every intermediate quantity finite.
LOG_BOUND = 20.0

__all__ = [
    "ConvergenceWarning",
    "NotFittedError",
    "check_summary",
    "compress_rows",
]


def check_summary(
    summary: Any,
    columns: Sequence[str],
    *,
    what: str = "summary",
    allow_empty: bool = False,
) -> dict[str, np.ndarray]:
    """Validate the numeric summary columns a model needs and return them as float arrays.

    Raises ``ValueError`` naming the column and the number of offending rows for a missing
    column, non-numeric values, missing or infinite values, a negative frequency, recency or
    ``T``, a recency greater than ``T`` and a non-zero recency with a zero frequency.

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
        if negative.any():
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
    """Distinct rows of a set of columns with their multiplicities."""

    columns: dict[str, np.ndarray]
    weights: np.ndarray
    inverse: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.weights)


def compress_rows(columns: dict[str, np.ndarray]) -> Compressed:
    """The distinct rows of equal-length float columns, their counts and the inverse mapping.

    Hash-based (``pd.factorize`` per column, then of the combined code), so the cost is linear in
    the number of rows.

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
    for name in names:
        codes, uniques = pd.factorize(columns[name], sort=False)
        if size * max(len(uniques), 1) >= 2**62:
            key, _ = pd.factorize(key, sort=False)
            key = key.astype(np.int64)
            size = int(key.max()) + 1 if n else 1
        key = key * len(uniques) + codes
        size *= max(len(uniques), 1)
    inverse, uniq = pd.factorize(key, sort=False)
    k = len(uniq)
    weights = np.bincount(inverse, minlength=k).astype(np.float64)
    first = np.empty(k, dtype=np.int64)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)
    return Compressed(
        columns={name: columns[name][first] for name in names},
        weights=weights,
        inverse=inverse.astype(np.int64, copy=False),
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


def _numeric_hessian(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    k = len(x)
    hess = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(x[j]))
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        hess[:, j] = (grad(up) - grad(down)) / (2 * h)
    return (hess + hess.T) / 2


def maximize_likelihood(
    neg_ll: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    *,
    n_customers: float,
    names: Sequence[str],
    model: str,
    penalizer_coef: float = 0.0,
    max_iter: int = 1000,
    tol: float = 1e-8,
    method: str = "L-BFGS-B",
    hess: Callable[[np.ndarray], np.ndarray] | None = None,
) -> FitResult:
    """Minimise a total negative log-likelihood over log-parameters and report the fit.

    Parameters
    ----------
    neg_ll : callable
        ``neg_ll(params) -> (total negative log-likelihood, gradient)`` in natural parameters.
    x0 : array
        Starting natural parameters (positive).
    n_customers : float
        Customers in the likelihood, for the per-customer mean the optimiser works on.
    hess : callable, optional
        Analytic Hessian in natural parameters; enables ``method="trust-exact"``.

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
    best = {"f": np.inf, "phi": np.log(x0)}

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        with np.errstate(all="ignore"):
            value, grad = neg_ll(theta)
            value = value * scale + penalizer_coef * float(np.sum(theta**2))
            grad = (np.asarray(grad) * scale + 2 * penalizer_coef * theta) * theta
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(phi)
        if value < best["f"]:
            best["f"], best["phi"] = value, phi.copy()
        return float(value), grad

    def objective_hess(phi: np.ndarray) -> np.ndarray:
        theta = np.exp(phi)
        with np.errstate(all="ignore"):
            _, grad = neg_ll(theta)
            h = hess(theta) * scale + 2 * penalizer_coef * np.eye(len(theta))
            g = np.asarray(grad) * scale + 2 * penalizer_coef * theta
        return h * np.outer(theta, theta) + np.diag(g * theta)

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
        bounds_hit: list[str] = [
            n for n, v in zip(names, res.x, strict=True) if abs(v) >= LOG_BOUND
        ]
    else:
        res = optimize.minimize(
            objective,
            phi0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(phi0),
            options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-15, "maxls": 50},
        )
        bounds_hit = [n for n, v in zip(names, res.x, strict=True) if abs(v) >= LOG_BOUND - 1e-6]
    phi = np.asarray(res.x, dtype=np.float64)
    converged = bool(res.success)
    message = str(getattr(res, "message", ""))
    f_final, g_final = objective(phi) if np.all(np.isfinite(phi)) else (np.inf, None)
    if not np.isfinite(f_final) or f_final > best["f"]:
        phi = best["phi"]
        f_final, g_final = objective(phi)
    if converged and g_final is not None:
        # L-BFGS-B also stops on a stalled line search; check the gradient ourselves.
        converged = bool(np.max(np.abs(g_final)) <= max(1e3 * tol, 1e-5))
        if not converged:
            message = f"gradient {np.max(np.abs(g_final)):.2g} still large ({message})"
    theta = np.exp(phi)
    if not np.isfinite(f_final):
        raise RuntimeError(
            f"{model}: the log-likelihood is not finite at any parameters tried; check the "
            "summary or pass initial_params"
        )
    if bounds_hit:
        converged = False
        message = (
            f"parameter(s) {', '.join(bounds_hit)} ran to the edge of the search range "
            f"(exp(+-{LOG_BOUND:g})); the data do not pin them down"
        )
    if not converged:
        warnings.warn(
            f"{model} did not converge: {message}. Try penalizer_coef=0.001 (or larger), "
            "different initial_params, a larger max_iter, or check the summary (units, "
            "calibration period).",
            ConvergenceWarning,
            stacklevel=3,
        )

    def total_grad(theta_: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            _, g = neg_ll(theta_)
        return np.asarray(g) + 2 * penalizer_coef * n_customers * theta_

    with np.errstate(all="ignore"):
        value, _ = neg_ll(theta)
        try:
            if hess is not None:
                h = hess(theta) + 2 * penalizer_coef * n_customers * np.eye(len(theta))
            else:
                h = _numeric_hessian(total_grad, theta)
            cov = np.linalg.inv(h)
            var = np.diag(cov)
            se = np.where(var > 0, np.sqrt(np.abs(var)), np.nan)
        except np.linalg.LinAlgError:
            se = np.full(len(theta), np.nan)
    return FitResult(
        params=theta,
        log_likelihood=-float(value),
        standard_errors=se,
        converged=converged,
        n_iter=int(getattr(res, "nit", 0)),
        message=message,
    )


class BaseModel:
    """Common behaviour of the CLV models (scikit-learn style).

    Parameters are set in ``__init__`` only; :meth:`fit` sets the attributes ending in ``_``.
    """

    _param_names: tuple[str, ...] = ()
    _model_name = "model"

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

    # -- scikit-learn conventions ----------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, as in scikit-learn."""
        return {
            "penalizer_coef": self.penalizer_coef,
            "initial_params": self.initial_params,
            "max_iter": self.max_iter,
            "tol": self.tol,
        }

    def set_params(self, **params: Any) -> BaseModel:
        """Set constructor parameters, as in scikit-learn."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{type(self).__name__}: unknown parameter {key!r}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != type(self)().get_params()[k]}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

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
        self.n_iter_ = result.n_iter
        self.time_unit_ = summary.attrs.get("time_unit")

    @property
    def summary_(self) -> pd.DataFrame:
        """Fitted parameters with standard errors and 95% intervals (normal approximation)."""
        self._check_fitted()
        coef = pd.Series(self.params_)
        se = pd.Series(self.standard_errors_)
        return pd.DataFrame(
            {
                "coef": coef,
                "se": se,
                "lower_95": coef - 1.959964 * se,
                "upper_95": coef + 1.959964 * se,
            }
        )
