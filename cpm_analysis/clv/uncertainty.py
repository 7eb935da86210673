"""Parameter uncertainty carried to customers and to groups of customers.

A fitted model's parameters are estimates; this module turns their uncertainty into intervals
for what decisions rest on: each customer's CLV, expected purchases and P(alive), and the sums
of those over an owner's book, a segment or a tier.

Two ways to draw parameter vectors (:func:`bootstrap_parameters`):

- ``method="parametric"``: from the asymptotic normal law of the maximum-likelihood estimate,
  ``N(theta_hat, H^-1)`` with ``H`` the Hessian of the negative log-likelihood at the optimum
  (:func:`parameter_covariance`). By default the draws are made on the log scale
  (``log theta ~ N(log theta_hat, J^-1 H^-1 J^-1)``, the delta method with ``J = diag(theta)``),
  which keeps every parameter positive; ``space="natural"`` draws on the natural scale and clips
  to the valid domain (at least ``exp(-20)``).
- ``method="customer"``: the nonparametric (customer) bootstrap. Customers are resampled with
  replacement as multinomial counts on the *distinct* summary rows, and the models are refitted
  with those counts as ``sample_weight``, so a replicate costs one fit on the distinct rows.
  The purchase and the spend model are refitted on the same resample.

The draws are then pushed through the models' own predictions (:func:`prediction_intervals`,
:func:`group_intervals`). A group's interval is the quantile of the group's *sum* over the
same parameter draws, so it is the interval of the sum, not the sum of the intervals (which would
be far too wide). Everything is seeded by ``random_state`` and does not depend on ``n_jobs``.

The intervals describe parameter uncertainty only: how well the model's parameters are known,
not the purchase-to-purchase randomness of a single customer's future.

Examples
--------
>>> from cpm_analysis.data import load_cdnow
>>> from cpm_analysis.clv import BetaGeoModel, rfm_summary
>>> s = rfm_summary(load_cdnow(sample=True), observation_end="1998-06-30")
>>> draws = bootstrap_parameters(BetaGeoModel().fit(s), s, n_draws=50, random_state=1)
>>> draws.purchase.shape
(50, 4)
>>> ci = prediction_intervals(draws, s, "expected_purchases", t=26)
>>> bool((ci["lower"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["upper"]).all())
True
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg
from sklearn.base import clone

from cpm_analysis.clv.base import (
    LOG_BOUND,
    PURCHASE_COLUMNS,
    BaseModel,
    PurchaseModel,
    _numeric_hessian,
    check_sample_weight,
    check_summary,
    compress_rows,
)
from cpm_analysis.clv.gammagamma import GammaGammaModel, _gg_nll_factory, gamma_gamma_eligible
from cpm_analysis.clv.sbg import (
    ShiftedBetaGeoModel,
    _check_contract_rows,
    _sbg_nll_factory,
    contract_period_code,
)
from cpm_analysis.clv.summary import days_per_unit
from cpm_analysis.clv.value import customer_lifetime_value

__all__ = [
    "IntervalOptions",
    "ParameterDraws",
    "bootstrap_parameters",
    "customer_and_group_intervals",
    "group_intervals",
    "grouped_intervals",
    "parameter_covariance",
    "prediction_intervals",
]

Method = Literal["parametric", "customer"]
Quantity = Literal["clv", "expected_purchases", "probability_alive"]
Grouping: TypeAlias = (
    tuple[str | pd.Series, pd.Series | None] | tuple[str | pd.Series, pd.Series | None, bool]
)
"""One grouping of :func:`grouped_intervals`: ``(groups, weights)`` or
``(groups, weights, bernoulli)``."""
_QUANTITIES = ("clv", "expected_purchases", "probability_alive")
# Customers per block when per-customer CLV quantiles are taken (draws x block floats).
_BLOCK = 20_000


@dataclass
class ParameterDraws:
    """Parameter vectors drawn by :func:`bootstrap_parameters`, with the fitted models.

    Attributes
    ----------
    purchase : DataFrame
        One row per draw, one column per parameter of the purchase model.
    spend : DataFrame or None
        The same for the spend model (Gamma-Gamma), when one was given.
    method : str
        ``"parametric"`` or ``"customer"``.
    purchase_model, spend_model
        The fitted models the draws belong to; their own parameters give the estimates.
    n_failed : int
        Customer-bootstrap replicates whose refit did not converge (kept; their parameters are
        the best found).
    opportunity : str or None
        The opportunity unit (``"Y"`` or ``"Q"``) of a BG/BB purchase model.
    contract_period : str or None
        The contract period code (``"W"``, ``"M"``, ``"Q"`` or ``"Y"``) of an sBG purchase
        model: its ``T`` and predictions count renewals of that period.
    summary : DataFrame or None
        The per-customer table a BG/BB or sBG route's intervals are computed on, when the
        draws were made for a period (:func:`~cpm_analysis.clv.tables.value_draws`).
    notes : list of str
        What the draws leave out, e.g. a spend model held at its estimates because its
        Hessian is singular.
    """

    purchase: pd.DataFrame
    spend: pd.DataFrame | None
    method: str
    purchase_model: Any
    spend_model: Any = None
    n_failed: int = 0
    opportunity: str | None = None
    contract_period: str | None = None
    summary: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_draws(self) -> int:
        """Number of parameter vectors."""
        return len(self.purchase)


def _check_model(model: Any, name: str) -> None:
    if not hasattr(model, "params_"):
        raise ValueError(f"{name}: expected a fitted model (call fit first)")


def _nll_at(model: Any, summary: pd.DataFrame, sample_weight: Any) -> tuple[Any, float]:
    """Return the model's total negative log-likelihood over the summary, and the customers in it."""
    if isinstance(model, PurchaseModel):
        cols = check_summary(summary, PURCHASE_COLUMNS)
        weights = check_sample_weight(sample_weight, len(summary))
        data = compress_rows(cols, weights, sort=True)
        return model._nll_factory(data), float(data.weights.sum())
    if isinstance(model, ShiftedBetaGeoModel):
        T, churned = _check_contract_rows(summary, what="summary")
        weights = check_sample_weight(sample_weight, len(summary))
        data = compress_rows({"T": T, "churned": churned}, weights, sort=True)
        return _sbg_nll_factory(data), float(data.weights.sum())
    if isinstance(model, GammaGammaModel):
        weights = check_sample_weight(sample_weight, len(summary))
        repeat, _ = gamma_gamma_eligible(summary, weights)
        x = summary["frequency"].to_numpy(dtype=np.float64)[repeat]
        m = summary["monetary_value"].to_numpy(dtype=np.float64)[repeat]
        w = None if weights is None else weights[repeat]
        data = compress_rows({"frequency": x, "monetary_value": m}, w, sort=True)
        c = data.columns
        return (
            _gg_nll_factory(c["frequency"], c["monetary_value"], data.weights),
            float(data.weights.sum()),
        )
    raise TypeError(
        f"model: expected a fitted BetaGeoModel, ParetoNBDModel, ModifiedBetaGeoModel, "
        f"BetaGeoBetaBinomModel, ShiftedBetaGeoModel or GammaGammaModel, got "
        f"{type(model).__name__}"
    )


