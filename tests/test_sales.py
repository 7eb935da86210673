"""cpm_analysis.sales: the funnel, the sales cycle, win rate by owner and the team roll-ups.

Each table is recomputed by hand on the tiny company of ``test_kpis_activities`` (June 2024:
p1 won after 41 days at stage closed, p2 lost after 20 days at proposal, p3 lost after 90
days at closed, all of owner s1; p4 is open and p5 closes in July).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from test_kpis_activities import _frames

from cpm_analysis import sales
from cpm_analysis.availability import Unavailable
from cpm_analysis.data import validate_frames
from cpm_analysis.kpis import compute_kpis
from cpm_analysis.org import TEAM

JUNE = "2024-06"


def _with_managers() -> dict[str, pd.DataFrame]:
    frames = _frames()
    frames["staff"] = pd.DataFrame(
        {
            "staff_id": ["m", "s1", "s2", "gm", "g1", "g2"],
            "role": ["sales", "sales", "sales", "service", "service", "service"],
            "team": ["Sales", "Sales", "Sales", "Care", "Care", "Care"],
            "manager_id": [None, "m", "m", None, "gm", "gm"],
        }
    )
    return frames


@pytest.fixture(scope="module")
def tiny():
    ds = validate_frames(_with_managers(), now=pd.Timestamp("2025-01-01"))
    assert len(ds.rejected) == 0
    return ds


def test_closed_opportunities_are_those_the_kpis_count(tiny):
    rows = sales.closed_opportunities(tiny, JUNE)
    assert sorted(rows["cycle_days"].round(6).tolist()) == [20.0, 41.0, 90.0]
    assert rows["owner_id"].tolist() == ["s1"] * 3
    assert sorted(rows["stage"].tolist()) == ["closed", "closed", "proposal"]


def test_funnel_recomputed_by_hand_and_equal_to_the_stage_conversion_kpis(tiny):
    table = sales.funnel(tiny, JUNE)
    assert table.index.tolist() == ["lead", "qualified", "proposal", "negotiation", "closed"]
    assert table["reached"].tolist() == [3, 3, 3, 2, 2]
    assert np.isnan(table.loc["lead", "conversion"])
    assert table["conversion"].iloc[1:].tolist() == pytest.approx([1.0, 1.0, 2 / 3, 1.0])
    assert table["share_of_leads"].tolist() == pytest.approx([1, 1, 1, 2 / 3, 2 / 3])
    assert table["won"].tolist() == [1, 1, 1, 1, 1]  # p1 won, reaching every stage
    kpis = compute_kpis(tiny, JUNE)["value"]
    for stage in ("qualified", "proposal", "negotiation", "closed"):
        assert table.loc[stage, "conversion"] == pytest.approx(kpis[f"conversion_to_{stage}"])


def test_funnel_of_an_unknown_stage_counts_it_nowhere():
    rows = pd.DataFrame({"stage_index": [-1, 0, 2], "won": [np.nan, 0.0, 0.0]})
    table = sales.funnel(rows)
    assert table["reached"].tolist() == [2, 1, 1, 0, 0]
    assert np.isnan(table.loc["closed", "conversion"])  # none reached negotiation
    assert table.loc["qualified", "share_of_leads"] == pytest.approx(1 / 2)


def test_sales_cycle_recomputed_by_hand(tiny):
    table = sales.sales_cycle(tiny, JUNE)
    assert table.loc["all"].tolist() == pytest.approx(
        [3, (41 + 20 + 90) / 3, 41, 30.5, 65.5]  # linear quartiles of 20, 41, 90
    )
    assert table.loc["won", ["opportunities", "mean_days"]].tolist() == pytest.approx([1, 41])
    assert table.loc["not won", ["opportunities", "mean_days", "median_days"]].tolist() == (
        pytest.approx([2, 55, 55])
    )
    kpi = compute_kpis(tiny, JUNE, kpis=["sales_cycle_days"])["value"]["sales_cycle_days"]
    assert table.loc["all", "mean_days"] == pytest.approx(kpi)


def test_owner_sales_recomputed_by_hand_and_equal_to_the_win_rate_kpi(tiny):
    table = sales.owner_sales(tiny, JUNE)
    assert table.index.tolist() == ["s1"]
    row = table.loc["s1"]
    assert [row["closed"], row["won"]] == [3, 1]
    assert row["win_rate"] == pytest.approx(1 / 3)
    assert row["mean_days"] == pytest.approx(151 / 3) and row["median_days"] == pytest.approx(41)
    by_staff = compute_kpis(tiny, JUNE, by="staff_id", kpis=["opportunity_win_rate"])["value"]
    assert row["win_rate"] == pytest.approx(by_staff[("opportunity_win_rate", "s1")])


def test_owner_sales_leaves_an_unknown_outcome_out_of_the_win_rate():
    rows = pd.DataFrame(
        {"owner_id": ["a", "a", "a"], "won": [1.0, np.nan, 0.0], "cycle_days": [1.0, 2, 3]}
    )
    row = sales.owner_sales(rows).loc["a"]
    assert [row["closed"], row["won"], row["win_rate"]] == [3, 1, 0.5]


def test_team_rollups_sum_the_team_and_show_each_direct_report(tiny):
    tables = sales.team_rollups(tiny, JUNE)
    book = tables["sales"]
    # paid June revenue: c (owner s2) 50 + 60; a and b bought nothing paid in June
    assert book.loc[("m", TEAM), "revenue"] == pytest.approx(110)
    assert book.loc[("m", "s2"), "revenue"] == pytest.approx(110)
    assert book.loc[("m", "s1"), "revenue"] == pytest.approx(0)
    assert book.loc[("m", "s1"), "opportunity_win_rate"] == pytest.approx(1 / 3)
    # the service manager's team owns no customers: not in the sales roll-up
    assert "gm" not in book.index.get_level_values("manager")
    work = tables["service"]
    # June tickets: t1, t2, t5 by g1 and t4 by g2 (t3 is May's)
    assert work.loc[("gm", TEAM), "tickets"] == 4
    assert work.loc[("gm", "g1"), "tickets"] == 3 and work.loc[("gm", "g2"), "tickets"] == 1
    assert "m" not in work.index.get_level_values("manager")


def test_without_reporting_lines_or_opportunities_the_tables_say_what_is_missing(tiny):
    frames = _frames()  # staff without manager_id
    plain = validate_frames(frames, now=pd.Timestamp("2025-01-01"))
    rolled = sales.team_rollups(plain, JUNE)
    assert isinstance(rolled["sales"], Unavailable)
    assert "manager_id" in rolled["sales"].text
    out = sales.sales_tables(replace(tiny, opportunities=None), JUNE)
    for key in ("funnel", "cycle", "owners", "closed"):
        assert isinstance(out[key], Unavailable)
        assert out[key].text == (
            "The opportunity funnel and sales cycle are not available: the data has no "
            "opportunities table."
        )
    assert out["funnel"] is not out["cycle"]  # each section states it once
    empty = sales.sales_tables(tiny, "2023-06")
    assert "no opportunity was closed in 2023-06" in empty["funnel"].text
    no_rollups = sales.sales_tables(tiny, JUNE, rollups=False)
    assert "sales_rollup" not in no_rollups and isinstance(no_rollups["funnel"], pd.DataFrame)
