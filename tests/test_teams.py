"""Owner and agent scorecards, the assessment blend and the team rules."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cpm_analysis.data import validate_frames
from cpm_analysis.plots.teams import composite_bars, score_heatmap
from cpm_analysis.teams import (
    AGENT_WEIGHTS,
    OWNER_WEIGHTS,
    RULES,
    agent_scorecard,
    apply_rules,
    owner_scorecard,
)

# --- a constructed three-month history -----------------------------------------------------
# Four owners with two customers each, who all first buy in March 2024 and buy every month
# after. Monthly revenue per customer: O1 200, O2 150, O3 100, O4 50. New customers (0) and
# retention (1.0) tie, so the percentile scores are 62.5 for everyone and revenue decides:
# O1 > O2 > O3 > O4 in every month. No tickets: complaint rate and CSAT are not available and
# their weights drop out.
OWNERS = {"O1": 200.0, "O2": 150.0, "O3": 100.0, "O4": 50.0}
MONTHS = ["2024-03-05", "2024-04-05", "2024-05-05", "2024-06-05"]


def _frames(revenue: dict[str, dict[str, float]] | None = None) -> dict[str, pd.DataFrame]:
    customers, orders = [], []
    for owner, amount in OWNERS.items():
        for k in (1, 2):
            cid = f"{owner}-c{k}"
            customers.append({"customer_id": cid, "signup_date": "2024-03-01", "owner_id": owner})
            for day in MONTHS:
                value = (revenue or {}).get(day[:7], {}).get(owner, amount)
                orders.append(
                    {
                        "order_id": f"{cid}-{day}",
                        "customer_id": cid,
                        "order_date": day,
                        "amount": value,
                    }
                )
    return {"customers": pd.DataFrame(customers), "orders": pd.DataFrame(orders)}


@pytest.fixture()
def history():
    return validate_frames(_frames())


def test_owner_scorecard_scores_ranks_and_weights(history):
    card = owner_scorecard(history, "2024-06")
    assert card.index.name == "owner_id"
    assert card.index.tolist() == ["O1", "O2", "O3", "O4"]
    assert card["rank"].tolist() == [1, 2, 3, 4]
    assert card["revenue"].tolist() == [400.0, 300.0, 200.0, 100.0]
    assert card["score_revenue"].tolist() == [100.0, 75.0, 50.0, 25.0]
    assert (card["score_new_customers"] == 62.5).all()
    assert card["score_csat"].isna().all()  # no tickets table
    # (w_revenue x revenue score + w_new x 62.5 + w_retention x 62.5) over those three weights:
    # only these KPIs have a score (no tickets, activities or opportunities)
    w = OWNER_WEIGHTS
    total = w["revenue"] + w["new_customers"] + w["retention_rate"]
    expected = [
        (w["revenue"] * s + (w["new_customers"] + w["retention_rate"]) * 62.5) / total
        for s in (100.0, 75.0, 50.0, 25.0)
    ]
    assert card["kpi_score"].tolist() == pytest.approx(expected)
    assert card["composite"].tolist() == pytest.approx(expected)
    assert (card["blend"] == "KPI score only (no assessments table)").all()
    assert card.attrs["weights"] == OWNER_WEIGHTS
    assert set(card.attrs["history"]) == {"2024-04", "2024-05", "2024-06"}


# The rule mechanics on the two-customer books of the constructed history, on point scores
# (within noise, the fair defaults spare the review; see the noise tests below).
IGNORE = dict.fromkeys(("reward", "penalty", "improvement_plan", "review"), "ignore")


def test_rules_fire_on_a_three_period_history(history):
    card = owner_scorecard(history, "2024-06", within_noise=IGNORE)
    assert card.loc["O1", "flags"] == "reward"
    assert card.loc["O2", "flags"] == ""
    assert card.loc["O3", "flags"] == "improvement_plan"
    assert card.loc["O4", "flags"] == "improvement_plan, review"
    assert "2024-04, 2024-05, 2024-06" in card.loc["O4", "flag_reasons"]
    assert "bottom 2 of 4" in card.loc["O3", "flag_reasons"]
    # with only two periods scored, nobody has been last three periods running
    short = owner_scorecard(history, "2024-06", history=2, within_noise=IGNORE)
    assert "review" not in " ".join(short["flags"])


def test_review_needs_last_place_every_period():
    # in May O3 sells least, so O4 is last in April and June only
    ds = validate_frames(_frames({"2024-05": {"O3": 10.0}}))
    card = owner_scorecard(ds, "2024-06")
    assert card.loc["O4", "flags"] == "improvement_plan"
    assert card.attrs["history"]["2024-05"]["O3"] < card.attrs["history"]["2024-05"]["O4"]


def test_weights_are_overridable(history):
    card = owner_scorecard(history, "2024-06", weights={"revenue": 0.0})
    assert card["kpi_score"].tolist() == pytest.approx([62.5] * 4)
    assert card["rank"].tolist() == [1, 1, 1, 1]  # all tied
    with pytest.raises(ValueError, match="'profit' is not a KPI of this scorecard"):
        owner_scorecard(history, "2024-06", weights={"profit": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        owner_scorecard(history, "2024-06", weights={"revenue": -1})
    with pytest.raises(ValueError, match="at least one weight"):
        owner_scorecard(history, "2024-06", weights=dict.fromkeys(OWNER_WEIGHTS, 0))
    with pytest.raises(ValueError, match="history"):
        owner_scorecard(history, "2024-06", history=0)


def test_targets_score_against_attainment(history):
    frames = _frames()
    frames["targets"] = pd.DataFrame(
        {
            "kpi": ["revenue", "revenue", "retention_rate", "revenue"],
            "period": ["2024-06", "2024-06", "2024-06", "2024-05"],
            "target": [500.0, 1000.0, 0.9, 1.0],
            "owner_id": ["O1", None, None, "O1"],
        }
    )
    card = owner_scorecard(validate_frames(frames), "2024-06")
    # O1's own target: 400 / 500 = 0.8 -> 100 x 0.8 / 1.2
    assert card.loc["O1", "revenue_target"] == 500
    assert card.loc["O1", "revenue_attainment"] == pytest.approx(0.8)
    assert card.loc["O1", "score_revenue"] == pytest.approx(200 / 3)
    # the company revenue target is not a per-owner target: the others keep the team spread
    assert np.isnan(card.loc["O2", "revenue_target"])
    assert card.loc["O2", "score_revenue"] == 75.0
    # the company retention target (a rate) applies to every owner: 1.0 / 0.9, capped at 1.2
    assert (card["retention_rate_target"] == 0.9).all()
    assert card["score_retention_rate"].tolist() == pytest.approx([100 / 0.9 / 1.2] * 4)


def test_bad_targets_table_is_a_clear_error(history):
    frames = _frames()
    frames["targets"] = pd.DataFrame({"kpi": ["revenue"], "period": ["2024-06"], "target": [1]})
    ds = validate_frames(frames)
    bad = pd.DataFrame({"kpi": ["sales"], "period": ["2024-06"], "target": [1.0]})
    with pytest.raises(ValueError, match="targets row 1 .*unknown KPI id 'sales'"):
        owner_scorecard(ds, "2024-06", targets=bad)


def test_assessment_blend_uses_the_quarter_of_the_month():
    frames = _frames()
    frames["assessments"] = pd.DataFrame(
        {
            "staff_id": ["O1", "O1", "O2"],
            "period": ["2024-Q2", "2024-Q1", "2024-Q1"],
            "self_score": [80, 10, 10],
            "manager_score": [60, 10, 10],
        }
    )
    card = owner_scorecard(validate_frames(frames), "2024-06")
    assessment = 0.3 * 80 + 0.7 * 60
    assert card.loc["O1", "assessment"] == pytest.approx(assessment)
    kpi_score = card.loc["O1", "kpi_score"]
    assert card.loc["O1", "composite"] == pytest.approx(0.5 * kpi_score + 0.5 * assessment)
    assert card.loc["O1", "blend"] == (
        "50% KPI score + 50% assessment (30% self + 70% manager, 2024-Q2)"
    )
    # O2 has no Q2 assessment: KPI score only, and said so
    assert card.loc["O2", "composite"] == pytest.approx(card.loc["O2", "kpi_score"])
    assert "no assessment" in card.loc["O2", "blend"]
    custom = owner_scorecard(
        validate_frames(frames),
        "2024-06",
        assessment_weights={"self": 0.5, "manager": 0.5},
        assessment_share=0.2,
    )
    assert custom.loc["O1", "composite"] == pytest.approx(0.8 * kpi_score + 0.2 * 70)
    assert "20% assessment (50% self + 50% manager" in custom.loc["O1", "blend"]
    with pytest.raises(ValueError, match="assessment_share"):
        owner_scorecard(validate_frames(frames), "2024-06", assessment_share=2)
    with pytest.raises(ValueError, match="assessment_weights"):
        owner_scorecard(validate_frames(frames), "2024-06", assessment_weights={"boss": 1})


def test_assessment_not_yet_made_at_the_cutoff_is_not_used():
    frames = _frames()
    frames["assessments"] = pd.DataFrame(
        {
            "staff_id": ["O1", "O1"],
            "period": ["2024-Q1", "2024-Q2"],
            "self_score": [40, 80],
            "manager_score": [20, 60],
        }
    )
    # the Q2 assessment is made at the end of June: a May scorecard uses Q1's
    card = owner_scorecard(validate_frames(frames), "2024-05", history=1)
    assert card.loc["O1", "assessment"] == pytest.approx(0.3 * 40 + 0.7 * 20)
    assert card.loc["O1", "blend"].endswith("2024-Q1)")


def test_quarterly_scorecard_uses_the_quarter_assessment_and_a_year_averages():
    frames = _frames()
    frames["assessments"] = pd.DataFrame(
        {
            "staff_id": ["O1", "O1"],
            "period": ["2024-Q1", "2024-Q2"],
            "self_score": [50, 70],
            "manager_score": [50, 90],
        }
    )
    ds = validate_frames(frames)
    quarter = owner_scorecard(ds, "2024-Q2", history=1)
    assert quarter.loc["O1", "assessment"] == pytest.approx(0.3 * 70 + 0.7 * 90)
    year = owner_scorecard(ds, "2024", history=1)
    assert year.loc["O1", "assessment"] == pytest.approx(0.3 * 60 + 0.7 * 70)


# --- apply_rules directly -------------------------------------------------------------------


def _cards(rows: dict[str, list[float]], people=("ann", "bo", "cy", "di")) -> dict:
    return {p: pd.DataFrame({"composite": v}, index=list(people)) for p, v in rows.items()}


def test_apply_rules_on_a_constructed_history():
    cards = _cards(
        {
            "2024-04": [90, 70, 50, 10],
            "2024-05": [80, 60, 55, 20],
            "2024-06": [85, 40, 60, 30],
        }
    )
    flags = apply_rules(cards)
    assert list(flags.columns) == ["period", "person", "rule", "reason"]
    june = flags.loc[flags["period"] == "2024-06"]
    assert sorted(map(tuple, june[["person", "rule"]].to_numpy())) == [
        ("ann", "reward"),
        ("bo", "improvement_plan"),
        ("di", "improvement_plan"),
        ("di", "review"),
    ]
    # the review fires only once three periods are there
    assert not ((flags["rule"] == "review") & (flags["period"] != "2024-06")).any()
    # the penalty is off by default; no intervals, so nothing is within noise
    assert set(flags["rule"]) == set(RULES) - {"penalty", "within_noise"}


def test_apply_rules_edge_cases():
    # a gap breaks the run of last places
    gap = apply_rules(_cards({"2024-03": [9, 1], "2024-05": [9, 1], "2024-06": [9, 1]}, "ab"))
    assert "review" not in set(gap["rule"])
    # two people: no bottom-two flag (it would flag everybody), but top and last still count
    two = apply_rules(_cards({"2024-04": [9, 1], "2024-05": [9, 1], "2024-06": [9, 1]}, "ab"))
    assert set(two["rule"]) == {"reward", "review"}
    # ties: both tied at the top are rewarded; unranked people are never flagged
    tied = apply_rules(_cards({"2024-06": [5, 5, 1, np.nan]}))
    assert sorted(tied.loc[tied["rule"] == "reward", "person"]) == ["ann", "bo"]
    assert "di" not in set(tied["person"])
    assert apply_rules(_cards({"2024-06": [5, 1, 3, 2]}), bottom=1)["rule"].tolist() == [
        "improvement_plan",
        "reward",
    ]
    with pytest.raises(ValueError, match="bottom"):
        apply_rules(_cards({"2024-06": [1, 2, 3, 4]}), bottom=-1)
    with pytest.raises(ValueError, match="review_after"):
        apply_rules(_cards({"2024-06": [1, 2, 3, 4]}), review_after=True)
    with pytest.raises(ValueError, match="no 'composite' column"):
        apply_rules({"2024-06": pd.DataFrame({"score": [1.0]})})
    with pytest.raises(ValueError, match="scorecards"):
        apply_rules({})


# --- agents -----------------------------------------------------------------------------------


@pytest.fixture()
def service():
    frames = _frames()
    # June tickets: A1 handles 3 (responses 1, 2, 30 h), A2 handles 1 (5 h), A3 only in May
    frames["tickets"] = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4", "t5"],
            "customer_id": ["O1-c1", "O2-c1", "O3-c1", "O4-c1", "O1-c2"],
            "opened_at": ["2024-06-01", "2024-06-02", "2024-06-03", "2024-06-04", "2024-05-02"],
            "first_response_at": [
                "2024-06-01 01:00",
                "2024-06-02 02:00",
                "2024-06-04 06:00",
                "2024-06-04 05:00",
                "2024-05-02 01:00",
            ],
            "resolved_at": ["2024-06-01 05:00", "2024-06-03", "2024-06-06", "2024-06-05", None],
            "is_complaint": [False, True, False, False, False],
            "agent_id": ["A1", "A1", "A1", "A2", "A3"],
            "satisfaction": [5, 3, 4, 2, None],
        }
    )
    return validate_frames(frames)


def test_agent_scorecard_from_tickets(service):
    card = agent_scorecard(service, "2024-06")
    assert card.index.name == "agent_id"
    assert sorted(card.index) == ["A1", "A2"]  # A3 had no ticket in June
    assert card.loc["A1", "tickets"] == 3
    assert card.loc["A1", "first_response_hours"] == pytest.approx(2.0)
    assert card.loc["A1", "sla_compliance"] == pytest.approx(2 / 3)
    assert card.loc["A1", "csat"] == pytest.approx(4.0)
    assert card.loc["A1", "complaint_share"] == pytest.approx(1 / 3)
    assert card.loc["A2", "first_response_hours"] == pytest.approx(5.0)
    # handling more tickets scores higher for an agent
    assert card.loc["A1", "score_tickets"] > card.loc["A2", "score_tickets"]
    assert card.attrs["weights"] == AGENT_WEIGHTS
    assert card.attrs["directions"]["tickets"] == "higher"


def test_agent_scorecard_needs_tickets(history):
    with pytest.raises(ValueError, match="tickets table with an agent_id"):
        agent_scorecard(history, "2024-06")
    frames = _frames()
    frames["customers"] = frames["customers"].drop(columns="owner_id")
    with pytest.raises(ValueError, match="owner_id"):
        owner_scorecard(validate_frames(frames), "2024-06")


# --- the sample and the plots -------------------------------------------------------------------


def test_sample_scorecards(sample_dataset):
    owners = owner_scorecard(sample_dataset, "2024-06")
    assert owners.index.is_unique and len(owners) == sample_dataset.customers["owner_id"].nunique()
    assert owners["rank"].min() == 1
    assert owners["composite"].between(0, 100).all()
    assert (owners["flags"].str.contains("reward")).sum() >= 1
    assert (owners["flags"].str.contains("improvement_plan")).sum() >= 2
    assert owners["blend"].str.contains("2024-Q2").all()
    assert owners["revenue_target"].notna().all()  # the sample has monthly owner targets
    agents = agent_scorecard(sample_dataset, "2024-06")
    assert len(agents) >= 3 and agents["rank"].min() == 1
    assert set(agents["team"]) == {"Service"}


def test_scorecard_plots(history):
    card = owner_scorecard(history, "2024-06")
    ax = composite_bars(card)
    titles = " ".join(ax.get_title(loc=loc) for loc in ("left", "center", "right"))
    assert "2024-06" in titles  # wherever the report style puts titles
    assert len(ax.patches) >= len(card)
    fig, ax2 = plt.subplots()
    assert score_heatmap(card, ax=ax2) is ax2
    with pytest.raises(ValueError, match="composite"):
        composite_bars(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="score_"):
        score_heatmap(pd.DataFrame({"x": [1]}))
    plt.close("all")


# --- settings from the configuration ----------------------------------------------------------


def test_penalty_flags_the_last_place_only_when_enabled(history):
    assert "penalty" not in " ".join(owner_scorecard(history, "2024-06")["flags"])
    card = owner_scorecard(history, "2024-06", penalty=True, within_noise=IGNORE)
    assert card.loc["O4", "flags"] == "improvement_plan, review, penalty"
    assert "last of 4 in 2024-06" in card.loc["O4", "flag_reasons"]
    assert "penalty" not in " ".join(card.drop(index="O4")["flags"])


def test_ranking_rules_can_be_turned_off(history):
    card = owner_scorecard(history, "2024-06", bottom=0, review_after=0, reward=False)
    assert (card["flags"] == "").all()
    one = owner_scorecard(
        history, "2024-06", bottom=1, review_after=2, history=2, within_noise=IGNORE
    )
    assert one.loc["O4", "flags"] == "improvement_plan, review"
    assert one.loc["O3", "flags"] == ""
    assert "last place 2 periods running (2024-05, 2024-06)" in one.loc["O4", "flag_reasons"]


def test_the_scorecard_kpis_are_replaceable(history):
    card = owner_scorecard(history, "2024-06", kpis={"revenue": 1.0, "orders": 1.0})
    assert card.attrs["weights"] == {"revenue": 1.0, "orders": 1.0}
    assert "score_orders" in card and "score_csat" not in card
    # every owner's customers order once a month: orders tie, revenue decides
    expected = [(s + 62.5) / 2 for s in (100.0, 75.0, 50.0, 25.0)]
    assert card["kpi_score"].tolist() == pytest.approx(expected)
    with pytest.raises(ValueError, match="profit"):
        owner_scorecard(history, "2024-06", kpis={"profit": 1.0})
    with pytest.raises(ValueError, match="kpis"):
        owner_scorecard(history, "2024-06", kpis={})


def test_attainment_cap_sets_the_score_of_meeting_a_target(history):
    frames = _frames()
    frames["targets"] = pd.DataFrame(
        {"kpi": ["revenue"], "period": ["2024-06"], "target": [400.0], "owner_id": ["O1"]}
    )
    ds = validate_frames(frames)
    assert owner_scorecard(ds, "2024-06").loc["O1", "score_revenue"] == pytest.approx(100 / 1.2)
    capped = owner_scorecard(ds, "2024-06", attainment_cap=1.0)
    assert capped.loc["O1", "score_revenue"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="attainment_cap"):
        owner_scorecard(ds, "2024-06", attainment_cap=0)


def test_pure_cpm_assessment_scheme_30_self_70_manager():
    """The CPM method's appraisal: 30% self-assessment + 70% manager, no KPI share."""
    from cpm_analysis.config import parse_config
    from cpm_analysis.teams import scorecard_options

    frames = _frames()
    frames["assessments"] = pd.DataFrame(
        {
            "staff_id": ["O1", "O2", "O3", "O4"],
            "period": ["2024-Q2"] * 4,
            "self_score": [10, 90, 50, 60],
            "manager_score": [20, 80, 50, 70],
        }
    )
    options = scorecard_options(parse_config({"assessment": {"kpi_share": 0}}))
    card = owner_scorecard(validate_frames(frames), "2024-06", **options)
    expected = {"O1": 17.0, "O2": 83.0, "O3": 50.0, "O4": 67.0}
    assert card["composite"].to_dict() == pytest.approx(expected)
    assert card.index.tolist() == ["O2", "O4", "O3", "O1"]  # the KPI score plays no part
    assert card.loc["O2", "blend"] == "assessment only (30% self + 70% manager, 2024-Q2)"
    assert card.loc["O2", "flags"] == "reward"