def parameter_covariance(
    model: BaseModel, summary: pd.DataFrame, sample_weight: npt.ArrayLike | None = None
) -> pd.DataFrame:
    """Asymptotic covariance of a fitted model's parameters: the inverse Hessian.

    The Hessian of the total negative log-likelihood (plus the L2 penalty, if any) at the
    fitted parameters, from the model's own likelihood (analytic where the model has one,
    otherwise forward differences of its analytic gradient). Its diagonal's square root is the
    model's ``standard_errors_``.

    Parameters
    ----------
    model : purchase model or GammaGammaModel
        Fitted: BG/NBD, Pareto/NBD, MBG/NBD, BG/BB, sBG or Gamma-Gamma.
    summary : DataFrame
        The summary it was fitted on (for sBG the contract table, ``T`` and ``churned``).
    sample_weight : array-like, optional
        The weights it was fitted with.

    Returns
    -------
    DataFrame
        Parameters by parameters, in natural units.

    Raises
    ------
    ValueError
        When the Hessian is not positive definite (a parameter at the edge of its range): the
        normal approximation does not hold; use ``method="customer"`` or a penalty.

    Examples
    --------
    >>> from cpm_analysis.data import load_cdnow
    >>> from cpm_analysis.clv import BetaGeoModel, rfm_summary
    >>> s = rfm_summary(load_cdnow(sample=True), observation_end="1998-06-30")
    >>> m = BetaGeoModel().fit(s)
    >>> cov = parameter_covariance(m, s)
    >>> bool(np.isclose(np.sqrt(cov.loc["r", "r"]), m.standard_errors_["r"], rtol=1e-3))
    True
    """
    _check_model(model, "model")
    names = list(model._param_names)
    theta = np.array([model.params_[n] for n in names], dtype=np.float64)
    nll, n_customers = _nll_at(model, summary, sample_weight)
    with np.errstate(all="ignore"):
        out = nll(theta)
        if len(out) > 2:
            hess = np.asarray(out[2], dtype=np.float64)
        else:
            hess = _numeric_hessian(lambda t: np.asarray(nll(t)[1], dtype=np.float64), theta)
    hess = hess + 2.0 * float(model.penalizer_coef) * n_customers * np.eye(len(theta))
    try:
        if not np.all(np.isfinite(hess)):
            raise np.linalg.LinAlgError
        chol = linalg.cho_factor(hess)
        cov = linalg.cho_solve(chol, np.eye(len(theta)))
    except (np.linalg.LinAlgError, linalg.LinAlgError):
        raise ValueError(
            f"model: the Hessian of the {model._model_name} fit is not positive definite "
            f"(parameters {model.params_}); the normal approximation of the parameters does "
            "not hold there: use method='customer' or a small penalizer_coef"
        ) from None
    return pd.DataFrame((cov + cov.T) / 2.0, index=names, columns=names)


def _parametric(
    model: Any,
    summary: pd.DataFrame,
    sample_weight: Any,
    n_draws: int,
    rng: np.random.Generator,
    space: str,
) -> pd.DataFrame:
    cov = parameter_covariance(model, summary, sample_weight).to_numpy()
    names = list(model._param_names)
    theta = np.array([model.params_[n] for n in names])
    z = rng.standard_normal((n_draws, len(names)))
    if space == "log":
        cov_log = cov / np.outer(theta, theta)
        chol = np.linalg.cholesky(cov_log + 1e-300 * np.eye(len(names)))
        phi = np.clip(np.log(theta) + z @ chol.T, -LOG_BOUND, LOG_BOUND)
        values = np.exp(phi)
    else:
        chol = np.linalg.cholesky(cov)
        values = np.clip(theta + z @ chol.T, np.exp(-LOG_BOUND), np.exp(LOG_BOUND))
    return pd.DataFrame(values, columns=names)


def _spend_draws(
    model: GammaGammaModel,
    summary: pd.DataFrame,
    sample_weight: Any,
    n_draws: int,
    rng: np.random.Generator,
    space: str,
    notes: list[str],
) -> pd.DataFrame:
    """Parametric draws of the spend model, or its estimates repeated when they cannot be drawn.

    A Gamma-Gamma fit whose spend is alike across customers drives ``q`` and ``v`` to the
    edge of their range (their ratio is what is known): its Hessian is singular, or its
    inverse so wide that log-normal draws reach absurd spends. The expected spend hardly
    depends on those parameters there, so the draws keep them at the estimates and say so in
    ``notes``.
    """
    edge = tuple(getattr(model, "at_boundary_", ()))
    try:
        if edge:
            raise ValueError(
                f"the fit pushed {', '.join(edge)} to the edge of the range, where the normal "
                "approximation does not hold"
            )
        return _parametric(model, _spend_summary(summary), sample_weight, n_draws, rng, space)
    except ValueError as err:
        notes.append(
            f"Gamma-Gamma's parameters are held at their estimates (its uncertainty is not in "
            f"the intervals): {err}"
        )
        names = list(model._param_names)
        fixed = np.array([model.params_[n] for n in names])
        return pd.DataFrame(np.tile(fixed, (n_draws, 1)), columns=names)


def _refit(
    models: list[Any], frame: pd.DataFrame, counts: np.ndarray
) -> tuple[list[np.ndarray], bool]:
    """Refit clones of the models on one resample; their parameters and whether all converged."""
    out, ok = [], True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in models:
            fitted = clone(model).fit(frame, sample_weight=counts)
            out.append(np.array([fitted.params_[n] for n in model._param_names]))
            ok = ok and bool(fitted.converged_)
    return out, ok


