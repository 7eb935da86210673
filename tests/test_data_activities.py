"""Validation of the activities and opportunities tables: types, references, rules."""

from __future__ import annotations

import pandas as pd
import pytest

from cpm_analysis.data import validate_frames
from cpm_analysis.exceptions import DataValidationError

NOW = pd.Timestamp("2025-01-01")


def _base() -> dict[str, pd.DataFrame]:
    return {
        "customers": pd.DataFrame({"customer_id": ["a", "b"], "signup_date": ["2024-01-01"] * 2}),
        "orders": pd.DataFrame(
            {
                "order_id": ["1"],
                "customer_id": ["a"],
                "order_date": ["2024-01-02"],
                "amount": ["3"],
            }
        ),
        "staff": pd.DataFrame({"staff_id": ["s1", "s2"], "role": ["sales", "service"]}),
    }


def test_activities_rows_with_faults_are_quarantined_with_reasons():
    activities = pd.DataFrame(
        {
            "activity_id": ["x1", "x2", "x3", "x4", "x5", "x1"],
            "customer_id": ["a", "zz", "a", "a", "b", "b"],
            "staff_id": ["s1", "s1", "s9", "s2", "s2", "s1"],
            "type": ["Call", "visit", "visit", "fax", "care", "email"],
            "at": ["2024-02-01"] * 6,
            "outcome": ["success", "", "no_answer", "success", "maybe", "declined"],
        }
    )
    ds = validate_frames({**_base(), "activities": activities}, now=NOW)
    assert ds.activities["activity_id"].tolist() == ["x1"]
    assert ds.activities["type"].tolist() == ["call"]  # lower-cased
    reasons = ds.rejected.set_index("row")["reason"].to_dict()
    assert reasons == {
        2: "customer_id not found in customers",
        3: "staff_id not found in staff",
        4: "unknown type (expected call, visit, email, meeting, care)",
        5: "unknown outcome (expected success, no_answer, declined, follow_up)",
        6: "duplicate activity_id",
    }
    assert set(ds.rejected["table"]) == {"activities"}


def test_staff_references_are_not_checked_without_a_staff_table():
    base = _base()
    del base["staff"]
    activities = pd.DataFrame(
        {
            "activity_id": ["x1"],
            "customer_id": ["a"],
            "staff_id": ["anyone"],
            "type": ["call"],
            "at": ["2024-02-01"],
        }
    )
    ds = validate_frames({**base, "activities": activities}, now=NOW)
    assert len(ds.activities) == 1 and len(ds.rejected) == 0


def test_opportunity_rules():
    opportunities = pd.DataFrame(
        {
            "opportunity_id": [f"p{i}" for i in range(9)],
            "customer_id": ["a"] * 9,
            "owner_id": ["s1"] * 8 + ["s7"],
            "created_at": ["2024-02-01"] * 9,
            "stage": [
                "closed",  # won: fine
                "proposal",  # lost at proposal: fine
                "lead",  # open: fine
                "closed",  # closed before created
                "negotiation",  # won/lost without closed_at
                "proposal",  # closed_at without won
                "proposal",  # won but not at the closed stage
                "closed",  # stage closed without closed_at
                "lead",  # unknown owner
            ],
            "closed_at": [
                "2024-03-01",
                "2024-03-01",
                None,
                "2024-01-01",
                None,
                "2024-03-01",
                "2024-03-01",
                None,
                None,
            ],
            "won": ["yes", "no", None, "no", "no", None, "yes", None, None],
            "amount": ["10", "0", "5", "1", "1", "1", "1", "1", "1"],
        }
    )
    ds = validate_frames({**_base(), "opportunities": opportunities}, now=NOW)
    assert ds.opportunities["opportunity_id"].tolist() == ["p0", "p1", "p2"]
    assert ds.opportunities["won"].tolist()[:2] == [True, False]
    assert ds.rejected["reason"].tolist() == [
        "closed_at before created_at",
        "won or lost without closed_at",
        "closed_at without won (true or false)",
        "won opportunity whose stage is not closed",
        "stage closed without closed_at",
        "owner_id not found in staff",
    ]
    negative = opportunities.iloc[[2]].assign(amount="-5")
    ds = validate_frames({**_base(), "opportunities": negative}, now=NOW)
    assert ds.rejected["reason"].tolist() == ["negative opportunity amount"]


def test_unknown_stage_and_missing_required_column():
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["p1"],
            "customer_id": ["a"],
            "owner_id": ["s1"],
            "created_at": ["2024-02-01"],
            "stage": ["won"],
        }
    )
    ds = validate_frames({**_base(), "opportunities": opportunities}, now=NOW)
    assert ds.rejected["reason"].tolist() == [
        "unknown stage (expected lead, qualified, proposal, negotiation, closed)"
    ]
    with pytest.raises(DataValidationError, match="opportunities: required column 'stage'"):
        validate_frames({**_base(), "opportunities": opportunities.drop(columns="stage")}, now=NOW)


def test_the_sample_holds_both_tables(sample_dataset):
    assert len(sample_dataset.activities) > 1000 and len(sample_dataset.opportunities) > 100
    rejected = sample_dataset.rejected
    assert set(rejected.loc[rejected["table"] == "opportunities", "reason"]) == {
        "closed_at before created_at",
        "won or lost without closed_at",
    }
