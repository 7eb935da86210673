"""Parameter uncertainty carried to customers and groups (cpm_analysis.clv.uncertainty)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
)
from cpm_analysis.clv.uncertainty import (
    bootstrap_parameters,
    customer_and_group_intervals,
    group_intervals,
    grouped_intervals,
    parameter_covariance,
    prediction_intervals,
)

TRUE_BG = {"r": 0.8, "alpha": 6.0, "a": 0.7, "b": 3.0}
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 15.0}


def simulate_bgnbd(n, params, seed, *, spend=False):
    """A BG/NBD summary (weeks) of ``n`` customers drawn from ``params`` (whole-day times)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    T = np.round(rng.uniform(20, 60, n) * 7) / 7
    t = np.zeros(n)
    x = np.zeros(n)
    last = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        t[idx] += rng.exponential(1.0 / lam[idx])
        bought = t[idx] <= T[idx]
        done = idx[~bought]
        active[done] = False
        got = idx[bought]
        x[got] += 1
        last[got] = np.round(t[got] * 7) / 7
        active[got[rng.random(len(got)) < p[got]]] = False
    summary = pd.DataFrame(
        {"frequency": x, "recency": np.minimum(last, T), "T": T},
        index=pd.Index([f"C{i:05d}" for i in range(n)], name="customer_id"),
    )
    summary.loc[summary["frequency"] == 0, "recency"] = 0.0
    if spend:
        nu = rng.gamma(TRUE_GG["q"], 1.0 / TRUE_GG["v"], n)
        mean = rng.gamma(TRUE_GG["p"] * np.maximum(x, 1), 1.0 / nu) / np.maximum(x, 1)
        summary["monetary_value"] = np.where(x > 0, np.round(mean, 2), 0.0)
    summary["owner"] = np.where(np.arange(n) % 3 == 0, "small", "large")
    return summary


def _fit(model, summary):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(summary)


def _truth(model, params):
    twin = copy.copy(model)
    twin.params_ = dict(params)
    return twin


@pytest.fixture(scope="module")
def fitted():
    s = simulate_bgnbd(4000, TRUE_BG, seed=1, spend=True)
    return s, _fit(BetaGeoModel(), s), _fit(GammaGammaModel(), s)


def test_covariance_matches_the_fits_standard_errors(fitted):
    s, bgf, ggf = fitted
    for model in (bgf, ggf):
        cov = parameter_covariance(model, s)
        se = np.sqrt(np.diag(cov))
        expected = np.array([model.standard_errors_[n] for n in cov.index])
        np.testing.assert_allclose(se, expected, rtol=1e-3)


def test_parametric_draws_are_seeded_positive_and_centred(fitted):
    s, bgf, _ = fitted
    a = bootstrap_parameters(bgf, s, n_draws=400, random_state=3)
    b = bootstrap_parameters(bgf, s, n_draws=400, random_state=3)
    pd.testing.assert_frame_equal(a.purchase, b.purchase)
    assert (a.purchase > 0).all().all()
    se = pd.Series(bgf.standard_errors_)
    spread = a.purchase.std()
    np.testing.assert_allclose(spread[se.index], se, rtol=0.25)
    nat = bootstrap_parameters(bgf, s, n_draws=400, random_state=3, space="natural")
    assert (nat.purchase > 0).all().all()


@pytest.mark.slow
def test_parameter_intervals_cover_the_truth_at_nominal_rate():
    """Coverage of the 90% intervals of the parameters and of a group total (expected
    purchases in the next 26 weeks under the true parameters), 120 simulated companies."""
    reps, hits_r, hits_sum = 120, 0, 0
    for rep in range(reps):
        s = simulate_bgnbd(800, TRUE_BG, seed=100 + rep)
        bgf = _fit(BetaGeoModel(), s)
        draws = bootstrap_parameters(bgf, s, n_draws=120, random_state=rep)
        lo, hi = draws.purchase["r"].quantile([0.05, 0.95])
        hits_r += lo <= TRUE_BG["r"] <= hi
        groups = group_intervals(draws, s, "owner", "expected_purchases", t=26)
        true_sum = _truth(bgf, TRUE_BG).expected_purchases(26, s).groupby(s["owner"]).sum()
        row = groups.loc["small"]
        hits_sum += row["lower"] <= true_sum["small"] <= row["upper"]
    tolerance = 3 * np.sqrt(0.9 * 0.1 / reps)  # three binomial standard deviations
    assert abs(hits_r / reps - 0.9) <= tolerance, hits_r / reps
    assert abs(hits_sum / reps - 0.9) <= tolerance, hits_sum / reps