def _customer(
    models: list[Any],
    summary: pd.DataFrame,
    sample_weight: Any,
    n_draws: int,
    rng: np.random.Generator,
    n_jobs: int | None,
) -> tuple[list[pd.DataFrame], int]:
    if isinstance(models[0], ShiftedBetaGeoModel):
        T, churned = _check_contract_rows(summary, what="summary")
        cols = {"T": T, "churned": churned}
    else:
        columns = [*PURCHASE_COLUMNS]
        if any(isinstance(m, GammaGammaModel) for m in models):
            columns.append("monetary_value")
        cols = check_summary(summary, columns, allow_negative=("monetary_value",))
    weights = check_sample_weight(sample_weight, len(summary))
    rows = compress_rows(cols, weights)
    frame = pd.DataFrame(rows.columns)
    frame.attrs = dict(summary.attrs)
    total = rows.weights.sum()
    n = int(round(total))
    counts = rng.multinomial(n, rows.weights / total, size=n_draws).astype(np.float64)
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=n_jobs)(delayed(_refit)(models, frame, c) for c in counts)
    tables = [
        pd.DataFrame(np.array([r[0][i] for r in results]), columns=list(m._param_names))
        for i, m in enumerate(models)
    ]
    return tables, sum(1 for r in results if not r[1])


def _spend_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Return the summary Gamma-Gamma was fitted on: a BG/BB route's spend columns, renamed."""
    if "spend_frequency" not in summary.columns:
        return summary
    return pd.DataFrame(
        {"frequency": summary["spend_frequency"], "monetary_value": summary["monetary_value"]},
        index=summary.index,
    )


def bootstrap_parameters(
    purchase_model: PurchaseModel | ShiftedBetaGeoModel,
    summary: pd.DataFrame,
    spend_model: GammaGammaModel | None = None,
    *,
    n_draws: int = 200,
    method: Method = "parametric",
    sample_weight: npt.ArrayLike | None = None,
    random_state: int | None = 0,
    n_jobs: int | None = 1,
    space: Literal["log", "natural"] = "log",
    opportunity: str | None = None,
    contract_period: str = "month",
) -> ParameterDraws:
    """Draw parameter vectors of fitted CLV models, parametrically or by customer bootstrap.

    Parameters
    ----------
    purchase_model : BetaGeoModel, ParetoNBDModel, ModifiedBetaGeoModel, BetaGeoBetaBinomModel or ShiftedBetaGeoModel
        Fitted on ``summary``.
    summary : DataFrame
        The summary the models were fitted on (with ``monetary_value`` for a spend model).
        For BG/BB the discrete summary (``frequency``, ``recency``, ``T`` in opportunities)
        and, with a spend model, ``spend_frequency`` and ``monetary_value`` (the weekly
        summary's columns Gamma-Gamma was fitted on); for sBG the contract table (``T``,
        ``churned``; and ``value``, a contract period's value, for CLV). This is the table
        :func:`~cpm_analysis.clv.routes.route_inputs` returns.
    spend_model : GammaGammaModel, optional
        Fitted on ``summary``; needed for CLV intervals.
    n_draws : int
        Parameter vectors (bootstrap replicates) to draw.
    method : {"parametric", "customer"}
        ``parametric``: from the normal law of the estimate (the models are independent, so
        their draws are too); ``customer``: refits on multinomial resamples of the customers
        (one resample for both models).
    sample_weight : array-like, optional
        The weights the models were fitted with (customers per row).
    random_state : int, optional
        Seed; the same seed gives the same draws, whatever ``n_jobs``.
    n_jobs : int, optional
        Parallel refits of the customer bootstrap (joblib; ``-1``: all cores).
    space : {"log", "natural"}
        Scale of the parametric draws (see the module docstring).
    opportunity : {"Y", "Q"}, optional
        The opportunity unit of a BG/BB model (required for it): its predictions count
        yearly or quarterly opportunities (:mod:`cpm_analysis.clv.routes`).
    contract_period : {"week", "month", "quarter", "year"}
        How often an sBG model's contracts renew (``clv.contract_period``; a code such as
        ``"W"`` is read too): the unit of its ``T`` and of its predictions.

    Returns
    -------
    ParameterDraws

    Examples
    --------
    >>> draws = bootstrap_parameters(bgf, summary, ggf, n_draws=20, random_state=0)
    >>> draws.purchase.quantile([0.05, 0.95]).round(3)
              r  alpha      a      b
    0.05  0.227  3.925  0.596  1.662
    0.95  0.256  4.746  1.202  4.241
    """
    _check_model(purchase_model, "purchase_model")
    if not isinstance(purchase_model, PurchaseModel | ShiftedBetaGeoModel):
        raise TypeError(
            "purchase_model: expected a fitted BetaGeoModel, ParetoNBDModel, "
            "ModifiedBetaGeoModel, BetaGeoBetaBinomModel or ShiftedBetaGeoModel, got "
            f"{type(purchase_model).__name__}"
        )
    route = _route_of(purchase_model)
    if route == "BG/BB" and opportunity not in ("Y", "Q"):
        raise ValueError(
            f"opportunity: a BG/BB model needs 'Y' or 'Q' (its opportunity unit), got "
            f"{opportunity!r}"
        )
    if route == "sBG" and spend_model is not None:
        raise ValueError(
            "spend_model: sBG values a contract at its value of a period (the summary's "
            "'value' column), not with Gamma-Gamma; leave spend_model out"
        )
    if route == "BG/BB" and spend_model is not None and method == "customer":
        raise ValueError(
            "method: the customer bootstrap refits BG/BB and Gamma-Gamma on different "
            "summaries; use method='parametric' for BG/BB with a spend model"
        )
    if spend_model is not None:
        _check_model(spend_model, "spend_model")
        if not isinstance(spend_model, GammaGammaModel):
            raise TypeError(
                f"spend_model: expected a fitted GammaGammaModel, got {type(spend_model).__name__}"
            )
    if isinstance(n_draws, bool) or int(n_draws) != n_draws or n_draws < 2:
        raise ValueError(f"n_draws: expected a whole number >= 2, got {n_draws!r}")
    if space not in ("log", "natural"):
        raise ValueError(f"space: expected 'log' or 'natural', got {space!r}")
    rng = np.random.default_rng(random_state)
    models = [purchase_model] + ([spend_model] if spend_model is not None else [])
    n_failed = 0
    notes: list[str] = []
    match method:
        case "parametric":
            tables = [_parametric(purchase_model, summary, sample_weight, int(n_draws), rng, space)]
            if spend_model is not None:
                tables.append(
                    _spend_draws(
                        spend_model, summary, sample_weight, int(n_draws), rng, space, notes
                    )
                )
        case "customer":
            tables, n_failed = _customer(models, summary, sample_weight, int(n_draws), rng, n_jobs)
        case _:
            raise ValueError(f"method: expected 'parametric' or 'customer', got {method!r}")
    return ParameterDraws(
        purchase=tables[0],
        spend=tables[1] if spend_model is not None else None,
        method=method,
        purchase_model=purchase_model,
        spend_model=spend_model,
        n_failed=n_failed,
        opportunity=opportunity if route == "BG/BB" else None,
        contract_period=contract_period_code(contract_period) if route == "sBG" else None,
        notes=notes,
    )


