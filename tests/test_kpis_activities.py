"""The activity, opportunity and new service/order KPIs, each recomputed by hand on tiny data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.data import validate_frames
from cpm_analysis.kpis import compute_kpis

NEW_KPIS = [
    "visit_success_rate",
    "call_success_rate",
    "at_risk_follow_up_rate",
    "opportunity_win_rate",
    "sales_cycle_days",
    "conversion_to_qualified",
    "conversion_to_proposal",
    "conversion_to_negotiation",
    "conversion_to_closed",
    "inquiry_conversion",
    "complaint_resolution_hours",
    "open_complaints",
    "cancelled_share",
]


def _frames() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "signup_date": ["2023-01-01"] * 3,
            "owner_id": ["s1", "s1", "s2"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(8)],
            "customer_id": ["a", "a", "b", "b", "c", "c", "c", "a"],
            # a: last paid order 2024-04-10 -> at risk 2024-06-09 (in June)
            # b: paid 2024-04-20 -> at risk 2024-06-19; c: orders every month, never at risk
            "order_date": [
                "2024-03-01",
                "2024-04-10",
                "2024-04-20",
                "2024-06-05",  # cancelled: does not end b's lapse
                "2024-05-15",
                "2024-06-02",
                "2024-06-20",
                "2024-06-25",  # cancelled
            ],
            "amount": ["10", "20", "30", "5", "40", "50", "60", "7"],
            "status": ["paid", "paid", "paid", "cancelled", "paid", "paid", "paid", "cancelled"],
        }
    )
    activities = pd.DataFrame(
        {
            "activity_id": [f"x{i}" for i in range(7)],
            "customer_id": ["a", "a", "b", "c", "c", "c", "a"],
            "staff_id": ["s1", "s1", "s1", "s2", "s2", "g1", "s1"],
            "type": ["visit", "visit", "call", "call", "visit", "care", "email"],
            "at": [
                "2024-06-12",  # a followed up 3 days after at risk
                "2024-06-20",
                "2024-07-10",  # b contacted 21 days after at risk: too late
                "2024-06-03",
                "2024-06-04",
                "2024-06-05",
                "2024-05-01",  # May: not in June
            ],
            "outcome": ["success", "declined", "no_answer", "success", None, "success", "success"],
        }
    )
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["p1", "p2", "p3", "p4", "p5"],
            "customer_id": ["a", "a", "b", "c", "c"],
            "owner_id": ["s1", "s1", "s1", "s2", "s2"],
            "created_at": ["2024-05-01", "2024-06-01", "2024-04-01", "2024-06-10", "2024-06-01"],
            "stage": ["closed", "proposal", "closed", "lead", "negotiation"],
            "closed_at": ["2024-06-11", "2024-06-21", "2024-06-30", None, "2024-07-05"],
            "won": ["true", "false", "false", None, "false"],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4", "t5"],
            "customer_id": ["a", "b", "c", "c", "a"],
            "opened_at": [
                "2024-06-01 00:00",
                "2024-06-02 00:00",
                "2024-05-20 00:00",
                "2024-06-10 00:00",
                "2024-06-01 00:00",
            ],
            "resolved_at": ["2024-06-01 10:00", None, None, "2024-06-10 30:00", None],
            "category": ["billing", "Product", "delivery", "inquiry", "product"],
            "is_complaint": ["yes", "no", "yes", "no", "yes"],
            "agent_id": ["g1", "g1", "g2", "g2", "g1"],
        }
    )
    tickets.loc[3, "resolved_at"] = "2024-06-11 06:00"
    staff = pd.DataFrame(
        {
            "staff_id": ["s1", "s2", "g1", "g2"],
            "role": ["sales", "sales", "service", "service"],
        }
    )
    return {
        "customers": customers,
        "orders": orders,
        "activities": activities,
        "opportunities": opportunities,
        "tickets": tickets,
        "staff": staff,
    }


@pytest.fixture(scope="module")
def tiny():
    ds = validate_frames(_frames(), now=pd.Timestamp("2025-01-01"))
    assert len(ds.rejected) == 0
    return ds


def test_each_new_kpi_recomputed_by_hand(tiny):
    june = compute_kpis(tiny, "2024-06", kpis=NEW_KPIS)["value"]
    # visits in June with an outcome: a success, a declined, c (no outcome: left out) -> 1/2
    assert june["visit_success_rate"] == pytest.approx(1 / 2)
    # calls in June: c success (b's call is in July) -> 1/1
    assert june["call_success_rate"] == pytest.approx(1.0)
    # at risk in June: a (2024-06-09, contact 06-12 within 14 days) and b (06-19, its window
    # ends 07-03 after the cutoff with no contact yet: left out) -> 1/1
    assert june["at_risk_follow_up_rate"] == pytest.approx(1.0)
    # closed in June: p1 won (05-01 -> 06-11: 41 days), p2 lost (20 days), p3 lost (90 days)
    assert june["opportunity_win_rate"] == pytest.approx(1 / 3)
    assert june["sales_cycle_days"] == pytest.approx((41 + 20 + 90) / 3)
    # stages of p1, p2, p3: closed, proposal, closed -> lead->qualified 3/3, ->proposal 3/3,
    # proposal->negotiation 2/3, negotiation->closed 2/2
    assert june["conversion_to_qualified"] == pytest.approx(1.0)
    assert june["conversion_to_proposal"] == pytest.approx(1.0)
    assert june["conversion_to_negotiation"] == pytest.approx(2 / 3)
    assert june["conversion_to_closed"] == pytest.approx(1.0)
    # inquiries opened in June (not complaints, category inquiry/product): t2 (b, no paid order
    # by the cutoff within 30 days: window open -> left out), t4 (c, paid order 06-20) -> 1/1
    assert june["inquiry_conversion"] == pytest.approx(1.0)
    # complaints opened in June and resolved: t1 in 10 hours (t5 still open)
    assert june["complaint_resolution_hours"] == pytest.approx(10.0)
    # open complaints at the end of June: t3 (opened in May) and t5
    assert june["open_complaints"] == 2
    # orders dated in June: o3, o5, o6, o7 -> 2 cancelled of 4
    assert june["cancelled_share"] == pytest.approx(2 / 4)


def test_follow_up_counts_a_late_contact_as_missed_once_the_window_is_over(tiny):
    july = compute_kpis(tiny, "2024-Q3", kpis=["at_risk_follow_up_rate"])["value"]
    # in Q3 only c becomes at risk (last paid order 06-20 -> 08-19), with no contact -> 0/1
    assert july["at_risk_follow_up_rate"] == pytest.approx(0.0)
    q2 = compute_kpis(tiny, "2024-Q2", kpis=["at_risk_follow_up_rate"])["value"]
    # a (followed) and b (window open at 06-30: left out); a's March order lapses? 03-01 is
    # followed by 04-10 within 60 days, so no
    assert q2["at_risk_follow_up_rate"] == pytest.approx(1.0)
    year = compute_kpis(tiny, "2024", kpis=["at_risk_follow_up_rate"])["value"]
    # over 2024: a followed, b contacted 21 days late (missed), c missed -> 1/3
    assert year["at_risk_follow_up_rate"] == pytest.approx(1 / 3)


def test_by_owner_and_by_agent(tiny):
    owners = compute_kpis(tiny, "2024-06", by="owner_id", kpis=NEW_KPIS)["value"]
    assert owners[("visit_success_rate", "s1")] == pytest.approx(1 / 2)
    assert np.isnan(owners[("visit_success_rate", "s2")])  # c's visit has no outcome
    assert owners[("opportunity_win_rate", "s1")] == pytest.approx(1 / 3)
    assert owners[("open_complaints", "s1")] == 1 and owners[("open_complaints", "s2")] == 1
    agents = compute_kpis(tiny, "2024-06", by="agent_id", kpis=NEW_KPIS)
    values = agents["value"]
    assert values[("open_complaints", "g1")] == 1 and values[("open_complaints", "g2")] == 1
    assert values[("inquiry_conversion", "g2")] == pytest.approx(1.0)
    assert values[("complaint_resolution_hours", "g1")] == pytest.approx(10.0)
    # activities count for their staff member: the agent g1 made a care call, no visit
    assert np.isnan(values[("visit_success_rate", "g1")])
    # customer KPIs are not defined by agent
    assert not agents.loc[("at_risk_follow_up_rate", "g1"), "available"]


def test_not_available_without_the_table(tiny):
    frames = _frames()
    del frames["activities"], frames["opportunities"]
    frames["orders"] = frames["orders"].drop(columns="status")
    ds = validate_frames(frames, now=pd.Timestamp("2025-01-01"))
    out = compute_kpis(ds, "2024-06", kpis=NEW_KPIS)
    for kpi in ("visit_success_rate", "at_risk_follow_up_rate", "opportunity_win_rate"):
        assert not out.loc[kpi, "available"] and np.isnan(out.loc[kpi, "value"])
        assert "table" in out.loc[kpi, "note"]
    assert not out.loc["cancelled_share", "available"]
    assert "orders.status" in out.loc["cancelled_share", "note"]


def test_point_in_time_an_opportunity_closed_later_is_open(tiny):
    view = tiny.as_of("2024-06")
    p5 = view.opportunities.set_index("opportunity_id").loc["p5"]
    assert pd.isna(p5["closed_at"]) and pd.isna(p5["won"]) and pd.isna(p5["stage"])
    assert "p4" in view.opportunities["opportunity_id"].tolist()
    assert view.activities["at"].max() <= view.cutoff


def test_by_staff_every_staff_member_with_their_own_rows(tiny):
    out = compute_kpis(tiny, "2024-06", by="staff_id", kpis=NEW_KPIS + ["revenue"])
    values = out["value"]
    assert set(out.index.get_level_values("staff_id")) == {"s1", "s2", "g1", "g2"}
    assert values[("visit_success_rate", "s1")] == pytest.approx(1 / 2)
    assert values[("call_success_rate", "s2")] == 1.0
    assert values[("opportunity_win_rate", "s1")] == pytest.approx(1 / 3)
    assert values[("open_complaints", "g1")] == 1 and values[("open_complaints", "s1")] == 0
    assert not out.loc[("revenue", "s1"), "available"]


def test_configured_windows_change_the_activity_kpis(tiny):
    from cpm_analysis.config import CPMConfig

    default = compute_kpis(tiny, "2024-06", kpis=["at_risk_follow_up_rate", "inquiry_conversion"])
    assert default["value"].tolist() == pytest.approx([1.0, 1.0])
    # a is contacted 3 days after becoming at risk: a 2-day follow-up window misses it, and b's
    # window (06-19 to 06-21) is over at the cutoff without a contact -> 0/2
    short = CPMConfig.model_validate({"windows": {"follow_up_days": 2}}).windows
    value = compute_kpis(tiny, "2024-06", kpis=["at_risk_follow_up_rate"], windows=short)
    assert value["value"].iloc[0] == pytest.approx(0.0)
    # c orders 10 days after the inquiry t4: a 5-day window misses it; t2's window is over -> 0/2
    quick = CPMConfig.model_validate({"windows": {"inquiry_order_days": 5}}).windows
    value = compute_kpis(tiny, "2024-06", kpis=["inquiry_conversion"], windows=quick)
    assert value["value"].iloc[0] == pytest.approx(0.0)
    # at risk after 80 days: a's 04-10 order lapses on 06-29 (contact 06-20 is before it: not
    # a follow-up), b's 04-20 order on 07-09 (July) -> a only, its window open: left out
    late = CPMConfig.model_validate({"windows": {"at_risk_days": 80}}).windows
    value = compute_kpis(tiny, "2024-06", kpis=["at_risk_follow_up_rate"], windows=late)
    assert np.isnan(value["value"].iloc[0])
    with pytest.raises(ValueError, match="windows: expected the configuration's windows"):
        compute_kpis(tiny, "2024-06", windows={"at_risk_days": 80})