def test_an_improvement_plan_has_a_deadline_and_names_the_kpis_below_the_team():
    from cpm_analysis.teams import improvement_causes

    card = pd.DataFrame(
        {"score_revenue": [90.0, 20.0, 60.0, 70.0], "score_nps": [50.0, 45.0, 60.0, 40.0]},
        index=["ann", "bo", "cy", "di"],
    )
    causes = improvement_causes(card, ["revenue", "nps"])
    # bo: revenue 20 vs median 65 (-45), nps 45 vs median 47.5 (-2.5): revenue first
    assert causes["bo"].startswith("Revenue (score 20 vs team median 65)")
    assert "Net Promoter Score" in causes["bo"]
    assert causes["ann"] == "no KPI below the team median"
    assert causes["cy"] == "Revenue (score 60 vs team median 65)"
    assert causes["di"] == "Net Promoter Score (score 40 vs team median 48)"


def test_the_scorecard_gives_the_bottom_a_plan_due_date_and_causes(history):
    card = owner_scorecard(history, "2024-06", plan_days=14)
    planned = card["flags"].str.contains("improvement_plan")
    assert planned.sum() >= 1
    assert (card.loc[planned, "plan_due"] == "2024-07-14").all()
    assert (card.loc[~planned, "plan_due"] == "").all()
    assert (
        card.loc[planned, "flag_reasons"].str.contains("plan due 2024-07-14; pulled down by").all()
    )
    assert card.loc[planned, "plan_causes"].str.contains("vs team median").all()


