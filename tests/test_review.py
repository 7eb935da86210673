"""Tests of the performance review: its analyses, charts and prose.

kpis.scorecard and kpis.trends, teams_review, actions, clv.forecast, pipeline.previous, the
charts in plots and the prose of report.review.
"""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cpm_analysis import actions as period_actions
from cpm_analysis import teams_review
from cpm_analysis.clv import forecast
from cpm_analysis.data import validate_frames
from cpm_analysis.kpis import compute_kpis, trends
from cpm_analysis.kpis import scorecard as kpi_scorecard
from cpm_analysis.kpis.targets import period_targets
from cpm_analysis.periods import parse_period
from cpm_analysis.pipeline import previous
from cpm_analysis.plots import kpis as kpi_plots
from cpm_analysis.plots import teams as team_plots
from cpm_analysis.plots.clv import plot_forecast_check
from cpm_analysis.report import review

matplotlib.use("Agg")

PERIOD = parse_period("2025-06")


@pytest.fixture(scope="module")
def company():
    from cpm_analysis.synthetic import generate

    return generate(300, seed=5).to_dataset()


@pytest.fixture(scope="module")
def no_service(company):
    """The same company without tickets and surveys."""
    return validate_frames({"customers": company.customers, "orders": company.orders})


def _card(**columns) -> pd.DataFrame:
    base = {
        "kpi": ["nps", "revenue", "orders"],
        "label_en": ["NPS", "Revenue", "Orders"],
        "actual": [5.0, 90.0, 110.0],
        "target": [30.0, 100.0, 100.0],
        "attainment": [5 / 30, 0.9, 1.1],
        "status": ["missed", "missed", "met"],
        "trend": ["improving", "worsening", "flat"],
        "unit": ["points", "currency", "orders"],
    }
    base.update(columns)
    return pd.DataFrame(base)


# --- scorecard ---------------------------------------------------------------------------------


def test_period_targets_company_and_owner_scope():
    targets = pd.DataFrame(
        {
            "kpi": ["revenue", "revenue", "revenue", "nps"],
            "period": ["2025-06", "2025-06", "2025-06", "2025-05"],
            "target": [100.0, 10.0, 5.0, 30.0],
            "owner_id": [None, "S1", None, None],
            "segment": [None, None, "Champions", None],
        }
    )
    assert period_targets(targets, PERIOD)["target"].tolist() == [100.0]
    mine = period_targets(targets, PERIOD, owner="S1")
    assert mine["target"].tolist() == [10.0] and "owner_id" not in mine
    assert period_targets(None, PERIOD).empty


def test_scorecard_statuses_against_hand_made_targets(company):
    kpis = compute_kpis(company, PERIOD)
    revenue = kpis.loc["revenue", "value"]
    targets = pd.DataFrame(
        {
            "kpi": ["revenue", "revenue_per_customer", "refund_rate"],
            "period": ["2025-06"] * 3,
            "target": [revenue * 0.5, kpis.loc["revenue_per_customer", "value"] * 1.02, 1.0],
        }
    )
    card = kpi_scorecard.scorecard(kpis, targets, PERIOD)
    status = dict(zip(card["kpi"], card["status"], strict=True))
    assert status == {"revenue": "met", "revenue_per_customer": "at risk", "refund_rate": "met"}
    assert card["status"].tolist()[0] == "at risk"  # worst first
    counts = kpi_scorecard.status_counts(card)
    assert counts == {"met": 2, "at risk": 1, "missed": 0, "not available": 0}


def test_scorecard_marks_kpis_the_data_cannot_give(no_service):
    kpis = compute_kpis(no_service, PERIOD)
    targets = pd.DataFrame(
        {"kpi": ["csat", "revenue"], "period": ["2025-06", "2025-06"], "target": [4.0, 1.0]}
    )
    card = kpi_scorecard.scorecard(kpis, targets, PERIOD)
    row = card.set_index("kpi").loc["csat"]
    assert row["status"] == "not available" and row["note"]
    assert card.set_index("kpi").loc["revenue", "status"] == "met"


