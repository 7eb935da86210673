"""Tests of the shifted-beta-geometric contract model (cpm_analysis/clv/sbg.py).

Published figures reproduced:

- Fader & Hardie (2007), "How to project customer retention", Journal of Interactive Marketing
  21(1): table 1 gives the survivors of two cohorts of 1,000 customers over 13 years; the model
  is fitted on years 1-7 (the first 8 counts) and the paper reports alpha = 0.704,
  beta = 1.182, LL = -1680.3 for the "regular" cohort and alpha = 0.668, beta = 3.806,
  LL = -1611.2 for the "high end" cohort. The parameters were checked against the reference
  values of pymc-marketing's tests/clv/models/test_shifted_beta_geo.py ("pg(7) of paper":
  alpha 0.668/0.704 and beta 3.806/1.182 for high end/regular); the paper's own text was not
  available to check the log-likelihoods, which are the values of the likelihood (B3) at the
  optimum, rounded as the paper rounds them.
- Fader & Hardie (2010), "Customer-base valuation in a contractual setting", Marketing Science
  29(1), table 3: DERL at d = 10% for customers who have renewed 0-4 times, for "case 1"
  (alpha = 3.80, beta = 15.20) and "case 2" (alpha = 0.067, beta = 0.267); the printed values
  are rounded to two decimals and case 2's parameters to three, hence the tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from cpm_analysis.clv import (
    NotFittedError,
    ShiftedBetaGeoModel,
    contract_periods,
    rows_from_survivors,
)
from cpm_analysis.clv import sbg as sbg_module

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


def _fit(survivors: list[int]) -> ShiftedBetaGeoModel:
    rows = rows_from_survivors(survivors[:8])  # years 1-7, as in the paper
    return ShiftedBetaGeoModel().fit(rows, sample_weight=rows["customers"])


def _with_params(alpha: float, beta: float) -> ShiftedBetaGeoModel:
    """A model whose parameters are set to published values (to test the formulas alone)."""
    model = _fit(REGULAR)
    model.params_ = {"alpha": alpha, "beta": beta}
    return model


@pytest.fixture(scope="module")
def regular():
    return _fit(REGULAR)


@pytest.fixture(scope="module")
def high_end():
    return _fit(HIGH_END)


def test_params_match_Fader_Hardie_2007_regular(regular):
    assert regular.converged_
    assert regular.params_["alpha"] == pytest.approx(0.704, abs=5e-4)
    assert regular.params_["beta"] == pytest.approx(1.182, abs=5e-4)
    assert regular.log_likelihood_ == pytest.approx(-1680.3, abs=0.05)
    assert regular.n_customers_ == 1000
    assert regular.n_distinct_rows_ == 8


def test_params_match_Fader_Hardie_2007_high_end(high_end):
    assert high_end.converged_
    assert high_end.params_["alpha"] == pytest.approx(0.668, abs=5e-4)
    assert high_end.params_["beta"] == pytest.approx(3.806, abs=5e-4)
    assert high_end.log_likelihood_ == pytest.approx(-1611.2, abs=0.05)


def test_projection_tracks_Fader_Hardie_2007_holdout_years(regular, high_end):
    # Years 8-12 were not used in the fit; the paper's figure 3 shows the projections within a
    # few percent of the actual survivors in every year, fitted or projected.
    for model, actual in ((regular, REGULAR), (high_end, HIGH_END)):
        projected = 1000 * model.survival(np.arange(13))
        np.testing.assert_allclose(projected, actual, rtol=0.045)


def test_standard_errors_match_the_inverse_hessian(regular):
    # Numerical second derivatives of the total log-likelihood at the optimum.
    rows = rows_from_survivors(REGULAR[:8])
    T, churned = rows["T"].to_numpy(float), rows["churned"].to_numpy(float)
    w = rows["customers"].to_numpy(float)
    nll = sbg_module._sbg_nll_factory(
        sbg_module.compress_rows({"T": T, "churned": churned}, w, sort=True)
    )
    theta = np.array([regular.params_["alpha"], regular.params_["beta"]])
    h = np.empty((2, 2))
    for j in range(2):
        step = np.zeros(2)
        step[j] = 1e-5 * theta[j]
        h[:, j] = (nll(theta + step)[1] - nll(theta - step)[1]) / (2 * step[j])
    se = np.sqrt(np.diag(np.linalg.inv(h)))
    np.testing.assert_allclose(
        [regular.standard_errors_["alpha"], regular.standard_errors_["beta"]], se, rtol=1e-4
    )
    assert np.all(se > 0) and np.all(se < 1)


def test_derl_matches_Fader_Hardie_2010_table_3_case_1():
    model = _with_params(3.80, 15.20)
    published = [3.31, 3.45, 3.59, 3.72, 3.84]
    np.testing.assert_allclose(model.derl(0.1, renewals=np.arange(5)), published, atol=0.006)


def test_derl_matches_Fader_Hardie_2010_table_3_case_2():
    model = _with_params(0.067, 0.267)
    published = [7.68, 9.46, 9.86, 10.06, 10.19]
    np.testing.assert_allclose(model.derl(0.1, renewals=np.arange(5)), published, atol=0.015)


def test_derl_equals_the_discounted_sum_of_survival(high_end):
    # DERL(d | n) = sum_{t >= n} S(t) / S(n - 1) / (1 + d)^(t - n), summed directly.
    d = 0.1
    t = np.arange(0, 3000)
    s = high_end.survival(t)
    for renewals in (0, 3, 10):
        n = renewals + 1
        direct = np.sum(s[n:] / s[n - 1] / (1 + d) ** (t[n:] - n))
        assert high_end.derl(d, renewals=renewals) == pytest.approx(direct, rel=1e-9)


def test_retention_rate_is_the_ratio_of_survivals(regular):
    t = np.arange(1, 20)
    np.testing.assert_allclose(
        regular.retention_rate(t), regular.survival(t) / regular.survival(t - 1), rtol=1e-12
    )
    assert np.all(np.diff(regular.retention_rate(t)) > 0)  # sorting effect: rising retention


def test_fit_on_one_row_per_customer_equals_the_weighted_fit(regular):
    rows = rows_from_survivors(REGULAR[:8])
    expanded = rows.loc[rows.index.repeat(rows["customers"].astype(int))].reset_index(drop=True)
    shuffled = expanded.sample(frac=1.0, random_state=1)
    model = ShiftedBetaGeoModel().fit(shuffled[["T", "churned"]])
    assert model.params_["alpha"] == pytest.approx(regular.params_["alpha"], rel=1e-8)
    assert model.params_["beta"] == pytest.approx(regular.params_["beta"], rel=1e-8)
    assert model.log_likelihood_ == pytest.approx(regular.log_likelihood_, rel=1e-10)


def test_pooled_cohorts_with_different_ages_recover_simulated_parameters():
    rng = np.random.default_rng(7)
    alpha, beta = 1.3, 4.0
    n = 200_000
    theta = rng.beta(alpha, beta, n)
    lifetime = rng.geometric(theta)  # periods until the contract ends (>= 1)
    age = rng.integers(1, 25, n)  # cohorts observed for 1..24 periods
    churned = lifetime <= age
    rows = pd.DataFrame({"T": np.where(churned, lifetime, age), "churned": churned})
    model = ShiftedBetaGeoModel().fit(rows)
    assert model.params_["alpha"] == pytest.approx(alpha, abs=3 * model.standard_errors_["alpha"])
    assert model.params_["beta"] == pytest.approx(beta, abs=3 * model.standard_errors_["beta"])


def test_contract_periods_counts_paid_and_completed_periods():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "signup_date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01", "2024-06-15", "2025-02-01"]
            ),
            "churned_at": pd.to_datetime(
                ["2024-01-20", "2024-07-03", None, "2025-03-01", None, None]
            ),
        }
    )
    rows = contract_periods(customers, "2025-01-01", period="Q")
    # a: ended within its first quarter; b: 184 days, just over two quarters -> paid 3;
    # c: running, 4 quarters completed; d: ends after the cutoff -> running at the cutoff;
    # e: 200 days -> 2 quarters completed; f: signed up after the cutoff -> not a customer yet.
    assert rows.index.tolist() == ["a", "b", "c", "d", "e"]
    assert rows["T"].tolist() == [1, 3, 4, 4, 2]
    assert rows["churned"].tolist() == [True, True, False, False, False]
    assert rows.attrs["period"] == "Q"
    assert rows.attrs["signed_up_after_cutoff"] == 1
    assert ShiftedBetaGeoModel().fit(rows).period_ == "Q"


def test_contract_periods_takes_a_point_in_time_dataset():
    from cpm_analysis.data import Dataset

    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "signup_date": pd.to_datetime(["2023-01-01", "2023-01-01", "2024-03-01"]),
            "churned_at": pd.to_datetime(["2023-05-15", "2024-08-20", None]),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1"],
            "customer_id": ["a"],
            "order_date": pd.to_datetime(["2023-01-01"]),
            "amount": [10.0],
        }
    )
    view = Dataset(customers=customers, orders=orders).as_of("2024-01-31")
    rows = contract_periods(view, period="M")  # the view's cutoff is the default
    # The view's cutoff is the last instant of 2024-01-31. b's contract ends after it, so at
    # the cutoff it is running with 13 months done (Jan 2023 .. Jan 2024); c signed up after
    # the cutoff and is not in the view.
    assert rows.index.tolist() == ["a", "b"]
    assert rows["T"].tolist() == [5, 13]
    assert rows["churned"].tolist() == [True, False]
    with pytest.raises(ValueError, match="cutoff: required"):
        contract_periods(customers)


def test_contract_periods_rejects_bad_input():
    ok = pd.DataFrame(
        {
            "customer_id": [1],
            "signup_date": pd.to_datetime(["2024-01-01"]),
            "churned_at": pd.to_datetime([None]),
        }
    )
    with pytest.raises(ValueError, match="period: expected one of 'W', 'M', 'Q', 'Y'"):
        contract_periods(ok, "2024-12-31", period="month")
    with pytest.raises(ValueError, match="missing column.*'churned_at'"):
        contract_periods(ok.drop(columns="churned_at"), "2024-12-31")
    with pytest.raises(ValueError, match="cutoff: expected a date"):
        contract_periods(ok, "not a date")
    backwards = ok.assign(churned_at=pd.to_datetime(["2023-01-01"]))
    with pytest.raises(ValueError, match="'churned_at' is before 'signup_date' in 1 row"):
        contract_periods(backwards, "2024-12-31")
    garbled = ok.assign(signup_date=["yesterday"])
    with pytest.raises(ValueError, match="'signup_date' has 1 missing or unparseable"):
        contract_periods(garbled, "2024-12-31")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"T": [1, 2]}), "missing column.*'churned'"),
        (pd.DataFrame({"T": [1.5, 2], "churned": [True, False]}), "'T' has 1 value"),
        (pd.DataFrame({"T": [-1, 2], "churned": [True, False]}), "'T' has 1 value"),
        (pd.DataFrame({"T": [np.nan, 2], "churned": [True, False]}), "'T' has 1 value"),
        (pd.DataFrame({"T": [1, 2], "churned": [2, 0]}), "'churned' has 1 value"),
        (pd.DataFrame({"T": [1, 2], "churned": ["yes", "no"]}), "'churned' must be True/False"),
        (pd.DataFrame({"T": [0, 2], "churned": [True, False]}), "churned row.*T = 0"),
        (pd.DataFrame({"T": [1, 2], "churned": [False, False]}), "no contract ended"),
        (pd.DataFrame({"T": [0, 0], "churned": [False, False]}), "every row has T = 0"),
    ],
)
def test_fit_rejects_bad_rows_naming_the_column(frame, message):
    with pytest.raises(ValueError, match=message):
        ShiftedBetaGeoModel().fit(frame)


def test_fit_rejects_bad_weights_and_parameters():
    rows = rows_from_survivors([10, 6, 4])
    with pytest.raises(ValueError, match="sample_weight: 2 weights for 3"):
        ShiftedBetaGeoModel().fit(rows, [1, 2])
    with pytest.raises(ValueError, match="penalizer_coef"):
        ShiftedBetaGeoModel(penalizer_coef=-1).fit(rows, rows["customers"])
    with pytest.raises(ValueError, match="initial_params: unknown parameter"):
        ShiftedBetaGeoModel(initial_params={"r": 1.0}).fit(rows, rows["customers"])
    with pytest.raises(TypeError, match="expected a DataFrame"):
        ShiftedBetaGeoModel().fit([[1, True]])


def test_estimator_contract():
    model = ShiftedBetaGeoModel(penalizer_coef=0.01)
    assert clone(model).get_params()["penalizer_coef"] == 0.01
    for call in (
        lambda: model.survival(1),
        lambda: model.retention_rate(1),
        lambda: model.derl(0.1),
        lambda: model.probability_alive(pd.DataFrame({"T": [1], "churned": [False]})),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()
    rows = rows_from_survivors([10, 6, 4])
    assert model.fit(rows, rows["customers"]) is model
    assert not hasattr(ShiftedBetaGeoModel(), "params_")


def test_predictions_reject_bad_arguments(regular):
    with pytest.raises(ValueError, match="discount_rate: expected a rate per period > 0"):
        regular.derl(0.0)
    with pytest.raises(ValueError, match="renewals: expected whole numbers"):
        regular.derl(0.1, renewals=1.5)
    with pytest.raises(ValueError, match="t: expected finite numbers of periods >= 1"):
        regular.retention_rate(0)
    with pytest.raises(ValueError, match="t: expected finite numbers of periods >= 0"):
        regular.survival(-1)
    rows = pd.DataFrame({"T": [1, 2], "churned": [False, False]})
    with pytest.raises(ValueError, match="value_per_period: expected one finite number"):
        regular.customer_lifetime_value(rows, [1.0, 2.0, 3.0], discount_rate=0.1)


def test_customer_values_and_probability_alive(high_end):
    rows = pd.DataFrame(
        {"T": [0, 4, 4], "churned": [False, False, True]}, index=pd.Index(["x", "y", "z"])
    )
    derl = high_end.derl(0.1, data=rows)
    assert derl.name == "derl" and derl.index.tolist() == ["x", "y", "z"]
    np.testing.assert_allclose(derl, [high_end.derl(0.1, 0), high_end.derl(0.1, 4), 0.0])
    value = pd.Series([10.0, 20.0, 30.0], index=["z", "y", "x"])  # aligned on the index
    clv = high_end.customer_lifetime_value(rows, value, discount_rate=0.1)
    np.testing.assert_allclose(clv, derl.to_numpy() * [30.0, 20.0, 10.0])
    alive = high_end.probability_alive(rows, future_t=3)
    s = high_end.survival
    np.testing.assert_allclose(alive, [s(3) / s(0), s(7) / s(4), 0.0])
    np.testing.assert_allclose(high_end.probability_alive(rows), [1.0, 1.0, 0.0])


@pytest.mark.parametrize(
    ("alpha", "beta"), [(1e-8, 1.0), (1.0, 1e-8), (1e8, 1.0), (1.0, 1e8), (1e-8, 1e8), (1e8, 1e8)]
)
def test_predictions_are_finite_at_boundary_parameters(alpha, beta):
    model = _with_params(alpha, beta)
    t = np.array([0, 1, 5, 100, 10_000])
    for values in (
        model.survival(t),
        model.retention_rate(t + 1),
        model.derl(0.05, renewals=t),
        model.probability_alive(pd.DataFrame({"T": t, "churned": False}), future_t=12),
    ):
        values = np.asarray(values, dtype=float)
        assert np.all(np.isfinite(values)), (alpha, beta, values)
        assert np.all(values >= 0)
    assert np.all(model.survival(t) <= 1.0)
    # DERL is at most the undiscounted-first-payment annuity sum 1 / (1 - 1/(1+d)) = (1+d)/d.
    assert np.all(model.derl(0.05, renewals=t) <= 1.05 / 0.05 + 1e-9)


# --- the contract period (clv.contract_period) ------------------------------------------------
def _quarterly_company(n: int = 3000, seed: int = 3) -> object:
    """Quarterly contracts whose ends follow sBG(alpha 0.7, beta 2.5), signed over 2022-2025."""
    from cpm_analysis.data import validate_frames

    rng = np.random.default_rng(seed)
    theta = rng.beta(0.7, 2.5, n)
    quarters = np.minimum(rng.geometric(theta), 100)  # quarters paid, >= 1 (100: after the end)
    signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.uniform(0, 730, n), "D")
    ends = signup + pd.to_timedelta(quarters * 91.3125, "D")
    end = pd.Timestamp("2025-12-31 23:59:59")
    ids = [f"C{i:05d}" for i in range(n)]
    customers = pd.DataFrame(
        {"customer_id": ids, "signup_date": signup, "churned_at": ends.where(ends <= end)}
    )
    orders = pd.DataFrame(
        {"order_id": ids, "customer_id": ids, "order_date": signup, "amount": 90.0}
    )
    return validate_frames({"customers": customers, "orders": orders})


def test_the_contract_period_is_configurable():
    from cpm_analysis.clv.routes import score_route
    from cpm_analysis.clv.selection import choose_value_model

    ds = _quarterly_company()
    rows = contract_periods(ds.customers, "2025-12-31", period="Q")
    fitted = ShiftedBetaGeoModel().fit(rows)
    # counted in quarters, the fit recovers the generating parameters; in months it does not
    assert fitted.params_["alpha"] == pytest.approx(0.7, rel=0.2)
    assert fitted.params_["beta"] == pytest.approx(2.5, rel=0.25)
    monthly = ShiftedBetaGeoModel().fit(contract_periods(ds.customers, "2025-12-31", period="M"))
    assert monthly.params_["beta"] > 2 * fitted.params_["beta"]
    choice = choose_value_model(ds, "2025-12-31", contract_period="quarter")
    assert choice.route == "contractual" and choice.contract_period == "Q"
    assert choice.unit == "quarters" and choice.holdout == 2  # 26 weeks in whole quarters
    scores, models, metrics = score_route(ds, "2025-12-31", "sBG", contract_period="quarter")
    assert metrics["contract_period"] == "quarter" and metrics["renewals_valued"] == 4
    assert models["purchase"].params_ == pytest.approx(fitted.params_, rel=0.01)  # end of day
    # a quarter is longer than 90 days: the 90-day purchases are that share of the next renewal
    share = 90 / 91.3125
    np.testing.assert_allclose(scores["expected_purchases_90d"], share * scores["p_alive"])
    by_default = score_route(ds, "2025-12-31", "sBG")[2]
    assert by_default["contract_period"] == "month" and by_default["renewals_valued"] == 12
    with pytest.raises(ValueError, match="contract_period: expected one of 'week', 'month'"):
        choose_value_model(ds, "2025-12-31", contract_period="fortnight")
    with pytest.raises(ValueError, match="contract_period"):
        score_route(ds, "2025-12-31", "sBG", contract_period="biweekly")


def test_the_contract_period_is_a_validated_setting():
    from cpm_analysis.config import ConfigError, parse_config

    assert parse_config({}).clv.contract_period == "month"
    assert parse_config({"clv": {"contract_period": "year"}}).clv.contract_period == "year"
    with pytest.raises(ConfigError, match="clv.contract_period"):
        parse_config({"clv": {"contract_period": "fortnight"}})
