"""The scored customer table of a period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.scoring import SCORED_COLUMNS, score_customers
from cpm_analysis.synthetic import generate


@pytest.fixture(scope="module")
def company():
    return generate(1500, seed=21).to_dataset()


@pytest.fixture(scope="module")
def result(company):
    return score_customers(company, "2025-09", seed=0)


def test_one_row_per_customer_signed_up_by_the_cutoff(company, result):
    scored = result.scored
    view = company.as_of("2025-09")
    assert scored["customer_id"].is_unique
    assert set(scored["customer_id"]) == set(view.customers["customer_id"])
    assert list(scored.columns) == [c for c in SCORED_COLUMNS if c in scored.columns]
    assert scored["customer_id"].is_monotonic_increasing
    for column in ("name", "email", "phone"):
        assert column not in scored.columns


def test_every_model_contributes(result):
    scored = result.scored
    buyers = scored["frequency"].notna()
    assert scored.loc[buyers, "segment"].notna().all()
    assert set(scored.loc[buyers, "tier"]) == {"A", "B", "C"}
    assert scored.loc[buyers, "clv"].ge(0).all()
    assert scored.loc[buyers, "p_alive"].between(0, 1).all()
    risk = scored["churn_probability"].dropna()
    assert len(risk) > 100 and risk.between(0, 1).all()
    with_risk = scored.loc[scored["churn_probability"].notna()]
    assert np.allclose(
        with_risk["expected_loss"], with_risk["churn_probability"] * with_risk["clv"]
    )
    # every customer more likely than not to churn is given a reason (a warning sign, or the
    # plain "no single warning sign"); a customer less at risk may have none
    leaving = with_risk["churn_probability"] >= 0.5
    assert with_risk.loc[leaving, "reason_codes"].str.len().gt(0).all()
    assert with_risk["reason_codes"].str.len().gt(0).mean() > 0.8
    # never-buyers have no segment and no model values, rather than invented ones
    assert scored.loc[~buyers, ["segment", "clv", "churn_probability"]].isna().all().all()


def test_metrics_hold_model_parameters_and_an_out_of_time_check(result):
    models = result.metrics["models"]
    assert set(models["bgnbd"]["params"]) == {"r", "alpha", "a", "b"}
    assert set(models["gamma_gamma"]["params"]) == {"p", "q", "v"}
    churn = models["churn"]
    assert churn["out_of_time"]["roc_auc"] > 0.6
    assert churn["trained_at"] < "2025-09-30"


def test_nothing_after_the_cutoff_changes_the_scores(company, result):
    later = company.orders.copy()
    later.loc[later["order_date"] > pd.Timestamp("2025-09-30 23:59:59"), "amount"] *= 3
    changed = type(company)(**{**company.tables, "orders": later})
    again = score_customers(changed, "2025-09", seed=0).scored
    pd.testing.assert_frame_equal(again, result.scored)
