"""KPI registry, compute_kpis / kpi_history and evaluate_targets.

Most tests use a tiny hand-made company whose June 2024 answers are worked out by hand below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.data import paid_orders, validate_frames
from cpm_analysis.kpis import (
    KPIS,
    KPIUnavailable,
    attainment,
    compute_kpis,
    evaluate_targets,
    get_kpi,
    kpi_history,
    kpi_table,
    register_kpi,
    unregister_kpi,
)
from cpm_analysis.periods import parse_period, period_range

# --- the tiny company ---------------------------------------------------------------------------
# customers: a, b (Jan, owner S1), c (May, S2), d (10 June, S2), e (5 July, after the June cutoff)
# June 2024 paid orders: a 50 + a 30 + a 10 (no status) + d 80 -> revenue 170, 4 orders
# May 2024 paid orders: a 100, b 40, c 60 -> revenue 200; April: b 25 (b's first order)
# June refund: b -20; June cancelled: c 999 (never counts)


def _tiny_frames() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "signup_date": ["2024-01-01", "2024-01-01", "2024-05-01", "2024-06-10", "2024-07-05"],
            "owner_id": ["S1", "S1", "S2", "S2", "S2"],
            "region": ["N", "S", "N", "S", "W"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(1, 13)],
            "customer_id": ["a", "a", "a", "b", "b", "c", "c", "d", "a", "a", "e", "b"],
            "order_date": [
                "2024-05-03",
                "2024-06-02",
                "2024-06-20",
                "2024-05-10",
                "2024-06-15",
                "2024-05-20",
                "2024-06-05",
                "2024-06-11",
                "2024-06-25",
                "2024-07-01",
                "2024-07-06",
                "2024-04-01",
            ],
            "amount": ["100", "50", "30", "40", "-20", "60", "999", "80", "10", "500", "70", "25"],
            "status": [
                "paid",
                "paid",
                "paid",
                "paid",
                "refunded",
                "paid",
                "cancelled",
                "paid",
                None,
                "paid",
                "paid",
                "paid",
            ],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2", "T3", "T4", "T5", "T6"],
            "customer_id": ["a", "b", "c", "d", "a", "b"],
            "opened_at": [
                "2024-06-01 00:00",
                "2024-06-10 00:00",
                "2024-06-29 12:00",
                "2024-06-30 12:00",
                "2024-05-25 00:00",
                "2024-06-20 00:00",
            ],
            "first_response_at": [
                "2024-06-01 02:00",
                "2024-06-11 06:00",
                None,
                None,
                "2024-05-25 01:00",
                "2024-06-20 04:00",
            ],
            "resolved_at": [
                "2024-06-02 00:00",
                "2024-06-12 00:00",
                None,
                None,
                "2024-06-03 00:00",
                "2024-07-02 00:00",
            ],
            "is_complaint": ["true", "false", "true", None, "false", "false"],
            "agent_id": ["A1", "A1", "A2", "A2", "A2", "A1"],
            "satisfaction": ["4", "2", None, None, "5", "1"],
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "a"],
            "responded_at": ["2024-06-05", "2024-06-06", "2024-06-07", "2024-06-20", "2024-07-02"],
            "score": ["10", "9", "7", "3", "0"],
        }
    )
    return {"customers": customers, "orders": orders, "tickets": tickets, "surveys": surveys}


@pytest.fixture()
def tiny():
    return validate_frames(_tiny_frames())


@pytest.fixture()
def june(tiny):
    return compute_kpis(tiny, "2024-06")


# Every KPI of June, worked out by hand from the tables above.
JUNE = {
    "revenue": 170.0,  # 50 + 30 + 10 + 80
    "orders": 4.0,
    "aov": 42.5,  # 170 / 4
    "active_customers": 2.0,  # a, d
    "new_customers": 1.0,  # d (a's first order was in May, b's in April)
    "revenue_per_customer": 85.0,  # 170 / 2
    "purchase_frequency": 2.0,  # 4 / 2
    "repeat_rate": 0.5,  # a has 3 orders, d has 1
    "retention_rate": 1 / 3,  # May active a, b, c; June a
    "churn_rate": 2 / 3,
    "refund_rate": 20 / 190,  # |-20| / (170 + 20)
    "complaint_rate": 100.0,  # complaints T1, T3 per 2 active customers x 100
    "tickets": 5.0,  # T1, T2, T3, T4, T6 opened in June
    "complaint_share": 0.5,  # T1, T3 of T1, T2, T3, T6 (T4 unknown)
    "first_response_hours": 4.0,  # median of 2, 30, 4 (T3, T4 unanswered)
    "resolution_hours": 36.0,  # median of 24, 48 (T6 resolved after the cutoff)
    "sla_compliance": 0.5,  # met T1, T6; breached T2 (30 h), T3 (36 h unanswered); T4 too young
    "csat": 11 / 3,  # resolved in June: T1 4, T2 2, T5 5 (T6 resolved in July)
    "nps": 25.0,  # 10, 9, 7, 3 -> 2/4 promoters - 1/4 detractors
}
MAY = {"revenue": 200.0, "orders": 3.0, "active_customers": 3.0, "new_customers": 2.0}


@pytest.mark.parametrize("kpi_id", sorted(JUNE))
def test_each_kpi_matches_the_hand_worked_answer(june, kpi_id):
    row = june.loc[kpi_id]
    assert row["available"]
    assert row["value"] == pytest.approx(JUNE[kpi_id])
    assert row["period"] == "2024-06"


def test_previous_and_change_come_from_the_previous_month(june):
    for kpi_id, value in MAY.items():
        assert june.loc[kpi_id, "previous"] == pytest.approx(value)
        assert june.loc[kpi_id, "change"] == pytest.approx(JUNE[kpi_id] - value)
    assert june.attrs["previous_period"] == "2024-05"


def test_previous_is_what_the_previous_report_showed(tiny, june):
    may = compute_kpis(tiny, "2024-05")
    pd.testing.assert_series_equal(
        june["previous"], may["value"], check_names=False, check_exact=False
    )


def test_output_has_the_documented_columns_and_labels(june):
    assert list(june.columns) == [
        "period",
        "value",
        "previous",
        "change",
        "label_en",
        "label_zh",
        "unit",
        "direction",
        "available",
        "note",
    ]
    assert june.index.name == "kpi"
    assert list(june.index) == list(KPIS)
    assert june.loc["revenue", "label_zh"] == "销售收入"
    assert june.loc["first_response_hours", "direction"] == "lower"


def test_sla_hours_is_a_parameter(tiny):
    # 48 h: T1, T2, T6 met; T3 (36 h) and T4 (12 h) unanswered but still within the SLA
    out = compute_kpis(tiny, "2024-06", sla_hours=48, kpis=["sla_compliance"])
    assert out.loc["sla_compliance", "value"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="sla_hours"):
        compute_kpis(tiny, "2024-06", sla_hours=0)


def test_quarter_and_year_periods(tiny):
    q2 = compute_kpis(tiny, "2024-Q2", kpis=["revenue", "new_customers"])
    assert q2.loc["revenue", "value"] == pytest.approx(25 + 200 + 170)
    assert q2.loc["new_customers", "value"] == 4  # b (Apr), a, c (May), d (Jun)
    assert q2.attrs["previous_period"] == "2024-Q1"
    year = compute_kpis(tiny, parse_period("2024"), kpis=["revenue"])
    assert year.loc["revenue", "value"] == pytest.approx(25 + 200 + 170 + 500 + 70)


def test_latest_period_resolves_against_the_data(tiny):
    out = compute_kpis(tiny, "latest", kpis=["revenue"])
    assert out.attrs["period"] == "2024-06"  # data ends 6 July: July is incomplete


def test_an_empty_period_gives_zero_counts_and_undefined_ratios(tiny):
    out = compute_kpis(tiny, "2023-06")
    assert out.loc["revenue", "value"] == 0
    assert out.loc["tickets", "value"] == 0
    assert np.isnan(out.loc["aov", "value"])
    assert out.loc["aov", "available"]
    assert "undefined" in out.loc["aov", "note"]


# --- not available is never 0 -------------------------------------------------------------------


def test_missing_tables_make_kpis_not_available_with_the_reason():
    frames = _tiny_frames()
    del frames["tickets"], frames["surveys"]
    out = compute_kpis(validate_frames(frames), "2024-06")
    for kpi_id in ("complaint_rate", "first_response_hours", "sla_compliance", "csat", "tickets"):
        assert not out.loc[kpi_id, "available"]
        assert np.isnan(out.loc[kpi_id, "value"])
        assert "tickets" in out.loc[kpi_id, "note"]
    assert not out.loc["nps", "available"]
    assert "surveys" in out.loc["nps", "note"]
    assert out.loc["revenue", "value"] == pytest.approx(170)


def test_missing_column_makes_kpi_not_available():
    frames = _tiny_frames()
    frames["tickets"] = frames["tickets"].drop(columns=["is_complaint", "satisfaction"])
    out = compute_kpis(validate_frames(frames), "2024-06")
    assert not out.loc["complaint_rate", "available"]
    assert "tickets.is_complaint" in out.loc["complaint_rate", "note"]
    assert "tickets.satisfaction" in out.loc["csat", "note"]
    assert out.loc["first_response_hours", "value"] == pytest.approx(4.0)


def test_model_kpis_need_the_scored_customer_table(tiny, june):
    for kpi_id in ("predicted_clv", "revenue_at_risk"):
        assert not june.loc[kpi_id, "available"]
        assert np.isnan(june.loc[kpi_id, "value"])
        assert june.loc[kpi_id, "note"] == (
            "needs the scored customer table (CLV and churn models)"
        )


def test_model_kpis_with_scores(tiny):
    scores = pd.DataFrame(
        {"clv": [100.0, 50.0, 20.0, 80.0, 1000.0], "churn_probability": [0.1, 0.5, 0.9, 0.2, 1.0]},
        index=pd.Index(["a", "b", "c", "d", "e"], name="customer_id"),
    )
    out = compute_kpis(tiny, "2024-06", scores=scores, kpis=["predicted_clv", "revenue_at_risk"])
    assert out.loc["predicted_clv", "value"] == pytest.approx(90.0)  # active a, d
    # a 10 + b 25 + c 18 + d 16; e signs up after the cutoff
    assert out.loc["revenue_at_risk", "value"] == pytest.approx(69.0)
    assert np.isnan(out.loc["predicted_clv", "previous"])  # scored at June's cutoff only
    both = compute_kpis(
        tiny, "2024-06", scores={"2024-06": scores, "2024-05": scores}, kpis=["predicted_clv"]
    )
    assert both.loc["predicted_clv", "previous"] == pytest.approx(np.mean([100, 50, 20]))
    partial = compute_kpis(tiny, "2024-06", scores=scores.drop(index="d"), kpis=["predicted_clv"])
    assert partial.loc["predicted_clv", "value"] == pytest.approx(100.0)
    assert "1 of 2 active customers" in partial.loc["predicted_clv", "note"]
    with pytest.raises(ValueError, match="churn_probability"):
        compute_kpis(tiny, "2024-06", scores=scores.assign(churn_probability=2.0))
    with pytest.raises(ValueError, match="scores"):
        compute_kpis(tiny, "2024-06", scores=[1, 2])


# --- point in time --------------------------------------------------------------------------


def test_as_of_is_honoured_nothing_after_the_cutoff_changes_a_kpi(tiny, june):
    frames = _tiny_frames()
    later = {
        "customers": pd.DataFrame(
            {"customer_id": ["z"], "signup_date": ["2024-08-01"], "owner_id": ["S9"]}
        ),
        "orders": pd.DataFrame(
            {
                "order_id": ["90", "91", "92"],
                "customer_id": ["z", "a", "d"],
                "order_date": ["2024-08-02", "2024-07-01 00:00:01", "2024-09-01"],
                "amount": ["1000", "77", "5"],
                "status": ["paid", "paid", "refunded"],
            }
        ),
        "tickets": pd.DataFrame(
            {
                "ticket_id": ["T90"],
                "customer_id": ["z"],
                "opened_at": ["2024-08-03"],
                "is_complaint": ["true"],
            }
        ),
        "surveys": pd.DataFrame(
            {
                "customer_id": ["z", "b"],
                "responded_at": ["2024-08-05", "2024-07-01"],
                "score": [0, 0],
            }
        ),
    }
    frames["orders"].loc[frames["orders"]["order_id"] == "5", "amount"] = "-20"
    grown = {k: pd.concat([frames[k], later[k]], ignore_index=True) for k in later}
    # T4 gets answered after the cutoff: at the June cutoff it is still unanswered
    grown["tickets"].loc[grown["tickets"]["ticket_id"] == "T4", "first_response_at"] = "2024-07-01"
    grown["orders"].loc[grown["orders"]["order_id"] == "92", "amount"] = "-5"
    bigger = validate_frames(grown)
    assert len(bigger.rejected) == 0
    again = compute_kpis(bigger, "2024-06")
    pd.testing.assert_frame_equal(again, june)
    pd.testing.assert_frame_equal(compute_kpis(tiny.as_of("2024-06"), "2024-06"), june)


def test_a_point_in_time_view_caps_the_cutoff(tiny):
    view = tiny.as_of("2024-06-15")
    out = compute_kpis(view, "2024-06", kpis=["revenue"])
    assert out.loc["revenue", "value"] == pytest.approx(50 + 80)
    assert out.attrs["cutoff"] == view.cutoff


def test_sample_as_of_view_gives_the_same_kpis(sample_dataset):
    full = compute_kpis(sample_dataset, "2024-06")
    view = compute_kpis(sample_dataset.as_of("2024-06"), "2024-06")
    pd.testing.assert_frame_equal(full, view)


# --- breakdowns -------------------------------------------------------------------------------


def test_by_owner_counts_each_customer_in_the_owner_group(tiny):
    out = compute_kpis(tiny, "2024-06", by="owner_id")
    assert out.index.names == ["kpi", "owner_id"]
    value = out["value"]
    assert value[("revenue", "S1")] == pytest.approx(90)  # a: 50 + 30 + 10
    assert value[("revenue", "S2")] == pytest.approx(80)  # d
    assert value[("retention_rate", "S1")] == pytest.approx(0.5)  # a, b -> a
    assert value[("retention_rate", "S2")] == pytest.approx(0.0)  # c -> nobody
    assert value[("complaint_rate", "S1")] == pytest.approx(100.0)  # T1 per active a
    assert value[("csat", "S1")] == pytest.approx(11 / 3)  # T1, T2 (b), T5 (a)
    assert value[("nps", "S2")] == pytest.approx(-50.0)  # c 7, d 3
    # groups add up to the company for additive KPIs
    company = compute_kpis(tiny, "2024-06")
    for kpi_id in ("revenue", "orders", "active_customers", "new_customers", "tickets"):
        assert out.xs(kpi_id)["value"].sum() == pytest.approx(company.loc[kpi_id, "value"])


def test_by_lists_only_groups_that_exist_at_the_cutoff(tiny):
    june = compute_kpis(tiny, "2024-06", by="region", kpis=["revenue"])
    assert sorted(june.xs("revenue").index) == ["N", "S"]  # W (customer e) signs up in July
    july = compute_kpis(tiny, "2024-07", by="region", kpis=["revenue"])
    assert july["value"][("revenue", "W")] == pytest.approx(70)
    assert np.isnan(july["previous"][("revenue", "W")])


def test_by_series_and_missing_group(tiny):
    segments = pd.Series({"a": "gold", "b": "gold", "c": "silver"}, name="segment")
    out = compute_kpis(tiny, "2024-06", by=segments, kpis=["revenue", "active_customers"])
    assert out.index.names == ["kpi", "segment"]
    assert out["value"][("revenue", "gold")] == pytest.approx(90)
    assert out["value"][("revenue", "(missing)")] == pytest.approx(80)  # d is not mapped
    dup = pd.Series(["x", "y"], index=["a", "a"])
    with pytest.raises(ValueError, match="more than once"):
        compute_kpis(tiny, "2024-06", by=dup)


def test_by_agent_gives_ticket_kpis_per_agent_and_no_order_kpis(tiny):
    out = compute_kpis(tiny, "2024-06", by="agent_id")
    value = out["value"]
    assert value[("tickets", "A1")] == 3 and value[("tickets", "A2")] == 2
    assert value[("first_response_hours", "A1")] == pytest.approx(4.0)
    assert value[("sla_compliance", "A1")] == pytest.approx(2 / 3)
    assert value[("sla_compliance", "A2")] == pytest.approx(0.0)  # T3 breached, T4 too young
    assert value[("csat", "A2")] == pytest.approx(5.0)  # T5, resolved in June
    assert np.isnan(value[("first_response_hours", "A2")])
    assert out.loc[("first_response_hours", "A2"), "available"]
    for kpi_id in ("revenue", "complaint_rate", "nps"):
        row = out.loc[(kpi_id, "A1")]
        assert not row["available"] and "not defined by agent_id" in row["note"]


def test_bad_by_and_bad_kpi_ids_are_clear_errors(tiny):
    with pytest.raises(ValueError, match="by: 'colour'"):
        compute_kpis(tiny, "2024-06", by="colour")
    with pytest.raises(ValueError, match="by:"):
        compute_kpis(tiny, "2024-06", by=3)
    with pytest.raises(ValueError, match="unknown KPI id 'revnue'"):
        compute_kpis(tiny, "2024-06", kpis=["revnue"])
    with pytest.raises(ValueError, match="listed twice"):
        compute_kpis(tiny, "2024-06", kpis=["aov", "aov"])
    with pytest.raises(ValueError, match="period"):
        compute_kpis(tiny, "2024-13")


# --- history ----------------------------------------------------------------------------------


def test_kpi_history_equals_compute_kpis_per_period(tiny):
    periods = period_range("2024-04", "2024-07")
    hist = kpi_history(tiny, periods, by="owner_id")
    assert hist.index.names == ["period", "kpi", "owner_id"]
    assert list(dict.fromkeys(hist.index.get_level_values("period"))) == [
        "2024-04",
        "2024-05",
        "2024-06",
        "2024-07",
    ]
    for p in periods:
        single = compute_kpis(tiny, p, by="owner_id").drop(columns="period")
        pd.testing.assert_frame_equal(hist.loc[p.label], single)


def test_kpi_history_checks_its_periods(tiny):
    with pytest.raises(ValueError, match="listed twice"):
        kpi_history(tiny, ["2024-06", "2024-06"])
    with pytest.raises(ValueError, match="list of periods"):
        kpi_history(tiny, "2024-06")
    with pytest.raises(ValueError, match="empty"):
        kpi_history(tiny, [])


# --- registry ---------------------------------------------------------------------------------


@pytest.fixture()
def custom_kpi():
    @register_kpi(
        "big_orders",
        label_en="Orders of 50 or more",
        label_zh="大额订单数",
        unit="orders",
        direction="higher",
        additive=True,
    )
    def big_orders(ctx):
        """Paid orders dated in the period with an amount of 50 or more."""
        paid = ctx.paid
        return ctx.group_sum(paid["group"], paid["amount"] >= 50)

    yield KPIS["big_orders"]
    unregister_kpi("big_orders")


def test_users_can_register_their_own_kpi(tiny, custom_kpi):
    assert custom_kpi.description.startswith("Paid orders dated in the period")
    out = compute_kpis(tiny, "2024-06", by="owner_id")
    assert out["value"][("big_orders", "S1")] == 1  # a's 50
    assert out["value"][("big_orders", "S2")] == 1  # d's 80
    assert out.xs("big_orders", level="kpi")["label_zh"].iloc[0] == "大额订单数"
    assert "big_orders" in kpi_table().index


def test_registry_rejects_bad_definitions(custom_kpi):
    with pytest.raises(ValueError, match="already registered"):
        register_kpi(
            "big_orders", label_en="x", label_zh="x", unit="x", direction="higher", func=len
        )
    with pytest.raises(ValueError, match="direction"):
        register_kpi("x_kpi", label_en="x", label_zh="x", unit="x", direction="up", func=len)
    with pytest.raises(ValueError, match="id"):
        register_kpi("Bad Id", label_en="x", label_zh="x", unit="x", direction="higher", func=len)
    with pytest.raises(ValueError, match="needs"):
        register_kpi(
            "x_kpi", label_en="x", label_zh="x", unit="x", direction="higher", needs=["crm"],
            func=len,
        )  # fmt: skip
    assert "x_kpi" not in KPIS
    with pytest.raises(ValueError, match="no KPI"):
        unregister_kpi("x_kpi")
    with pytest.raises(ValueError, match="unknown KPI id"):
        get_kpi("nope")


def test_custom_kpi_unavailable_and_bad_shapes(tiny):
    def unavailable(ctx):
        raise KPIUnavailable("needs the loyalty programme export")

    def wrong_shape(ctx):
        return np.zeros(7)

    register_kpi("loyalty", label_en="L", label_zh="L", unit="x", direction="higher",
                 func=unavailable)  # fmt: skip
    register_kpi("broken", label_en="B", label_zh="B", unit="x", direction="higher",
                 func=wrong_shape)  # fmt: skip
    try:
        out = compute_kpis(tiny, "2024-06", kpis=["loyalty", "revenue"])
        assert not out.loc["loyalty", "available"]
        assert out.loc["loyalty", "note"] == "needs the loyalty programme export"
        with pytest.raises(ValueError, match="'broken' returned shape"):
            compute_kpis(tiny, "2024-06", kpis=["broken"])
    finally:
        unregister_kpi("loyalty")
        unregister_kpi("broken")


def test_every_builtin_kpi_is_documented():
    table = kpi_table()
    assert table["description"].str.len().min() > 15
    assert table["label_zh"].str.len().min() > 0
    assert set(table["direction"]) == {"higher", "lower"}


# --- the synthetic sample against an independent pandas computation -------------------------


def _reference_kpis(ds, label: str, sla_hours: float = 24.0) -> dict[str, float]:
    """Straightforward pandas, one KPI at a time, on the as_of view."""
    p = parse_period(label)
    prev = p.previous()
    view = ds.as_of(p.end)
    orders, tickets, surveys = view.orders, view.tickets, view.surveys
    in_p = orders["order_date"].between(p.start, p.end)
    paid = paid_orders(orders)
    paid_p = paid.loc[paid["order_date"].between(p.start, p.end)]
    revenue = paid_p["amount"].sum()
    n_orders = len(paid_p)
    per_customer = paid_p.groupby("customer_id").size()
    active = set(per_customer.index)
    first = paid.groupby("customer_id")["order_date"].min()
    new = int(first.between(p.start, p.end).sum())
    before = set(paid.loc[paid["order_date"].between(prev.start, prev.end), "customer_id"])
    retention = len(before & active) / len(before)
    refunded = orders.loc[in_p & (orders["status"] == "refunded"), "amount"].abs().sum()
    t_p = tickets.loc[tickets["opened_at"].between(p.start, p.end)]
    response = (t_p["first_response_at"] - t_p["opened_at"]).dt.total_seconds() / 3600
    resolution = (t_p["resolved_at"] - t_p["opened_at"]).dt.total_seconds() / 3600
    age = (p.end - t_p["opened_at"]).dt.total_seconds() / 3600
    met = response <= sla_hours
    breach = (response > sla_hours) | (response.isna() & (age > sla_hours))
    resolved_p = tickets.loc[tickets["resolved_at"].between(p.start, p.end)]
    s_p = surveys.loc[surveys["responded_at"].between(p.start, p.end), "score"]
    complaints = int(t_p["is_complaint"].fillna(False).sum())
    return {
        "revenue": revenue,
        "orders": n_orders,
        "aov": revenue / n_orders,
        "active_customers": len(active),
        "new_customers": new,
        "revenue_per_customer": revenue / len(active),
        "purchase_frequency": n_orders / len(active),
        "repeat_rate": (per_customer >= 2).mean(),
        "retention_rate": retention,
        "churn_rate": 1 - retention,
        "refund_rate": refunded / (revenue + refunded),
        "complaint_rate": 100 * complaints / len(active),
        "tickets": len(t_p),
        "complaint_share": t_p["is_complaint"].dropna().astype(float).mean(),
        "first_response_hours": response.median(),
        "resolution_hours": resolution.median(),
        "sla_compliance": met.sum() / (met | breach).sum(),
        "csat": resolved_p["satisfaction"].mean(),
        "nps": 100 * ((s_p >= 9).mean() - (s_p <= 6).mean()),
        **_reference_contact_kpis(view, p, paid, t_p),
    }


def _reference_contact_kpis(view, p, paid, t_p) -> dict[str, float]:
    """The activity, opportunity, inquiry, complaint and cancellation KPIs, in plain pandas."""
    day = pd.Timedelta(days=1)
    acts = view.activities.loc[view.activities["at"].between(p.start, p.end)]
    out = {}
    for kind in ("visit", "call"):
        known = acts.loc[(acts["type"] == kind) & acts["outcome"].notna(), "outcome"]
        out[f"{kind}_success_rate"] = (known == "success").mean()
    # at risk: 60 days after a paid order that no paid order follows within them, in the period
    paid = paid.sort_values(["customer_id", "order_date"])
    nxt = paid.groupby("customer_id")["order_date"].shift(-1)
    lapse = paid["order_date"] + 60 * day
    episodes = paid.assign(lapse=lapse).loc[
        (nxt.isna() | (nxt > lapse)) & lapse.between(p.start, p.end), ["customer_id", "lapse"]
    ]
    pairs = episodes.reset_index().merge(view.activities, on="customer_id", how="left")
    hit = pairs["at"].between(pairs["lapse"], pairs["lapse"] + 14 * day)
    followed = hit.groupby(pairs["index"]).any().reindex(episodes.index)
    over = episodes["lapse"] + 14 * day <= p.end
    counted = followed | over
    out["at_risk_follow_up_rate"] = followed[counted].mean()
    opps = view.opportunities
    closed = opps.loc[opps["closed_at"].between(p.start, p.end)]
    out["opportunity_win_rate"] = closed["won"].astype(float).mean()
    out["sales_cycle_days"] = ((closed["closed_at"] - closed["created_at"]) / day).mean()
    order = ["lead", "qualified", "proposal", "negotiation", "closed"]
    rank = closed["stage"].map({s: i for i, s in enumerate(order)})
    for k in range(1, 5):
        out[f"conversion_to_{order[k]}"] = (rank[rank >= k - 1] >= k).mean()
    inquiry = t_p.loc[
        t_p["category"].str.lower().isin(["inquiry", "product"]) & (t_p["is_complaint"] == False)  # noqa: E712
    ]
    pairs = inquiry.reset_index().merge(paid, on="customer_id", how="left")
    bought = (pairs["order_date"] > pairs["opened_at"]) & (
        pairs["order_date"] <= pairs["opened_at"] + 30 * day
    )
    converted = bought.groupby(pairs["index"]).any().reindex(inquiry.index)
    over = inquiry["opened_at"] + 30 * day <= p.end
    out["inquiry_conversion"] = converted[converted | over].mean()
    complaints = t_p.loc[t_p["is_complaint"] == True]  # noqa: E712
    hours = (complaints["resolved_at"] - complaints["opened_at"]).dt.total_seconds() / 3600
    out["complaint_resolution_hours"] = hours.median()
    tickets = view.tickets
    out["open_complaints"] = int(
        ((tickets["is_complaint"] == True) & tickets["resolved_at"].isna()).sum()  # noqa: E712
    )
    in_p = view.orders.loc[view.orders["order_date"].between(p.start, p.end)]
    out["cancelled_share"] = (in_p["status"] == "cancelled").mean()
    return out


@pytest.mark.parametrize("label", ["2024-06", "2025-01"])
def test_sample_matches_an_independent_pandas_computation(sample_dataset, label):
    rng = np.random.default_rng(5)
    ids = sample_dataset.customers["customer_id"]
    scores = pd.DataFrame(
        {"clv": rng.gamma(2.0, 50.0, len(ids)), "churn_probability": rng.random(len(ids))},
        index=pd.Index(ids),
    )
    out = compute_kpis(sample_dataset, label, scores=scores)
    expected = _reference_kpis(sample_dataset, label)
    previous = _reference_kpis(sample_dataset, parse_period(label).previous().label)
    assert set(expected) | {"predicted_clv", "revenue_at_risk"} == set(KPIS)
    for kpi_id, value in expected.items():
        assert out.loc[kpi_id, "value"] == pytest.approx(value, rel=1e-9, nan_ok=True), kpi_id
        assert out.loc[kpi_id, "previous"] == pytest.approx(
            previous[kpi_id], rel=1e-9, nan_ok=True
        ), kpi_id
    # the model KPIs, from the scored customer table
    p = parse_period(label)
    view = sample_dataset.as_of(p.end)
    paid = paid_orders(view.orders)
    active = paid.loc[paid["order_date"] >= p.start, "customer_id"].unique()
    known = scores.loc[view.customers["customer_id"]]
    assert out.loc["predicted_clv", "value"] == pytest.approx(scores.loc[active, "clv"].mean())
    assert out.loc["revenue_at_risk", "value"] == pytest.approx(
        (known["clv"] * known["churn_probability"]).sum()
    )


def test_sample_by_owner_adds_up_and_matches_pandas(sample_dataset):
    out = compute_kpis(sample_dataset, "2024-06", by="owner_id", kpis=["revenue", "orders"])
    view = sample_dataset.as_of("2024-06")
    paid = paid_orders(view.orders)
    paid = paid.loc[paid["order_date"] >= "2024-06-01"]
    owner = paid["customer_id"].map(view.customers.set_index("customer_id")["owner_id"])
    expected = paid.groupby(owner)["amount"].sum()
    got = out.xs("revenue", level="kpi")["value"]
    pd.testing.assert_series_equal(
        got.loc[expected.index], expected, check_names=False, check_index_type=False
    )
    assert (got.drop(expected.index) == 0).all()  # owners without a June order


# --- targets ----------------------------------------------------------------------------------


def _targets(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["kpi", "period", "target", "owner_id", "weight"])


def test_attainment_inverts_for_lower_is_better():
    got = attainment(
        np.array([90.0, 4.0, 0.0, 5.0, np.nan, 0.0]),
        np.array([100.0, 5.0, 1.5, 0.0, 10.0, 0.0]),
        np.array([True, False, False, True, True, False]),
    )
    assert got[0] == pytest.approx(0.9)
    assert got[1] == pytest.approx(1.25)
    assert got[2] == np.inf  # no complaints against a target of 1.5
    assert np.isnan(got[3])  # a ratio cannot measure a target of 0
    assert np.isnan(got[4])
    assert got[5] == 1.0


def test_evaluate_targets_status_attainment_and_trend(tiny, june):
    by_owner = compute_kpis(tiny, "2024-06", by="owner_id")
    targets = _targets(
        [
            ("revenue", "2024-06", 200, None, 0.4),  # 170/200 = 0.85 missed, down from 200
            ("orders", "2024-06", 4, None, 0.1),  # met exactly, up from 3
            ("aov", "2024-06", 44, None, None),  # 42.5/44 = 0.966 at risk
            ("first_response_hours", "2024-06", 5, None, None),  # 5/4 = 1.25 met
            ("complaint_rate", "2024-06", 80, None, None),  # 80/100 = 0.8 missed
            ("revenue", "2024-06", 100, "S1", 0.5),  # 90/100 missed
            ("revenue", "2024-06", 80, "S2", 0.5),  # met
            ("predicted_clv", "2024-06", 50, None, None),  # no scores: no data
        ]
    )
    out = evaluate_targets([june, by_owner], targets)
    assert list(out.index) == list(targets.index)
    assert out["status"].tolist() == [
        "missed",
        "met",
        "at risk",
        "met",
        "missed",
        "missed",
        "met",
        "no data",
    ]
    assert out["attainment"].tolist()[:5] == pytest.approx([0.85, 1.0, 42.5 / 44, 1.25, 0.8])
    assert out.loc[0, "trend"] == "worsening" and out.loc[1, "trend"] == "improving"
    assert out.loc[0, "actual"] == pytest.approx(170) and out.loc[0, "previous"] == 200
    assert out.loc[5, "actual"] == pytest.approx(90)
    assert "scored customer table" in out.loc[7, "note"]
    assert out.loc[0, "weight"] == 0.4 and out.loc[0, "label_zh"] == "销售收入"
    # a wider amber band turns the 0.85 revenue into "at risk"
    wide = evaluate_targets(june, targets.iloc[:1], amber=0.2)
    assert wide["status"].tolist() == ["at risk"]


def test_targets_without_matching_kpis_are_reported_not_dropped(june):
    targets = _targets([("revenue", "2024-06", 100, "S1", None), ("aov", "2024-06", 1, None, 1)])
    out = evaluate_targets(june, targets)
    assert out.loc[0, "status"] == "no data"
    assert "by='owner_id'" in out.loc[0, "note"]
    assert out.loc[1, "status"] == "met"


def test_targets_of_periods_not_in_kpis_are_skipped_with_a_warning(june):
    targets = _targets(
        [("revenue", "2024-06", 100, None, None), ("revenue", "2024-07", 1, None, 1)]
    )
    with pytest.warns(UserWarning, match="1 target rows of periods not in kpis"):
        out = evaluate_targets(june, targets)
    assert len(out) == 1
    assert out.attrs["skipped"] == 1 and out.attrs["skipped_periods"] == ["2024-07"]


def test_targets_against_history_match_each_period(tiny):
    hist = kpi_history(tiny, ["2024-05", "2024-06"], kpis=["revenue"])
    targets = _targets(
        [("revenue", "2024-05", 100, None, None), ("revenue", "2024-6", 340, None, None)]
    )
    out = evaluate_targets(hist, targets)
    assert out["period"].tolist() == ["2024-05", "2024-06"]  # "2024-6" normalised
    assert out["status"].tolist() == ["met", "missed"]
    assert out["attainment"].tolist() == pytest.approx([2.0, 0.5])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("revnue", "2024-06", 1, None, None)], r"targets row 1 .*unknown KPI id 'revnue'"),
        (
            [("revenue", "2024-06", 1, None, None), ("orders", "June", 1, None, None)],
            r"targets row 2 \(kpi='orders', period='June'\): period 'June' does not parse",
        ),
        (
            [
                ("revenue", "2024-06", 1, "S1", None),
                ("orders", "2024-06", 1, None, None),
                ("revenue", "2024-06", 2, "S1", None),
            ],
            r"targets row 1 .*duplicated target \(rows 1, 3",
        ),
        ([("revenue", "2024-06", "lots", None, None)], r"targets row 1 .*not a number"),
    ],
)
def test_bad_targets_name_the_row(june, rows, message):
    with pytest.raises(ValueError, match=message):
        evaluate_targets(june, _targets(rows))


def test_bad_target_arguments(june):
    with pytest.raises(ValueError, match="amber"):
        evaluate_targets(june, _targets([("revenue", "2024-06", 1, None, None)]), amber=1.5)
    with pytest.raises(ValueError, match="required column 'target'"):
        evaluate_targets(june, pd.DataFrame({"kpi": ["revenue"], "period": ["2024-06"]}))
    both = _targets([("revenue", "2024-06", 1, "S1", None)]).assign(segment="gold")
    with pytest.raises(ValueError, match="both owner_id and segment"):
        evaluate_targets(june, both)


def test_sample_targets_evaluate(sample_dataset):
    company = compute_kpis(sample_dataset, "2024-06")
    owners = compute_kpis(sample_dataset, "2024-06", by="owner_id", kpis=["revenue"])
    targets = sample_dataset.targets
    out = evaluate_targets([company, owners], targets.loc[targets["period"] == "2024-06"])
    assert len(out) == (targets["period"] == "2024-06").sum()
    assert set(out["status"]) <= {"met", "at risk", "missed"}
    assert out["owner_id"].notna().sum() == owners.shape[0]


# --- plots ------------------------------------------------------------------------------------


def test_kpi_plots_return_axes(tiny, june):
    import matplotlib.pyplot as plt

    from cpm_analysis.plots.kpis import kpi_trend, target_attainment

    hist = kpi_history(tiny, period_range("2024-04", "2024-07"))
    targets = _targets(
        [("revenue", "2024-06", 200, None, None), ("revenue", "2024-05", 150, None, None)]
    )
    ax = kpi_trend(hist, "revenue", targets=targets)
    assert ax.get_title() == "Revenue"
    assert len(ax.lines) == 3  # actual, target, legend proxy
    by_owner = kpi_history(tiny, period_range("2024-05", "2024-06"), by="owner_id")
    assert len(kpi_trend(by_owner, "revenue").lines) == 2  # one line per owner
    with pytest.raises(ValueError, match="'nope' is not in the history"):
        kpi_trend(hist, "nope")
    with pytest.raises(ValueError, match="kpi_history"):
        kpi_trend(june, "revenue")
    evaluation = evaluate_targets(june, targets.iloc[:1])
    fig, ax2 = plt.subplots()
    assert target_attainment(evaluation, ax=ax2) is ax2
    assert len(ax2.patches) >= 1
    with pytest.raises(ValueError, match="evaluate_targets"):
        target_attainment(june)
    plt.close("all")


# --- retention and churn from contract ends ---------------------------------------------------
def test_contract_ends_decide_retention_and_churn_whatever_the_orders():
    customers = pd.DataFrame(
        {
            "customer_id": ["ended", "open", "late", "old", "new"],
            "signup_date": ["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01", "2024-06-02"],
            # ended in June (but still ordered); open without an order in June; ends after the
            # June cutoff (still running then); ended in May (not in June's base); new in June
            "churned_at": ["2024-06-10", None, "2024-07-05", "2024-05-20", None],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5"],
            "customer_id": ["ended", "ended", "open", "late", "new"],
            "order_date": ["2024-05-03", "2024-06-20", "2024-05-03", "2024-06-03", "2024-06-03"],
            "amount": 10.0,
        }
    )
    ds = validate_frames({"customers": customers, "orders": orders})
    kpis = compute_kpis(ds, "2024-06", kpis=["retention_rate", "churn_rate"])
    # base: ended, open, late (running at 31 May); retained: open, late
    assert kpis.loc["retention_rate", "value"] == pytest.approx(2 / 3)
    assert kpis.loc["churn_rate", "value"] == pytest.approx(1 / 3)
    # the same data without contract ends: the order rule (ended, open active in May; ended again)
    plain = validate_frames({"customers": customers.drop(columns="churned_at"), "orders": orders})
    assert compute_kpis(plain, "2024-06", kpis=["retention_rate"]).loc[
        "retention_rate", "value"
    ] == pytest.approx(1 / 2)
    # a point-in-time view sees the July end as not yet happened, as the context does
    july = compute_kpis(ds, "2024-07", kpis=["retention_rate"]).loc["retention_rate", "value"]
    assert july == pytest.approx(2 / 3)  # base open, late, new; late ended in July


def test_contract_retention_recomputed_by_hand_on_the_contractual_sample():
    from cpm_analysis import load

    ds = load("data/sample_contract")
    period = parse_period("2025-06")
    got = compute_kpis(ds, period, by="owner_id", kpis=["retention_rate", "churn_rate"])
    customers = ds.customers
    start, cutoff = period.previous().end, period.end
    ended = customers["churned_at"]
    base = customers.loc[(customers["signup_date"] <= start) & ~(ended <= start)]
    retained = ~(base["churned_at"] <= cutoff)
    expected = retained.groupby(base["owner_id"]).mean()
    value = got.xs("retention_rate", level="kpi")["value"].reindex(expected.index)
    pd.testing.assert_series_equal(value, expected.astype(float), check_names=False)
    churn = got.xs("churn_rate", level="kpi")["value"].reindex(expected.index)
    np.testing.assert_allclose(churn, 1.0 - expected.to_numpy(dtype=float))
