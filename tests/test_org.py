"""Reporting lines and the manager roll-up on a tiny three-level organisation."""

from __future__ import annotations

import pandas as pd
import pytest

from cpm_analysis.data import validate_frames
from cpm_analysis.org import TEAM, manager_rollup, reporting_lines, team_members

# boss -> m1 -> (a, b); boss -> m2 -> (c); m3 manages nobody; x stands alone
STAFF = pd.DataFrame(
    {
        "staff_id": ["boss", "m1", "m2", "a", "b", "c", "m3", "x"],
        "role": ["sales"] * 8,
        "manager_id": [None, "boss", "boss", "m1", "m1", "m2", "boss", None],
    }
)


def _dataset():
    customers = pd.DataFrame(
        {
            "customer_id": ["k1", "k2", "k3", "k4", "k5"],
            "signup_date": ["2024-01-01"] * 5,
            "owner_id": ["a", "a", "b", "c", "x"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "customer_id": ["k1", "k2", "k3", "k4", "k5", "k1"],
            "order_date": ["2024-06-0" + d for d in "123456"],
            "amount": ["10", "20", "40", "80", "160", "5"],
        }
    )
    return validate_frames(
        {"customers": customers, "orders": orders, "staff": STAFF},
        now=pd.Timestamp("2025-01-01"),
    )


def test_reporting_lines_depth_and_chain():
    lines = reporting_lines(STAFF)
    assert lines["depth"].to_dict() == {
        "boss": 0,
        "m1": 1,
        "m2": 1,
        "a": 2,
        "b": 2,
        "c": 2,
        "m3": 1,
        "x": 0,
    }
    assert lines.at["a", "chain"] == ("m1", "boss")
    assert team_members(STAFF, "boss") == ["boss", "m1", "m2", "a", "b", "c", "m3"]
    assert team_members(STAFF, "m3") == ["m3"]


def test_a_manager_sees_the_whole_team_and_each_level_the_level_below():
    roll = manager_rollup(_dataset(), "2024-06", kpis=["revenue", "orders", "aov"])
    value = roll["value"]
    # boss: every customer of a, b and c (x is outside the organisation below boss)
    assert value[("boss", TEAM, "revenue")] == 10 + 20 + 40 + 80 + 5
    # the boss sees the level below: m1's team (a, b) and m2's team (c), m3 with no book
    assert value[("boss", "m1", "revenue")] == 10 + 20 + 40 + 5
    assert value[("boss", "m2", "revenue")] == 80
    assert pd.isna(value[("boss", "m3", "revenue")])
    assert roll.loc[("boss", "m3", "revenue"), "note"] == "no rows in this view"
    # m1 sees a and b; a rate is the team's own, not an average of the members'
    assert value[("m1", "a", "revenue")] == 35 and value[("m1", "b", "revenue")] == 40
    assert value[("m1", TEAM, "aov")] == pytest.approx(75 / 4)
    # a manager with no reports is no manager; leaves are members only
    managers = set(roll.index.get_level_values("manager"))
    assert managers == {"boss", "m1", "m2"}


def test_a_cycle_in_manager_id_is_rejected_naming_it():
    looped = STAFF.copy()
    looped.loc[looped["staff_id"] == "boss", "manager_id"] = "a"
    with pytest.raises(ValueError, match=r"cycle: boss -> a -> m1 -> boss"):
        reporting_lines(looped)
    itself = STAFF.copy()
    itself.loc[itself["staff_id"] == "x", "manager_id"] = "x"
    with pytest.raises(ValueError, match=r"cycle: x -> x"):
        reporting_lines(itself)


def test_unknown_manager_and_bad_arguments():
    bad = STAFF.copy()
    bad.loc[0, "manager_id"] = "ghost"
    with pytest.raises(ValueError, match="manager_id 'ghost' is not a staff_id"):
        reporting_lines(bad)
    with pytest.raises(ValueError, match="view"):
        manager_rollup(_dataset(), "2024-06", view="team")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no manager_id column"):
        reporting_lines(STAFF.drop(columns="manager_id"))


def test_work_view_rolls_up_tickets_by_agent():
    ds = _dataset()
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3"],
            "customer_id": ["k1", "k2", "k3"],
            "opened_at": ["2024-06-01", "2024-06-02", "2024-06-03"],
            "agent_id": ["a", "b", "c"],
        }
    )
    activities = pd.DataFrame(
        {
            "activity_id": ["x1", "x2", "x3"],
            "customer_id": ["k1", "k4", "k5"],
            "staff_id": ["m3", "c", "x"],
            "type": ["call", "call", "call"],
            "at": ["2024-06-01", "2024-06-02", "2024-06-03"],
            "outcome": ["success", "no_answer", "success"],
        }
    )
    ds = validate_frames(
        {**ds.tables, "tickets": tickets, "activities": activities},
        now=pd.Timestamp("2025-01-01"),
    )
    roll = manager_rollup(ds, "2024-06", kpis=["tickets", "call_success_rate"], view="work")
    value = roll["value"]
    assert value[("boss", TEAM, "tickets")] == 3
    assert value[("m1", TEAM, "tickets")] == 2 and value[("m1", "b", "tickets")] == 1
    # the calls of m3 (a manager without reports) and of c count for the boss; x is outside
    assert value[("boss", TEAM, "call_success_rate")] == pytest.approx(1 / 2)
    assert value[("boss", "m3", "call_success_rate")] == 1.0
    assert value[("boss", "m2", "call_success_rate")] == 0.0
    assert pd.isna(value[("boss", "m1", "call_success_rate")])
