"""The Gamma-Gamma model fits the repeat buyers with positive spend and says how many it left
out (issue 14: one zero-value order in CDNOW stopped every period of the report)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.clv import GammaGammaModel, gamma_gamma_eligible, rfm_summary
from cpm_analysis.data import Dataset, load_cdnow
from cpm_analysis.scoring import _clv_block


@pytest.fixture(scope="module")
def summary():
    return rfm_summary(load_cdnow(sample=True).orders, observation_end="1998-06-30")


@pytest.fixture(scope="module")
def with_zeros(summary):
    """The summary with three repeat buyers whose mean spend is 0 and one at -5."""
    bad = summary.copy()
    repeat = np.flatnonzero(bad["frequency"].to_numpy() > 0)[:4]
    bad.iloc[repeat, bad.columns.get_loc("monetary_value")] = [0.0, 0.0, 0.0, -5.0]
    return bad, repeat


def test_eligible_customers_and_the_count_left_out(with_zeros):
    bad, repeat = with_zeros
    mask, n_excluded = gamma_gamma_eligible(bad)
    expected = (bad["frequency"] > 0) & (bad["monetary_value"] > 0)
    np.testing.assert_array_equal(mask, expected.to_numpy())
    assert n_excluded == 4
    # one-time buyers are never counted as excluded
    assert not mask[(bad["frequency"] == 0).to_numpy()].any()


def test_eligible_with_weights_counts_customers():
    rows = pd.DataFrame({"frequency": [2, 1, 3, 0], "monetary_value": [10.0, 0.0, -1.0, 0.0]})
    mask, n_excluded = gamma_gamma_eligible(rows, sample_weight=[5, 7, 2, 100])
    assert mask.tolist() == [True, False, False, False] and n_excluded == 9


def test_fit_leaves_them_out_says_so_and_values_them_at_the_mean(summary, with_zeros):
    bad, repeat = with_zeros
    with pytest.warns(UserWarning, match="left out 4 repeat buyer"):
        model = GammaGammaModel().fit(bad)
    assert model.n_excluded_ == 4
    assert model.diagnostics()["excluded"] == 4
    assert any("left out 4 repeat buyer" in s for s in model.fit_warnings_)
    mask, _ = gamma_gamma_eligible(bad)
    reference = GammaGammaModel().fit(bad[mask])
    assert model.params_ == pytest.approx(reference.params_, rel=1e-9)
    assert model.n_customers_ == int(mask.sum())
    spend = model.expected_spend(bad)
    assert np.isfinite(spend).all()
    np.testing.assert_allclose(spend.iloc[repeat], model.mean_spend())
    clean = GammaGammaModel().fit(summary)
    assert clean.n_excluded_ == 0 and not any("left out" in s for s in clean.fit_warnings_)


def test_strict_mode_still_refuses_with_the_fix_in_the_message(with_zeros):
    bad, _ = with_zeros
    with pytest.raises(ValueError, match="'monetary_value' has 1 negative"):
        GammaGammaModel(exclude_nonpositive=False).fit(bad)
    zeros = bad.copy()
    zeros["monetary_value"] = zeros["monetary_value"].clip(lower=0.0)
    with pytest.raises(ValueError, match="0 or negative in 4 row.*exclude_nonpositive=True"):
        GammaGammaModel(exclude_nonpositive=False).fit(zeros)


def test_no_repeat_buyer_with_positive_spend_is_a_clear_error():
    rows = pd.DataFrame({"frequency": [1, 2], "monetary_value": [0.0, 0.0]})
    with pytest.raises(ValueError, match="no repeat buyer has a positive 'monetary_value'"):
        GammaGammaModel().fit(rows)


def test_weighted_fit_counts_excluded_customers(with_zeros):
    bad, _ = with_zeros
    rows = bad.groupby(["frequency", "monetary_value"]).size().rename("n").reset_index()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = GammaGammaModel().fit(rows, sample_weight=rows["n"].to_numpy(float))
        plain = GammaGammaModel().fit(bad)
    assert weighted.n_excluded_ == 4
    assert weighted.params_ == pytest.approx(plain.params_, rel=1e-6)


def test_q_at_most_one_gives_finite_spend():
    model = GammaGammaModel()
    rows = pd.DataFrame({"frequency": [1.0, 2.0, 5.0], "monetary_value": [10.0, 30.0, 20.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(rows)
    model.params_ = {"p": 0.5, "q": 0.8, "v": 10.0}  # the model's mean p v / (q - 1) diverges
    model.observed_mean_spend_ = 20.0
    spend = model.expected_spend(
        pd.DataFrame({"frequency": [0.0, 1.0, 3.0], "monetary_value": [0.0, 12.0, 40.0]})
    )
    assert np.isfinite(spend).all()
    assert model.mean_spend() == 20.0 and spend.iloc[0] == 20.0


def test_scoring_scores_a_period_with_zero_value_orders():
    """A repeat buyer whose only repeat order is free no longer stops the CLV stage."""
    rng = np.random.default_rng(3)
    n = 300
    rows = []
    for i in range(n):
        dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(
            np.sort(rng.integers(0, 360, 1 + rng.poisson(2))), unit="D"
        )
        for j, d in enumerate(dates):
            rows.append((f"C{i:04d}", f"O{i:04d}-{j}", d, float(rng.gamma(4, 10)), "paid"))
    orders = pd.DataFrame(
        rows, columns=["customer_id", "order_id", "order_date", "amount", "status"]
    )
    orders = orders.drop_duplicates(["customer_id", "order_date"])
    repeaters = orders.groupby("customer_id").size().loc[lambda c: c == 2].index[:2]
    free = orders["customer_id"].isin(repeaters) & orders.duplicated("customer_id")
    orders.loc[free, "amount"] = 0.0
    customers = pd.DataFrame(
        {
            "customer_id": sorted(orders["customer_id"].unique()),
            "signup_date": pd.Timestamp("2024-01-01"),
        }
    )
    view = Dataset(customers=customers, orders=orders.reset_index(drop=True))
    out, models, metrics, notes = _clv_block(view, pd.Timestamp("2024-12-31 23:59:59"))
    gg = metrics["gamma_gamma"]
    assert gg["excluded"] == 2 and gg["fitted"] == gg["repeat_buyers"] - 2
    assert np.isfinite(out[["p_alive", "expected_purchases_90d", "clv"]].to_numpy()).all()
    assert any("left out 2 repeat buyer" in note for note in notes)
    assert sum("left out 2 repeat buyer" in note for note in notes) == 1  # said once
    bg = metrics["bgnbd"]
    assert {"converged", "at_boundary", "no_dropout", "warnings"} <= set(bg)