def test_more_evaluator_types_are_weighted_as_configured():
    from cpm_analysis.config import parse_config
    from cpm_analysis.teams import scorecard_options

    frames = _frames()
    frames["assessments"] = pd.DataFrame(
        {
            "staff_id": ["O1", "O2"],
            "period": ["2024-Q2", "2024-Q2"],
            "self_score": [80, 40],
            "manager_score": [60, 50],
            "peer_score": [100, None],
        }
    )
    ds = validate_frames(frames)
    plain = owner_scorecard(ds, "2024-06")  # peer weight 0 by default: not used
    assert plain.loc["O1", "assessment"] == pytest.approx(0.3 * 80 + 0.7 * 60)
    options = scorecard_options(parse_config({"assessment": {"peer_weight": 0.5}}))
    assert options["assessment_weights"] == {"self": 0.3, "manager": 0.7, "peer": 0.5}
    card = owner_scorecard(ds, "2024-06", assessment_weights=options["assessment_weights"])
    assert card.loc["O1", "assessment"] == pytest.approx((0.3 * 80 + 0.7 * 60 + 0.5 * 100) / 1.5)
    # O2 has no peer score: the weights renormalise over self and manager
    assert card.loc["O2", "assessment"] == pytest.approx(0.3 * 40 + 0.7 * 50)
    assert "peer" in card.loc["O1", "blend"]
    with pytest.raises(ValueError, match="unknown key 'boss'"):
        owner_scorecard(ds, "2024-06", assessment_weights={"boss": 1.0})