def test_scorecard_without_targets_is_empty_and_plots_a_note():
    kpis = pd.DataFrame({"available": [True], "note": [""]}, index=["revenue"])
    card = kpi_scorecard.scorecard(kpis, None, PERIOD)
    assert card.empty
    ax = kpi_plots.plot_scorecard(card)
    assert "No target" in ax.texts[0].get_text()


# --- trends ------------------------------------------------------------------------------------


def test_recent_periods_and_trends(company):
    assert [p.label for p in trends.recent_periods("2025-Q1", 2)] == ["2024-Q4", "2025-Q1"]
    with pytest.raises(ValueError, match="n:"):
        trends.recent_periods(PERIOD, 0)
    history = trends.kpi_trends(company, PERIOD, 4)
    periods = sorted(history.index.get_level_values("period").unique())
    assert periods == ["2025-03", "2025-04", "2025-05", "2025-06"]
    assert "revenue" in trends.headline_kpis(history)
    axes = kpi_plots.plot_kpi_trends(history, ["revenue", "orders"], targets=company.targets)
    assert len(axes) == 2


def test_trends_leave_out_periods_before_the_data(company):
    first = company.orders["order_date"].min()
    start = parse_period(first.strftime("%Y-%m"))
    history = trends.kpi_trends(company, start.shift(1), 12)
    assert set(history.index.get_level_values("period")) == {start.label, start.shift(1).label}


# --- teams -------------------------------------------------------------------------------------


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


# --- risks, actions, summary -------------------------------------------------------------------


def test_biggest_risks_order_and_evidence():
    scored = pd.DataFrame(
        {
            "tier": ["A", "B", "A", "C"],
            "churn_probability": [0.8, 0.2, np.nan, 0.6],
            "expected_loss": [80.0, 10.0, np.nan, 10.0],
            "segment_group": ["top", "at_risk", "lapsed", "at_risk"],
            "segment": ["Champions", "At Risk", "Lost", "Can't Lose Them"],
            "monetary": [100.0, 50.0, 10.0, 40.0],
        }
    )
    risks = period_actions.biggest_risks(_card(), scored)
    # the worsening missed target comes first even though NPS is further from its target
    assert risks["risk"].tolist() == [
        "Revenue below target",
        "Churn of the customer base",
        "Good customers slipping away",
    ]
    assert "2 of the 3 customers of the base" in risks.loc[1, "evidence"]
    assert "80% of it in tier-A" in risks.loc[1, "evidence"]
    assert "45% of historical revenue" in risks.loc[2, "evidence"]
    # without scores the other missed targets fill the list
    only_targets = period_actions.biggest_risks(_card(), None)
    assert only_targets["risk"].tolist() == ["Revenue below target", "NPS below target"]


def test_improvement_actions_from_targets_flags_and_risk_list():
    owners = teams_review.TeamScorecard(
        "owner",
        pd.DataFrame(
            {"flags": ["reward", "", "improvement_plan"], "flag_reasons": ["top", "", "bottom"]},
            index=pd.Index(["S1", "S2", "S3"], name="owner_id"),
        ),
    )
    scored = pd.DataFrame({"expected_loss": [5.0, 3.0, np.nan], "owner_id": ["S1", "S2", "S1"]})
    actions = period_actions.improvement_actions(_card(), owners, None, scored, risk_list_size=2)
    assert actions["priority"].tolist() == list(range(1, len(actions) + 1))
    assert actions["area"].tolist() == [
        "Target",
        "Target",
        "Churn risk",
        "Owner scorecard",
        "Owner scorecard",
    ]
    assert actions.loc[0, "action"] == period_actions.KPI_ACTIONS["nps"]  # furthest miss first
    assert "8 of expected" in actions.loc[2, "finding"] and actions.loc[2, "who"].startswith("2")
    assert actions.loc[3, "who"] == "Manager of S3"
    assert actions.loc[4, "action"] == period_actions.FLAG_ACTIONS["reward"]
    assert period_actions.improvement_actions(_card(status=["met"] * 3)).empty