def test_clv_intervals_per_customer_and_per_group(fitted):
    s, bgf, ggf = fitted
    draws = bootstrap_parameters(bgf, s, ggf, n_draws=150, random_state=0)
    ci = prediction_intervals(draws, s, "clv", level=0.9, horizon_months=12)
    point = customer_lifetime_value(bgf, ggf, s, horizon_months=12)
    np.testing.assert_allclose(ci["estimate"], point, rtol=1e-9)
    assert (ci["lower"] <= ci["upper"]).all()
    inside = (ci["lower"] <= point * (1 + 1e-9)) & (point <= ci["upper"] * (1 + 1e-9))
    assert inside.mean() > 0.95
    groups = group_intervals(draws, s, "owner", "clv", level=0.9, horizon_months=12)
    np.testing.assert_allclose(groups["estimate"], point.groupby(s["owner"]).sum(), rtol=1e-9)
    assert groups["customers"].sum() == len(s)
    # the interval of a sum is narrower than the sum of the intervals
    width = groups["upper"] - groups["lower"]
    summed = (ci["upper"] - ci["lower"]).groupby(s["owner"]).sum()
    assert (width < summed).all()
    assert ((groups["lower"] < groups["estimate"]) & (groups["estimate"] < groups["upper"])).all()


def test_one_pass_gives_both_tables(fitted):
    s, bgf, ggf = fitted
    draws = bootstrap_parameters(bgf, s, ggf, n_draws=20, random_state=4)
    per_customer, per_group = customer_and_group_intervals(draws, s, "owner", "clv")
    pd.testing.assert_frame_equal(per_customer, prediction_intervals(draws, s, "clv"))
    pd.testing.assert_frame_equal(per_group, group_intervals(draws, s, "owner", "clv"))


def test_group_sums_use_the_same_draws_as_customers(fitted):
    """The sum over one group of per-customer values for each draw is the group's draw."""
    s, bgf, _ = fitted
    draws = bootstrap_parameters(bgf, s, n_draws=5, random_state=2)
    groups = group_intervals(draws, s, s["owner"], "probability_alive", level=0.5)
    sums = []
    for values in draws.purchase.to_numpy():
        twin = _truth(bgf, dict(zip(draws.purchase.columns, values, strict=True)))
        sums.append(twin.probability_alive(s).groupby(s["owner"]).sum())
    frame = pd.DataFrame(sums)
    np.testing.assert_allclose(groups["lower"], frame.quantile(0.25), rtol=1e-9)
    np.testing.assert_allclose(groups["upper"], frame.quantile(0.75), rtol=1e-9)


def test_customer_bootstrap_agrees_with_standard_errors_and_is_seeded(fitted):
    s, bgf, ggf = fitted
    a = bootstrap_parameters(bgf, s, ggf, n_draws=60, method="customer", random_state=5)
    b = bootstrap_parameters(bgf, s, ggf, n_draws=60, method="customer", random_state=5, n_jobs=2)
    pd.testing.assert_frame_equal(a.purchase, b.purchase)
    pd.testing.assert_frame_equal(a.spend, b.spend)
    for table, model in ((a.purchase, bgf), (a.spend, ggf)):
        se = pd.Series(model.standard_errors_)
        ratio = table.std()[se.index] / se
        assert ((ratio > 0.6) & (ratio < 1.6)).all(), ratio
    ci = prediction_intervals(a, s, "clv")
    assert (ci["lower"] <= ci["upper"]).all()


@pytest.mark.parametrize("model", [ParetoNBDModel(), ModifiedBetaGeoModel()])
def test_other_purchase_models(fitted, model):
    s, _, _ = fitted
    fitted_model = _fit(model, s)
    draws = bootstrap_parameters(fitted_model, s, n_draws=40, random_state=0)
    ci = prediction_intervals(draws, s, "probability_alive")
    np.testing.assert_allclose(ci["estimate"], fitted_model.probability_alive(s), rtol=1e-9)
    assert ((ci["lower"] >= 0) & (ci["upper"] <= 1)).all()
    groups = group_intervals(draws, s, "owner", "expected_purchases", t=13)
    assert (groups["lower"] <= groups["upper"]).all()


