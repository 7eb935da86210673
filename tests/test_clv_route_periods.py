"""sBG intervals for every contract period, and BG/BB and sBG expected-purchase intervals over ``t``."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.clv import BetaGeoBetaBinomModel, ShiftedBetaGeoModel
from cpm_analysis.clv.routes import (
    bgbb_expected_purchases,
    route_inputs,
    sbg_expected_renewals,
    sbg_scores,
    score_route,
)
from cpm_analysis.clv.sbg import PERIOD_DAYS
from cpm_analysis.clv.tables import value_draws, value_intervals
from cpm_analysis.clv.uncertainty import (
    bootstrap_parameters,
    group_intervals,
    prediction_intervals,
)
from cpm_analysis.synthetic import CONTRACT_SECONDS, generate_contractual, generate_discrete

# yearly contracts need a longer history to show renewals
_STARTS = {"W": "2025-01-01", "M": "2024-01-01", "Q": "2023-01-01", "Y": "2019-01-01"}


def _truth(model, params):
    twin = copy.copy(model)
    twin.params_ = dict(params)
    return twin


def test_synthetic_contract_periods_are_the_models_periods():
    assert {k: v / 86_400 for k, v in CONTRACT_SECONDS.items()} == PERIOD_DAYS
    with pytest.raises(ValueError, match="contract_period"):
        generate_contractual(50, contract_period="fortnight")


@pytest.mark.parametrize("period", ["W", "M", "Q", "Y"])
def test_synthetic_contracts_renew_every_period(period):
    """The generator's contracts of each period: ``T`` counted in that period equals the paid
    periods of the ended contracts, and the fit lands near the true parameters."""
    sd = generate_contractual(600, seed=3, start=_STARTS[period], contract_period=period)
    rows = route_inputs(sd.to_dataset(), "2025-12-31", "sBG", contract_period=period)
    truth = sd.truth["customers"].reindex(rows.index)
    ended = rows["churned"].to_numpy()
    assert ended.any() and (~ended).any()
    assert (rows["T"].to_numpy()[ended] == truth["months"].to_numpy()[ended]).all()


@pytest.mark.parametrize("period", ["W", "M", "Q", "Y"])
def test_sbg_intervals_exist_for_every_contract_period(period):
    """The pages' draws of an sBG period counted in weeks, months, quarters or years: computed
    (no sentence), counted in that period, and every scored CLV, P(alive) and 90-day purchase
    lies inside its interval; the tables' totals too."""
    view = generate_contractual(
        500, seed=5, start=_STARTS[period], contract_period=period
    ).to_dataset()
    scores, models, _ = score_route(view, "2025-12-31", "sBG", contract_period=period)
    draws = value_draws(
        {"sBG": models["purchase"]},
        None,
        seed=2,
        n_draws=40,
        view=view,
        cutoff="2025-12-31",
        contract_period={"W": "week", "M": "month", "Q": "quarter", "Y": "year"}[period],
    )
    assert draws.contract_period == period and draws.n_draws == 40
    for quantity, column in (
        ("clv", "clv"),
        ("probability_alive", "p_alive"),
        ("expected_purchases", "expected_purchases_90d"),
    ):
        ci = prediction_intervals(draws, draws.summary, quantity, t=90, time_unit="D")
        ci = ci.reindex(scores.index)
        if quantity != "expected_purchases" or period != "Q":  # 90 days counts as a quarter
            np.testing.assert_allclose(ci["estimate"], scores[column], rtol=1e-9, atol=1e-12)
        assert (ci["lower"] <= ci["estimate"] + 1e-12).all()
        assert (ci["estimate"] <= ci["upper"] + 1e-12).all()
    scored = scores.reset_index().rename(columns={"index": "customer_id"})
    scored["tier"] = np.where(scored["clv"] > scored["clv"].median(), "high", "low")
    table = value_intervals(draws, None, scored, {"by_tier": ("clv", "tier")})["by_tier"]
    assert ((table["lower"] <= table["total"]) & (table["total"] <= table["upper"])).all()
    assert (table["upper"] > table["lower"]).any()


