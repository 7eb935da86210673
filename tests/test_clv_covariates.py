"""BG/NBD and Pareto/NBD with time-invariant covariates (Fader & Hardie 2007, note 019)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.clv import BetaGeoModel, ParetoNBDModel, customer_lifetime_value
from cpm_analysis.clv.covariates import BetaGeoCovariateModel, ParetoNBDCovariateModel

BG = {"r": 0.8, "alpha": 6.0, "a": 0.7, "b": 3.0}
BG_EFFECTS = {"purchase": 0.5, "dropout_a": 0.4, "dropout_b": -0.3}
PNBD = {"r": 0.7, "alpha": 5.0, "s": 0.6, "beta": 12.0}
PNBD_EFFECTS = {"purchase": 0.5, "dropout": 0.6}


def _purchases(rng, lam, T, dies_after=None, lifetime=None):
    """Repeat purchases of a Poisson(lam) process observed for T, ending at a lifetime or at
    a geometric dropout after a purchase (probability ``dies_after``)."""
    n = len(lam)
    end = T if lifetime is None else np.minimum(T, lifetime)
    t, x, last = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1.0 / lam[idx])
        bought = t[idx] <= end[idx]
        active[idx[~bought]] = False
        got = idx[bought]
        x[got] += 1
        last[got] = t[got]
        if dies_after is not None:
            active[got[rng.random(len(got)) < dies_after[got]]] = False
    return x, np.where(x > 0, last, 0.0)


def simulate_bg(n, seed):
    rng = np.random.default_rng(seed)
    web = (rng.random(n) < 0.4).astype(float)
    alpha = BG["alpha"] * np.exp(-BG_EFFECTS["purchase"] * web)
    a = BG["a"] * np.exp(BG_EFFECTS["dropout_a"] * web)
    b = BG["b"] * np.exp(BG_EFFECTS["dropout_b"] * web)
    lam = rng.gamma(BG["r"], 1.0 / alpha)
    p = rng.beta(a, b)
    T = rng.uniform(30, 78, n)
    x, tx = _purchases(rng, lam, T, dies_after=p)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T, "web": web})


def simulate_pnbd(n, seed):
    rng = np.random.default_rng(seed)
    web = (rng.random(n) < 0.4).astype(float)
    alpha = PNBD["alpha"] * np.exp(-PNBD_EFFECTS["purchase"] * web)
    beta = PNBD["beta"] * np.exp(-PNBD_EFFECTS["dropout"] * web)
    lam = rng.gamma(PNBD["r"], 1.0 / alpha)
    mu = rng.gamma(PNBD["s"], 1.0 / beta)
    T = rng.uniform(30, 78, n)
    x, tx = _purchases(rng, lam, T, lifetime=rng.exponential(1.0 / mu))
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T, "web": web})


def _check_recovery(model, truth, effects):
    for part, value in effects.items():
        est = model.coefficients_[part]["web"]
        se = model.coefficient_standard_errors_[part]["web"]
        assert np.isfinite(se) and se > 0
        assert abs(est - value) < 3 * se, (part, est, se)
    for name, value in truth.items():
        se = model.standard_errors_[name]
        assert abs(model.params_[name] - value) < 3 * se, (name, model.params_, se)


@pytest.fixture(scope="module")
def bg_summary():
    return simulate_bg(30_000, seed=4)


def test_bgnbd_recovers_known_channel_effects(bg_summary):
    model = BetaGeoCovariateModel(["web"], ["web"]).fit(bg_summary)
    assert model.converged_ and model.n_patterns_ == 2
    _check_recovery(model, BG, BG_EFFECTS)


def test_paretonbd_recovers_known_channel_effects():
    s = simulate_pnbd(30_000, seed=6)
    model = ParetoNBDCovariateModel(["web"], ["web"]).fit(s)
    assert model.converged_
    _check_recovery(model, PNBD, PNBD_EFFECTS)


@pytest.mark.parametrize(
    ("covariate_model", "plain"),
    [(BetaGeoCovariateModel, BetaGeoModel), (ParetoNBDCovariateModel, ParetoNBDModel)],
)
def test_without_covariates_the_fit_is_the_plain_models(bg_summary, covariate_model, plain):
    s = bg_summary.iloc[:5000]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = plain().fit(s)
    model = covariate_model().fit(s)
    assert all(not c for c in model.coefficients_.values())
    for name, value in ref.params_.items():
        assert model.params_[name] == pytest.approx(value, rel=1e-4)
        assert model.standard_errors_[name] == pytest.approx(ref.standard_errors_[name], rel=0.02)
    assert model.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(model.probability_alive(s), ref.probability_alive(s), rtol=1e-4)


def test_predictions_use_each_customers_covariates(bg_summary):
    s = bg_summary.iloc[:5000]
    model = BetaGeoCovariateModel(["web"], ["web"]).fit(s)
    params = model.customer_params(s)
    web = s["web"] == 1
    assert params.loc[web, "alpha"].nunique() == 1
    one = s[web].iloc[:50]
    plain = BetaGeoModel().fit(s)
    plain.params_ = params.loc[one.index].iloc[0].to_dict()
    np.testing.assert_allclose(model.expected_purchases(26, one), plain.expected_purchases(26, one))
    np.testing.assert_allclose(model.probability_alive(one), plain.probability_alive(one))
    clv = customer_lifetime_value(model, 30.0, s.iloc[:200], horizon_months=6)
    assert (clv > 0).all()
    per_customer = model.expected_purchases(np.full(len(one), 10.0), one)
    np.testing.assert_allclose(per_customer, model.expected_purchases(10, one))


def test_bad_covariates_are_named(bg_summary):
    s = bg_summary.iloc[:200].copy()
    with pytest.raises(ValueError, match="missing covariate column"):
        BetaGeoCovariateModel(["channel"]).fit(s)
    s["channel"] = "web"
    with pytest.raises(ValueError, match="not numeric"):
        BetaGeoCovariateModel(["channel"]).fit(s)
    s["gap"] = np.where(np.arange(len(s)) % 7 == 0, np.nan, 1.0)
    with pytest.raises(ValueError, match="missing or infinite"):
        BetaGeoCovariateModel([], ["gap"]).fit(s)
    with pytest.raises(ValueError, match="list of column names"):
        BetaGeoCovariateModel("web").fit(s)
    with pytest.raises(ValueError, match="twice"):
        BetaGeoCovariateModel(["web", "web"]).fit(s)
    with pytest.raises(Exception, match="not fitted"):
        BetaGeoCovariateModel(["web"]).probability_alive(s)


def test_distinct_rows_with_weights_fit_like_the_full_summary(bg_summary):
    s = bg_summary.iloc[:4000].copy()
    s[["recency", "T"]] = s[["recency", "T"]].round(0)
    s["recency"] = s[["recency", "T"]].min(axis=1)
    s.loc[s["frequency"] == 0, "recency"] = 0.0
    grouped = s.groupby(["frequency", "recency", "T", "web"]).size().rename("n").reset_index()
    assert len(grouped) < len(s)
    full = BetaGeoCovariateModel(["web"], ["web"]).fit(s)
    weighted = BetaGeoCovariateModel(["web"], ["web"]).fit(grouped, sample_weight=grouped["n"])
    assert weighted.n_customers_ == len(s)
    for name, value in full.params_.items():
        assert weighted.params_[name] == pytest.approx(value, rel=1e-4)
    for part, values in full.coefficients_.items():
        for col, value in values.items():
            assert weighted.coefficients_[part][col] == pytest.approx(value, rel=1e-3, abs=1e-5)