def test_bad_input_is_named(fitted):
    s, bgf, ggf = fitted
    draws = bootstrap_parameters(bgf, s, n_draws=5, random_state=0)
    with pytest.raises(ValueError, match="method"):
        bootstrap_parameters(bgf, s, method="jackknife")
    with pytest.raises(ValueError, match="n_draws"):
        bootstrap_parameters(bgf, s, n_draws=1)
    with pytest.raises(ValueError, match="fitted"):
        bootstrap_parameters(BetaGeoModel(), s)
    with pytest.raises(TypeError, match="spend_model"):
        bootstrap_parameters(bgf, s, bgf)
    with pytest.raises(ValueError, match="spend_model"):
        prediction_intervals(draws, s, "clv")
    with pytest.raises(ValueError, match="quantity"):
        prediction_intervals(draws, s, "revenue")
    with pytest.raises(ValueError, match="level"):
        prediction_intervals(draws, s, "probability_alive", level=1.5)
    with pytest.raises(ValueError, match="no column"):
        group_intervals(draws, s, "segment", "probability_alive")
    holes = s["owner"].where(np.arange(len(s)) % 10 != 0)
    with pytest.raises(ValueError, match="no group"):
        group_intervals(draws, s, holes, "probability_alive")


def test_weighted_group_sums_are_the_draws_of_the_weighted_sum(fitted):
    """Revenue at risk: each draw's sum of weight x value, per group (the weights fixed)."""
    s, bgf, _ = fitted
    draws = bootstrap_parameters(bgf, s, n_draws=5, random_state=2)
    weights = pd.Series(np.linspace(0.0, 1.0, len(s)), index=s.index)
    groups = group_intervals(draws, s, s["owner"], "probability_alive", level=0.5, weights=weights)
    sums = []
    for values in draws.purchase.to_numpy():
        twin = _truth(bgf, dict(zip(draws.purchase.columns, values, strict=True)))
        sums.append((twin.probability_alive(s) * weights).groupby(s["owner"]).sum())
    frame = pd.DataFrame(sums)
    np.testing.assert_allclose(groups["lower"], frame.quantile(0.25), rtol=1e-9)
    np.testing.assert_allclose(groups["upper"], frame.quantile(0.75), rtol=1e-9)
    point = (bgf.probability_alive(s) * weights).groupby(s["owner"]).sum()
    np.testing.assert_allclose(groups["estimate"], point, rtol=1e-9)
    with pytest.raises(ValueError, match="no finite weight"):
        group_intervals(draws, s, "owner", "probability_alive", weights=weights.iloc[1:])


def test_several_groupings_in_one_pass_equal_one_at_a_time(fitted):
    s, bgf, ggf = fitted
    draws = bootstrap_parameters(bgf, s, ggf, n_draws=20, random_state=4)
    half = pd.Series(np.where(np.arange(len(s)) % 2 == 0, "even", "odd"), index=s.index)
    weights = pd.Series(0.5, index=s.index)
    tables = grouped_intervals(draws, s, {"owner": ("owner", None), "half": (half, weights)}, "clv")
    pd.testing.assert_frame_equal(tables["owner"], group_intervals(draws, s, "owner", "clv"))
    pd.testing.assert_frame_equal(
        tables["half"], group_intervals(draws, s, half, "clv", weights=weights)
    )


# -- BG/BB and sBG (the routes), revenue at risk with who leaves, the shared options -----------


def _bgbb_company(n, seed):
    from cpm_analysis.synthetic import generate_discrete

    sd = generate_discrete(n, seed=seed)
    return sd.truth["summary"].astype(np.float64), sd.truth["bgbb"]


def _contracts(n, params, seed, observed=10):
    """Contract rows (T, churned) of ``n`` customers drawn from the sBG law (Fader & Hardie).

    Each customer cancels at each renewal with ``theta ~ Beta(alpha, beta)``; observed for a
    random 1 to ``observed`` periods, a contract that ended has ``T = L`` and ``churned``, a
    running one ``T`` = the periods observed.
    """
    rng = np.random.default_rng(seed)
    theta = rng.beta(params["alpha"], params["beta"], n)
    months = rng.geometric(theta)
    seen = rng.integers(1, observed + 1, n)
    ended = months <= seen
    return pd.DataFrame(
        {"T": np.where(ended, months, seen).astype(np.float64), "churned": ended},
        index=pd.Index([f"K{i:05d}" for i in range(n)], name="customer_id"),
    ).assign(value=np.round(rng.uniform(20, 80, n), 2))