# -- pushing draws through the predictions ------------------------------------------------------
#
# The purchase models' conditional expectations factor as P(alive | x, t_x, T) times the
# expectation given alive, which depends on (x, T) only (the posterior of the purchase rate and
# of the dropout given alive at T). Per draw, P(alive) is evaluated once per distinct
# (x, t_x, T) row and the expectation given alive once per distinct (x, T) pair; the Gamma-Gamma
# expected spend is linear in a customer's own mean spend, E = A(x) + B(x) m, so it needs A and
# B once per distinct frequency. A customer's value for a draw is a few gathered products.
#
# BG/BB and sBG (the routes of cpm_analysis.clv.routes) are evaluated with the routes' own
# scoring (bgbb_scores, sbg_scores) once per distinct row of their per-customer table
# (frequency, recency, T in opportunities; or T, churned): the row's value is the quantity
# itself, times, for CLV, the Gamma-Gamma spend of BG/BB (as above) or the customer's fixed
# value of a contract period for sBG (a spend of A = 0, B = 1 on that value).

_ROUTE_COLUMNS = {
    "BG/BB": ("p_alive", "expected_purchases_90d", "transactions"),
    "sBG": ("p_alive", "expected_purchases_90d", "payments"),
}


def _route_of(model: Any) -> str | None:
    """``"BG/BB"`` or ``"sBG"`` for a route's purchase model, ``None`` for a continuous one."""
    name = getattr(model, "_model_name", None)
    return name if name in _ROUTE_COLUMNS else None


@dataclass
class _Layout:
    """The distinct rows, pairs and frequencies of a summary, and each customer's index."""

    rows: pd.DataFrame  # distinct frequency, recency, T
    row_of: np.ndarray  # per customer
    pairs: pd.DataFrame  # distinct frequency, T (recency = T when frequency > 0)
    pair_of_row: np.ndarray
    freqs: np.ndarray  # distinct frequencies of the customers with a positive spend
    freq_of: np.ndarray  # per customer, -1 for customers valued at the mean spend
    money: np.ndarray | None  # per customer monetary_value
    pair_of: np.ndarray  # per customer
    spend_code: np.ndarray  # per customer: index into freqs, len(freqs) for the mean spend


def _route_layout(summary: pd.DataFrame, route: str, with_spend: bool) -> _Layout:
    if route == "sBG":
        T, churned = _check_contract_rows(summary, what="summary")
        rows = compress_rows({"T": T, "churned": churned})
        money: np.ndarray | None = None
        if with_spend:
            values = check_summary(summary, ["value"], allow_empty=True, allow_negative=("value",))
            money = values["value"]
        freqs = np.zeros(1)  # one spend code for everyone: A = 0, B = 1 on the value
        freq_of = np.zeros(len(summary), dtype=np.int64)
    else:
        need = [*PURCHASE_COLUMNS] + (["spend_frequency", "monetary_value"] if with_spend else [])
        cols = check_summary(summary, need, allow_empty=True, allow_negative=("monetary_value",))
        rows = compress_rows({k: cols[k] for k in PURCHASE_COLUMNS})
        money = cols["monetary_value"] if with_spend else None
        freqs = np.zeros(0)
        freq_of = np.full(len(summary), -1, dtype=np.int64)
        if with_spend:
            assert money is not None
            own = (cols["spend_frequency"] > 0) & (money > 0)
            freqs, codes = np.unique(cols["spend_frequency"][own], return_inverse=True)
            freq_of[own] = codes
    frame = pd.DataFrame(rows.columns)
    frame.attrs = dict(summary.attrs)
    spend_code = np.where(freq_of >= 0, freq_of, len(freqs))
    none = np.zeros(0, dtype=np.int64)
    return _Layout(frame, rows.inverse, frame, none, freqs, freq_of, money, none, spend_code)


def _layout(summary: pd.DataFrame, with_spend: bool, route: str | None = None) -> _Layout:
    if route is not None:
        return _route_layout(summary, route, with_spend)
    need = [*PURCHASE_COLUMNS] + (["monetary_value"] if with_spend else [])
    cols = check_summary(summary, need, allow_empty=True, allow_negative=("monetary_value",))
    rows = compress_rows({k: cols[k] for k in PURCHASE_COLUMNS})
    frame = pd.DataFrame({k: rows.columns[k] for k in PURCHASE_COLUMNS})
    frame.attrs = dict(summary.attrs)
    x, T = rows.columns["frequency"], rows.columns["T"]
    pairs = compress_rows({"frequency": x, "T": T})
    pair_frame = pd.DataFrame(
        {
            "frequency": pairs.columns["frequency"],
            "recency": np.where(pairs.columns["frequency"] > 0, pairs.columns["T"], 0.0),
            "T": pairs.columns["T"],
        }
    )
    pair_frame.attrs = dict(summary.attrs)
    freqs = np.zeros(0)
    freq_of = np.zeros(0, dtype=np.int64)
    money = None
    if with_spend:
        money = cols["monetary_value"]
        own = (cols["frequency"] > 0) & (money > 0)
        freqs, codes = np.unique(cols["frequency"][own], return_inverse=True)
        freq_of = np.full(len(money), -1, dtype=np.int64)
        freq_of[own] = codes
    spend_code = np.where(freq_of >= 0, freq_of, len(freqs))
    return _Layout(
        frame,
        rows.inverse,
        pair_frame,
        pairs.inverse,
        freqs,
        freq_of,
        money,
        pairs.inverse[rows.inverse],
        spend_code,
    )


def _with_params(model: Any, values: np.ndarray) -> Any:
    twin = copy.copy(model)
    twin.params_ = {n: float(v) for n, v in zip(model._param_names, values, strict=True)}
    return twin


@dataclass
class _Draw:
    """One parameter draw's values on a layout."""

    alive: np.ndarray  # per distinct row
    given_alive: np.ndarray | None  # per pair: expectation (or unit CLV) given alive
    spend_a: np.ndarray | None  # per distinct frequency
    spend_b: np.ndarray | None
    spend_mean: float

    def customers(self, lay: _Layout, idx: slice) -> np.ndarray:
        out = self.alive[lay.row_of[idx]]
        if self.given_alive is not None:
            out *= self.given_alive[lay.pair_of[idx]]
        if self.spend_a is not None:
            # customers valued at the mean spend have freq 0 (a zero-frequency entry)
            assert self.spend_b is not None and lay.money is not None  # set with spend_a
            a = np.append(self.spend_a, self.spend_mean)
            b = np.append(self.spend_b, 0.0)
            f = lay.spend_code[idx]
            out *= a[f] + b[f] * lay.money[idx]
        return out


