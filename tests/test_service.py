"""cpm_analysis.service: complaints by category and product, the follow-up list, teams.

Recomputed by hand on the tiny company of ``test_kpis_activities`` with first responses, order
categories and survey answers added. June 2024 tickets: t1 (a, billing complaint, answered in
2 h, resolved in 10 h), t2 (b, Product, answered after 30 h), t4 (c, inquiry, never answered),
t5 (a, product complaint, answered in 1 h, open); t3 was opened in May.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from test_kpis_activities import _frames

from cpm_analysis import service
from cpm_analysis.availability import Unavailable
from cpm_analysis.data import validate_frames
from cpm_analysis.kpis import compute_kpis
from cpm_analysis.periods import parse_period

JUNE = "2024-06"


def _service_frames() -> dict[str, pd.DataFrame]:
    frames = _frames()
    frames["orders"]["category"] = ["books", "games", "music", "home", "toys", "toys", "toys", "x"]
    frames["tickets"]["first_response_at"] = [
        "2024-06-01 02:00",
        "2024-06-03 06:00",
        "2024-05-20 01:00",
        None,
        "2024-06-01 01:00",
    ]
    frames["staff"] = pd.DataFrame(
        {
            "staff_id": ["s1", "s2", "g1", "g2"],
            "role": ["sales", "sales", "service", "service"],
            "team": ["Sales", "Sales", "Care", "Care"],
        }
    )
    frames["surveys"] = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "responded_at": ["2024-06-15", "2024-06-16", "2024-05-10"],
            "score": [3, 9, 6],
        }
    )
    return frames


@pytest.fixture(scope="module")
def view():
    ds = validate_frames(_service_frames(), now=pd.Timestamp("2025-01-01"))
    assert len(ds.rejected) == 0
    return ds.as_of(parse_period(JUNE).end)


def test_complaints_by_category_recomputed_by_hand(view):
    table = service.complaints_by(view, JUNE, "category")
    assert sorted(table.index) == ["billing", "product"]
    billing = table.loc["billing"]
    assert billing[["complaints", "resolved", "open"]].tolist() == [1, 1, 0]
    assert billing["share"] == pytest.approx(0.5) and billing["complaint_rate"] == 1.0
    assert billing["resolution_hours"] == pytest.approx(10.0)
    product = table.loc["product"]
    assert product[["complaints", "resolved", "open"]].tolist() == [1, 0, 1]
    assert np.isnan(product["resolution_hours"])
    kpi = compute_kpis(view, JUNE, kpis=["complaint_resolution_hours"])["value"]
    assert table["resolution_hours"].median() == pytest.approx(kpi.iloc[0])


def test_complaints_by_product_take_the_last_paid_order_before_the_ticket(view):
    table = service.complaints_by(view, JUNE, "product")
    # t1 and t5 are a's, opened 06-01: a's last paid order before is o1 (04-10, games)
    assert table.index.tolist() == ["games"]
    assert table.loc["games", ["complaints", "open"]].tolist() == [2, 1]


def test_ticket_products_ignore_cancelled_orders_and_say_when_there_is_none():
    tickets = pd.DataFrame(
        {"customer_id": ["a", "b"], "opened_at": pd.to_datetime(["2024-02-01", "2024-02-01"])}
    )
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-03-01"]),
            "status": ["paid", "cancelled", "paid"],
            "product_name": ["Lamp", "Desk", "Chair"],
        }
    )
    assert service.ticket_products(tickets, orders).tolist() == ["Lamp", service.NO_ORDER]
    with pytest.raises(ValueError, match="orders: none of the columns product_name"):
        service.ticket_products(tickets, orders.drop(columns="product_name"))


def test_follow_up_list_holds_the_sla_breaches_and_the_detractors(view):
    follow = service.follow_up_list(view, JUNE, sla_hours=24)
    breaches = follow.loc[follow["reason"] == service.REASONS["sla"]]
    # t2 answered after 30 h; t4 unanswered and older than 24 h at the cutoff
    assert sorted(breaches["ticket_id"]) == ["t2", "t4"]
    assert sorted(breaches["customer_id"]) == ["b", "c"]
    t2 = breaches.set_index("ticket_id").loc["t2"]
    assert t2["response_hours"] == pytest.approx(30.0) and t2["agent_id"] == "g1"
    assert np.isnan(breaches.set_index("ticket_id").loc["t4", "response_hours"])
    detractors = follow.loc[follow["reason"] == service.REASONS["detractor"]]
    assert detractors["customer_id"].tolist() == ["a"]  # b scored 9; c's 6 is May's
    assert detractors["score"].tolist() == [3.0]
    assert follow["when"].is_monotonic_decreasing
    # a longer SLA: only the unanswered ticket is a breach
    longer = service.follow_up_list(view, JUNE, sla_hours=48)
    assert longer.loc[longer["reason"] == service.REASONS["sla"], "ticket_id"].tolist() == ["t4"]


def test_team_service_is_the_kpis_on_each_teams_tickets(view):
    table = service.team_service(view, JUNE, sla_hours=24)
    assert table.index.tolist() == ["Care"]
    care = table.loc["Care"]
    assert care["tickets"] == 4
    assert care["sla_compliance"] == pytest.approx(2 / 4)  # t1, t5 met; t2, t4 breached
    assert care["first_response_hours"] == pytest.approx(2.0)  # median of 2, 30, 1
    assert care["complaint_resolution_hours"] == pytest.approx(10.0)
    partial = view.staff.assign(team=view.staff["team"].where(view.staff["staff_id"] != "g2"))
    split = service.team_service(replace(view, staff=partial), JUNE, sla_hours=24)
    assert split["tickets"].to_dict() == {"(missing)": 1, "Care": 3}  # g2 has no team
    by_agent = replace(view, staff=view.staff.drop(columns="team"))
    agents = service.team_service(by_agent, JUNE, sla_hours=24)
    assert agents.loc["g1", "tickets"] == 3 and agents.loc["g2", "tickets"] == 1


def test_service_tables_say_what_is_missing(view):
    out = service.service_tables(view, JUNE)
    assert all(isinstance(out[k], pd.DataFrame) for k in out)
    gone = service.service_tables(replace(view, tickets=None, surveys=None), JUNE)
    assert gone["by_category"].text == (
        "The complaint drill-down is not available: the data has no tickets table."
    )
    assert gone["by_category"] is not gone["by_product"]
    assert isinstance(gone["follow_up"], Unavailable) and isinstance(gone["teams"], Unavailable)
    plain = replace(view, orders=view.orders.drop(columns="category"))
    assert "name no product" in service.service_tables(plain, JUNE)["by_product"].text
    with pytest.raises(ValueError, match="by: expected 'category' or 'product'"):
        service.complaints_by(view, JUNE, "agent")  # type: ignore[arg-type]
