"""Tests of cpm_analysis.report.customer360: one customer's view, point in time."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from cpm_analysis.data import validate_frames
from cpm_analysis.periods import parse_period
from cpm_analysis.plots.customers import plot_orders
from cpm_analysis.report import customer360

matplotlib.use("Agg")

PERIOD = parse_period("2025-06")


@pytest.fixture()
def tiny():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "signup_date": ["2025-01-01", "2025-01-01", "2025-01-01"],
            "name": ["Ann Lee", "Bo Chen", "Cy Wu"],
            "owner_id": ["S1", "S2", "S1"],
            "region": ["North", "South", "North"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5", "6"],
            "customer_id": ["a", "a", "a", "b", "a", "b"],
            "order_date": [
                "2025-02-01",
                "2025-03-01",
                "2025-03-05",
                "2025-04-01",
                "2025-07-01",  # after the period: never shown
                "2025-05-01",
            ],
            "amount": ["10", "20", "-5", "7", "99", "8"],
            "status": ["paid", "paid", "refunded", "paid", "paid", "paid"],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2"],
            "customer_id": ["a", "b"],
            "opened_at": ["2025-03-02 10:00", "2025-04-02 10:00"],
            "first_response_at": ["2025-03-02 12:00", "2025-04-02 11:00"],
            "resolved_at": ["2025-03-03 10:00", "2025-04-02 12:00"],
            "is_complaint": ["true", "false"],
            "satisfaction": ["2", "5"],
        }
    )
    return validate_frames({"customers": customers, "orders": orders, "tickets": tickets})


def test_view_is_point_in_time_and_has_no_personal_fields(tiny):
    view = tiny.as_of(PERIOD.end)
    cv = customer360.customer_view(view, "a", PERIOD)
    assert cv.orders["order_id"].tolist() == ["1", "2", "3"]  # July's order is left out
    profile = cv.profile.iloc[0]
    assert "name" not in cv.profile.columns
    assert (
        profile["orders"] == 2 and profile["revenue"] == 30.0
    )  # gross paid, as on the segments page
    assert profile["last_order"] == pd.Timestamp("2025-03-01")
    assert cv.has_tickets and not cv.has_surveys and cv.surveys.empty
    with pytest.raises(ValueError, match="customer_id: 'zz'"):
        customer360.customer_view(view, "zz", PERIOD)


def test_tables_and_service_note(tiny):
    cv = customer360.customer_view(tiny.as_of(PERIOD.end), "a", PERIOD)
    assert customer360.orders_table(cv, n=2)["order_id"].tolist() == ["3", "2"]
    tickets = customer360.tickets_table(cv)
    assert tickets[["first_response_hours", "resolution_hours"]].iloc[0].tolist() == [2.0, 24.0]
    assert customer360.surveys_table(cv).empty
    note = customer360.service_note(cv)
    assert note == (
        "1 ticket(s), 1 complaint(s), mean satisfaction 2.0/5. The data has no surveys table."
    )


def test_scores_verdict_reasons_and_narrative(tiny):
    scored = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "segment": ["Champions", "Lost"],
            "tier": ["A", "C"],
            "clv": [120.0, 1.0],
            "p_alive": [0.9, 0.1],
            "churn_probability": [0.65, np.nan],
            "expected_loss": [78.0, np.nan],
            "reason_codes": ["no order for 90 days; 1 complaint", None],
            "recommended_action": ["Call them", "Win back"],
        }
    )
    view = tiny.as_of(PERIOD.end)
    cv = customer360.customer_view(view, "a", PERIOD, scored)
    assert cv.reasons()["reason"].tolist() == ["no order for 90 days", "1 complaint"]
    verdict = cv.verdict()
    assert verdict["customer_id"].tolist() == ["a"] and verdict["clv"].tolist() == [120.0]
    text = cv.describe("P-ABC")
    assert text.startswith("**P-ABC** (account owner S1) has placed 2 paid order(s) worth 30")
    assert "**Champions** segment (value tier A)" in text
    assert "**65%** (high)" in text and "**Recommended action:** Call them" in text
    lapsed = customer360.customer_view(view, "b", PERIOD, scored)
    assert "no churn score" in lapsed.describe() and lapsed.reasons().empty
    never = customer360.customer_view(view, "c", PERIOD, scored)
    assert "had not bought by the end of 2025-06" in never.describe()
    assert never.score("clv") is None


def test_segment_path_before_and_after_the_first_purchase(tiny):
    path = customer360.segment_path(tiny, "b", PERIOD, n=4)
    assert path.index.tolist() == ["2025-03", "2025-04", "2025-05", "2025-06"]
    assert path.loc["2025-03", "segment"] == "not yet a buyer"
    assert np.isnan(path.loc["2025-03", "r_score"])
    assert path.loc["2025-05", "frequency"] == 2 and path.loc["2025-04", "frequency"] == 1
    with pytest.raises(ValueError, match="n:"):
        customer360.segment_path(tiny, "b", PERIOD, n=0)


def test_the_segment_path_names_segments_by_the_configured_map(tiny):
    two = {
        "segments": [
            {"segment": "Active", "r": "3-5", "group": "top"},
            {"segment": "Dormant", "r": "1-2", "group": "lapsed"},
        ]
    }
    path = customer360.segment_path(tiny, "b", PERIOD, n=3, segment_map=two)
    assert set(path["segment"]) <= {"Active", "Dormant", "not yet a buyer"}
    assert path.loc["2025-06", "segment"] in {"Active", "Dormant"}


def test_plot_orders_marks_refunds(tiny):
    cv = customer360.customer_view(tiny.as_of(PERIOD.end), "a", PERIOD)
    ax = plot_orders(cv)
    colors = ax.collections[0].get_colors()
    assert len(colors) == 3 and colors[2][0] > colors[2][2]  # the refund is red
    empty = customer360.customer_view(tiny.as_of(PERIOD.end), "c", PERIOD)
    assert "No orders" in plot_orders(empty).texts[0].get_text()


def test_monetary_value_agrees_with_the_segments_page_for_a_customer_with_a_refund():
    # issue 15: one customer was worth 1,549 on the segments page and 1,482 on customer 360
    # (the page summed refunded and cancelled orders in); both now show monetary_value
    from cpm_analysis.segments import monetary_value
    from cpm_analysis.segments.period import segment_table
    from cpm_analysis.synthetic import generate

    ds = generate(300, seed=1).to_dataset()
    period = parse_period("2025-06")
    view = ds.as_of(period.end)
    segments = segment_table(view, period.end)
    orders = view.orders
    refunded = orders.loc[orders["status"].eq("refunded"), "customer_id"]
    customer = next(c for c in refunded if c in segments.index)
    cv = customer360.customer_view(view, customer, period)
    shown = cv.profile.iloc[0]["revenue"]
    assert shown == pytest.approx(segments.loc[customer, "monetary"])
    assert shown == pytest.approx(monetary_value(orders, period.end)[customer])
    mine = orders.loc[orders["customer_id"].eq(customer)]
    assert shown != pytest.approx(mine["amount"].sum())  # the refund is not subtracted
