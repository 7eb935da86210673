"""Target scoping (``cpm_analysis.kpis.period_targets``): one rule for the report and the teams."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpm_analysis.kpis import period_targets
from cpm_analysis.periods import parse_period
from cpm_analysis.teams import _targets_for

PERIOD = "2025-06"
TARGETS = pd.DataFrame(
    {
        "kpi": ["revenue", "revenue", "revenue", "aov", "aov", "aov", "revenue"],
        "period": [PERIOD] * 6 + ["2025-05"],
        "target": [1000.0, 100.0, 50.0, 80.0, 90.0, 70.0, 999.0],
        "owner_id": [None, "S1", "S1", None, "S2", "S1", None],
        "segment": [None, None, "vip", None, None, "vip"] + [None],
        "weight": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    }
)


def test_company_scope_is_rows_without_owner_or_segment():
    rows = period_targets(TARGETS, PERIOD)
    assert rows[["kpi", "target"]].values.tolist() == [["revenue", 1000.0], ["aov", 80.0]]
    assert "owner_id" not in rows and "segment" not in rows


def test_an_owner_scope_never_takes_a_segment_target():
    rows = period_targets(TARGETS, parse_period(PERIOD), owner="S1")
    assert rows[["kpi", "target"]].values.tolist() == [["revenue", 100.0]]
    several = period_targets(TARGETS, PERIOD, owner=["S1", "S2"])
    assert several[["owner_id", "kpi", "target"]].values.tolist() == [
        ["S1", "revenue", 100.0],
        ["S2", "aov", 90.0],
    ]


def test_a_targets_table_without_the_optional_columns():
    bare = TARGETS.loc[[0, 3], ["kpi", "period", "target"]]
    assert period_targets(bare, PERIOD)["target"].tolist() == [1000.0, 80.0]
    assert period_targets(bare, PERIOD, owner="S1").empty
    assert period_targets(None, PERIOD).empty


def test_the_team_scorecards_and_the_report_scope_targets_alike():
    people = pd.Index(["S1", "S2", "S3"])
    goal = _targets_for(TARGETS, parse_period(PERIOD), people, ["revenue", "aov"])
    # own targets: the same rows as the report's owner scope (the S1 'vip' rows do not apply)
    for person in people:
        mine = period_targets(TARGETS, PERIOD, owner=person).set_index("kpi")["target"]
        if "revenue" in mine:
            assert goal.loc[person, "revenue"] == mine["revenue"]
        else:  # an additive company total is not each person's target
            assert np.isnan(goal.loc[person, "revenue"])
    # a company rate target applies to whoever has no own one
    assert goal["aov"].tolist() == [80.0, 90.0, 80.0]
