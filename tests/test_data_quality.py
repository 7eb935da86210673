"""The data-quality page's analyses: table overview, monthly activity, rejected rows, what
the data allows (data.quality, pipeline.availability) and their charts (plots.quality).
"""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from cpm_analysis.data import quality, validate_frames
from cpm_analysis.periods import parse_period
from cpm_analysis.pipeline.availability import capabilities
from cpm_analysis.plots import quality as charts
from cpm_analysis.synthetic import generate

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tiny():
    """Three customers, four orders (one rejected), no tickets or surveys."""
    return validate_frames(
        {
            "customers": pd.DataFrame(
                {
                    "customer_id": ["C1", "C2", "C3"],
                    "signup_date": ["2024-01-05", "2024-03-10", "2024-06-20"],
                }
            ),
            "orders": pd.DataFrame(
                {
                    "order_id": ["O1", "O2", "O3", "O4"],
                    "customer_id": ["C1", "C1", "C2", "C1"],
                    "order_date": ["2024-01-06", "2024-06-02", "2024-06-15", "not a date"],
                    "amount": [10.0, 20.0, 30.0, 5.0],
                }
            ),
        }
    )


def test_table_overview_counts_exactly(tiny):
    period = parse_period("2024-06")
    overview = quality.table_overview(tiny.as_of(period.end), period, tiny.rejected)
    assert overview.loc["customers", ["rows", "in_period", "rejected"]].tolist() == [3, 1, 0]
    assert overview.loc["orders", ["rows", "in_period", "rejected"]].tolist() == [3, 2, 1]
    assert overview.loc["orders", "first"] == pd.Timestamp("2024-01-06")
    assert not overview.loc["tickets", "present"]


def test_monthly_activity_fills_gaps(tiny):
    activity = quality.monthly_activity(tiny)
    orders = activity.loc[activity["table"] == "orders"]
    assert orders["rows"].tolist() == [1, 0, 0, 0, 0, 2]


def test_rejected_summary_and_examples():
    data = generate(300, seed=5, faults=0.02)
    rejected = data.to_dataset().rejected
    summary = quality.rejected_summary(rejected)
    assert summary["rows"].sum() == len(rejected)
    assert summary["rows"].is_monotonic_decreasing
    examples = quality.rejected_examples(rejected, per_reason=2)
    assert examples.groupby(["table", "reason"]).size().max() <= 2
    assert quality.rejected_summary(rejected.iloc[:0]).empty


def test_capabilities_say_what_the_data_does_not_allow(tiny):
    caps = capabilities(tiny.as_of("2024-06"), parse_period("2024-06")).set_index("analysis")
    assert not caps.loc["Service KPIs", "available"]
    assert caps.loc["Service KPIs", "detail"] == "the data has no tickets table"
    assert caps.loc["NPS", "detail"] == "the data has no surveys table"
    assert "no order status" in caps.loc["Refund and cancellation rates", "detail"]
    assert not caps.loc["Lifetime value and P(alive)", "available"]  # 1 repeat customer
    assert caps.loc["Sales KPIs", "detail"] == "2 orders in 2024-06"


def test_quality_charts_draw(tiny):
    import matplotlib.pyplot as plt

    period = parse_period("2024-06")
    ax = charts.table_sizes(quality.table_overview(tiny, period))
    assert ax.get_title(loc="left") == "Rows per table" and len(ax.patches) >= 2
    ax = charts.monthly_activity(quality.monthly_activity(tiny), period)
    assert len(ax.get_lines()) == 2
    ax = charts.rejected_by_reason(quality.rejected_summary(tiny.rejected))
    assert len(ax.patches) == 1
    ax = charts.rejected_by_reason(quality.rejected_summary(tiny.rejected.iloc[:0]))
    assert "No rows were rejected" in [t.get_text() for t in ax.texts]
    plt.close("all")