def _route_values(
    pm: Any, sm: Any, lay: _Layout, quantity: str, options: dict[str, Any], route: str
) -> _Draw:
    from cpm_analysis.clv.routes import (
        bgbb_expected_purchases,
        bgbb_scores,
        sbg_expected_renewals,
        sbg_scores,
    )

    horizon, rate = options["horizon_months"], options["discount_rate"]
    if quantity == "expected_purchases":  # over t (in time_unit), not the 90 days scored
        days = float(options["t"]) * days_per_unit(options["time_unit"])
        if route == "BG/BB":
            values = bgbb_expected_purchases(pm, lay.rows, options["opportunity"], days)
        else:
            values = sbg_expected_renewals(pm, lay.rows, days, options["contract_period"])
        return _Draw(values, None, None, None, 0.0)
    if route == "BG/BB":
        scores = bgbb_scores(pm, lay.rows, options["opportunity"], horizon, rate)
    else:
        scores = sbg_scores(pm, lay.rows, horizon, rate, options["contract_period"])
    column = _ROUTE_COLUMNS[route][
        {"probability_alive": 0, "expected_purchases": 1}.get(quantity, 2)
    ]
    values = scores[column].to_numpy(dtype=np.float64)
    if quantity != "clv":
        return _Draw(values, None, None, None, 0.0)
    if route == "sBG":
        return _Draw(values, None, np.zeros(1), np.ones(1), 0.0)
    one = sm.expected_spend(lay.freqs, np.ones(len(lay.freqs))).to_numpy()
    two = sm.expected_spend(lay.freqs, np.full(len(lay.freqs), 2.0)).to_numpy()
    return _Draw(values, None, 2.0 * one - two, two - one, sm.mean_spend())


def _draw_values(pm: Any, sm: Any, lay: _Layout, quantity: str, options: dict[str, Any]) -> _Draw:
    route = _route_of(pm)
    if route is not None:
        return _route_values(pm, sm, lay, quantity, options, route)
    r = lay.rows  # the models' vectorised P(alive) on arrays (checked once, in _layout)
    alive = pm._p_alive(r["frequency"].to_numpy(), r["recency"].to_numpy(), r["T"].to_numpy())
    if quantity == "probability_alive":
        return _Draw(alive, None, None, None, 0.0)
    pair_alive = pm.probability_alive(lay.pairs).to_numpy()
    if quantity == "expected_purchases":
        given = pm.expected_purchases(options["t"], lay.pairs).to_numpy() / pair_alive
        return _Draw(alive, given, None, None, 0.0)
    units = customer_lifetime_value(
        pm,
        1.0,
        lay.pairs,
        horizon_months=options["horizon_months"],
        discount_rate=options["discount_rate"],
        time_unit=options["time_unit"],
    ).to_numpy()
    one = sm.expected_spend(lay.freqs, np.ones(len(lay.freqs))).to_numpy()
    two = sm.expected_spend(lay.freqs, np.full(len(lay.freqs), 2.0)).to_numpy()
    return _Draw(alive, units / pair_alive, 2.0 * one - two, two - one, sm.mean_spend())


def _draw_models(draws: ParameterDraws, b: int | None, quantity: str) -> tuple[Any, Any]:
    if b is None:
        return draws.purchase_model, draws.spend_model
    pm = _with_params(draws.purchase_model, draws.purchase.to_numpy()[b])
    sm = None
    if quantity == "clv" and draws.spend is not None:
        sm = _with_params(draws.spend_model, draws.spend.to_numpy()[b])
    return pm, sm


def _check_quantity(draws: ParameterDraws, quantity: str, level: float) -> None:
    if not isinstance(draws, ParameterDraws):
        raise TypeError(f"draws: expected ParameterDraws, got {type(draws).__name__}")
    if quantity not in _QUANTITIES:
        raise ValueError(f"quantity: expected one of {', '.join(_QUANTITIES)}, got {quantity!r}")
    if quantity == "clv" and draws.spend_model is None and _route_of(draws.purchase_model) != "sBG":
        raise ValueError("quantity: 'clv' needs draws made with a spend_model (GammaGammaModel)")
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise ValueError(f"level: expected a probability in (0, 1), got {level!r}")


@dataclass(frozen=True)
class IntervalOptions:
    """The prediction settings every interval function takes, with their defaults.

    The defaults of :func:`prediction_intervals`, :func:`group_intervals`,
    :func:`grouped_intervals` and :func:`customer_and_group_intervals` are this class's.

    Attributes
    ----------
    level : float
        Coverage of the interval, e.g. 0.9.
    t : float
        Horizon of ``expected_purchases``, in ``time_unit``. BG/BB and sBG convert it to
        their opportunities and contract renewals
        (:func:`~cpm_analysis.clv.routes.bgbb_expected_purchases`,
        :func:`~cpm_analysis.clv.routes.sbg_expected_renewals`).
    horizon_months, discount_rate, time_unit
        As for :func:`~cpm_analysis.clv.customer_lifetime_value` (``time_unit`` is also the
        unit of ``t``).
    n_jobs : int or None
        Parallel evaluation of the draws (joblib); the result does not depend on it.

    Examples
    --------
    >>> IntervalOptions().level, IntervalOptions(horizon_months=24).horizon_months
    (0.9, 24)
    """

    level: float = 0.9
    t: float = 52.0
    horizon_months: int = 12
    discount_rate: float = 0.01
    time_unit: str = "W"
    n_jobs: int | None = 1

    def _settings(self, draws: Any) -> dict[str, Any]:
        return {
            "t": self.t,
            "horizon_months": self.horizon_months,
            "discount_rate": self.discount_rate,
            "time_unit": self.time_unit,
            "opportunity": getattr(draws, "opportunity", None),
            "contract_period": getattr(draws, "contract_period", None) or "M",
        }


_DEFAULT = IntervalOptions()


def _mix(z: np.ndarray) -> np.ndarray:
    """Hash each value with the splitmix64 finaliser (wrapping 64-bit arithmetic)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _customer_keys(index: pd.Index) -> np.ndarray:
    """Return a 64-bit key per customer id: a customer's draws do not depend on the others."""
    return pd.util.hash_pandas_object(index, index=False).to_numpy(dtype=np.uint64)