def test_bgbb_intervals_of_totals_cover_the_truth():
    """Discrete mode of the synthetic generator, known BG/BB parameters: over 20 seeded
    companies the 90% interval of the total P(alive) and of the total expected purchases at the
    next opportunity, both computed with the fitted model's parameter draws, holds the totals
    under the true parameters at a plausible rate (18 expected; 14 or fewer has p < 0.05)."""
    from cpm_analysis.clv import BetaGeoBetaBinomModel
    from cpm_analysis.clv.routes import bgbb_scores

    reps, hits = 20, {"probability_alive": 0, "expected_purchases": 0}
    for rep in range(reps):
        s, truth = _bgbb_company(1500, seed=200 + rep)
        model = _fit(BetaGeoBetaBinomModel(), s)
        draws = bootstrap_parameters(model, s, n_draws=60, random_state=rep, opportunity="Y")
        true = bgbb_scores(_truth(model, truth), s, "Y", 12, 0.01)
        everyone = pd.Series("all", index=s.index)
        for quantity, column in (
            ("probability_alive", "p_alive"),
            ("expected_purchases", "expected_purchases_90d"),
        ):
            row = group_intervals(draws, s, everyone, quantity, t=90, time_unit="D").loc["all"]
            hits[quantity] += row["lower"] <= true[column].sum() <= row["upper"]
    assert min(hits.values()) >= 15, hits


def test_sbg_intervals_of_totals_cover_the_truth():
    """Contracts drawn from known sBG parameters: over 20 seeded cohorts the 90% interval of
    the total 12-month CLV (discounted expected payments x each contract's value) holds the
    total under the true parameters at a plausible rate."""
    from cpm_analysis.clv import ShiftedBetaGeoModel
    from cpm_analysis.clv.routes import sbg_scores

    truth = {"alpha": 0.7, "beta": 2.5}
    reps, hits = 20, 0
    for rep in range(reps):
        rows = _contracts(1500, truth, seed=300 + rep)
        model = ShiftedBetaGeoModel().fit(rows)
        draws = bootstrap_parameters(model, rows, n_draws=60, random_state=rep)
        true = sbg_scores(_truth(model, truth), rows, 12, 0.01)["payments"] * rows["value"]
        row = group_intervals(draws, rows, pd.Series("all", index=rows.index), "clv").loc["all"]
        hits += row["lower"] <= true.sum() <= row["upper"]
    assert hits >= 15, hits


def test_route_intervals_reproduce_the_scored_table():
    """The pages' draws for a BG/BB and an sBG period: estimates equal the scored columns
    (the same models and rule), intervals bracket them, and the tables are computed."""
    from cpm_analysis.clv.routes import score_route
    from cpm_analysis.clv.tables import value_draws, value_intervals
    from cpm_analysis.synthetic import generate_contractual, generate_discrete

    cases = (
        (generate_discrete(600, seed=4).to_dataset(), "2024-12-31", "BG/BB", "Y"),
        (generate_contractual(400, seed=4).to_dataset(), "2025-12-31", "sBG", None),
    )
    for view, cutoff, name, unit in cases:
        scores, models, _ = score_route(view, cutoff, name, opportunity=unit)
        by_name = {name: models["purchase"]}
        if "gamma_gamma" in models:
            by_name["Gamma-Gamma"] = models["gamma_gamma"]
        draws = value_draws(
            by_name, None, seed=1, n_draws=30, view=view, cutoff=cutoff, opportunity=unit
        )
        assert draws.summary is not None and draws.n_draws == 30, name
        for quantity, column in (
            ("clv", "clv"),
            ("expected_purchases", "expected_purchases_90d"),
            ("probability_alive", "p_alive"),
        ):
            ci = prediction_intervals(draws, draws.summary, quantity, t=90, time_unit="D")
            ci = ci.reindex(scores.index)
            np.testing.assert_allclose(ci["estimate"], scores[column], rtol=1e-9, atol=1e-12)
            assert (ci["lower"] <= ci["upper"]).all()
        scored = scores.reset_index().rename(columns={"index": "customer_id"})
        scored["tier"] = np.where(scored["clv"] > scored["clv"].median(), "high", "low")
        tables = value_intervals(draws, None, scored, {"clv_by_tier": ("clv", "tier")})
        table = tables["clv_by_tier"]
        np.testing.assert_allclose(
            table["total"].sort_index(), scored.groupby("tier")["clv"].sum().sort_index()
        )
        assert (table["upper"] >= table["lower"]).all() and (table["upper"] > table["lower"]).any()
        if name == "BG/BB":  # every donor gives alike: Gamma-Gamma at the edge is held, and said
            assert models["gamma_gamma"].at_boundary_
            assert "held at their estimates" in draws.notes[0]
            assert (draws.spend.nunique() == 1).all()