@pytest.mark.parametrize("period", ["W", "Q"])
def test_sbg_interval_of_the_total_covers_the_truth_for_other_periods(period):
    """Weekly and quarterly contractual companies with known sBG parameters: over 20 seeded
    companies the 90% interval of the total 12-month CLV holds the total under the true
    parameters (the same rows, valued over the same renewals) at a plausible rate (18 expected;
    14 or fewer has p < 0.05)."""
    truth = {"alpha": 0.7, "beta": 2.5}
    reps, hits = 20, 0
    for rep in range(reps):
        sd = generate_contractual(
            800, seed=400 + rep, start=_STARTS[period], contract_period=period, sbg=truth
        )
        rows = route_inputs(sd.to_dataset(), "2025-12-31", "sBG", contract_period=period)
        model = ShiftedBetaGeoModel().fit(rows)
        draws = bootstrap_parameters(
            model, rows, n_draws=60, random_state=rep, contract_period=period
        )
        true = sbg_scores(_truth(model, truth), rows, 12, 0.01, period)["payments"] * rows["value"]
        everyone = pd.Series("all", index=rows.index)
        row = group_intervals(draws, rows, everyone, "clv").loc["all"]
        hits += row["lower"] <= true.sum() <= row["upper"]
    assert hits >= 15, hits


def test_bgbb_expected_purchase_intervals_follow_t():
    """BG/BB: the interval of the expected purchases moves with ``t`` (in ``time_unit``), and
    its estimate is the model's own ``expected_purchases(n)`` at the fitted parameters for
    ``t`` = n yearly opportunities (52 weeks counts as one year)."""
    sd = generate_discrete(800, seed=6)
    s = sd.truth["summary"].astype(np.float64)
    model = BetaGeoBetaBinomModel().fit(s)
    draws = bootstrap_parameters(model, s, n_draws=40, random_state=1, opportunity="Y")
    everyone = pd.Series("all", index=s.index)
    seen = {}
    for t, unit, n in ((52, "W", 1), (3 * 365.25, "D", 3), (5 * 365.25, "D", 5)):
        ci = prediction_intervals(draws, s, "expected_purchases", t=t, time_unit=unit)
        own = model.expected_purchases(n, s).to_numpy()
        np.testing.assert_allclose(ci["estimate"].to_numpy(), own, rtol=1e-9)
        assert (ci["lower"] <= ci["estimate"] + 1e-12).all()
        assert (ci["estimate"] <= ci["upper"] + 1e-12).all()
        total = group_intervals(draws, s, everyone, "expected_purchases", t=t, time_unit=unit)
        seen[n] = total.loc["all"]
        assert seen[n]["lower"] <= own.sum() <= seen[n]["upper"]
    assert seen[1]["upper"] < seen[3]["lower"] and seen[3]["upper"] < seen[5]["lower"]
    half = bgbb_expected_purchases(model, s, "Y", 1.5 * 365.25)  # between: interpolated
    np.testing.assert_allclose(
        half,
        0.5 * (model.expected_purchases(1, s) + model.expected_purchases(2, s)).to_numpy(),
    )


def test_sbg_expected_purchase_intervals_follow_t():
    """sBG: the interval of the expected renewals moves with ``t`` and its estimate is the sum
    of the fitted model's survival ratios ``S(T + k) / S(T)`` over the ``n`` quarters of ``t``
    (0 for ended contracts)."""
    period = "Q"
    sd = generate_contractual(600, seed=7, start=_STARTS[period], contract_period=period)
    rows = route_inputs(sd.to_dataset(), "2025-12-31", "sBG", contract_period=period)
    model = ShiftedBetaGeoModel().fit(rows)
    draws = bootstrap_parameters(model, rows, n_draws=40, random_state=1, contract_period="Q")
    T = rows["T"].to_numpy()
    running = ~rows["churned"].to_numpy()
    everyone = pd.Series("all", index=rows.index)
    totals = []
    for n in (1, 4, 8):
        ci = prediction_intervals(draws, rows, "expected_purchases", t=13 * n, time_unit="W")
        k = np.arange(1, n + 1)
        own = (model.survival(T[:, None] + k) / model.survival(T)[:, None]).sum(axis=1) * running
        np.testing.assert_allclose(ci["estimate"].to_numpy(), own, rtol=1e-9)
        np.testing.assert_allclose(
            sbg_expected_renewals(model, rows, n * PERIOD_DAYS["Q"], "quarter"), own
        )
        totals.append(
            group_intervals(draws, rows, everyone, "expected_purchases", t=13 * n).loc["all"]
        )
    assert totals[0]["upper"] < totals[1]["lower"] and totals[1]["upper"] < totals[2]["lower"]
    with pytest.raises(ValueError, match="t:"):
        sbg_expected_renewals(model, rows, -1.0, "Q")