def _leavers(seed: int | None, b: int, probability: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Draw ``b``'s Bernoulli draw of which customers leave (1) or stay (0).

    A uniform per customer from a hash of the seed, the draw's number and the customer's id:
    the same customer gets the same draw in an owner's book as in the company's.
    """
    salt = _mix(np.array([(int(seed or 0) << 20) + int(b)], dtype=np.uint64))
    uniform = (_mix(keys ^ salt) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return (uniform < probability).astype(np.float64)


def _sub_layout(lay: _Layout, who: np.ndarray) -> _Layout:
    """Return the layout of some customers: only their distinct rows and pairs."""
    used, row_of = np.unique(lay.row_of[who], return_inverse=True)
    rows = lay.rows.iloc[used].reset_index(drop=True)
    rows.attrs = dict(lay.rows.attrs)
    pairs, pair_of_row, pair_of = rows, lay.pair_of_row[:0], lay.pair_of[:0]
    if len(lay.pair_of_row):
        kept, pair_of_row = np.unique(lay.pair_of_row[used], return_inverse=True)
        pairs = lay.pairs.iloc[kept].reset_index(drop=True)
        pairs.attrs = dict(lay.pairs.attrs)
        pair_of = pair_of_row[row_of]
    money = None if lay.money is None else lay.money[who]
    return _Layout(
        rows,
        row_of,
        pairs,
        pair_of_row,
        lay.freqs,
        lay.freq_of[who],
        money,
        pair_of,
        lay.spend_code[who],
    )


def _part(
    draws: ParameterDraws,
    lay: _Layout,
    quantity: str,
    options: dict[str, Any],
    codes: np.ndarray | None,
    n_groups: int,
    qs: list[float] | None,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Evaluate every draw on one part of the customers: their quantiles and group sums.

    ``codes`` are the groups of every grouping at once (one block of the part's customers per
    grouping, offset so that the groupings do not share codes) and ``options["weights"]`` the
    factor of each customer in each block, so one bincount per draw sums every grouping. In
    the blocks ``options["bernoulli"]`` marks, the factor is a probability and each draw
    counts a customer in full or not at all (one Bernoulli draw per customer and parameter
    draw, shared by every such block). ``qs``: the quantiles of each customer's values, or
    ``None`` for group sums only (nothing is kept then).
    """
    n = len(lay.row_of)
    everyone = slice(None)
    scale = options.get("weights")
    mask = options.get("bernoulli")
    blocks = len(codes) // max(n, 1) if codes is not None else 0
    kept, rows = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(draws.n_draws):
            d = _draw_values(*_draw_models(draws, b, quantity), lay, quantity, options)
            if codes is not None:
                values = np.tile(d.customers(lay, everyone), blocks)
                factor = np.ones(len(codes)) if scale is None else scale
                if mask is not None and scale is not None:
                    probability = scale[mask][:n]  # every Bernoulli block holds the same factor
                    left = _leavers(options.get("seed"), b, probability, options["keys"])
                    factor = np.where(mask, np.tile(left, blocks), factor)
                rows.append(np.bincount(codes, weights=values * factor, minlength=n_groups))
            if qs is not None:  # kept for every draw: single precision halves the memory
                d.alive = d.alive.astype(np.float32)
                kept.append(d)
    sums = np.stack(rows) if rows else None
    if qs is None:
        return None, None, sums
    lower, upper = np.empty(n), np.empty(n)
    for start in range(0, n, _BLOCK):
        block = slice(start, min(start + _BLOCK, n))
        cell = np.stack([d.customers(lay, block) for d in kept])
        lower[block], upper[block] = np.quantile(cell, qs, axis=0)
    return lower, upper, sums


def _split(
    lay: _Layout, options: dict[str, Any], codes: np.ndarray | None, n_parts: int
) -> tuple[list[np.ndarray | None], list[tuple[_Layout, dict[str, Any], np.ndarray | None]]]:
    """Split the customers into parts that share no distinct pair (or row), for the workers.

    The expensive per-draw work is per distinct pair and row, so parts that share none of
    them split the work without repeating it.
    """
    n = len(lay.row_of)
    key = lay.pair_of if len(lay.pair_of) else lay.row_of
    n_parts = max(1, min(n_parts, int(key.max()) + 1 if n else 1))
    if n_parts == 1:
        return [None], [(lay, options, codes)]
    whos: list[np.ndarray | None] = []
    items: list[tuple[_Layout, dict[str, Any], np.ndarray | None]] = []
    per_block = ("weights", "bernoulli")
    for k in range(n_parts):
        who = np.flatnonzero(key % n_parts == k)
        if not len(who):
            continue
        sub = dict(options)
        for name in per_block:
            if sub.get(name) is not None:
                sub[name] = sub[name].reshape(-1, n)[:, who].ravel()
        if sub.get("keys") is not None:
            sub["keys"] = sub["keys"][who]
        part_codes = None if codes is None else codes.reshape(-1, n)[:, who].ravel()
        whos.append(who)
        items.append((_sub_layout(lay, who), sub, part_codes))
    return whos, items


def _labels(summary: pd.DataFrame, groups: Any) -> pd.Series:
    if isinstance(groups, str):
        if groups not in summary.columns:
            raise ValueError(f"groups: summary has no column {groups!r}")
        labels = summary[groups]
    elif isinstance(groups, pd.Series):
        labels = groups.reindex(summary.index) if not groups.index.equals(summary.index) else groups
    else:
        raise TypeError("groups: expected a column name of the summary or a Series")
    missing = int(labels.isna().sum())
    if missing:
        raise ValueError(
            f"groups: {missing} customer(s) of the summary have no group; give every customer "
            "one (e.g. fill missing owners with 'unassigned')"
        )
    return labels


def _evaluate(
    draws: ParameterDraws,
    summary: pd.DataFrame,
    quantity: str,
    specs: list[tuple[Any, np.ndarray | None, bool]] | None,
    opts: IntervalOptions,
    per_customer: bool,
    seed: int | None = 0,
) -> tuple[pd.DataFrame | None, list[pd.DataFrame]]:
    """Per-customer and/or per-group intervals from one pass over the draws.

    ``specs`` are ``(grouping, weights, bernoulli)`` triples (a column name or a Series, a
    factor per customer or ``None``, and whether the factor is a probability to draw).
    """
    level = opts.level
    _check_quantity(draws, quantity, level)
    options = opts._settings(draws)
    options["seed"] = seed
    specs = specs or []
    codes, n_groups, tables = None, 0, []
    if specs:
        blocks, scales, random = [], [], []
        for grouping, scale, bernoulli in specs:
            labels = _labels(summary, grouping)
            block, names = pd.factorize(labels, sort=True)
            tables.append((labels, names, n_groups, scale))
            blocks.append(block.astype(np.int64) + n_groups)
            scales.append(np.ones(len(summary)) if scale is None else scale)
            if bernoulli and scale is not None and not ((scale >= 0) & (scale <= 1)).all():
                raise ValueError(
                    "weights: drawn as Bernoulli probabilities, so every weight must lie in "
                    f"[0, 1]; got values from {scale.min():g} to {scale.max():g}"
                )
            random.append(np.full(len(summary), bool(bernoulli and scale is not None)))
            n_groups += len(names)
        codes = np.concatenate(blocks)
        options["weights"] = np.concatenate(scales)
        mask = np.concatenate(random)
        options["bernoulli"] = mask if mask.any() else None
        options["keys"] = _customer_keys(summary.index)
    lay = _layout(summary, quantity == "clv", _route_of(draws.purchase_model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        point = _draw_values(*_draw_models(draws, None, quantity), lay, quantity, options)
    est = point.customers(lay, slice(None))
    qs = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    whos, items = _split(lay, options, codes, _workers(opts.n_jobs))
    parts = _parallel(
        opts.n_jobs,
        lambda it: _part(
            draws, it[0], quantity, it[1], it[2], n_groups, qs if per_customer else None
        ),
        items,
    )
    customers = None
    if per_customer:
        n = len(summary)
        lower, upper = np.empty(n), np.empty(n)
        for who, (lo_part, hi_part, _) in zip(whos, parts, strict=True):
            where = slice(None) if who is None else who
            lower[where], upper[where] = lo_part, hi_part
        customers = pd.DataFrame(
            {"estimate": est, "lower": lower, "upper": upper}, index=summary.index
        )
    out = []
    if codes is not None:
        sums = sum(part[2] for part in parts)
        lo, hi = np.quantile(sums, qs, axis=0)
        for labels, names, offset, scale in tables:
            cut = slice(offset, offset + len(names))
            block = pd.factorize(labels, sort=True)[0].astype(np.int64)
            weighted = est if scale is None else est * scale
            out.append(
                pd.DataFrame(
                    {
                        "customers": np.bincount(block, minlength=len(names)).astype(np.int64),
                        "estimate": np.bincount(block, weights=weighted, minlength=len(names)),
                        "lower": lo[cut],
                        "upper": hi[cut],
                    },
                    index=pd.Index(names, name=labels.name if labels.name is not None else "group"),
                )
            )
    return customers, out


def _workers(n_jobs: int | None) -> int:
    """Return the parts to split the customers into: one per worker."""
    if n_jobs in (None, 1):
        return 1
    from joblib import effective_n_jobs

    return max(1, int(effective_n_jobs(n_jobs)))


def _parallel(n_jobs: int | None, func: Any, chunks: list[Any]) -> list[Any]:
    if n_jobs in (None, 1) or len(chunks) == 1:
        return [func(c) for c in chunks]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(func)(c) for c in chunks)


def prediction_intervals(
    draws: ParameterDraws,
    summary: pd.DataFrame,
    quantity: Quantity = "clv",
    *,
    level: float = _DEFAULT.level,
    t: float = _DEFAULT.t,
    horizon_months: int = _DEFAULT.horizon_months,
    discount_rate: float = _DEFAULT.discount_rate,
    time_unit: str = _DEFAULT.time_unit,
    n_jobs: int | None = _DEFAULT.n_jobs,
) -> pd.DataFrame:
    """Per-customer estimate and interval of CLV, expected purchases or P(alive).

    Each parameter draw is pushed through the model's own prediction (for CLV,
    :func:`~cpm_analysis.clv.customer_lifetime_value` with the drawn purchase and spend
    models; for BG/BB and sBG, the routes' scoring, :mod:`cpm_analysis.clv.routes`); the
    interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles over the draws. The
    predictions are evaluated once per distinct ``(frequency, recency, T)`` row (``(T,
    churned)`` for sBG), so the cost follows the distinct rows, not the customers.

    Parameters
    ----------
    draws : ParameterDraws
        From :func:`bootstrap_parameters`.
    summary : DataFrame
        Customers to score (``frequency``, ``recency``, ``T``; ``monetary_value`` for CLV);
        for BG/BB and sBG the table :func:`bootstrap_parameters` describes.
    quantity : {"clv", "expected_purchases", "probability_alive"}
        What to give intervals for. For BG/BB and sBG these are the scored table's ``clv``,
        ``expected_purchases_90d`` and ``p_alive``.
    level, t, horizon_months, discount_rate, time_unit, n_jobs
        See :class:`IntervalOptions`.

    Returns
    -------
    DataFrame
        Indexed like the summary: ``estimate`` (at the fitted parameters), ``lower``, ``upper``.

    Examples
    --------
    >>> draws = bootstrap_parameters(bgf, summary, ggf, n_draws=20, random_state=0)
    >>> prediction_intervals(draws, summary, "clv", level=0.9).head(3).round(2)
                 estimate  lower  upper
    customer_id
    4               36.30  34.33  37.63
    21               4.64   4.07   5.54
    50               8.35   7.82   8.91
    """
    opts = IntervalOptions(level, t, horizon_months, discount_rate, time_unit, n_jobs)
    customers, _ = _evaluate(draws, summary, quantity, None, opts, True)
    assert customers is not None
    return customers


def group_intervals(
    draws: ParameterDraws,
    summary: pd.DataFrame,
    groups: str | pd.Series,
    quantity: Quantity = "clv",
    *,
    level: float = _DEFAULT.level,
    t: float = _DEFAULT.t,
    horizon_months: int = _DEFAULT.horizon_months,
    discount_rate: float = _DEFAULT.discount_rate,
    time_unit: str = _DEFAULT.time_unit,
    n_jobs: int | None = _DEFAULT.n_jobs,
    weights: pd.Series | None = None,
    bernoulli: bool = False,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Sum of a prediction per group (owner, segment, tier) with an interval of the sum.

    For every parameter draw the customers' predictions are summed per group; the interval is
    the quantiles of those sums over the draws. Because each draw moves all customers together,
    this is the interval of the sum (sums of per-customer intervals would overstate it).

    Parameters
    ----------
    draws : ParameterDraws
        From :func:`bootstrap_parameters`.
    summary : DataFrame
        Customers to score.
    groups : str or Series
        A column of ``summary`` or a Series aligned on its index naming each customer's group;
        every customer needs one (a missing group is an error, not a silent drop).
    quantity, level, t, horizon_months, discount_rate, time_unit, n_jobs
        As for :func:`prediction_intervals` (see :class:`IntervalOptions`). For
        ``probability_alive`` the sum is the expected number of active customers.
    weights : Series, optional
        A factor per customer (aligned on the summary's index) that multiplies the
        prediction before the sum, e.g. the churn probability, so that the sum of CLV x churn
        probability is the revenue at risk. Missing values are an error.
    bernoulli : bool
        ``False``: the factor is fixed, and its own randomness is not part of the interval.
        ``True``: the factor is a probability (in [0, 1]) that the customer counts; each
        parameter draw also draws, per customer, whether they count (Bernoulli), so the
        interval carries both the parameters' uncertainty and which customers leave. The
        estimate is the expected sum either way.
    random_state : int, optional
        Seed of the Bernoulli draws (the same whatever ``n_jobs``).

    Returns
    -------
    DataFrame
        Indexed by group: ``customers``, ``estimate`` (the sum at the fitted parameters),
        ``lower``, ``upper``.

    Examples
    --------
    >>> draws = bootstrap_parameters(bgf, summary, ggf, n_draws=20, random_state=0)
    >>> owner = pd.Series(["S1", "S2"], dtype="str").repeat(len(summary) // 2 + 1)
    >>> summary = summary.assign(owner_id=owner.iloc[: len(summary)].to_numpy())
    >>> group_intervals(draws, summary, summary["owner_id"], "clv").round(1)
              customers  estimate    lower    upper
    owner_id
    S1             1179   35673.4  32482.5  37782.6
    S2             1178   35876.8  32857.9  38002.0
    """
    opts = IntervalOptions(level, t, horizon_months, discount_rate, time_unit, n_jobs)
    spec = [(groups, _weights(summary, weights), bool(bernoulli))]
    return _evaluate(draws, summary, quantity, spec, opts, False, random_state)[1][0]


def _weights(summary: pd.DataFrame, weights: pd.Series | None) -> np.ndarray | None:
    if weights is None:
        return None
    if not isinstance(weights, pd.Series):
        raise TypeError(f"weights: expected a Series by customer, got {type(weights).__name__}")
    values = pd.to_numeric(weights.reindex(summary.index), errors="coerce").to_numpy(np.float64)
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise ValueError(
            f"weights: {bad} customer(s) of the summary have no finite weight; give every "
            "customer one (0 leaves a customer out of the sums)"
        )
    return values


def grouped_intervals(
    draws: ParameterDraws,
    summary: pd.DataFrame,
    groupings: Mapping[str, Grouping],
    quantity: Quantity = "clv",
    *,
    level: float = _DEFAULT.level,
    t: float = _DEFAULT.t,
    horizon_months: int = _DEFAULT.horizon_months,
    discount_rate: float = _DEFAULT.discount_rate,
    time_unit: str = _DEFAULT.time_unit,
    n_jobs: int | None = _DEFAULT.n_jobs,
    random_state: int | None = 0,
) -> dict[str, pd.DataFrame]:
    """:func:`group_intervals` of several groupings (and weights) from one pass over the draws.

    Each draw's predictions are computed once and summed for every grouping, so five tables
    (CLV by tier, segment and owner, revenue at risk by segment and owner) cost one. The
    groupings drawn as Bernoulli share each draw's draw of which customers leave.

    Parameters
    ----------
    groupings : dict
        Name to ``(groups, weights)`` or ``(groups, weights, bernoulli)``: as for
        :func:`group_intervals`, ``weights`` a Series by customer or ``None``.
    draws, summary, quantity, level, t, horizon_months, discount_rate, time_unit, n_jobs
        As for :func:`group_intervals`.
    random_state : int, optional
        Seed of the Bernoulli draws.

    Returns
    -------
    dict
        Name to the table :func:`group_intervals` returns for that grouping.

    Examples
    --------
    >>> draws = bootstrap_parameters(bgf, summary, ggf, n_draws=20, random_state=0)
    >>> owner = pd.Series(["S1", "S2"], dtype="str").repeat(len(summary) // 2 + 1)
    >>> summary = summary.assign(owner_id=owner.iloc[: len(summary)].to_numpy())
    >>> tables = grouped_intervals(draws, summary, {"owner": ("owner_id", None)})
    >>> tables["owner"].round(1).equals(group_intervals(draws, summary, "owner_id").round(1))
    True
    """
    opts = IntervalOptions(level, t, horizon_months, discount_rate, time_unit, n_jobs)
    names = list(groupings)
    specs = []
    for name in names:
        spec = tuple(groupings[name])
        if len(spec) not in (2, 3):
            raise ValueError(
                f"groupings: {name!r} expected (groups, weights) or (groups, weights, "
                f"bernoulli), got {len(spec)} item(s)"
            )
        bernoulli = bool(spec[2]) if len(spec) == 3 else False
        specs.append((spec[0], _weights(summary, spec[1]), bernoulli))
    tables = _evaluate(draws, summary, quantity, specs, opts, False, random_state)[1]
    return dict(zip(names, tables, strict=True))


def customer_and_group_intervals(
    draws: ParameterDraws,
    summary: pd.DataFrame,
    groups: str | pd.Series,
    quantity: Quantity = "clv",
    *,
    level: float = _DEFAULT.level,
    t: float = _DEFAULT.t,
    horizon_months: int = _DEFAULT.horizon_months,
    discount_rate: float = _DEFAULT.discount_rate,
    time_unit: str = _DEFAULT.time_unit,
    n_jobs: int | None = _DEFAULT.n_jobs,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`prediction_intervals` and :func:`group_intervals` from one pass over the draws.

    Each draw's predictions are computed once and used for both tables, which halves the cost
    of asking for both.

    Returns
    -------
    (DataFrame, DataFrame)
        Per customer (``estimate``, ``lower``, ``upper``) and per group (``customers``,
        ``estimate``, ``lower``, ``upper``).

    Examples
    --------
    >>> draws = bootstrap_parameters(bgf, summary, ggf, n_draws=20, random_state=0)
    >>> owner = pd.Series(["S1", "S2"], dtype="str").repeat(len(summary) // 2 + 1)
    >>> summary = summary.assign(owner_id=owner.iloc[: len(summary)].to_numpy())
    >>> per_customer, per_owner = customer_and_group_intervals(draws, summary, "owner_id")
    >>> per_owner.round(1)
              customers  estimate    lower    upper
    owner_id
    S1             1179   35673.4  32482.5  37782.6
    S2             1178   35876.8  32857.9  38002.0
    """
    opts = IntervalOptions(level, t, horizon_months, discount_rate, time_unit, n_jobs)
    spec: list[tuple[Any, np.ndarray | None, bool]] = [(groups, None, False)]
    customers, by_group = _evaluate(draws, summary, quantity, spec, opts, True)
    assert customers is not None
    return customers, by_group[0]
