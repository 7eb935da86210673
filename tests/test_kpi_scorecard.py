"""The KPI scorecard of a period against its targets, the targets' scope and the KPI trends
(kpis.scorecard, kpis.targets, kpis.trends) and their charts.
"""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest
from review_fixtures import company_fixture, no_service_fixture  # noqa: F401 (fixtures)

from cpm_analysis.kpis import compute_kpis, trends
from cpm_analysis.kpis import scorecard as kpi_scorecard
from cpm_analysis.kpis.targets import period_targets
from cpm_analysis.periods import parse_period
from cpm_analysis.plots import kpis as kpi_plots

matplotlib.use("Agg")

PERIOD = parse_period("2025-06")


def test_period_targets_company_and_owner_scope():
    targets = pd.DataFrame(
        {
            "kpi": ["revenue", "revenue", "revenue", "nps"],
            "period": ["2025-06", "2025-06", "2025-06", "2025-05"],
            "target": [100.0, 10.0, 5.0, 30.0],
            "owner_id": [None, "S1", None, None],
            "segment": [None, None, "Champions", None],
        }
    )
    assert period_targets(targets, PERIOD)["target"].tolist() == [100.0]
    mine = period_targets(targets, PERIOD, owner="S1")
    assert mine["target"].tolist() == [10.0] and "owner_id" not in mine
    assert period_targets(None, PERIOD).empty


def test_scorecard_statuses_against_hand_made_targets(company):
    kpis = compute_kpis(company, PERIOD)
    revenue = kpis.loc["revenue", "value"]
    targets = pd.DataFrame(
        {
            "kpi": ["revenue", "revenue_per_customer", "refund_rate"],
            "period": ["2025-06"] * 3,
            "target": [revenue * 0.5, kpis.loc["revenue_per_customer", "value"] * 1.02, 1.0],
        }
    )
    card = kpi_scorecard.scorecard(kpis, targets, PERIOD)
    status = dict(zip(card["kpi"], card["status"], strict=True))
    assert status == {"revenue": "met", "revenue_per_customer": "at risk", "refund_rate": "met"}
    assert card["status"].tolist()[0] == "at risk"  # worst first
    counts = kpi_scorecard.status_counts(card)
    assert counts == {"met": 2, "at risk": 1, "missed": 0, "not available": 0}


def test_scorecard_marks_kpis_the_data_cannot_give(no_service):
    kpis = compute_kpis(no_service, PERIOD)
    targets = pd.DataFrame(
        {"kpi": ["csat", "revenue"], "period": ["2025-06", "2025-06"], "target": [4.0, 1.0]}
    )
    card = kpi_scorecard.scorecard(kpis, targets, PERIOD)
    row = card.set_index("kpi").loc["csat"]
    assert row["status"] == "not available" and row["note"]
    assert card.set_index("kpi").loc["revenue", "status"] == "met"


def test_scorecard_without_targets_is_empty_and_plots_a_note():
    kpis = pd.DataFrame({"available": [True], "note": [""]}, index=["revenue"])
    card = kpi_scorecard.scorecard(kpis, None, PERIOD)
    assert card.empty
    ax = kpi_plots.plot_scorecard(card)
    assert "No target" in ax.texts[0].get_text()


def test_recent_periods_and_trends(company):
    assert [p.label for p in trends.recent_periods("2025-Q1", 2)] == ["2024-Q4", "2025-Q1"]
    with pytest.raises(ValueError, match="n:"):
        trends.recent_periods(PERIOD, 0)
    history = trends.kpi_trends(company, PERIOD, 4)
    periods = sorted(history.index.get_level_values("period").unique())
    assert periods == ["2025-03", "2025-04", "2025-05", "2025-06"]
    assert "revenue" in trends.headline_kpis(history)
    axes = kpi_plots.plot_kpi_trends(history, ["revenue", "orders"], targets=company.targets)
    assert len(axes) == 2


def test_trends_leave_out_periods_before_the_data(company):
    first = company.orders["order_date"].min()
    start = parse_period(first.strftime("%Y-%m"))
    history = trends.kpi_trends(company, start.shift(1), 12)
    assert set(history.index.get_level_values("period")) == {start.label, start.shift(1).label}
