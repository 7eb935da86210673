"""Tests of cpm_analysis.churn.labels: the active base and the churn label."""

from __future__ import annotations

import pandas as pd
import pytest
from churn_fixtures import CUTOFF, contract_frames, shop_frames

from cpm_analysis.churn import active_customers, churn_labels, parse_horizon
from cpm_analysis.data import validate_frames


@pytest.fixture(scope="module")
def shop():
    return validate_frames(shop_frames())


@pytest.fixture(scope="module")
def contract():
    return validate_frames(contract_frames())


def test_non_contractual_label_is_no_paid_order_in_the_horizon(shop):
    y = churn_labels(shop, CUTOFF, "90D")
    # a buys again on 2024-08-01; b never does
    assert y.to_dict() == {"a": 0, "b": 1}
    assert y.name == "churned" and y.index.name == "customer_id"
    assert str(y.dtype) == "int8"
    assert y.attrs["horizon"] == pd.Timedelta(90, "D")
    assert "365 days before" in y.attrs["rule"]


def test_active_base_leaves_out_lapsed_never_ordered_and_later_signups(shop):
    base = active_customers(shop, CUTOFF)
    # d: last order two years ago (lapsed), e: never ordered, c: signed up after the cutoff
    assert base.tolist() == ["a", "b"]


def test_active_window_is_a_parameter(shop):
    # every customer signed up by the cutoff: d buys again within 90 days, e never buys
    y = churn_labels(shop, CUTOFF, "90D", active_window=None)
    assert y.to_dict() == {"a": 0, "b": 1, "d": 0, "e": 1}
    # a 60-day window keeps a (order 11 days before) and drops b (77 days before)
    assert active_customers(shop, CUTOFF, active_window="60D").tolist() == ["a"]


def test_horizon_decides_the_window(shop):
    # a's next order is exactly 31 days after the cutoff; a window includes its end
    assert churn_labels(shop, CUTOFF, "30D").to_dict() == {"a": 1, "b": 1}
    assert churn_labels(shop, CUTOFF, "31D").to_dict() == {"a": 0, "b": 1}


def test_refunds_and_cancellations_are_not_purchases():
    frames = shop_frames()
    orders = frames["orders"]
    # a's only future order becomes a cancellation: a churns
    orders.loc[orders["order_id"] == "o7", "status"] = "cancelled"
    y = churn_labels(validate_frames(frames), CUTOFF, "90D")
    assert y["a"] == 1


def test_labels_need_the_future_to_be_in_the_data(shop):
    with pytest.raises(ValueError, match="runs past the end of the data"):
        churn_labels(shop, CUTOFF, "200D")
    with pytest.raises(ValueError, match="runs past the end of the data"):
        churn_labels(shop.as_of("2024-08-31"), CUTOFF, "90D")


def test_contractual_rule_uses_churned_at(contract):
    y = churn_labels(contract, CUTOFF, "90D")
    # x open-ended, y ends inside the window, z ended before the cutoff, w after the window
    assert y.to_dict() == {"x": 0, "y": 1, "w": 0}
    assert "churned_at" in y.attrs["rule"]
    # the contract decides who is a customer: no activity rule (z bought in April, still out)
    assert active_customers(contract, CUTOFF).tolist() == ["x", "y", "w"]


def test_contractual_rule_can_be_forced_off(contract):
    y = churn_labels(contract, CUTOFF, "90D", contractual=False)
    # by orders: x, y, w bought in June and nobody orders in the window; z bought in April
    assert y.to_dict() == {"x": 1, "y": 1, "z": 1, "w": 1}


def test_parse_horizon():
    assert parse_horizon("12W") == pd.Timedelta(84, "D")
    assert parse_horizon(30) == pd.Timedelta(30, "D")
    assert parse_horizon(pd.Timedelta(1, "h")) == pd.Timedelta(1, "h")
    for bad in ("soon", -5, 0, None):
        with pytest.raises(ValueError, match="horizon"):
            parse_horizon(bad)


def test_bad_cutoff_is_a_value_error(shop):
    with pytest.raises(ValueError, match="cutoff"):
        churn_labels(shop, "next June", "90D")
