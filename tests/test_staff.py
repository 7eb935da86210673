"""Issue 15 item 5: staff shown by name (report.staff_names), the pseudonymised form, escaping."""

from __future__ import annotations

import pandas as pd
import pytest

from cpm_analysis import privacy
from cpm_analysis.actions import improvement_actions
from cpm_analysis.config import ConfigError, CPMConfig
from cpm_analysis.report.review import team_table, team_text
from cpm_analysis.report.tables import to_html
from cpm_analysis.staff import staff_names
from cpm_analysis.synthetic import generate
from cpm_analysis.teams_review import team_scorecard

HOSTILE = "<img src=x onerror=alert(1)>Ann $x^2$ Lee"


@pytest.fixture(scope="module")
def company():
    return generate(300, seed=1).to_dataset()


def test_the_config_key_is_validated():
    assert CPMConfig().report.staff_names == "name"
    assert CPMConfig.model_validate({"report": {"staff_names": "pseudonym"}}).report.staff_names
    with pytest.raises((ConfigError, ValueError), match="staff_names"):
        CPMConfig.model_validate({"report": {"staff_names": "full"}})


def test_scorecards_and_actions_show_staff_by_name(company):
    names = company.staff.set_index("staff_id")["name"]
    owners = team_scorecard(company, "2025-06", "owner")
    assert owners.available
    first = owners.table.index[0]
    label = f"{names[first]} ({first})"
    shown = team_table(owners)
    assert label in shown.index
    assert owners.table.index[0] == first  # the table itself stays keyed by id
    flagged = owners.table.index[owners.table["flags"].fillna("").str.len() > 0]
    if len(flagged):
        assert f"{names[flagged[0]]} ({flagged[0]})" in team_text(owners)
        actions = improvement_actions(pd.DataFrame(), owners, None, None)
        assert f"Manager of {names[flagged[0]]} ({flagged[0]})" in actions["who"].tolist()


def test_pseudonym_mode_shows_ids_only(company):
    config = CPMConfig.model_validate({"report": {"staff_names": "pseudonym"}})
    owners = team_scorecard(company, "2025-06", "owner", config=config)
    shown = team_table(owners)
    assert list(shown.index) == list(owners.table.index.astype(str))
    for name in company.staff["name"].dropna():
        assert name not in team_text(owners)


def test_a_hostile_staff_name_is_escaped_in_a_table():
    staff = pd.DataFrame({"staff_id": ["S1"], "name": [HOSTILE]})
    frame = staff_names(staff).frame(pd.DataFrame({"owner_id": ["S1"], "customers": [3]}))
    assert frame["owner_id"].iloc[0] == f"{HOSTILE} (S1)"
    out = to_html(frame)
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out


def test_the_scan_leaves_shown_staff_names_alone_and_still_finds_customers(company):
    staff_name = company.staff["name"].dropna().iloc[0]
    customer_name = company.customers["name"].dropna().iloc[0]
    text = f"Manager of {staff_name} (S001); customer {customer_name}"
    shown = privacy.PiiScanner.from_dataset(company, staff_names=True).scan_text(text)
    assert shown == {"name": 1}  # the customer only
    hidden = privacy.PiiScanner.from_dataset(company).scan_text(text)
    assert hidden == {"name": 2}  # pseudonym mode: a staff name in a page is a finding
