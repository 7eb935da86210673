"""Tests of cpm_analysis.churn.features: exact values, attributes, CLV features, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from churn_fixtures import CUTOFF, shop_frames

from cpm_analysis.churn import churn_features
from cpm_analysis.data import validate_frames
from cpm_analysis.periods import to_cutoff
from cpm_analysis.synthetic import generate


@pytest.fixture(scope="module")
def shop_features():
    return churn_features(validate_frames(shop_frames()), CUTOFF, clv=False)


def test_one_row_per_customer_signed_up_by_the_cutoff(shop_features):
    assert shop_features.index.tolist() == ["a", "b", "d", "e"]
    assert shop_features.index.name == "customer_id"
    assert shop_features.attrs["cutoff"] == CUTOFF


def test_order_features_by_hand(shop_features):
    a = shop_features.loc["a"]
    # paid orders of a: 2023-03-01 (20), 2024-02-01 (30), 2024-05-10 (50), 2024-06-20 (100)
    expected = {
        "tenure_days": (CUTOFF - pd.Timestamp("2023-01-01")).days,
        "days_since_first_order": (CUTOFF - pd.Timestamp("2023-03-01")).days,
        "days_since_last_order": 11.0,
        "orders_30d": 1.0,
        "spend_30d": 100.0,
        "orders_90d": 2.0,
        "spend_90d": 150.0,
        "orders_365d": 3.0,
        "spend_365d": 180.0,
        "orders_total": 4.0,
        "spend_total": 200.0,
        "avg_order_value": 50.0,
        "orders_prev_90d": 1.0,  # 2024-02-01 is 151 days before
        "spend_prev_90d": 30.0,
        "orders_trend_90d": (2 - 1) / (2 + 1),
        "spend_trend_90d": (150 - 30) / (150 + 30),
        "refund_share_365d": 25.0 / 180.0,  # the refund of 25; the cancelled order not at all
    }
    for name, value in expected.items():
        assert a[name] == pytest.approx(value), name
    b = shop_features.loc["b"]
    assert b["days_since_last_order"] == 77.0
    assert b["orders_trend_90d"] == 1.0  # bought in the last 90 days, not in the 90 before
    assert b["refund_share_365d"] == 0.0
    e = shop_features.loc["e"]  # never ordered
    assert np.isnan(e["days_since_last_order"]) and np.isnan(e["avg_order_value"])
    assert e["orders_total"] == 0 and e["spend_trend_90d"] == 0.0
    assert np.isnan(e["refund_share_365d"])


def test_service_and_nps_features_by_hand(shop_features):
    a = shop_features.loc["a"]
    # t1 (complaint, answered in 4 h, resolved in 24 h, CSAT 2) and t2 (answered in 10 h,
    # resolved after the cutoff: still open, waited 72 h so far, its CSAT not given yet);
    # t3 is older than a year, t4 opened after the cutoff
    assert a["tickets_90d"] == 2 and a["tickets_365d"] == 2
    assert a["complaints_90d"] == 1 and a["complaints_365d"] == 1
    assert a["open_tickets"] == 1
    assert a["first_response_hours_365d"] == pytest.approx(7.0)
    assert a["resolution_hours_365d"] == pytest.approx(48.0)
    assert a["last_csat"] == 2.0 and a["mean_csat_365d"] == 2.0
    # NPS: 9 on 2024-03-01 and 3 on 2024-06-15 (10 on 2024-07-15 is after the cutoff)
    assert a["last_nps"] == 3.0 and a["mean_nps_365d"] == 6.0
    b = shop_features.loc["b"]
    assert b["tickets_365d"] == 0 and np.isnan(b["last_csat"])
    assert b["last_nps"] == 6.0 and np.isnan(b["mean_nps_365d"])  # answered two years ago


def test_attributes_are_features_and_personal_data_is_not(shop_features):
    columns = set(shop_features.columns)
    assert {"region", "seats", "days_since_renewal_date"} <= columns
    assert not columns & {"name", "email", "owner_id", "signup_date", "customer_id"}
    assert shop_features["region"].tolist() == ["North", "South", "East", "South"]
    assert shop_features["seats"].dtype == np.float64
    # a date attribute becomes days before the cutoff; one after the cutoff is not known yet
    assert shop_features.loc["a", "days_since_renewal_date"] == 122.0
    assert np.isnan(shop_features.loc["b", "days_since_renewal_date"])


def test_attribute_named_like_a_feature_is_prefixed():
    frames = shop_frames()
    frames["customers"]["orders_total"] = [1, 2, 3, 4, 5]
    X = churn_features(validate_frames(frames), CUTOFF, clv=False)
    assert X.loc["a", "orders_total"] == 4.0
    assert X.loc["a", "attr_orders_total"] == 1.0


def test_optional_tables_only_add_their_columns():
    frames = shop_frames()
    del frames["tickets"], frames["surveys"]
    X = churn_features(validate_frames(frames), CUTOFF, clv=False)
    assert "tickets_90d" not in X and "last_nps" not in X and "last_csat" not in X
    assert "days_since_last_order" in X


def test_windows_parameter():
    X = churn_features(validate_frames(shop_frames()), CUTOFF, clv=False, windows=(7, 60))
    assert {"orders_7d", "orders_60d"} <= set(X.columns) and "orders_30d" not in X
    with pytest.raises(ValueError, match="windows"):
        churn_features(validate_frames(shop_frames()), CUTOFF, clv=False, windows=(0,))


def test_clv_features_come_from_a_bgnbd_fit_at_the_cutoff(small_synthetic):
    ds = small_synthetic.to_dataset()
    X = churn_features(ds, "2025-06")
    p = X["p_alive"]
    assert p.dropna().between(0, 1).all() and X["expected_purchases_90d"].dropna().ge(0).all()
    buyers = X["orders_total"] > 0
    assert p[buyers].notna().all() and p[~buyers].isna().all()
    # a long silence lowers P(alive)
    recent = X.loc[buyers & (X["orders_total"] > 1)]
    corr = np.corrcoef(recent["days_since_last_order"], recent["p_alive"])[0, 1]
    assert corr < -0.3
    assert "p_alive" not in churn_features(ds, "2025-06", clv=False)


def _shifted_after(frame: pd.DataFrame, column: str, cutoff: pd.Timestamp) -> pd.Series:
    after = frame[column] > cutoff
    return frame[column].where(~after, frame[column] + pd.Timedelta(3, "D"))


def test_no_leakage_changing_data_after_the_cutoff_changes_no_feature():
    sd = generate(600, seed=5)
    cutoff = to_cutoff("2024-06")
    tables = {
        name: sd.tables[name].copy() for name in ("customers", "orders", "tickets", "surveys")
    }
    before = churn_features(validate_frames(tables), cutoff, clv=True)

    changed = {name: frame.copy() for name, frame in tables.items()}
    orders = changed["orders"]
    late = orders["order_date"] > cutoff
    orders.loc[late, "amount"] = orders.loc[late, "amount"] * 3
    orders["order_date"] = _shifted_after(orders, "order_date", cutoff)
    extra = orders.loc[orders["status"].eq("paid")].head(200).copy()
    extra["order_id"] = "X" + extra["order_id"]
    extra["order_date"] = cutoff + pd.Timedelta(5, "D")
    extra["amount"] = 999.0
    tickets = changed["tickets"]
    opened_late = tickets["opened_at"] > cutoff
    tickets.loc[opened_late, "is_complaint"] = ~tickets.loc[opened_late, "is_complaint"]
    answered_late = tickets["resolved_at"] > cutoff
    tickets.loc[answered_late, "satisfaction"] = 1.0
    for col in ("opened_at", "first_response_at", "resolved_at"):
        tickets[col] = _shifted_after(tickets, col, cutoff)
    surveys = changed["surveys"]
    surveys.loc[surveys["responded_at"] > cutoff, "score"] = 0.0
    customers = changed["customers"]
    new = customers["signup_date"] > cutoff
    customers.loc[new, "region"] = "Mars"
    customers.loc[new, "company_size"] = "huge"
    newcomer = customers.iloc[[0]].copy()
    newcomer["customer_id"] = "C_NEW"
    newcomer["signup_date"] = cutoff + pd.Timedelta(1, "D")
    changed["customers"] = pd.concat([customers, newcomer], ignore_index=True)
    changed["orders"] = pd.concat([orders, extra], ignore_index=True)
    after = churn_features(validate_frames(changed), cutoff, clv=True)
    pd.testing.assert_frame_equal(before, after)

    # the test can see a change: an order before the cutoff moves the features
    early = tables["orders"].copy()
    first_paid = early.index[(early["order_date"] <= cutoff) & early["status"].eq("paid")][0]
    early.loc[first_paid, "amount"] += 100.0
    moved = churn_features(validate_frames({**tables, "orders": early}), cutoff, clv=True)
    customer = early.loc[first_paid, "customer_id"]
    assert moved.loc[customer, "spend_total"] == pytest.approx(
        before.loc[customer, "spend_total"] + 100
    )
