"""CLV predictions are numbers at every fitted parameter, including the boundaries (issue 14).

A grid of parameters, extreme ones included (a -> 0, b -> infinity, s -> 0, r and alpha small and
large), times customer rows (x = 0 and large x, t_x = 0, T = t_x, T = 0): every prediction is
finite and in range, and near a boundary it tends to the model's limit there. The fits report
their health (``converged_``, ``at_boundary_``, ``no_dropout_``, ``fit_warnings_``).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import betaln

from cpm_analysis.clv import (
    BetaGeoModel,
    ConvergenceWarning,
    ParetoNBDModel,
    calibration_holdout_report,
    customer_lifetime_value,
    rfm_summary,
)
from cpm_analysis.clv.base import compress_rows
from cpm_analysis.clv.bgnbd import _bgnbd_nll_factory, _closed_form, _quadrature
from cpm_analysis.clv.paretonbd import _pareto_nll_factory, log_tail_integral
from cpm_analysis.data import load_cdnow

COLS = ["frequency", "recency", "T"]
HORIZONS = [0.0, 1.0, 52.0]


def _customers() -> pd.DataFrame:
    rows = []
    for x in (0, 1, 10, 300):
        for T in (0.0, 1.0, 39.0, 78.0):
            for share in (0.0,) if x == 0 else (0.0, 0.5, 1.0):  # t_x = 0, middle, T = t_x
                rows.append((float(x), T * share, T))
    frame = pd.DataFrame(rows, columns=COLS)
    frame.attrs["time_unit"] = "W"
    return frame


CUSTOMERS = _customers()


def _at(model_class: type, params: dict[str, float]):
    """A model with the given parameters, as if fitted on CUSTOMERS."""
    model = model_class()
    model.params_ = dict(params)
    model._fitted_index = CUSTOMERS.index
    model._fitted = {c: CUSTOMERS[c].to_numpy(dtype=float) for c in COLS}
    return model


def _assert_finite_predictions(model) -> None:
    alive = model.probability_alive(CUSTOMERS).to_numpy()
    assert np.isfinite(alive).all() and (alive >= 0).all() and (alive <= 1).all()
    expected = model.expected_purchases_over(HORIZONS, CUSTOMERS)
    assert np.isfinite(expected).all() and (expected >= 0).all()
    assert (np.diff(expected, axis=1) >= -1e-9 * (1 + expected[:, 1:])).all()  # grows with t
    each = model.expected_purchases(CUSTOMERS["T"] + 1.0, CUSTOMERS).to_numpy()
    assert np.isfinite(each).all() and (each >= 0).all()
    new = model.expected_purchases_new_customer(np.array(HORIZONS))
    assert np.isfinite(new).all() and (new >= 0).all()
    clv = customer_lifetime_value(model, 25.0, CUSTOMERS, horizon_months=12).to_numpy()
    assert np.isfinite(clv).all() and (clv >= 0).all()


GRID_BG = list(
    itertools.product(
        [1e-6, 0.24, 1e3],
        [1e-3, 4.4, 1e3],
        [1e-12, 0.01, 0.79, 1.0, 3.0, 1e3],
        [1e-6, 0.5, 1e3, 1e8],
    )
)
GRID_PARETO = list(
    itertools.product(
        [0.55, 1e3],
        [1e-3, 10.6],
        [1e-9, 0.6, 1e8],
        [1e-9, 11.7, 1e8],
    )
)


def test_bgnbd_predictions_and_likelihood_are_finite_on_the_whole_grid():
    nll = _bgnbd_nll_factory(
        compress_rows({c: CUSTOMERS[c].to_numpy(dtype=float) for c in COLS}, sort=True)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warnings either
        for r, alpha, a, b in GRID_BG:
            model = _at(BetaGeoModel, {"r": r, "alpha": alpha, "a": a, "b": b})
            _assert_finite_predictions(model)
            with np.errstate(all="ignore"):  # as the optimiser evaluates it
                value, grad, _ = nll(np.array([r, alpha, a, b]))
            assert np.isfinite(value) and np.isfinite(grad).all(), (r, alpha, a, b)


def test_pareto_predictions_and_likelihood_are_finite_on_the_whole_grid():
    nll = _pareto_nll_factory(
        compress_rows({c: CUSTOMERS[c].to_numpy(dtype=float) for c in COLS}, sort=True)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for r, alpha, s, beta in GRID_PARETO:
            model = _at(ParetoNBDModel, {"r": r, "alpha": alpha, "s": s, "beta": beta})
            _assert_finite_predictions(model)
            with np.errstate(all="ignore"):  # as the optimiser evaluates it
                value, _ = nll(np.array([r, alpha, s, beta]))
            assert np.isfinite(value), (r, alpha, s, beta)


# Customers whose P(alive) is not astronomically small at any parameter of the tests below:
# the limits are checked on E[purchases | alive] = expected purchases / P(alive).
MILD = CUSTOMERS[CUSTOMERS["frequency"] <= 10]


def _given_alive(model, t: float) -> np.ndarray:
    return (model.expected_purchases(t, MILD) / model.probability_alive(MILD)).to_numpy()


def _no_dropout_limit(model, t: float) -> np.ndarray:
    r, alpha = model.params_["r"], model.params_["alpha"]
    return (r + MILD["frequency"].to_numpy()) * t / (alpha + MILD["T"].to_numpy())


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.24, "alpha": 4.4, "a": 1e-12, "b": 2.4},  # a -> 0: nobody drops out
        {"r": 0.24, "alpha": 4.4, "a": 1e-12, "b": 0.3},  # ... with a + b + x - 1 < 0 at x = 0
        {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 1e12},  # b -> infinity: the same limit
        {"r": 5.0, "alpha": 1e3, "a": 3.0, "b": 1e9},
    ],
)
def test_bgnbd_tends_to_the_no_dropout_limit(params):
    model = _at(BetaGeoModel, params)
    for t in (1.0, 52.0):
        np.testing.assert_allclose(_given_alive(model, t), _no_dropout_limit(model, t), rtol=1e-6)
    assert (model.probability_alive(MILD[MILD["frequency"] == 0]) == 1.0).all()


@pytest.mark.parametrize("which", ["bg", "pareto"])
def test_predictions_are_continuous_towards_the_boundary(which):
    """Approaching a -> 0 (BG/NBD) or s -> 0 (Pareto/NBD) the predictions move smoothly to
    the limit: no jump where one method of evaluation hands over to another."""
    name = "a" if which == "bg" else "s"
    base = (
        {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}
        if which == "bg"
        else {"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}
    )
    cls = BetaGeoModel if which == "bg" else ParetoNBDModel
    limit = _no_dropout_limit(_at(cls, base), 52.0)
    previous = None
    for value in np.geomspace(0.79, 1e-12, 60):
        model = _at(cls, {**base, name: value})
        e = _given_alive(model, 52.0)
        if previous is not None:  # less dropout, more purchases: never a step back
            assert np.all(e >= previous * (1 - 1e-9)), value
            assert np.all(e <= limit * (1 + 1e-9)), value
        previous = e
    np.testing.assert_allclose(previous, limit, rtol=1e-6)


def test_bgnbd_is_continuous_across_a_equal_one():
    base = {"r": 0.24, "alpha": 4.4, "b": 2.4}
    values = [
        _at(BetaGeoModel, {**base, "a": a}).expected_purchases(52.0, CUSTOMERS).to_numpy()
        for a in (0.99, 1.0 - 1e-6, 1.0, 1.0 + 1e-6, 1.01)
    ]
    np.testing.assert_allclose(values[2], (values[0] + values[4]) / 2, rtol=1e-3)
    np.testing.assert_allclose(values[1], values[2], rtol=1e-5)
    np.testing.assert_allclose(values[3], values[2], rtol=1e-5)


def _bracket_by_integration(t, x, T, r, alpha, a, b):
    """E[(1 - (1 + p k)^-(r+x)) / p] for p ~ Beta(a, b+x), k = t/(alpha+T), by scipy.quad."""
    k, n, beta = t / (alpha + T), r + x, b + x

    def integrand(p):
        h = -np.expm1(-n * np.log1p(p * k)) / p
        return np.exp((a - 1) * np.log(p) + (beta - 1) * np.log1p(-p) - betaln(a, beta)) * h

    return integrate.quad(integrand, 0, 1, limit=200, epsrel=1e-11)[0]


@pytest.mark.parametrize(
    ("r", "alpha", "a", "b"),
    [
        (0.24, 4.4, 0.79, 2.4),  # the CDNOW fit
        (0.24, 4.4, 0.3, 0.4),  # a + b + x - 1 < 0 for x = 0: the closed form is NaN there
        (2.0, 1.0, 3.0, 1e3),
        (1e3, 4.4, 3.0, 2.4),  # huge shape parameters
    ],
)
def test_bgnbd_conditional_expectation_matches_numerical_integration(r, alpha, a, b):
    model = _at(BetaGeoModel, {"r": r, "alpha": alpha, "a": a, "b": b})
    x = CUSTOMERS["frequency"].to_numpy()
    T = CUSTOMERS["T"].to_numpy()
    alive = model.probability_alive(CUSTOMERS).to_numpy()
    got = model.expected_purchases(13.0, CUSTOMERS).to_numpy()
    want = np.array(
        [_bracket_by_integration(13.0, xi, Ti, r, alpha, a, b) for xi, Ti in zip(x, T, strict=True)]
    )
    np.testing.assert_allclose(got, want * alive, rtol=1e-6)


def test_bgnbd_quadrature_agrees_with_the_closed_form_where_both_work():
    r, alpha, a, b = 0.24, 4.4, 0.79, 2.4
    for x in (0.0, 1.0, 10.0):
        T = np.array([0.0, 5.0, 39.0])
        t = np.full(3, 52.0)
        closed = _closed_form(t, np.full(3, x), T, r, alpha, b, a)
        quad = _quadrature(np.full(3, r + x), t / (alpha + T), b + x, a)
        np.testing.assert_allclose(quad, closed, rtol=1e-9)


@pytest.mark.parametrize(
    ("p", "q", "u", "alpha", "beta"),
    [
        (300.24, 1.0 + 1e-9, 0.0, 1e-3, 1e-9),  # scipy's 2F1 returns NaN here
        (300.0, 1.5, 1.0, 1e-3, 1e3),  # 2F1 overflows, its logarithm does not
        (2.0, 1.0 + 1e-9, 0.0, 1e3, 1e-9),  # s -> 0 with alpha >> beta
    ],
)
def test_pareto_tail_integral_at_extremes_matches_numerical_integration(p, q, u, alpha, beta):
    got = log_tail_integral(p, q, np.array([u]), alpha, beta)[0]
    assert np.isfinite(got)

    def log_integrand(tau):
        return -p * np.log(alpha + tau) - q * np.log(beta + tau)

    # integrate exp(log f - log f(u)) on a log scale of tau - u, piece by piece, then add
    # log f(u) back
    shift = log_integrand(u)
    edges = np.arange(-60.0, 61.0, 2.0)
    value = sum(
        integrate.quad(lambda y: np.exp(log_integrand(u + np.exp(y)) - shift + y), lo, hi)[0]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    )
    assert got == pytest.approx(shift + np.log(value), rel=1e-6, abs=1e-6)


# --- health of the fit ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def cdnow_summary():
    return rfm_summary(
        load_cdnow(sample=True).orders,
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        time_unit="W",
    )


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel])
def test_a_healthy_fit_says_so(model_class, cdnow_summary):
    model = model_class().fit(cdnow_summary)
    assert model.converged_ and model.at_boundary_ == () and not model.no_dropout_
    assert model.fit_warnings_ == []
    health = model.diagnostics()
    assert health == {
        "model": model._model_name,
        "converged": True,
        "at_boundary": [],
        "no_dropout": False,
        "warnings": [],
    }


def _retail_like(n: int = 4300, seed: int = 0) -> pd.DataFrame:
    """One year of a line-level retail export: most customers buy once, nobody lapses."""
    rng = np.random.default_rng(seed)
    first = rng.uniform(0, 52, n)
    T = np.round(52 - first, 1)
    rate = rng.gamma(0.4, 1 / 4, n)
    x = rng.poisson(rate * T).astype(float)
    tx = np.where(x > 0, np.round(T * rng.beta(np.maximum(x, 1), 1), 1), 0.0)
    frame = pd.DataFrame({"frequency": x, "recency": np.minimum(tx, T), "T": T})
    frame.attrs["time_unit"] = "W"
    return frame


def _steady_buyers(n: int = 5000, seed: int = 0) -> pd.DataFrame:
    """Two years of customers who buy at a steady Poisson rate and never lapse."""
    rng = np.random.default_rng(seed)
    T = rng.integers(0, 730, n) / 7.0
    x = rng.poisson(rng.gamma(0.5, 2, n) * T / 20).astype(float)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)  # last of x uniform times
    frame = pd.DataFrame({"frequency": x, "recency": tx, "T": T})
    frame.attrs["time_unit"] = "W"
    return frame


def test_no_dropout_is_reported_and_predictions_stay_finite():
    summary = _steady_buyers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BetaGeoModel().fit(summary)
    assert model.no_dropout_
    assert any("no detectable dropout" in s for s in model.fit_warnings_)
    assert model.diagnostics()["no_dropout"] is True
    alive = model.probability_alive(summary)
    assert np.isfinite(alive).all() and (alive > 0.9).mean() > 0.99
    assert np.isfinite(model.expected_purchases(90 / 7, summary)).all()
    assert np.isfinite(model.expected_purchases_new_customer(np.arange(0, 60.0))).all()


def test_parameters_at_the_boundary_are_named():
    model = _at(BetaGeoModel, {"r": 0.2, "alpha": 3.0, "a": 1e-9, "b": 2e8})
    from cpm_analysis.clv.base import FitResult

    result = FitResult(np.array([0.2, 3.0, 1e-9, 2e8]), -10.0, np.full(4, np.nan), True, 5, "ok")
    model._store_fit(result, 100, CUSTOMERS)
    assert model.at_boundary_ == ("a", "b")
    assert "a = 1e-09, b = 2e+08" in model.fit_warnings_[0]
    assert model.diagnostics()["at_boundary"] == ["a", "b"]


def test_a_fit_that_did_not_converge_says_so(cdnow_summary):
    with pytest.warns(ConvergenceWarning):
        model = BetaGeoModel(max_iter=1).fit(cdnow_summary)
    assert not model.converged_
    assert "did not converge" in model.fit_warnings_[0]
    assert model.diagnostics()["converged"] is False


def test_retail_shaped_holdout_report_has_no_nan():
    summary = _retail_like()
    rng = np.random.default_rng(1)
    summary["frequency_holdout"] = rng.poisson(0.3, len(summary)).astype(float)
    summary["duration_holdout"] = 13.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for model_class in (BetaGeoModel, ParetoNBDModel):
            model = model_class().fit(summary[COLS])
            report = calibration_holdout_report(model, summary)
            assert np.isfinite(report[["actual", "predicted"]].to_numpy()).all()


def test_churn_features_refuse_non_finite_clv_values():
    """The churn features never pass a NaN P(alive) or expected purchases on silently."""
    from cpm_analysis.churn.features import clv_features

    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-02-01"]),
            "amount": [10.0, 20.0, 5.0],
        }
    )

    class Broken:
        params_ = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}

        def probability_alive(self, summary):
            return pd.Series(np.nan, index=summary.index, name="probability_alive")

        def expected_purchases(self, t, summary):
            return pd.Series(1.0, index=summary.index, name="expected_purchases")

    ids = pd.Series(["a", "b"])
    cutoff = pd.Timestamp("2024-06-30 23:59:59")
    with pytest.raises(RuntimeError, match="probability_alive is not a finite number for 2"):
        clv_features(orders, cutoff, ids, model=Broken())
    good = clv_features(orders, cutoff, ids, model=_at(BetaGeoModel, Broken.params_))
    assert np.isfinite(good["p_alive"]).all()
