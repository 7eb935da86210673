"""Tests of the MBG/NBD purchase model (cpm_analysis/clv/mbgnbd.py).

Reference implementation: ``lifetimes`` 0.11.3 (``ModifiedBetaGeoFitter``). lifetimes needs
pandas < 2, so it was run in a separate throwaway venv (Python 3.11, lifetimes 0.11.3,
numpy 1.26.4, pandas 1.5.3, scipy 1.12.0) on the published CDNOW 1/10 sample summary
``data/external/cdnow/cdnow_customers_summary.csv`` (2,357 customers, weeks):

    m = ModifiedBetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])

giving the parameters below (``m.params_``) and, at them, the total log-likelihood
``-ModifiedBetaGeoFitter._negative_log_likelihood(log(params), x, t_x, T, ones, 0) * 2357``;
``m.conditional_probability_alive`` and
``m.conditional_expected_number_of_purchases_up_to_time(39, ...)`` for the customers with ID
1, 2, 18, 100, 1000 and 2357, and ``m.expected_number_of_purchases_up_to_time([1, 39, 78])``.
The same three predictions were also recorded at fixed parameters (r = 0.5, alpha = 6,
a = 0.9, b = 3), so that the formulas are compared without the optimiser; the log-likelihood
there is ``LIFETIMES_FIXED_LL``.

Published values: lifetimes' own test suite (``TestModifiedBetaGammaFitter`` in
lifetimes/tests/test_estimation.py) checks the CDNOW fit against the R package BTYDplus,
r = 0.525, alpha = 6.183, a = 0.891, b = 1.614 to three decimals, and two predictions against
Hardie's (BG/NBD) spreadsheet with loose tolerances (a conditional expectation of 1.226 within
0.05; the new-customer curve within 5%); those checks are repeated here with the same
tolerances.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from sklearn.base import clone

from cpm_analysis.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    NotFittedError,
    calibration_holdout_report,
    customer_lifetime_value,
    rfm_summary,
)
from cpm_analysis.clv import mbgnbd as mbgnbd_module
from cpm_analysis.clv.base import compress_rows
from cpm_analysis.data import cdnow_dir, load_cdnow

IDS = [1, 2, 18, 100, 1000, 2357]
LIFETIMES_PARAMS = {
    "r": 0.5248377255677019,
    "alpha": 6.182988479134203,
    "a": 0.8913562809310627,
    "b": 1.614000025671838,
}
LIFETIMES_LL = -9582.13268489992
LIFETIMES_P_ALIVE = [
    0.706126258715401,
    0.17081963009209045,
    0.2558298419585052,
    0.6172213853644138,
    0.6588362699122347,
    0.42846310895984985,
]
LIFETIMES_E39 = [
    1.2626707787139548,
    0.18878924037049805,
    0.28274222055985554,
    0.6895782613996791,
    2.2734937843361775,
    0.22062253659522968,
]
LIFETIMES_NEW = [0.05306062944706552, 1.1822837952882734, 1.8036361932918807]
FIXED = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 3.0}
LIFETIMES_FIXED_LL = -9613.353080538309
LIFETIMES_FIXED_P_ALIVE = [
    0.7675295094504357,
    0.24050960748462902,
    0.3461432814480603,
    0.711010365555384,
    0.7046167459936947,
    0.5870052198544269,
]
LIFETIMES_FIXED_E39 = [
    1.412709316311976,
    0.27245664833196814,
    0.39212170895083653,
    0.8145501529326743,
    2.5070173067226373,
    0.3031181674196918,
]
LIFETIMES_FIXED_NEW = [0.06269288917690076, 1.5521342515110308, 2.4489396316177974]


@pytest.fixture(scope="module")
def published_summary():
    return pd.read_csv(cdnow_dir() / "cdnow_customers_summary.csv").set_index("ID")


@pytest.fixture(scope="module")
def model(published_summary):
    return ModifiedBetaGeoModel().fit(published_summary)


def _with_params(model: ModifiedBetaGeoModel, params: dict[str, float]) -> ModifiedBetaGeoModel:
    """A copy of a fitted model whose parameters are replaced (to test the formulas alone)."""
    other = copy.deepcopy(model)
    other.params_ = dict(params)
    return other


def test_fit_matches_lifetimes_ModifiedBetaGeoFitter_on_cdnow(model):
    assert model.converged_
    for name, value in LIFETIMES_PARAMS.items():
        assert model.params_[name] == pytest.approx(value, rel=2e-5), name
    assert model.log_likelihood_ == pytest.approx(LIFETIMES_LL, abs=1e-6)
    assert model.n_customers_ == 2357
    assert all(0 < se < 1 for se in model.standard_errors_.values())


def test_params_match_BTYDplus_as_in_the_lifetimes_test_suite(model):
    expected = [0.525, 6.183, 0.891, 1.614]
    actual = [model.params_[k] for k in ("r", "alpha", "a", "b")]
    np.testing.assert_array_almost_equal(actual, expected, decimal=3)


def test_predictions_are_close_to_the_lifetimes_test_suite_values(model):
    one = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86]})
    assert abs(model.expected_purchases(39, one).iloc[0] - 1.226) < 0.05
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    expected = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    np.testing.assert_allclose(model.expected_purchases_new_customer(times), expected, rtol=0.05)


def test_predictions_match_lifetimes_at_its_fit(model, published_summary):
    rows = published_summary.loc[IDS]
    np.testing.assert_allclose(model.probability_alive(rows), LIFETIMES_P_ALIVE, rtol=1e-5)
    np.testing.assert_allclose(model.expected_purchases(39, rows), LIFETIMES_E39, rtol=1e-5)
    np.testing.assert_allclose(
        model.expected_purchases_new_customer([1.0, 39.0, 78.0]), LIFETIMES_NEW, rtol=1e-5
    )


def test_predictions_match_lifetimes_at_fixed_parameters(model, published_summary):
    fixed = _with_params(model, FIXED)
    rows = published_summary.loc[IDS]
    np.testing.assert_allclose(fixed.probability_alive(rows), LIFETIMES_FIXED_P_ALIVE, rtol=1e-12)
    np.testing.assert_allclose(fixed.expected_purchases(39, rows), LIFETIMES_FIXED_E39, rtol=1e-10)
    np.testing.assert_allclose(
        fixed.expected_purchases_new_customer([1.0, 39.0, 78.0]), LIFETIMES_FIXED_NEW, rtol=1e-10
    )
    nll = mbgnbd_module._mbgnbd_nll_factory(
        compress_rows(
            {c: published_summary[c].to_numpy(float) for c in ("frequency", "recency", "T")},
            sort=True,
        )
    )
    value, _ = nll(np.array([FIXED[k] for k in ("r", "alpha", "a", "b")]))
    assert -value == pytest.approx(LIFETIMES_FIXED_LL, rel=1e-12)


def test_gradient_matches_finite_differences(published_summary):
    cols = {c: published_summary[c].to_numpy(float) for c in ("frequency", "recency", "T")}
    nll = mbgnbd_module._mbgnbd_nll_factory(compress_rows(cols, sort=True))
    theta = np.array([0.6, 5.0, 1.3, 2.2])
    _, grad = nll(theta)
    for j in range(4):
        step = np.zeros(4)
        step[j] = 1e-6 * theta[j]
        numeric = (nll(theta + step)[0] - nll(theta - step)[0]) / (2 * step[j])
        assert grad[j] == pytest.approx(numeric, rel=1e-6), j


def test_one_time_buyers_are_not_assumed_alive(model, published_summary):
    # The point of MBG/NBD: BG/NBD's P(alive) is 1 for every customer without repeat
    # purchases; MBG/NBD's is b / (a + b) at most and falls with T.
    bgnbd = BetaGeoModel().fit(published_summary)
    once = published_summary[published_summary["frequency"] == 0]
    assert np.allclose(bgnbd.probability_alive(once), 1.0)
    alive = model.probability_alive(once)
    a, b, r, alpha = (model.params_[k] for k in ("a", "b", "r", "alpha"))
    np.testing.assert_allclose(
        alive, 1 / (1 + a / b * ((alpha + once["T"]) / alpha) ** r), rtol=1e-12
    )
    assert alive.max() < b / (a + b)


def test_expected_purchases_agree_with_numerical_integration(model):
    # The model's story: a customer is alive at time 0 w.p. 1 - p, then buys at rate lambda
    # and drops out w.p. p after each purchase, so given (lambda, p) the purchases in (0, t]
    # have mean (1 - exp(-p lambda t)) / p; over lambda ~ Gamma(r, alpha) that is
    # (1 - (alpha / (alpha + p t))^r) / p, left to integrate over p ~ Beta(a, b).
    r, alpha, a, b = (model.params_[k] for k in ("r", "alpha", "a", "b"))

    def new_customer(t: float) -> float:
        def integrand(p: float) -> float:
            return (1 - p) * -np.expm1(-r * np.log1p(p * t / alpha)) / p * stats.beta.pdf(p, a, b)

        return integrate.quad(integrand, 0, 1, epsabs=1e-12, limit=200)[0]

    for t in (5.0, 39.0):
        assert model.expected_purchases_new_customer(t) == pytest.approx(new_customer(t), rel=1e-6)


def test_fit_on_distinct_rows_with_weights_equals_the_full_fit(model, published_summary):
    counts = published_summary.groupby(["frequency", "recency", "T"]).size()
    distinct = counts.index.to_frame(index=False)
    weighted = ModifiedBetaGeoModel().fit(distinct, sample_weight=counts.to_numpy())
    for name in model.params_:
        assert weighted.params_[name] == pytest.approx(model.params_[name], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(model.log_likelihood_, rel=1e-10)
    assert weighted.n_customers_ == 2357


def test_works_with_customer_lifetime_value_and_the_holdout_report():
    summary = rfm_summary(
        load_cdnow(sample=True).orders, calibration_end="1997-09-30", observation_end="1998-06-30"
    )
    purchases = ModifiedBetaGeoModel().fit(summary)
    assert purchases.time_unit_ == "W"
    spend = GammaGammaModel().fit(summary)
    clv = customer_lifetime_value(purchases, spend, summary, horizon_months=12)
    assert clv.name == "clv" and len(clv) == len(summary)
    assert np.all(np.isfinite(clv)) and np.all(clv >= 0)
    report = calibration_holdout_report(purchases, summary)
    total = report.loc["total"]
    predicted = purchases.expected_purchases(summary["duration_holdout"], summary).sum()
    assert total["predicted"] == pytest.approx(predicted)
    # On CDNOW the MBG/NBD predicts 1,577 of the 1,882 holdout purchases (BG/NBD 1,653,
    # Pareto/NBD 1,666 on the same summary): it counts one-time buyers as possibly gone.
    assert total["actual"] == 1882
    assert total["predicted"] == pytest.approx(1577, rel=0.01)
    many = purchases.expected_purchases_over([4, 13, 52], summary)
    np.testing.assert_allclose(many[:, 2], purchases.expected_purchases(52, summary))


def test_probability_of_n_purchases_is_a_distribution(model):
    p = model.probability_of_n_purchases(39, np.arange(400))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    mean = float(np.dot(np.arange(400), p))
    assert mean == pytest.approx(model.expected_purchases_new_customer(39), rel=1e-6)
    with pytest.raises(ValueError, match="n: expected non-negative whole numbers"):
        model.probability_of_n_purchases(39, 1.5)


def test_large_inputs_use_the_compressed_path_with_identical_results(model, published_summary):
    big = pd.concat([published_summary] * 10, ignore_index=True)  # 23,570 rows >= 20,000
    small = model.expected_purchases(26, published_summary).to_numpy()
    np.testing.assert_allclose(
        model.expected_purchases(26, big).to_numpy(), np.tile(small, 10), rtol=1e-12
    )
    horizons = pd.Series(np.arange(len(big)) % 3 * 13.0, index=big.index)
    each = model.expected_purchases(horizons, big).to_numpy()
    for k in range(3):
        rows = np.arange(len(big)) % 3 == k
        ref = model.expected_purchases(13.0 * k, big).to_numpy()[rows]
        np.testing.assert_allclose(each[rows], ref, rtol=1e-12)


def test_estimator_contract_and_input_checks(published_summary):
    unfitted = ModifiedBetaGeoModel(penalizer_coef=0.01)
    assert clone(unfitted).get_params()["penalizer_coef"] == 0.01
    with pytest.raises(NotFittedError, match="not fitted yet"):
        unfitted.probability_alive(published_summary)
    with pytest.raises(NotFittedError):
        unfitted.expected_purchases_new_customer(1)
    with pytest.raises(ValueError, match="missing column.*'recency'"):
        unfitted.fit(published_summary.drop(columns="recency"))
    bad = published_summary.assign(recency=published_summary["T"] + 1)
    with pytest.raises(ValueError, match="'recency' is greater than 'T'"):
        unfitted.fit(bad)
    assert unfitted.fit(published_summary) is unfitted


@pytest.mark.parametrize(
    "params",
    [
        {"r": 1e-8, "alpha": 1.0, "a": 1.0, "b": 1.0},
        {"r": 1.0, "alpha": 1e-8, "a": 1.0, "b": 1.0},
        {"r": 1.0, "alpha": 1e8, "a": 1.0, "b": 1.0},
        {"r": 1.0, "alpha": 5.0, "a": 1e-8, "b": 1.0},
        {"r": 1.0, "alpha": 5.0, "a": 1.0, "b": 1e8},
        {"r": 1.0, "alpha": 5.0, "a": 1e8, "b": 1.0},
        {"r": 1.0, "alpha": 5.0, "a": 1.0, "b": 1e-8},
        {"r": 1e8, "alpha": 1e8, "a": 1e-8, "b": 1e8},
        {"r": 0.5, "alpha": 5.0, "a": 1.0 + 1e-9, "b": 2.0},
    ],
)
def test_predictions_are_finite_at_boundary_parameters(model, published_summary, params):
    edge = _with_params(model, params)
    summary = pd.concat(
        [
            published_summary.iloc[::10],
            pd.DataFrame({"frequency": [0, 300], "recency": [0, 70.0], "T": [0.0, 78.0]}),
        ]
    )
    for values in (
        edge.probability_alive(summary),
        edge.expected_purchases(52, summary),
        edge.expected_purchases_over([0, 4, 52], summary),
        edge.expected_purchases_new_customer(np.array([0.0, 1.0, 52.0])),
    ):
        values = np.asarray(values, dtype=float)
        assert np.all(np.isfinite(values)), (params, values)
        assert np.all(values >= 0)
