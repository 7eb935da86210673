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


# --- the parameterisation of Fader & Hardie's note (2007, note 019) -----------------------------
def _bgnbd_log_likelihood(params: dict, frame: pd.DataFrame) -> float:
    """Sum of the BG/NBD likelihood (Fader, Hardie & Lee 2005, eq. 6) at per-row parameters.

    ``L = B(a, b+x)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
    + [x>0] B(a+1, b+x-1)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))``, written
    independently of the package's code.
    """
    from scipy.special import betaln, gammaln

    r, alpha, a, b = (np.asarray(params[k], dtype=float) for k in ("r", "alpha", "a", "b"))
    x, tx, T = (frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    first = betaln(a, b + x) - betaln(a, b) + common - (r + x) * np.log(alpha + T)
    second = np.where(
        x > 0,
        betaln(a + 1, b + np.maximum(x, 1) - 1)
        - betaln(a, b)
        + common
        - (r + x) * np.log(alpha + tx),
        -np.inf,
    )
    return float(np.logaddexp(first, second).sum())


def _note_params(model, frame: pd.DataFrame, dropout: tuple[str, ...]) -> dict:
    """Each row's parameters by the note: alpha_i = alpha0 exp(-g1 z), a_i = a0 exp(g2 z),
    b_i = b0 exp(g3 z) (BG/NBD), beta_i = beta0 exp(-g2 z) (Pareto/NBD)."""
    z = frame["web"].to_numpy(dtype=float)
    coef = model.coefficients_
    out = {k: np.full(len(frame), v) for k, v in model.params_.items()}
    out["alpha"] = model.params_["alpha"] * np.exp(-coef["purchase"]["web"] * z)
    if dropout == ("a", "b"):
        out["a"] = model.params_["a"] * np.exp(coef["dropout_a"]["web"] * z)
        out["b"] = model.params_["b"] * np.exp(coef["dropout_b"]["web"] * z)
    else:
        out["beta"] = model.params_["beta"] * np.exp(-coef["dropout"]["web"] * z)
    return out


def test_bgnbd_covariate_likelihood_is_the_notes(bg_summary):
    s = bg_summary.iloc[:6000]
    model = BetaGeoCovariateModel(["web"], ["web"]).fit(s)
    expected = _note_params(model, s, ("a", "b"))
    got = model.customer_params(s)
    for name, values in expected.items():
        np.testing.assert_allclose(got[name].to_numpy(), values, rtol=1e-12)
    # the fitted log-likelihood is the plain BG/NBD likelihood at each customer's parameters
    assert model.log_likelihood_ == pytest.approx(_bgnbd_log_likelihood(expected, s), rel=1e-9)
    # at zero coefficients the likelihood is the plain model's, at the plain model's optimum
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = BetaGeoModel().fit(s)
    at_zero = {k: np.full(len(s), v) for k, v in plain.params_.items()}
    assert _bgnbd_log_likelihood(at_zero, s) == pytest.approx(plain.log_likelihood_, rel=1e-9)
    assert model.log_likelihood_ >= plain.log_likelihood_  # the covariates can only add


def test_the_notes_sign_conventions_are_recovered(bg_summary):
    # the simulation raises the web customers' purchase rate r / alpha_i by exp(+0.5), their
    # a_i by exp(+0.4) and lowers b_i by exp(-0.3): a higher mean dropout a / (a + b)
    model = BetaGeoCovariateModel(["web"], ["web"]).fit(bg_summary)
    params = model.customer_params(bg_summary)
    web = bg_summary["web"] == 1
    rate = (params["r"] / params["alpha"]).groupby(web).first()
    assert rate[True] / rate[False] == pytest.approx(np.exp(BG_EFFECTS["purchase"]), rel=0.15)
    assert model.coefficients_["purchase"]["web"] > 0
    assert model.coefficients_["dropout_a"]["web"] > 0 > model.coefficients_["dropout_b"]["web"]
    dropout = (params["a"] / (params["a"] + params["b"])).groupby(web).first()
    assert dropout[True] > dropout[False]
    # Pareto/NBD: beta_i = beta0 exp(-g2 z), so a positive g2 raises the dropout rate s / beta_i
    pnbd = simulate_pnbd(20_000, seed=7)
    fitted = ParetoNBDCovariateModel(["web"], ["web"]).fit(pnbd)
    got = fitted.customer_params(pnbd)
    for name, values in _note_params(fitted, pnbd, ("beta",)).items():
        np.testing.assert_allclose(got[name].to_numpy(), values, rtol=1e-12)
    assert fitted.coefficients_["dropout"]["web"] > 0
    mu = (got["s"] / got["beta"]).groupby(pnbd["web"] == 1).first()
    assert mu[True] / mu[False] == pytest.approx(np.exp(PNBD_EFFECTS["dropout"]), rel=0.3)
