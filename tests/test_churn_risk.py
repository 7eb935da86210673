"""Tests of cpm_analysis.churn.risk.risk_list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from churn_fixtures import one_thread  # noqa: F401 (autouse fixture)

from cpm_analysis.churn import (
    ChurnModel,
    active_customers,
    churn_features,
    churn_labels,
    risk_list,
)
from cpm_analysis.churn.risk import RISK_COLUMNS
from cpm_analysis.synthetic import generate

CUTOFF = "2025-12"


@pytest.fixture(scope="module")
def company():
    return generate(1500, seed=4).to_dataset()


@pytest.fixture(scope="module")
def model(company):
    y = churn_labels(company, "2025-06", "90D")
    X = churn_features(company, "2025-06", clv=False).loc[y.index]
    return ChurnModel("logistic", cv=3, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def plain(company, model):
    return risk_list(model, company, CUTOFF)


def test_one_row_per_active_customer_ranked_by_probability(company, model, plain):
    assert list(plain.columns) == RISK_COLUMNS
    base = active_customers(company, CUTOFF)
    assert sorted(plain["customer_id"]) == sorted(base)
    assert plain["churn_probability"].is_monotonic_decreasing
    assert plain["clv"].isna().all() and plain["expected_loss"].isna().all()
    X = churn_features(company, CUTOFF, clv=False).loc[plain["customer_id"]]
    np.testing.assert_allclose(plain["churn_probability"], model.predict_proba(X)[:, 1])


def test_owner_segment_and_reasons(company, plain):
    owners = company.customers.set_index("customer_id")["owner_id"]
    assert plain["owner_id"].tolist() == owners.loc[plain["customer_id"]].tolist()
    # no segment column in the customers table: the RFM segment at the cutoff
    assert plain["segment"].notna().all() and plain["segment"].nunique() > 2
    top = plain.head(20)
    assert top["reasons"].str.len().gt(0).all()
    assert top["reasons"].str.contains("no order in|order|spend|complaint|CSAT|NPS").any()


def test_clv_turns_probability_into_expected_loss(company, model, plain):
    rng = np.random.default_rng(0)
    ids = plain["customer_id"]
    clv = pd.Series(rng.gamma(2.0, 150.0, len(ids)), index=ids.to_numpy())
    clv = clv.drop(ids.iloc[:3].to_numpy())  # three customers without a CLV
    ranked = risk_list(model, company, CUTOFF, clv=clv)
    valued = ranked.dropna(subset=["clv"])
    np.testing.assert_allclose(valued["expected_loss"], valued["churn_probability"] * valued["clv"])
    assert valued["expected_loss"].is_monotonic_decreasing
    # customers without a CLV come last, by probability
    assert ranked.tail(3)["customer_id"].tolist() == ids.iloc[:3].tolist()
    as_frame = risk_list(model, company, CUTOFF, clv=clv.rename("clv").to_frame())
    pd.testing.assert_frame_equal(as_frame, ranked)


def test_segments_can_be_given_or_left_out(company, model, plain):
    segments = pd.Series("Key account", index=company.customers["customer_id"].to_numpy())
    given = risk_list(model, company, CUTOFF, segments=segments, n=5)
    assert (given["segment"] == "Key account").all()
    assert risk_list(model, company, CUTOFF, segments=False, n=5)["segment"].isna().all()


def test_top_n_is_the_head_of_the_full_list(company, model, plain):
    top = risk_list(model, company, CUTOFF, n=10)
    pd.testing.assert_frame_equal(top, plain.head(10))


def test_only_data_up_to_the_cutoff_is_used(company, model, plain):
    later = risk_list(model, company.as_of(CUTOFF), CUTOFF)
    pd.testing.assert_frame_equal(later, plain)


def test_features_are_built_with_clv_when_the_model_needs_them(company):
    y = churn_labels(company, "2025-06", "90D")
    X = churn_features(company, "2025-06").loc[y.index]
    model = ChurnModel("logistic", cv=3, random_state=0).fit(X, y)
    assert "p_alive" in model.feature_names_in_
    ranked = risk_list(model, company, CUTOFF, n=5)
    assert len(ranked) == 5 and ranked["churn_probability"].between(0, 1).all()


def test_bad_arguments(company, model):
    with pytest.raises(ValueError, match="n:"):
        risk_list(model, company, CUTOFF, n=0)
    stale = churn_features(company, "2025-06", clv=False)
    with pytest.raises(ValueError, match="no feature row"):
        risk_list(model, company, CUTOFF, features=stale)
    clv = pd.Series([1.0, 2.0], index=["C000001", "C000001"])
    with pytest.raises(ValueError, match="duplicate"):
        risk_list(model, company, CUTOFF, clv=clv)