# --- rankings within noise --------------------------------------------------------------------
def _books(size: int, amounts: dict[str, float]):
    """Owners with ``size`` customers each, every customer buying ``amount`` each month."""
    customers, orders = [], []
    for owner, amount in amounts.items():
        for k in range(size):
            cid = f"{owner}-c{k}"
            customers.append({"customer_id": cid, "signup_date": "2024-03-01", "owner_id": owner})
            orders += [
                {
                    "order_id": f"{cid}-{day}",
                    "customer_id": cid,
                    "order_date": day,
                    "amount": amount,
                }
                for day in MONTHS
            ]
    return validate_frames({"customers": pd.DataFrame(customers), "orders": pd.DataFrame(orders)})


REVENUE_ONLY = {"revenue": 1.0}


def test_last_by_a_tiny_margin_on_a_tiny_book_is_not_penalised():
    # two customers each; O4 sells 2% less than O3: last on points, not beyond noise
    tiny = _books(2, {"O1": 200.0, "O2": 150.0, "O3": 100.0, "O4": 98.0})
    card = owner_scorecard(tiny, "2024-06", kpis=REVENUE_ONLY, penalty=True)
    assert card["rank"].tolist() == [1, 2, 3, 4]
    assert "penalty" not in card.loc["O4", "flags"]
    assert "review" not in card.loc["O4", "flags"]
    assert card.loc["O4", "flags"] == "improvement_plan, within_noise"  # the plan is marked
    reasons = card.loc["O4", "flag_reasons"]
    assert "last of 4 in 2024-06 (composite 25.0), but within noise of 3 others: no penalty" in (
        reasons
    )
    assert "within noise in 2024-04, 2024-05, 2024-06: no review" in reasons
    assert "bottom 2 of 4 in 2024-06 (rank 4), but could rank as high as 1 within noise" in reasons
    assert card.loc["O4", "noise"] == "within noise"
    # the page writes the spared penalty and review as one flag, with both reasons
    from cpm_analysis.report.review import flag_words

    words = flag_words(card.loc["O4", "flags"], card.loc["O4", "flag_reasons"])
    assert "Place within noise: rule not applied (last of 4 in 2024-06" in words
    assert "no penalty / last place 3 periods running" in words
    # the score interval: O4's revenue could be above everyone's (upper end 196 + 1.645 x
    # sqrt(2 x 98^2)), so its percentile score could be 100; O1's could be below everyone's
    assert card.loc["O4", "composite_upper"] == pytest.approx(100.0)
    assert card.loc["O1", "composite_lower"] == pytest.approx(25.0)
    # 'mark' applies the penalty and says so; 'ignore' is the point-score rule
    marked = owner_scorecard(
        tiny, "2024-06", kpis=REVENUE_ONLY, penalty=True, within_noise={"penalty": "mark"}
    )
    assert "penalty" in marked.loc["O4", "flags"].split(", ")
    assert "(composite 25.0), but within noise of 3 others" in marked.loc["O4", "flag_reasons"]
    assert (
        "top performer of 4 in 2024-06 (composite 100.0), but within noise of 3 others"
        in (marked.loc["O1", "flag_reasons"])
    )
    with pytest.raises(ValueError, match="within_noise: the mode of 'penalty'"):
        owner_scorecard(tiny, "2024-06", within_noise={"penalty": "forgive"})
    with pytest.raises(ValueError, match="within_noise: unknown rule 'bonus'"):
        owner_scorecard(tiny, "2024-06", within_noise={"bonus": "mark"})
    with pytest.raises(ValueError, match="noise_level"):
        owner_scorecard(tiny, "2024-06", noise_level=1.5)


