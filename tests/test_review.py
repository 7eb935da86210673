"""The prose and tables of the performance review page (report.review)."""

from __future__ import annotations

from review_fixtures import card, company_fixture  # noqa: F401 (fixtures)

from cpm_analysis import actions as period_actions
from cpm_analysis.kpis import compute_kpis
from cpm_analysis.periods import parse_period
from cpm_analysis.report import review

PERIOD = parse_period("2025-06")


def test_the_noise_table_shows_values_in_their_units_and_words_not_codes(company):
    import re

    from cpm_analysis.i18n import translator
    from cpm_analysis.kpis.intervals import team_kpi_intervals

    raw = team_kpi_intervals(company.as_of(PERIOD), PERIOD, "owner")
    for lang in ("en", "zh"):
        tr = translator(lang)
        shown = review.noise_table(raw, tr)
        assert len(shown) == len(raw) and len(shown.columns) == 7
        text = " ".join(shown.astype(str).to_numpy().ravel())
        assert "retention_rate" not in text and "complaint_rate" not in text
        retention = shown.iloc[:, 2][raw["kpi"].eq("retention_rate").to_numpy()]
        assert retention.str.fullmatch(r"\d+\.\d% ?[(（]\d+\.\d%–\d+\.\d%[)）]").all()
        assert not shown.iloc[:, 3].str.contains(r"\.\d").any()  # counts are integers
        if lang == "zh":
            assert not re.search(r"[a-z]{3,}", text.replace("within noise", "")), text[:300]
    agents = team_kpi_intervals(company.as_of(PERIOD), PERIOD, "agent")
    assert review.noise_table(agents).columns[0] == "Agent"


def test_executive_summary_is_generated_from_the_numbers(company):
    kpis = compute_kpis(company, PERIOD)
    kpi_card = card()
    risks = period_actions.biggest_risks(kpi_card, None)
    text = review.executive_summary(kpis, kpi_card, risks, PERIOD)
    assert text.startswith("In 2025-06: revenue ")
    assert f"{kpis.loc['revenue', 'value']:,.0f}" in text
    assert "**Targets:** 1 of 3 met; missed: NPS, Revenue." in text
    assert "1. **Revenue below target**" in text
    improved = kpis.loc[kpis["available"].astype(bool) & kpis["previous"].notna()]
    if (improved["change"] != 0).any():
        assert "**Improved:**" in text
    empty = review.executive_summary(kpis, kpi_card.iloc[0:0], risks.iloc[0:0], PERIOD)
    assert "no target set" in empty