def test_executive_summary_is_generated_from_the_numbers(company):
    kpis = compute_kpis(company, PERIOD)
    card = _card()
    risks = period_actions.biggest_risks(card, None)
    text = review.executive_summary(kpis, card, risks, PERIOD)
    assert text.startswith("In 2025-06: revenue ")
    assert f"{kpis.loc['revenue', 'value']:,.0f}" in text
    assert "**Targets:** 1 of 3 met; missed: NPS, Revenue." in text
    assert "1. **Revenue below target**" in text
    improved = kpis.loc[kpis["available"].astype(bool) & kpis["previous"].notna()]
    if (improved["change"] != 0).any():
        assert "**Improved:**" in text
    empty = review.executive_summary(kpis, card.iloc[0:0], risks.iloc[0:0], PERIOD)
    assert "no target set" in empty


# --- forecast check ----------------------------------------------------------------------------


def _tiny_dataset():
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "signup_date": ["2025-01-01"] * 4}
    )
    orders = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(7)],
            "customer_id": ["a", "b", "c", "d", "a", "c", "c"],
            "order_date": [
                "2025-02-01",
                "2025-02-01",
                "2025-03-01",
                "2025-04-01",
                "2025-06-10",  # a buys in June
                "2025-06-11",  # c buys in June (twice on one day: one purchase)
                "2025-06-11",
            ],
            "amount": ["10", "10", "10", "10", "10", "10", "10"],
        }
    )
    return validate_frames({"customers": customers, "orders": orders})


def test_forecast_check_churn_is_the_auc_of_not_buying_in_the_period():
    ds = _tiny_dataset()
    previous = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "segment": ["Champions", "Lost", "Loyal", "New"],
            "churn_probability": [0.2, 0.9, 0.6, 0.4],
        }
    )
    check = forecast.forecast_check(ds, PERIOD, previous, source="test")
    y = [0, 1, 0, 1]  # a and c bought in June
    assert check.churn["roc_auc"] == pytest.approx(roc_auc_score(y, [0.2, 0.9, 0.6, 0.4]))
    assert check.churn["no_purchase_rate"] == 0.5
    assert check.churn["top_decile_no_purchase_rate"] == 1.0  # b, the riskiest, did not buy
    # fewer than 20 repeat buyers: no purchase model, said so
    assert check.purchases.empty and any("no purchase check" in n for n in check.notes)
    assert check.previous.label == "2025-05" and check.available
    assert "ROC AUC" in check.describe() and plot_forecast_check(check) is None


def test_forecast_check_without_churn_scores_says_so():
    previous = pd.DataFrame({"customer_id": ["a"], "segment": ["Champions"]})
    check = forecast.forecast_check(_tiny_dataset(), PERIOD, previous)
    assert not check.churn and not check.available
    assert check.describe().startswith("**Forecast check:** not available.")
    with pytest.raises(ValueError, match="customer_id"):
        forecast.forecast_check(_tiny_dataset(), PERIOD, pd.DataFrame({"x": [1]}))