def test_route_draws_name_bad_input():
    from cpm_analysis.clv import BetaGeoBetaBinomModel, ShiftedBetaGeoModel

    s, _ = _bgbb_company(300, seed=1)
    bb = _fit(BetaGeoBetaBinomModel(), s)
    with pytest.raises(ValueError, match="opportunity"):
        bootstrap_parameters(bb, s, n_draws=5)
    rows = _contracts(300, {"alpha": 0.7, "beta": 2.5}, seed=1)
    sbg = ShiftedBetaGeoModel().fit(rows)
    spend = GammaGammaModel()
    with pytest.raises(ValueError, match="spend_model"):
        bootstrap_parameters(sbg, rows, spend, n_draws=5)
    draws = bootstrap_parameters(sbg, rows, n_draws=5)
    with pytest.raises(ValueError, match="churned"):
        prediction_intervals(draws, rows.drop(columns="churned"), "probability_alive")
    with pytest.raises(ValueError, match="value"):
        prediction_intervals(draws, rows.drop(columns="value"), "clv")
    boot = bootstrap_parameters(sbg, rows, n_draws=4, method="customer", random_state=2)
    assert boot.purchase.shape == (4, 2)


def test_revenue_at_risk_interval_carries_who_leaves(fitted):
    """With the churn probability fixed, the interval of the sum of CLV x p is about the
    parameters only and holds few of the losses that actually happen (customers leave or
    not); drawing who leaves in each draw gives an interval that holds about 90% of them."""
    s, bgf, ggf = fitted
    s = s.iloc[:1200]
    draws = bootstrap_parameters(bgf, s, ggf, n_draws=100, random_state=5)
    books = pd.Series([f"B{i % 12:02d}" for i in range(len(s))], index=s.index)  # 100 each
    p = pd.Series(np.random.default_rng(0).uniform(0.05, 0.6, len(s)), index=s.index)
    fixed = group_intervals(draws, s, books, "clv", weights=p)
    honest = group_intervals(draws, s, books, "clv", weights=p, bernoulli=True, random_state=9)
    np.testing.assert_allclose(honest["estimate"], fixed["estimate"])
    # losses that happen: each customer leaves with p (at the fitted parameters)
    value = customer_lifetime_value(bgf, ggf, s).to_numpy()
    rng = np.random.default_rng(11)
    left = rng.random((300, len(s))) < p.to_numpy()
    losses = pd.DataFrame((left * value).T, index=s.index).groupby(books).sum()

    def coverage(table):
        lo = table["lower"].to_numpy()[:, None]
        hi = table["upper"].to_numpy()[:, None]
        return float(((losses.to_numpy() >= lo) & (losses.to_numpy() <= hi)).mean())

    assert coverage(fixed) < 0.5, coverage(fixed)
    assert coverage(honest) >= 0.85, coverage(honest)
    # seeded, and keyed by customer: a book computed alone draws as in the whole
    again = group_intervals(draws, s, books, "clv", weights=p, bernoulli=True, random_state=9)
    pd.testing.assert_frame_equal(honest, again)
    one = books == "B07"
    alone = group_intervals(
        draws, s.loc[one], books[one], "clv", weights=p[one], bernoulli=True, random_state=9
    )
    pd.testing.assert_frame_equal(alone, honest.loc[["B07"]])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        group_intervals(draws, s, books, "clv", weights=p * 3, bernoulli=True)


def test_the_interval_functions_share_one_set_of_defaults():
    import inspect

    from cpm_analysis.clv.uncertainty import IntervalOptions

    defaults = IntervalOptions()
    for func in (
        prediction_intervals,
        group_intervals,
        grouped_intervals,
        customer_and_group_intervals,
    ):
        params = inspect.signature(func).parameters
        for name in ("level", "t", "horizon_months", "discount_rate", "time_unit", "n_jobs"):
            assert params[name].default == getattr(defaults, name), (func.__name__, name)


def test_workers_split_the_customers_without_changing_the_result(fitted):
    """n_jobs splits the customers into parts sharing no distinct (x, T) pair; every
    customer's interval and every group's sum are those of one process."""
    s, bgf, ggf = fitted
    draws = bootstrap_parameters(bgf, s, ggf, n_draws=12, random_state=6)
    p = pd.Series(0.3, index=s.index)
    one = customer_and_group_intervals(draws, s, "owner", "clv")
    two = customer_and_group_intervals(draws, s, "owner", "clv", n_jobs=2)
    pd.testing.assert_frame_equal(one[0], two[0])
    pd.testing.assert_frame_equal(one[1], two[1], rtol=1e-12)
    risk = [
        group_intervals(draws, s, "owner", "clv", weights=p, bernoulli=True, n_jobs=jobs)
        for jobs in (1, 2)
    ]
    pd.testing.assert_frame_equal(risk[0], risk[1], rtol=1e-12)
