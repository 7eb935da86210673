"""The period's biggest risks and improvement actions (actions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from review_fixtures import card

from cpm_analysis import actions as period_actions
from cpm_analysis import teams_review


def test_biggest_risks_order_and_evidence():
    scored = pd.DataFrame(
        {
            "tier": ["A", "B", "A", "C"],
            "churn_probability": [0.8, 0.2, np.nan, 0.6],
            "expected_loss": [80.0, 10.0, np.nan, 10.0],
            "segment_group": ["top", "at_risk", "lapsed", "at_risk"],
            "segment": ["Champions", "At Risk", "Lost", "Can't Lose Them"],
            "monetary": [100.0, 50.0, 10.0, 40.0],
        }
    )
    risks = period_actions.biggest_risks(card(), scored)
    # the worsening missed target comes first even though NPS is further from its target
    assert risks["risk"].tolist() == [
        "Revenue below target",
        "Churn of the customer base",
        "Good customers slipping away",
    ]
    assert "2 of the 3 customers of the base" in risks.loc[1, "evidence"]
    assert "80% of it in tier-A" in risks.loc[1, "evidence"]
    assert "45% of historical revenue" in risks.loc[2, "evidence"]
    # without scores the other missed targets fill the list
    only_targets = period_actions.biggest_risks(card(), None)
    assert only_targets["risk"].tolist() == ["Revenue below target", "NPS below target"]


def test_improvement_actions_from_targets_flags_and_risk_list():
    owners = teams_review.TeamScorecard(
        "owner",
        pd.DataFrame(
            {"flags": ["reward", "", "improvement_plan"], "flag_reasons": ["top", "", "bottom"]},
            index=pd.Index(["S1", "S2", "S3"], name="owner_id"),
        ),
    )
    scored = pd.DataFrame({"expected_loss": [5.0, 3.0, np.nan], "owner_id": ["S1", "S2", "S1"]})
    actions = period_actions.improvement_actions(card(), owners, None, scored, risk_list_size=2)
    assert actions["priority"].tolist() == list(range(1, len(actions) + 1))
    assert actions["area"].tolist() == [
        "Target",
        "Target",
        "Churn risk",
        "Owner scorecard",
        "Owner scorecard",
    ]
    assert actions.loc[0, "action"] == period_actions.KPI_ACTIONS["nps"]  # furthest miss first
    assert "8 of expected" in actions.loc[2, "finding"] and actions.loc[2, "who"].startswith("2")
    assert actions.loc[3, "who"] == "Manager of S3"
    assert actions.loc[4, "action"] == period_actions.FLAG_ACTIONS["reward"]
    assert period_actions.improvement_actions(card(status=["met"] * 3)).empty
