"""Tests of the BG/BB discrete-time model (cpm_analysis/clv/bgbb.py).

Published figures reproduced on the 1995 donations cohort (data/external/donations):

- Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time noncontractual
  setting", Marketing Science 29(6): alpha = 1.204, beta = 0.750, gamma = 0.657,
  delta = 2.783 and LL = -33,225.6 (the figures of issue 16). The parameters are also the
  reference of lifetimes' test_params_out_is_close_to_Hardie_paper and of pymc-marketing's
  tests/clv/models/test_beta_geo_beta_binom.py (1.2035, 0.7497, 0.6567, 2.7834); BTYD's
  bgbb examples use (1.20, 0.75, 0.66, 2.78). The log-likelihood could not be checked
  against the paper's text; lifetimes' fit gives the same value (below).
- Bruce Hardie's note 010 (the BG/BB spreadsheet), "Tracking Plot" sheet: the expected
  cumulative repeat transactions of a new donor over 1..11 opportunities, as quoted in
  pymc-marketing's test_expected_purchases_new_customer.

Reference implementation: ``lifetimes`` 0.11.3 (``BetaGeoBetaBinomFitter``), run in a separate
Python 3.11 venv (lifetimes 0.11.3, numpy 1.26.4, pandas 1.5.3, scipy 1.12.0; lifetimes needs
pandas < 2) on ``lifetimes/datasets/donations.csv`` with
``BetaGeoBetaBinomFitter().fit(d["frequency"], d["recency"], d["periods"], d["weights"])``.
It gave alpha = 1.2035223936080475, beta = 0.7497163581757659, gamma = 0.6567181695499289,
delta = 2.783441982887471 and LL = -33225.58127434616 (``-_negative_log_likelihood_`` times
11,104), and for the first five rows of the table ``conditional_probability_alive(m, ...)``
with m = 0 and m = 1 and ``conditional_expected_number_of_purchases_up_to_time(5, ...)`` as
the literals below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from cpm_analysis.clv import BetaGeoBetaBinomModel, NotFittedError
from cpm_analysis.clv import bgbb as bgbb_module
from cpm_analysis.data import load_donations

LIFETIMES_PARAMS = {
    "alpha": 1.2035223936080475,
    "beta": 0.7497163581757659,
    "gamma": 0.6567181695499289,
    "delta": 2.783441982887471,
}
LIFETIMES_LL = -33225.58127434616
LIFETIMES_P_ALIVE_M0 = [
    0.11621815648475876,
    0.07465530769305281,
    0.27375401506533636,
    0.5173456543652374,
    0.7312545973234073,
]
LIFETIMES_P_ALIVE_M1 = [
    0.10813327510958085,
    0.0694618050168604,
    0.2547099275946133,
    0.4813557679996307,
    0.6803838310573066,
]
LIFETIMES_E5 = [
    0.07286333894085008,
    0.08569570763928516,
    0.3142381267327172,
    0.5938533148536426,
    0.8393961811765641,
]
HARDIE_TRACKING = [
    0.4985,
    0.9233,
    1.2969,
    1.6323,
    1.9381,
    2.2202,
    2.4826,
    2.7285,
    2.9603,
    3.1798,
    3.3887,
]


@pytest.fixture(scope="module")
def donations():
    return load_donations()


@pytest.fixture(scope="module")
def model(donations):
    return BetaGeoBetaBinomModel().fit(donations, sample_weight=donations["customers"])


def _with_params(model: BetaGeoBetaBinomModel, **params: float) -> BetaGeoBetaBinomModel:
    """A copy of a fitted model with its parameters replaced (to test the formulas alone)."""
    other = clone(model)
    other.fit(load_donations(), load_donations()["customers"])
    other.params_ = {**other.params_, **params}
    return other


def test_donations_table_is_the_vendored_1995_cohort(donations):
    assert len(donations) == 22
    assert int(donations["customers"].sum()) == 11_104
    assert (donations["T"] == 6).all()


def test_params_match_Fader_Hardie_Shang_2010_donations(model):
    assert model.converged_
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    for name, value in published.items():
        assert model.params_[name] == pytest.approx(value, abs=5e-4), name
    assert model.log_likelihood_ == pytest.approx(-33_225.6, abs=0.05)
    assert model.n_customers_ == 11_104
    assert model.n_distinct_rows_ == 22


def test_fit_matches_lifetimes_BetaGeoBetaBinomFitter(model):
    for name, value in LIFETIMES_PARAMS.items():
        assert model.params_[name] == pytest.approx(value, rel=1e-5), name
    assert model.log_likelihood_ == pytest.approx(LIFETIMES_LL, abs=1e-4)
    assert all(0 < se < 0.5 for se in model.standard_errors_.values())


def test_predictions_match_lifetimes_at_its_parameters(model, donations):
    ref = _with_params(model, **LIFETIMES_PARAMS)
    head = donations.iloc[:5]
    np.testing.assert_allclose(ref.probability_alive(head), LIFETIMES_P_ALIVE_M0, rtol=1e-9)
    np.testing.assert_allclose(
        ref.probability_alive(head, future_t=1), LIFETIMES_P_ALIVE_M1, rtol=1e-9
    )
    np.testing.assert_allclose(ref.expected_purchases(5, head), LIFETIMES_E5, rtol=1e-9)


def test_new_customer_curve_matches_Hardie_note_010_tracking_plot(model):
    expected = model.expected_purchases_new_customer(np.arange(1, 12))
    np.testing.assert_allclose(expected, HARDIE_TRACKING, atol=6e-5)
    assert model.expected_purchases_new_customer(0) == 0.0


def test_expected_purchases_is_the_sum_of_alive_probabilities_times_the_rate(model, donations):
    # E[X(n, n+t)] = sum_k P(alive at n + k) E[p | history, alive]; with E[p | ...] from the
    # beta posterior of p given x transactions in n opportunities: (alpha + x)/(alpha+beta+n).
    a, b = model.params_["alpha"], model.params_["beta"]
    x, n = donations["frequency"].to_numpy(float), donations["T"].to_numpy(float)
    rate = (a + x) / (a + b + n)
    for t in (1, 3, 10):
        direct = sum(
            model.probability_alive(donations, future_t=k).to_numpy() * rate
            for k in range(1, t + 1)
        )
        np.testing.assert_allclose(model.expected_purchases(t, donations), direct, rtol=1e-10)


def test_dert_is_the_discounted_sum_of_expected_transactions(model, donations):
    d = 0.1
    horizons = np.arange(0, 400)
    cumulative = model.expected_purchases_over(horizons, donations)
    increments = np.diff(cumulative, axis=1)
    direct = increments @ (1.0 + d) ** -horizons[1:].astype(float)
    dert = model.discounted_expected_residual_transactions(d, donations)
    assert dert.name == "dert"
    np.testing.assert_allclose(dert, direct, rtol=1e-9)
    assert dert.idxmax() == donations.index[-1]  # the 6-of-6 donors are worth the most


def test_per_customer_horizons_match_scalar_horizons(model, donations):
    horizons = pd.Series(np.arange(len(donations)) % 4, index=donations.index)
    each = model.expected_purchases(horizons, donations)
    for t in range(4):
        rows = horizons == t
        np.testing.assert_allclose(each[rows], model.expected_purchases(t, donations)[rows])


def test_fit_on_one_row_per_donor_equals_the_weighted_fit(model, donations):
    donors = donations.loc[donations.index.repeat(donations["customers"])]
    donors = donors.sample(frac=1.0, random_state=3).reset_index(drop=True)
    per_donor = BetaGeoBetaBinomModel().fit(donors[["frequency", "recency", "T"]])
    for name in model.params_:
        assert per_donor.params_[name] == pytest.approx(model.params_[name], rel=1e-6)
    assert per_donor.log_likelihood_ == pytest.approx(model.log_likelihood_, rel=1e-10)
    alive = per_donor.probability_alive()  # defaults to the fitted customers
    assert len(alive) == 11_104


def _simulate(rng, n_customers, opportunities, alpha, beta, gamma, delta):
    """BG/BB histories: alive customers transact w.p. p; before each opportunity they drop
    out w.p. theta. Returns frequency, recency and T (opportunities observed)."""
    p = rng.beta(alpha, beta, n_customers)
    theta = rng.beta(gamma, delta, n_customers)
    n = np.asarray(opportunities)
    alive = np.ones(n_customers, dtype=bool)
    x = np.zeros(n_customers)
    tx = np.zeros(n_customers)
    for j in range(1, int(n.max()) + 1):
        alive &= rng.random(n_customers) >= theta
        buy = alive & (rng.random(n_customers) < p) & (j <= n)
        x += buy
        tx = np.where(buy, j, tx)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": n.astype(float)})


def test_recovers_simulated_parameters_with_cohorts_of_different_lengths():
    rng = np.random.default_rng(11)
    truth = {"alpha": 0.9, "beta": 1.6, "gamma": 0.5, "delta": 3.0}
    n = rng.integers(4, 13, 60_000)
    summary = _simulate(rng, 60_000, n, **truth)
    model = BetaGeoBetaBinomModel().fit(summary)
    assert model.converged_
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, abs=4 * model.standard_errors_[name])


def test_likelihood_and_gradient_with_cohorts_of_different_lengths():
    rng = np.random.default_rng(5)
    summary = _simulate(rng, 5_000, rng.integers(1, 9, 5_000), 0.9, 1.6, 0.5, 3.0)
    cols = {c: summary[c].to_numpy(float) for c in ("frequency", "recency", "T")}
    data = bgbb_module.compress_rows(cols, sort=True)
    nll = bgbb_module._bgbb_nll_factory(data)
    theta = np.array([0.8, 1.4, 0.6, 2.5])
    value, grad = nll(theta)
    c = data.columns
    per_row = bgbb_module.bgbb_log_likelihood(tuple(theta), c["frequency"], c["recency"], c["T"])
    assert -value == pytest.approx(float(np.dot(data.weights, per_row)), rel=1e-12)
    # a row's likelihood summed by hand, straight from eq. 5 of the paper
    from scipy.special import beta as B

    x, tx, n = 2.0, 3.0, 7.0
    a, b, g, d = theta
    by_hand = B(a + x, b + n - x) / B(a, b) * B(g, d + n) / B(g, d) + sum(
        B(a + x, b + i - x) / B(a, b) * B(g + 1, d + i) / B(g, d) for i in range(3, 7)
    )
    ll = bgbb_module.bgbb_log_likelihood(tuple(theta), np.array([x]), np.array([tx]), np.array([n]))
    assert ll[0] == pytest.approx(np.log(by_hand), rel=1e-12)
    for j in range(4):
        step = np.zeros(4)
        step[j] = 1e-6 * theta[j]
        numeric = (nll(theta + step)[0] - nll(theta - step)[0]) / (2 * step[j])
        assert grad[j] == pytest.approx(numeric, rel=1e-6), j


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"frequency": [1], "recency": [1]}), "missing column.*'T'"),
        (pd.DataFrame({"frequency": [1.5], "recency": [2], "T": [6]}), "'frequency' has 1"),
        (pd.DataFrame({"frequency": [1], "recency": [2], "T": [6.5]}), "'T' has 1 value"),
        (pd.DataFrame({"frequency": [3], "recency": [2], "T": [6]}), "greater than 'recency'"),
        (pd.DataFrame({"frequency": [1], "recency": [7], "T": [6]}), "'recency' is greater"),
        (pd.DataFrame({"frequency": [-1], "recency": [0], "T": [6]}), "negative"),
    ],
)
def test_fit_rejects_bad_summaries_naming_the_column(frame, message):
    with pytest.raises(ValueError, match=message):
        BetaGeoBetaBinomModel().fit(frame)


def test_too_many_opportunities_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(bgbb_module, "_MAX_GRID", 100)
    summary = pd.DataFrame({"frequency": [0, 1, 2], "recency": [0, 5, 40], "T": [52, 52, 52]})
    with pytest.raises(ValueError, match="too many for the BG/BB model.*BetaGeoModel"):
        BetaGeoBetaBinomModel().fit(summary)


def test_predictions_reject_bad_arguments(model, donations):
    with pytest.raises(ValueError, match="whole numbers of future transaction opportunities"):
        model.expected_purchases(2.5, donations)
    with pytest.raises(ValueError, match="future_t"):
        model.probability_alive(donations, future_t=0.5)
    with pytest.raises(ValueError, match="discount_rate: expected a rate per opportunity > 0"):
        model.discounted_expected_residual_transactions(0.0, donations)
    bad = donations.assign(frequency=donations["recency"] + 1)
    with pytest.raises(ValueError, match="greater than 'recency'"):
        model.probability_alive(bad)


def test_estimator_contract(donations):
    unfitted = BetaGeoBetaBinomModel(penalizer_coef=0.001)
    assert clone(unfitted).get_params()["penalizer_coef"] == 0.001
    for call in (
        lambda: unfitted.probability_alive(donations),
        lambda: unfitted.expected_purchases(1, donations),
        lambda: unfitted.discounted_expected_residual_transactions(0.1, donations),
        lambda: unfitted.expected_purchases_new_customer(1),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()
    assert unfitted.fit(donations, donations["customers"]) is unfitted


@pytest.mark.parametrize(
    "params",
    [
        {"alpha": 1e-8},
        {"beta": 1e-8},
        {"alpha": 1e8, "beta": 1e8},
        {"gamma": 1e-8},
        {"delta": 1e-8},
        {"gamma": 1e8},
        {"delta": 1e8},
        {"gamma": 1.0},
        {"alpha": 1e-8, "beta": 1e8, "gamma": 1e8, "delta": 1e-8},
    ],
)
def test_predictions_are_finite_at_boundary_parameters(model, donations, params):
    edge = _with_params(model, **params)
    summary = pd.concat(
        [donations, pd.DataFrame({"frequency": [0, 40], "recency": [0, 50], "T": [52, 52]})]
    )
    for values in (
        edge.probability_alive(summary),
        edge.probability_alive(summary, future_t=5),
        edge.expected_purchases(10, summary),
        edge.discounted_expected_residual_transactions(0.05, summary),
        edge.expected_purchases_new_customer(np.arange(20)),
    ):
        values = np.asarray(values, dtype=float)
        assert np.all(np.isfinite(values)), (params, values)
        assert np.all(values >= 0)
    assert np.all(edge.probability_alive(summary) <= 1.0)
