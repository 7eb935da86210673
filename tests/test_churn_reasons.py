"""Tests of cpm_analysis.churn.reasons: phrases an account owner can read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.churn import format_reasons, phrase_feature


def phrases(name: str, values: list, **kwargs) -> list[str]:
    return phrase_feature(name, pd.Series(values, dtype="float64"), **kwargs).tolist()


def test_recency_and_order_counts():
    assert phrases("days_since_last_order", [120.4, np.nan]) == [
        "no order in 120 days",
        "no order yet",
    ]
    assert phrases("orders_90d", [0, 1, 3]) == [
        "no order in the last 90 days",
        "1 order in the last 90 days",
        "3 orders in the last 90 days",
    ]
    assert phrases("spend_365d", [1234.4]) == ["spend 1234 in the last 365 days"]


def test_trend_reads_as_a_percentage_change():
    # spend 40 after 100: t = (40 - 100) / (40 + 100)
    t = (40 - 100) / 140
    assert phrases("spend_trend_90d", [t]) == ["spend down 60% vs the previous 90 days"]
    assert phrases("orders_trend_90d", [(3 - 1) / 4]) == ["orders up 200% vs the previous 90 days"]
    assert phrases("spend_trend_90d", [-1.0, 1.0, 0.0]) == [
        "no spend in the last 90 days, some in the 90 before",
        "spend in the last 90 days, none in the 90 before",
        "spend flat vs the previous 90 days",
    ]


def test_service_and_satisfaction():
    assert phrases("complaints_90d", [1, 2]) == [
        "1 complaint in the last 90 days",
        "2 complaints in the last 90 days",
    ]
    assert phrases("last_csat", [2.0, np.nan]) == ["last CSAT 2/5", "no CSAT answer"]
    assert phrases("last_nps", [3.0]) == ["last NPS answer 3/10"]
    assert phrases("open_tickets", [1]) == ["1 ticket still open"]
    assert phrases("first_response_hours_365d", [30.2]) == [
        "first replies took 30 h on average (last 365 days)"
    ]
    assert phrases("refund_share_365d", [0.25]) == ["25% of spend refunded in the last 365 days"]


def test_clv_features():
    assert phrases("p_alive", [0.351, 0.001]) == [
        "35% likely to still be an active buyer (BG/NBD)",
        "<1% likely to still be an active buyer (BG/NBD)",
    ]
    assert phrases("expected_purchases_90d", [0.26, 0.01]) == [
        "0.3 purchases expected in the next 90 days",
        "almost no purchase expected in the next 90 days",
    ]


def test_generic_columns():
    assert phrases("tenure", [2.0, 30.0, 70.0], quartiles=(9.0, 42.0)) == [
        "tenure = 2 (low)",
        "tenure = 30",
        "tenure = 70 (high)",
    ]
    assert phrases("MonthlyCharges", [89.99, np.nan]) == [
        "MonthlyCharges = 89.99",
        "MonthlyCharges missing",
    ]
    contract = pd.Series(["Month-to-month", np.nan], dtype=object)
    assert phrase_feature("Contract", contract, kind="categorical").tolist() == [
        "Contract = Month-to-month",
        "Contract missing",
    ]


def test_format_reasons_keeps_only_risk_raising_features_in_order():
    values = pd.DataFrame(
        {
            "complaints_90d": [2.0, 0.0, 1.0],
            "Contract": ["Month-to-month", "Two year", "One year"],
            "tenure": [2.0, 50.0, 10.0],
        },
        index=["c1", "c2", "c3"],
    )
    contrib = pd.DataFrame(
        {
            "complaints_90d": [0.8, -0.1, 0.05],
            "Contract": [0.5, -0.9, 0.0],
            "tenure": [1.2, -0.3, -0.2],
        },
        index=values.index,
    )
    kinds = {"complaints_90d": "numeric", "Contract": "categorical", "tenure": "numeric"}
    out = format_reasons(
        contrib, values, kinds=kinds, quartiles={"tenure": (9.0, 42.0)}, n_reasons=2
    )
    assert out.loc["c1", "reasons"] == "tenure = 2 (low); 2 complaints in the last 90 days"
    assert out.loc["c1", "feature_1"] == "tenure"
    assert out.loc["c1", "impact_1"] == pytest.approx(1.2)
    assert out.loc["c2", "reasons"] == "" and np.isnan(out.loc["c2", "impact_1"])
    assert out.loc["c3", "reasons"] == "1 complaint in the last 90 days"
    assert out.loc["c3", "reason_2"] == ""
    # asking for more reasons than features pads with blanks
    wide = format_reasons(contrib, values, kinds=kinds, quartiles={}, n_reasons=5)
    assert wide.loc["c1", "reason_4"] == "" and wide.loc["c1", "reason_3"] == (
        "Contract = Month-to-month"
    )


def test_a_reason_must_be_a_warning_sign_by_the_customers_own_distribution():
    # the model weighs every feature positively, but only risky values become reasons
    values = pd.DataFrame(
        {
            "orders_total": [27.0, 1.0],
            "orders_trend_90d": [0.5, -0.6],
            "orders_prev_90d": [0.0, 4.0],
            "p_alive": [1.0, 1.0],
        }
    )
    contrib = pd.DataFrame(1.0, index=values.index, columns=values.columns)
    quartiles = {"orders_total": (2.0, 9.0), "p_alive": (1.0, 1.0), "orders_prev_90d": (0.0, 1.0)}
    out = format_reasons(
        contrib, values, kinds={}, quartiles=quartiles, n_reasons=4, attributes=False
    )
    assert out.loc[0, "reasons"] == ""  # many orders, rising, alive: nothing to warn about
    assert {out.loc[1, f"feature_{i}"] for i in (1, 2, 3, 4)} == {
        "orders_total",
        "orders_trend_90d",
        "",
    }
    assert out.loc[1, "reasons"].startswith("1 order in total; orders down")


def test_a_p_alive_that_reads_100_percent_is_never_a_reason():
    # Superstore: P(alive) 0.99998 against quartiles (0.99999, 1.0) read "100% likely to still be
    # an active buyer" as a reason to call
    values = pd.DataFrame({"p_alive": [0.99998, 0.40]})
    contrib = pd.DataFrame(1.0, index=values.index, columns=values.columns)
    out = format_reasons(
        contrib, values, kinds={}, quartiles={"p_alive": (0.99999, 1.0)}, attributes=False
    )
    assert out.loc[0, "reasons"] == ""
    assert out.loc[1, "reasons"].startswith("40% likely")


def test_tenure_and_first_order_on_the_same_day_make_one_reason():
    values = pd.DataFrame({"days_since_first_order": [609.0, 700.0], "tenure_days": [609.0, 900.0]})
    contrib = pd.DataFrame(
        {"days_since_first_order": [2.0, 2.0], "tenure_days": [1.0, 1.0]}, index=values.index
    )
    quartiles = {"days_since_first_order": (800.0, 1000.0), "tenure_days": (950.0, 1200.0)}
    out = format_reasons(contrib, values, kinds={}, quartiles=quartiles, attributes=False)
    assert out.loc[0, "reasons"] == "customer for 609 days"
    assert out.loc[1, "reasons"].count(";") == 1  # different facts: both stay