def test_forecast_check_purchases_add_up(company):
    previous = pd.DataFrame(
        {
            "customer_id": company.customers["customer_id"],
            "segment": np.where(np.arange(len(company.customers)) % 2, "Odd", "Even"),
        }
    )
    check = forecast.forecast_check(company, PERIOD, previous)
    table = check.purchases
    total = table.loc["total"]
    parts = table.drop(index="total")
    assert set(parts.index) == {"Odd", "Even"}
    assert parts["actual"].sum() == total["actual"]
    assert parts["predicted"].sum() == pytest.approx(total["predicted"])
    assert total["error"] == pytest.approx(total["predicted"] / total["actual"] - 1)
    # actual = purchase days in June of customers who had bought by the end of May
    view = company.as_of(PERIOD.end)
    paid = view.orders.loc[view.orders["status"] == "paid"]
    before = set(paid.loc[paid["order_date"] <= PERIOD.previous().end, "customer_id"])
    june = paid.loc[(paid["order_date"] > PERIOD.previous().end)]
    june = june.loc[june["customer_id"].isin(before)]
    days = june.assign(day=june["order_date"].dt.normalize()).drop_duplicates(
        ["customer_id", "day"]
    )
    assert total["actual"] == len(days)
    assert plot_forecast_check(check) is not None


def test_previous_scored_reuses_a_matching_published_table(company, tmp_path, monkeypatch):
    folder = tmp_path / "2025-05"
    folder.mkdir()
    table = pd.DataFrame({"customer_id": ["x", "y"], "owner_id": ["S1", "S2"]})
    table.to_parquet(folder / "customers_scored.parquet")
    meta = {"data": {"fingerprint": company.fingerprint()}, "parameters": {"seed": 3}}
    (folder / "metrics.json").write_text(json.dumps(meta))
    here = tmp_path / "2025-06" / "customers_scored.parquet"
    out, source = previous.previous_scored(company, PERIOD, seed=3, scored_path=here, owner="S2")
    assert source == "published report of 2025-05" and out["customer_id"].tolist() == ["y"]
    # an owner's report (<out>/<period>/owners/<id>/) finds the company table of last period
    nested = tmp_path / "2025-06" / "owners" / "S2" / "customers_scored.parquet"
    out, source = previous.previous_scored(company, PERIOD, seed=3, scored_path=nested, owner="S2")
    assert source == "published report of 2025-05" and out["customer_id"].tolist() == ["y"]

    calls = {}

    def fake_score(dataset, period, seed=0, **options):
        calls.update(period=period.label, seed=seed)
        calls["horizon"] = options.get("horizon_months")

        class Result:
            scored = table

        return Result()

    monkeypatch.setattr("cpm_analysis.scoring.score_customers", fake_score)
    out, source = previous.previous_scored(company, PERIOD, seed=4, scored_path=here)
    assert source == "rescored at the end of 2025-05"
    assert calls == {"period": "2025-05", "seed": 4, "horizon": 12}
    # other business rules than the published table's: rescored, with those rules
    from cpm_analysis.config import parse_config

    rules = parse_config({"clv": {"horizon_months": 6}})
    out, source = previous.previous_scored(company, PERIOD, seed=3, scored_path=here, config=rules)
    assert source == "rescored at the end of 2025-05" and calls["horizon"] == 6


def test_last_period_is_rescored_with_last_periods_model_choice(company, monkeypatch):
    """The same rule at last period's cutoff on last period's data (or the pinned model)."""
    seen = {}

    def fake_choice(view, cutoff, *, model="auto", **_):
        seen.update(cutoff=cutoff, data_end=view.cutoff, model=model)
        return "last period's choice"

    def fake_score(dataset, period, seed=0, **options):
        seen["choice"] = options.get("model_choice")

        class Result:
            scored = pd.DataFrame({"customer_id": ["x"], "owner_id": ["S1"]})

        return Result()

    monkeypatch.setattr("cpm_analysis.clv.selection.choose_value_model", fake_choice)
    monkeypatch.setattr("cpm_analysis.scoring.score_customers", fake_score)
    from cpm_analysis.config import parse_config

    rules = parse_config({"clv": {"model": "Pareto/NBD"}})
    previous.previous_scored(company, PERIOD, seed=0, config=rules)
    end = PERIOD.previous().end
    assert seen == {
        "cutoff": end,
        "data_end": end,
        "model": "Pareto/NBD",
        "choice": "last period's choice",
    }