@pytest.mark.parametrize("mode", ["mark", "spare", "ignore"])
def test_every_flag_reason_and_blend_reads_in_chinese(mode):
    import re

    from cpm_analysis.i18n import translator

    zh = translator("zh")
    tiny = _books(2, {"O1": 200.0, "O2": 150.0, "O3": 100.0, "O4": 20.0})
    modes = dict.fromkeys(("improvement_plan", "review", "reward", "penalty"), mode)
    card = owner_scorecard(tiny, "2024-06", kpis=REVENUE_ONLY, penalty=True, within_noise=modes)
    assert card["flag_reasons"].str.len().gt(0).sum() >= 2
    frames = _frames()
    frames["assessments"] = pd.DataFrame(
        {
            "staff_id": ["O1", "O2"],
            "period": "2024-Q2",
            "self_score": [80, 40],
            "manager_score": [60, 50],
            "peer_score": [100, None],
        }
    )
    weights = {"self": 0.3, "manager": 0.7, "peer": 0.5, "customer": 0.2}
    blends = owner_scorecard(validate_frames(frames), "2024-06", assessment_weights=weights)
    # a page may hold the blend as plain text (a DataFrame's string column): it reads the same
    texts = [*card["flag_reasons"], *blends["blend"], *map(str, blends["blend"])]
    english = {t: zh.sentence(t) for t in texts if re.search(r"[A-Za-z]{2,}", zh.sentence(t))}
    assert not {t: z for t, z in english.items() if set(re.findall(r"[A-Za-z]{2,}", z)) != {"KPI"}}
    # the KPIs that pulled a person down are named by their labels, shown in Chinese as the
    # pages' translator does (the registry's label_zh)
    from cpm_analysis.kpis.registry import KPIS
    from cpm_analysis.teams import improvement_causes

    ids = ["revenue", "nps", "csat", "visit_success_rate", "at_risk_follow_up_rate"]
    low = pd.DataFrame({f"score_{k}": [10.0, 90.0, 80.0] for k in ids}, index=["a", "b", "c"])
    page = translator("zh", names={k.label_en: k.label_zh for k in KPIS.values()})
    causes = "pulled down by " + improvement_causes(low, ids, n=5)["a"]
    assert not re.search(r"[a-z]{3,}", page.sentence(causes).replace("NPS", "")), page.sentence(
        causes
    )
    for blend in (blends.loc["O1", "blend"], str(blends.loc["O1", "blend"])):
        assert "18% 自评 + 41% 主管评价 + 29% 同事评价 + 12% 客户评价，2024-Q2" in zh.sentence(
            blend
        )


