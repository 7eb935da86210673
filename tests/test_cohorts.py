"""Cohort retention triangles."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cpm_analysis.cohorts import CohortRetention, cohort_retention
from cpm_analysis.data import validate_frames
from cpm_analysis.plots.kpis import cohort_heatmap

NAN = np.nan


@pytest.fixture()
def tiny():
    # first paid orders: b April, a and c May, d June, e July
    # paid activity: b Apr, May; a May, Jun, Jul; c May (June is cancelled); d Jun; e Jul
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "signup_date": ["2024-01-01", "2024-01-01", "2024-05-01", "2024-06-10", "2024-07-05"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(1, 12)],
            "customer_id": ["b", "b", "b", "a", "a", "a", "a", "c", "c", "d", "e"],
            "order_date": [
                "2024-04-01",
                "2024-05-10",
                "2024-06-15",
                "2024-05-03",
                "2024-06-02",
                "2024-06-20",
                "2024-07-01",
                "2024-05-20",
                "2024-06-05",
                "2024-06-11",
                "2024-07-06",
            ],
            "amount": ["25", "40", "-20", "100", "50", "40", "500", "60", "999", "80", "70"],
            "status": [
                "paid",
                "paid",
                "refunded",
                "paid",
                "paid",
                None,
                "paid",
                "paid",
                "cancelled",
                "paid",
                "paid",
            ],
        }
    )
    return validate_frames({"customers": customers, "orders": orders})


def test_triangle_worked_by_hand(tiny):
    result = cohort_retention(tiny, freq="M", as_of="2024-07")
    assert isinstance(result, CohortRetention)
    assert list(result.sizes.index) == ["2024-04", "2024-05", "2024-06", "2024-07"]
    assert result.sizes.tolist() == [1, 2, 1, 1]
    expected = pd.DataFrame(
        [
            [1.0, 1.0, 0.0, 0.0],  # b: Apr, May; the June refund is not activity
            [1.0, 0.5, 0.5, NAN],  # a and c: June a, July a
            [1.0, 0.0, NAN, NAN],  # d
            [1.0, NAN, NAN, NAN],  # e
        ],
        index=result.sizes.index,
    )
    np.testing.assert_allclose(result.customers.to_numpy(), expected.to_numpy())
    revenue = np.array(
        [
            [1.0, 40 / 25, 0.0, 0.0],
            [1.0, 90 / 160, 500 / 160, NAN],  # May 100 + 60; June 50 + 40; July 500
            [1.0, 0.0, NAN, NAN],
            [1.0, NAN, NAN, NAN],
        ]
    )
    np.testing.assert_allclose(result.revenue.to_numpy(), revenue)
    assert result["active"].iloc[1, 1] == 1
    assert result.revenue_amount.iloc[1, 0] == pytest.approx(160)
    assert result.cutoff == pd.Timestamp("2024-07-31 23:59:59.999999999")


def test_as_of_drops_later_data_and_defaults_to_the_last_complete_period(tiny):
    june = cohort_retention(tiny, as_of="2024-06")
    assert list(june.sizes.index) == ["2024-04", "2024-05", "2024-06"]
    assert june.customers.shape == (3, 3)
    assert june.customers.iloc[1, 1] == 0.5
    default = cohort_retention(tiny)  # data ends 6 July: June is the last complete month
    pd.testing.assert_frame_equal(default.customers, june.customers)


def test_quarterly_cohorts_and_the_last_n(tiny):
    quarterly = cohort_retention(tiny, freq="quarterly", as_of="2024-Q3")
    assert list(quarterly.sizes.index) == ["2024-Q2", "2024-Q3"]
    assert quarterly.sizes.tolist() == [4, 1]
    assert quarterly.customers.iloc[0].tolist() == [1.0, 0.25]  # of b, a, c, d only a in Q3
    last_two = cohort_retention(tiny, as_of="2024-07", n_cohorts=2)
    assert list(last_two.sizes.index) == ["2024-06", "2024-07"]
    with pytest.raises(ValueError, match="n_cohorts"):
        cohort_retention(tiny, n_cohorts=0)
    with pytest.raises(ValueError, match="freq"):
        cohort_retention(tiny, freq="weekly")


def test_sample_triangle_is_consistent(sample_dataset):
    result = cohort_retention(sample_dataset, freq="Q", as_of="2025-Q4")
    assert (result.customers.iloc[:, 0] == 1).all()
    assert result.customers.stack().dropna().between(0, 1).all()
    # the first cohort has the full width, the last one only its first period
    assert result.customers.iloc[0].notna().all()
    assert result.customers.iloc[-1].notna().sum() == 1
    assert (
        result.sizes.sum()
        == sample_dataset.orders.loc[
            sample_dataset.orders["status"] == "paid", "customer_id"
        ].nunique()
    )


def test_cohort_heatmap_returns_axes(tiny):
    result = cohort_retention(tiny, as_of="2024-07")
    ax = cohort_heatmap(result)
    assert "Cohort retention" in ax.get_title()
    fig, ax2 = plt.subplots()
    assert cohort_heatmap(result, metric="revenue", ax=ax2) is ax2
    with pytest.raises(ValueError, match="metric"):
        cohort_heatmap(result, metric="profit")
    plt.close("all")


def test_same_triangle_from_a_point_in_time_view(sample_dataset):
    full = cohort_retention(sample_dataset, freq="M", as_of="2024-12")
    view = cohort_retention(sample_dataset.as_of("2024-12"), freq="M", as_of="2024-12")
    pd.testing.assert_frame_equal(full.customers, view.customers)
    pd.testing.assert_frame_equal(full.revenue, view.revenue)
    assert full.customers.index[-1] == "2024-12"
