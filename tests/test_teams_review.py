"""The team scorecards of the performance review (teams_review) and their charts."""

from __future__ import annotations

import matplotlib
import pytest
from review_fixtures import company_fixture, no_service_fixture  # noqa: F401 (fixtures)

from cpm_analysis import teams_review
from cpm_analysis.periods import parse_period
from cpm_analysis.plots import teams as team_plots
from cpm_analysis.report import review

matplotlib.use("Agg")

PERIOD = parse_period("2025-06")


def test_team_scorecards_and_their_absence(company, no_service):
    owners = teams_review.team_scorecard(company, PERIOD, "owner")
    assert owners.available and {"Rank", "Composite (0-100)", "Flags and why"} <= set(
        review.team_table(owners).columns
    )
    assert "owners ranked" in review.team_text(owners)
    agents = teams_review.team_scorecard(no_service, PERIOD, "agent")
    assert not agents.available
    assert (
        review.team_text(agents)
        == "**Agent scorecard not available:** the data has no tickets table."
    )
    assert team_plots.plot_team(agents) is None
    # one sentence instead of an empty table: the message and the table are the same object
    assert not review.team_table(agents).available
    assert review.team_table(agents) is review.team_message(agents)
    assert (
        review.team_message(agents).text
        == "The agent scorecard is not available: the data has no tickets table."
    )
    with pytest.raises(ValueError, match="role"):
        teams_review.team_scorecard(company, PERIOD, "manager")
