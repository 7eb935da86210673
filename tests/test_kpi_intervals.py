"""Intervals for KPI rates per owner or agent (cpm_analysis.kpis.intervals)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.kpis.intervals import binomial_interval, poisson_interval, rank_within_noise

REPS = 4000


def test_garwood_matches_published_values():
    # Garwood (1936) / the usual tables: 95% limits for 0, 1 and 10 events
    t = poisson_interval([0, 1, 10], level=0.95)
    np.testing.assert_allclose(t["lower"], [0.0, 0.0253, 4.7954], atol=1e-4)
    np.testing.assert_allclose(t["upper"], [3.6889, 5.5716, 18.3904], atol=1e-4)


def test_clopper_pearson_and_wilson_match_published_values():
    cp = binomial_interval([5], [10], level=0.95, method="clopper-pearson")
    np.testing.assert_allclose(cp[["lower", "upper"]].iloc[0], [0.1871, 0.8129], atol=1e-4)
    # Wilson 95% for 81 of 263 (Wikipedia's worked example / Newcombe 1998)
    w = binomial_interval([81], [263], level=0.95)
    np.testing.assert_allclose(w[["lower", "upper"]].iloc[0], [0.2553, 0.3662], atol=1e-3)


@pytest.mark.parametrize("rate", [0.5, 4.0, 30.0])
def test_poisson_interval_covers_at_least_nominal(rate):
    rng = np.random.default_rng(1)
    exposure = 10.0
    k = rng.poisson(rate * exposure, REPS)
    t = poisson_interval(k, exposure, level=0.9)
    covered = ((t["lower"] <= rate) & (rate <= t["upper"])).mean()
    assert covered >= 0.9 - 3 * np.sqrt(0.09 / REPS)


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
@pytest.mark.parametrize(("p", "n"), [(0.3, 100), (0.9, 40), (0.05, 200)])
def test_binomial_interval_coverage(method, p, n):
    rng = np.random.default_rng(2)
    k = rng.binomial(n, p, REPS)
    t = binomial_interval(k, np.full(REPS, n), level=0.9, method=method)
    covered = ((t["lower"] <= p) & (p <= t["upper"])).mean()
    tol = 3 * np.sqrt(0.09 / REPS)
    if method == "clopper-pearson":
        assert covered >= 0.9 - tol  # exact: never below nominal
    else:
        assert abs(covered - 0.9) <= 0.05, covered  # Wilson: close to nominal


def test_intervals_keep_the_index_of_a_series():
    owners = pd.Index(["S1", "S2"], name="owner_id")
    t = binomial_interval(pd.Series([3, 9], owners), pd.Series([10, 10], owners))
    assert t.index.equals(owners)


def test_small_book_is_not_ranked_last_within_noise():
    """A small owner with the worst rate, but an interval that overlaps the next one's, is not
    called last; the owners clearly ahead of it are still told apart."""
    books = pd.DataFrame(
        {"retained": [900, 850, 6, 400], "customers": [1000, 1000, 10, 600]},
        index=pd.Index(["big_a", "big_b", "small", "weak"], name="owner_id"),
    )
    t = binomial_interval(books["retained"], books["customers"], level=0.9)
    ranked = rank_within_noise(t)
    assert ranked.loc["small", "rank"] == 4
    assert ranked.loc["small", "within_noise"]
    assert ranked.loc["small", "rank_best"] == 3
    assert not ranked["clearly_last"].any()
    assert ranked.loc["weak", "rank_best"] == 3 and ranked.loc["weak", "rank_worst"] == 4
    assert ranked.loc["big_a", "clearly_first"]
    assert not ranked.loc["big_b", "within_noise"]
    # with a larger book the same rate is clearly last
    books.loc["small"] = [600, 1000]
    t = binomial_interval(books["retained"], books["customers"], level=0.9)
    assert rank_within_noise(t).loc["small", "clearly_last"]


def test_lower_is_better_ranking():
    t = poisson_interval([2, 40], [100, 100])
    ranked = rank_within_noise(t, higher_is_better=False)
    assert ranked["rank"].tolist() == [1, 2]
    assert ranked["clearly_first"].tolist() == [True, False]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: poisson_interval([1.5]), "whole"),
        (lambda: poisson_interval([-1]), "negative"),
        (lambda: poisson_interval([1], [0]), "exposure"),
        (lambda: poisson_interval([1], level=1.0), "level"),
        (lambda: binomial_interval([5], [3]), "more successes"),
        (lambda: binomial_interval([0], [0]), "no trials"),
        (lambda: binomial_interval([1, 2], [3]), "successes, trials"),
        (lambda: binomial_interval([1], [3], method="wald"), "method"),
        (lambda: rank_within_noise(pd.DataFrame({"rate": [1.0]})), "missing column"),
        (
            lambda: rank_within_noise(
                pd.DataFrame({"rate": [np.nan], "lower": [0.0], "upper": [1.0]})
            ),
            "missing 'rate'",
        ),
    ],
)
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_team_kpi_intervals_count_what_the_kpis_count():
    """The rates are the KPIs' own (owner retention, complaints per 100, agent SLA)."""
    from cpm_analysis.kpis import compute_kpis
    from cpm_analysis.kpis.intervals import team_kpi_intervals
    from cpm_analysis.synthetic import generate

    view = generate(400, seed=2).to_dataset().as_of("2025-06")
    owners = team_kpi_intervals(view, "2025-06", "owner")
    kpis = compute_kpis(view, "2025-06", by="owner_id", kpis=["retention_rate", "complaint_rate"])
    for kpi in ("retention_rate", "complaint_rate"):
        mine = owners.loc[owners["kpi"] == kpi].set_index("owner_id")["rate"]
        expected = kpis.loc[kpi, "value"]
        np.testing.assert_allclose(mine, expected.reindex(mine.index), rtol=1e-9)
    assert ((owners["lower"] <= owners["rate"]) & (owners["rate"] <= owners["upper"])).all()
    agents = team_kpi_intervals(view, "2025-06", "agent")
    assert set(agents["kpi"]) == {"sla_compliance"} and len(agents) > 0
    from cpm_analysis.data import load_cdnow

    cdnow = load_cdnow(sample=True).as_of("1998-06")  # no owners, no tickets
    assert team_kpi_intervals(cdnow, "1998-06", "owner").empty
    assert team_kpi_intervals(cdnow, "1998-06", "agent").empty
    with pytest.raises(ValueError, match="role: expected 'owner' or 'agent'"):
        team_kpi_intervals(view, "2025-06", "manager")


