"""Pages that read at a glance: results beside scores, numbers by type, human headers (issue 15)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from cpm_analysis import teams_review
from cpm_analysis.i18n import Translator
from cpm_analysis.kpis import compute_kpis
from cpm_analysis.kpis.scorecard import scorecard
from cpm_analysis.report import review, tables

PERIOD = "2025-06"


@pytest.fixture(scope="module")
def company():
    from cpm_analysis.synthetic import generate

    return generate(300, seed=5).to_dataset()


@pytest.fixture(scope="module")
def owners(company):
    return teams_review.team_scorecard(company, PERIOD, "owner")


@pytest.fixture(scope="module")
def agents(company):
    return teams_review.team_scorecard(company, PERIOD, "agent")


# --- scorecards that show results --------------------------------------------------------------


def test_agent_scorecard_shows_each_value_with_its_unit_beside_its_score(agents):
    table = review.team_table(agents, Translator("en", currency="EUR"))
    raw = agents.table
    person = raw.index[0]
    cell = table.loc[agents.names(str(person)), "First response time (median)"]
    hours = raw.loc[person, "first_response_hours"]
    score = raw.loc[person, "score_first_response_hours"]
    assert cell == f"{hours:.1f} hr · score {round(score)}"
    sla = table.loc[agents.names(str(person)), "First-response SLA compliance"]
    assert re.fullmatch(r"\d+\.\d% · score \d+", sla)
    # no raw field name or rule code reaches the page
    assert not any("_" in c for c in table.columns)
    assert not table.to_string().count("improvement_plan")


def test_owner_scorecard_money_carries_the_currency_and_flags_are_words(owners):
    table = review.team_table(owners, Translator("en", currency="EUR"))
    assert table["Revenue"].str.startswith("€").all()
    flagged = owners.table["flags"].str.contains("improvement_plan")
    assert flagged.any()
    words = table.loc[owners.names.series(owners.table.index[flagged].astype(str)), "Flags and why"]
    assert words.str.startswith("Bottom of the ranking: improvement plan (bottom").all()


def test_weights_are_explained_in_one_line(owners):
    text = review.weights_text(owners)
    assert "\n" not in text
    weights = owners.table.attrs["weights"]
    total = sum(weights.values())
    assert f"Revenue {round(100 * weights['revenue'] / total)}%" in text
    assert "composite = " in text


def test_kpi_scorecard_counts_are_integers_and_shares_percentages(company):
    kpis = compute_kpis(company, PERIOD)
    card = scorecard(kpis, company.targets, PERIOD)
    shown = review.scorecard_table(card)
    by_kpi = dict(zip(card["kpi"], card["label_en"], strict=True))
    active = shown.loc[by_kpi["active_customers"], "Actual"]
    assert re.fullmatch(r"[\d,]+", active)
    if "retention_rate" in by_kpi:
        assert shown.loc[by_kpi["retention_rate"], "Actual"].endswith("%")


# --- numbers formatted by type -----------------------------------------------------------------


def test_a_count_column_renders_without_decimals_and_money_with_the_currency():
    frame = pd.DataFrame({"customers": [388.0, 1432.0], "clv": [1549.2, 20.0], "share": [0.35, 1]})
    html = tables.to_html(frame, translator=Translator("en", currency="EUR"))
    assert "388<" in html and "1,432<" in html and "388.00" not in html
    assert "€1,549.20" in html
    assert "35.0%" in html


def test_units_format_each_column_by_what_it_measures():
    frame = pd.DataFrame({"first_response": [5.25], "gap": [94.0], "rate": [0.648]})
    html = tables.to_html(frame, units={"first_response": "hours", "gap": "days"})
    assert "5.2 hr" in html and "94 days" in html and "64.8%" in html
    with pytest.raises(ValueError, match="units: no column nope"):
        tables.to_html(frame, units={"nope": "hours"})


def test_the_locale_separates_thousands():
    frame = pd.DataFrame({"orders": [1234567]})
    assert "1,234,567" in tables.to_html(frame, translator=Translator("zh"))


def test_headers_are_human_labels_never_raw_field_names():
    for raw, shown in [
        ("clv", "CLV"),
        ("roc_auc", "ROC AUC"),
        ("pr_auc", "PR AUC"),
        ("brier", "Brier score"),
        ("kpi_score", "KPI score"),
        ("sla_compliance", "SLA compliance"),
    ]:
        assert tables.header(raw).startswith(shown)


# --- reasons and actions a manager can act on --------------------------------------------------


def test_a_reason_never_names_a_bare_attribute_when_attributes_are_off():
    from cpm_analysis.churn.reasons import format_reasons

    values = pd.DataFrame(
        {
            "channel": ["phone", "web"],
            "days_since_last_order": [94.0, 7.0],
            "days_since_first_order": [157.0, 70.0],
            "orders_total": [4.0, 4.0],
            "complaints_90d": [0.0, 2.0],
        }
    )
    contrib = pd.DataFrame(
        {
            "channel": [2.0, 2.0],
            "days_since_last_order": [1.0, 1.0],
            "days_since_first_order": [0.0, 0.0],
            "orders_total": [0.0, 0.0],
            "complaints_90d": [-0.1, 0.5],
        }
    )
    kinds = {"channel": "categorical"}
    out = format_reasons(contrib, values, kinds=kinds, quartiles={}, n_reasons=3, attributes=False)
    assert "=" not in " ".join(out["reasons"])
    # overdue by their own rhythm: direction and size
    assert out.loc[0, "reasons"] == "no order for 94 days, usual gap 21"
    # ordered within the usual gap: recency is not a reason (no "no order in 7 days")
    assert out.loc[1, "reasons"] == "2 complaints in the last 90 days"
    # an analyst's own table keeps its attributes by default
    assert (
        "channel = phone"
        in format_reasons(contrib, values, kinds=kinds, quartiles={})["reasons"].iloc[0]
    )


def test_no_loyalty_action_for_a_customer_flagged_as_leaving():
    from cpm_analysis.actions import LEAVING_ACTION, risk_aware_actions
    from cpm_analysis.segments.maps import default_segment_map

    champions = default_segment_map().to_frame().set_index("segment").loc["Champions", "action"]
    assert "Reward loyalty" in champions
    actions = pd.Series([champions, champions], index=["a", "b"])
    out = risk_aware_actions(actions, pd.Series([0.8, 0.1], index=["a", "b"]))
    assert out["a"] == LEAVING_ACTION and "reward" not in out["a"].lower().split("no loyalty")[0]
    assert out["b"] == champions
    with pytest.raises(ValueError, match="threshold"):
        risk_aware_actions(actions, None, threshold=1.5)


# --- one glossary ------------------------------------------------------------------------------


def test_the_glossary_defines_each_term_once_and_active_customer_is_the_kpi():
    from cpm_analysis import glossary
    from cpm_analysis.kpis.registry import get_kpi

    keys = [t.key for t in glossary.TERMS.values()]
    assert len(keys) == len(set(keys))
    terms = [t.term.lower() for t in glossary.TERMS.values()]
    assert len(terms) == len(set(terms))
    for needed in ("active_customer", "churn", "at_risk", "retention", "clv_horizon"):
        assert needed in glossary.TERMS
    assert "paid order dated in the period" in get_kpi("active_customers").func.__doc__
    assert "paid order dated in the period" in glossary.TERMS["active_customer"].definition
    text = glossary.markdown(["churn", "clv_horizon"])
    assert 'id="glossary-churn"' in text and "**CLV horizon**" in text
    with pytest.raises(ValueError, match="glossary: no term 'nope'"):
        glossary.link("nope")


def test_the_risk_sentence_does_not_call_the_customer_base_active_customers():
    from cpm_analysis import actions

    scored = pd.DataFrame(
        {"churn_probability": [0.9, 0.2], "expected_loss": [5.0, 1.0], "tier": ["A", "B"]}
    )
    card = pd.DataFrame(
        {
            "kpi": ["orders"],
            "label_en": ["Orders"],
            "actual": [110.0],
            "target": [100.0],
            "attainment": [1.1],
            "status": ["met"],
            "trend": ["flat"],
            "unit": ["orders"],
        }
    )
    evidence = " ".join(actions.biggest_risks(card, scored)["evidence"])
    assert "active customers" not in evidence and "customers of the base" in evidence


# --- names agree with numbers ------------------------------------------------------------------


def test_cluster_names_follow_the_clusters_own_statistics(company):
    from cpm_analysis.segments import rfm_scores
    from cpm_analysis.segments.clusters import cluster_customers

    scores = rfm_scores(company, PERIOD)
    result = cluster_customers(scores, k=4, random_state=0)
    recency = scores.loc[result.labels.index, "recency_days"]
    overall = recency.median()
    for cluster, name in result.names.items():
        median = recency[result.labels == cluster].median()
        if name.startswith(("Recent", "Very recent")):
            assert median < overall, (name, median, overall)
        if name.startswith(("Lapsed", "Lapsing")):
            assert median > overall, (name, median, overall)


def test_a_cluster_is_not_called_recent_when_its_median_customer_is_not():
    from cpm_analysis.segments import clusters

    recency = np.array([1.0] * 49 + [150.0] * 51 + [120.0] * 250 + [500.0] * 200)
    labels = np.array([0] * 100 + [1] * 250 + [2] * 200)
    n = len(labels)
    X = pd.DataFrame({"recency_days": recency, "frequency": np.full(n, 3.0), "monetary": 50.0})
    _, names = clusters._profile(
        X, labels, 3, ["recency_days", "frequency", "monetary"], "monetary"
    )
    # half its customers bought yesterday, but its median customer is older than the overall median
    assert np.median(recency[labels == 0]) > np.median(recency)
    assert not names[0].startswith(("Recent", "Very recent"))