def test_clearly_last_on_large_books_is_penalised():
    # 150 customers each: O4's revenue interval lies wholly below everyone else's revenue
    large = _books(150, {"O1": 200.0, "O2": 150.0, "O3": 100.0, "O4": 20.0})
    card = owner_scorecard(large, "2024-06", kpis=REVENUE_ONLY, penalty=True)
    assert card.loc["O4", "flags"] == "improvement_plan, review, penalty"
    assert "within noise" not in card.loc["O4", "flag_reasons"]
    assert card.loc["O4", "noise"] == "clearly last"
    assert card.loc["O1", "flags"] == "reward"
    assert card.loc["O1", "flag_reasons"] == "top performer of 4 in 2024-06 (composite 100.0)"
    assert (card["composite_lower"] == card["composite"]).all()  # no place moves within noise


def test_the_assessment_does_not_widen_the_score_interval():
    frames = {
        "customers": _books(2, {"O1": 200.0, "O2": 100.0}).customers,
        "orders": _books(2, {"O1": 200.0, "O2": 100.0}).orders,
        "assessments": pd.DataFrame(
            {
                "staff_id": ["O1", "O2"],
                "period": "2024-06",
                "self_score": 80.0,
                "manager_score": 60.0,
            }
        ),
    }
    ds = validate_frames(frames)
    plain = owner_scorecard(ds, "2024-06", kpis=REVENUE_ONLY, assessment_share=0.0)
    half = owner_scorecard(ds, "2024-06", kpis=REVENUE_ONLY, assessment_share=0.5)
    spread = plain["composite_upper"] - plain["composite"]
    assert (half["composite_upper"] - half["composite"]).tolist() == pytest.approx(
        (0.5 * spread).tolist()
    )
    pure = owner_scorecard(ds, "2024-06", kpis=REVENUE_ONLY, assessment_share=1.0)
    assert (pure["composite_upper"] == pure["composite"]).all()


def test_apply_rules_reads_the_score_intervals():
    cards = _cards({"2024-06": [90, 60, 50, 10]})
    card = cards["2024-06"]
    card["composite_lower"] = card["composite"] - [5, 15, 15, 5]
    card["composite_upper"] = card["composite"] + [5, 15, 15, 5]
    flags = apply_rules(cards, penalty=True)
    rules = sorted(map(tuple, flags[["person", "rule"]].to_numpy()))
    # di is clearly last (10 +- 5 below 50 - 15); ann clearly first; cy's bottom-two place is
    # within noise of bo (marked), di's is settled
    assert rules == [
        ("ann", "reward"),
        ("cy", "improvement_plan"),
        ("di", "improvement_plan"),
        ("di", "penalty"),
    ]
    reason = flags.set_index(["person", "rule"])["reason"]
    assert reason[("cy", "improvement_plan")].endswith("could rank as high as 2 within noise")
    assert "noise" not in reason[("di", "penalty")]
    spared = apply_rules(cards, within_noise={"improvement_plan": "spare"})
    assert ("cy", "within_noise") in set(map(tuple, spared[["person", "rule"]].to_numpy()))