def test_kpi_bounds_recomputed_by_hand():
    from scipy import stats as st

    from cpm_analysis import load
    from cpm_analysis.kpis import compute_kpis
    from cpm_analysis.kpis.intervals import kpi_bounds

    ds = load("data/sample")
    kpis = ["revenue", "new_customers", "retention_rate", "churn_rate", "csat", "aov"]
    bounds = kpi_bounds(ds, ["2024-06"], by="owner_id", kpis=kpis, level=0.9)
    assert "aov" not in bounds.index.get_level_values("kpi")  # no law: counts as exact
    values = compute_kpis(ds, "2024-06", by="owner_id", kpis=kpis)["value"]
    z = st.norm.ppf(0.95)
    # revenue: value +- z sqrt(sum over the book's customers of their revenue squared)
    orders = ds.orders.loc[ds.orders["order_date"].between("2024-06-01", "2024-06-30 23:59:59")]
    orders = orders.loc[orders["status"].fillna("paid") == "paid"] if "status" in orders else orders
    per_customer = orders.groupby("customer_id")["amount"].sum()
    owner = ds.customers.set_index("customer_id")["owner_id"].reindex(per_customer.index)
    sd = np.sqrt((per_customer**2).groupby(owner).sum())
    rev = bounds.loc[("2024-06", "revenue")].reindex(sd.index)
    value = values.xs("revenue", level="kpi").reindex(sd.index)
    np.testing.assert_allclose(rev["upper"], value + z * sd, rtol=1e-9)
    np.testing.assert_allclose(rev["lower"], np.maximum(value - z * sd, 0.0), rtol=1e-9)
    # a count: Garwood's interval of the count itself
    new = bounds.loc[("2024-06", "new_customers")]
    counts = values.xs("new_customers", level="kpi").reindex(new.index)
    ok = counts.notna()
    exact = poisson_interval(counts[ok].astype(int), level=0.9)
    np.testing.assert_allclose(new.loc[ok, "upper"], exact["upper"], rtol=1e-12)
    # churn is the mirror of retention
    ret = bounds.loc[("2024-06", "retention_rate")]
    churn = bounds.loc[("2024-06", "churn_rate")]
    np.testing.assert_allclose(churn["lower"], 1 - ret["upper"])
    # every interval holds its value
    both = bounds.join(
        values.rename("value")
        .reset_index()
        .assign(period="2024-06")
        .set_index(["period", "kpi", "owner_id"])["value"],
        how="inner",
    ).dropna()
    assert ((both["lower"] <= both["value"] + 1e-9) & (both["value"] <= both["upper"] + 1e-9)).all()
    csat = bounds.loc[("2024-06", "csat")].dropna()
    assert ((csat["lower"] >= 1) & (csat["upper"] <= 5)).all()
