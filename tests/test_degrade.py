"""Incomplete data degrades, it never fails: cpm_analysis.availability and its users.

Page 01's "What the data allows" and the sections of the pages read the same checks, so for
each incomplete variant of the sample the verdict of page 01 is what the section functions do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from variants import PERIOD, VARIANTS

from cpm_analysis import scoring, teams_review
from cpm_analysis.availability import Check, Unavailable
from cpm_analysis.churn import period_backtest
from cpm_analysis.churn import risk as churn_risk
from cpm_analysis.churn.evaluation import (
    backtest_plan,
    churn_windows,
    training_window,
    window_cutoffs,
)
from cpm_analysis.clv import checks as clv_checks
from cpm_analysis.clv import forecast
from cpm_analysis.clv import tables as clv_tables
from cpm_analysis.clv.selection import choose_value_model
from cpm_analysis.data import load
from cpm_analysis.periods import parse_period
from cpm_analysis.pipeline.availability import capabilities
from cpm_analysis.pipeline.availability import checks as all_checks
from cpm_analysis.report import availability, tables
from cpm_analysis.segments import period as segment_period

# --- the null object ---------------------------------------------------------------------------


def test_an_unavailable_result_shows_its_sentence_once_and_stands_in_for_the_result():
    gone = Check("The churn backtest", False, "orders", "one year of orders").missing()
    assert gone.text == "The churn backtest is not available: one year of orders."
    assert not gone and not gone.available
    assert gone.predictions is gone and gone.drivers().head(12) is gone and gone["x"] is gone
    assert gone._repr_markdown_() == "*The churn backtest is not available: one year of orders.*"
    assert gone._repr_markdown_() == ""  # the chart and the table that follow show nothing
    with pytest.raises(AttributeError):
        gone._private  # noqa: B018 - IPython's probes of private names are not answered


def test_iterating_an_unavailable_result_ends_at_once():
    # __getitem__ returns the object itself, so without __iter__ a list comprehension over
    # ``gone.index`` would run until the kernel ran out of memory (page 04, few repeat buyers)
    from cpm_analysis.churn.feature_names import labelled_drivers

    gone = Unavailable("x")
    assert list(gone) == [] and [n for n in gone.drivers().index] == []
    assert labelled_drivers(gone.drivers().head(12)) is gone


def test_chart_skips_the_drawing_when_an_input_is_missing(monkeypatch):
    shown = []
    gone = Unavailable("x")
    monkeypatch.setattr(Unavailable, "display", lambda self: shown.append(self.text))
    calls = []
    assert availability.chart(calls.append, gone) is None
    assert availability.chart(lambda *a, **k: "drawn", 1, when=gone) is None
    assert calls == [] and shown == ["x", "x"]
    assert availability.chart(lambda v: v * 2, 2) == 4


def test_the_sentence_is_escaped_as_markdown():
    gone = Unavailable("a *bold* <script> [link](x)")
    text = gone._repr_markdown_()
    assert "<script>" not in text and "\\*bold\\*" in text and "\\[link\\]" in text


def test_show_passes_an_unavailable_result_through():
    from cpm_analysis.report.params import ReportContext

    gone = Unavailable("x")
    ctx = ReportContext.__new__(ReportContext)
    assert ReportContext.show(ctx, gone) is gone
    empty = ReportContext.show(ctx, pd.DataFrame({"a": []}), caption="Improvement actions")
    assert empty.text == "Improvement actions: none."  # a sentence, not a "No rows." table


def test_no_fallen_customer_is_a_sentence_not_an_empty_table():
    from cpm_analysis.segments import segment_migration

    stayed = segment_migration(pd.Series({"a": "Champions"}), pd.Series({"a": "Champions"}))
    out = segment_period.fallen_customers(stayed, pd.DataFrame({"customer_id": ["a"]}))
    assert out.text == "No customer fell from a top segment since the previous period."


# --- numbers that cannot be computed ----------------------------------------------------------


def test_tables_never_show_nan_or_inf():
    frame = pd.DataFrame(
        {
            "error": [np.inf, -np.inf, np.nan, 0.25],
            "predicted": [-np.inf, 1.0, np.nan, 2.0],
        }
    )
    html = tables.to_html(frame, percent=["error"])
    for bad in ("inf", "nan", "NaN"):
        assert bad not in html
    assert html.count(tables.MISSING) == 5 and "25.0%" in html


def test_calibration_verdict_without_holdout_purchases_says_the_error_is_not_available():
    report = pd.DataFrame({"actual": [0.0], "predicted": [12.0]}, index=["total"])
    check = clv_checks.CalibrationCheck(
        None, None, report, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-07-01")
    )
    text = check.verdict()
    assert "not available" in text and "nan" not in text and "inf" not in text
    report.loc["total", "predicted"] = -np.inf
    assert "not available" in check.verdict() and "inf" not in check.verdict()


def test_forecast_check_with_no_repeat_purchase_says_so_instead_of_inf_percent():
    purchases = pd.DataFrame(
        {"customers": [10], "predicted": [3.0], "actual": [0.0], "error": [np.nan]},
        index=["total"],
    )
    text = forecast.ForecastCheck(purchases, {}, parse_period("2025-05")).describe()
    assert "error is not available" in text and "nan" not in text and "inf" not in text


def test_value_model_health_says_when_no_dropout_is_detected():
    class Flat:
        converged_ = True

        def probability_alive(self, summary):
            return np.ones(len(summary))

    summary = pd.DataFrame({"frequency": [0, 2, 3]})
    text = clv_checks.value_model_health({"BG/NBD": Flat()}, summary)
    assert "no detectable dropout" in text

    class Stuck(Flat):
        converged_ = False

        def probability_alive(self, summary):
            return np.array([0.2, 0.5, 0.9])[: len(summary)]

    text = clv_checks.value_model_health({"BG/NBD": Stuck()}, summary)
    assert "did not converge" in text and "dropout" not in text


# --- churn windows ------------------------------------------------------------------------------


def test_a_long_history_keeps_the_standard_quarterly_backtest():
    window, cutoffs = backtest_plan("2022-01-03", "2025-06-30 23:59:59")
    assert window.standard
    assert [c.strftime("%Y-%m-%d") for c in cutoffs] == ["2024-09-30", "2024-12-31", "2025-03-31"]


def test_a_one_year_export_still_gets_a_backtest_with_a_shorter_window():
    window, cutoffs = backtest_plan("2010-12-01", "2011-11-30 23:59:59")
    assert not window.standard and window.horizon.days == 90
    assert window.active_window.days == 180 and len(cutoffs) == 2
    # honest: every label is known at the next cutoff, the last at the end of the period
    for earlier, later in zip(cutoffs[:-1], cutoffs[1:], strict=True):
        assert later - earlier >= window.horizon
    assert cutoffs[-1] + window.horizon <= pd.Timestamp("2011-11-30 23:59:59")
    assert cutoffs[0] >= pd.Timestamp("2010-12-01") + window.active_window


def test_too_short_a_history_names_what_a_backtest_needs():
    with pytest.raises(ValueError, match="needs about 5 months of orders"):
        backtest_plan("2025-03-01", "2025-06-30 23:59:59")
    shortest = churn_windows()[-1]
    assert len(window_cutoffs("2025-03-01", "2025-06-30", shortest)) == 1  # a backtest needs 2
    assert training_window("2025-03-01", "2025-06-30 23:59:59") is not None
    assert training_window("2025-06-01", "2025-06-30 23:59:59") is None


def test_the_backtest_plan_uses_the_configured_windows():
    monthly = [("30D", "120D"), ("14D", "60D")]
    window, cutoffs = backtest_plan("2024-12-01", "2025-06-30 23:59:59", windows=monthly)
    assert (window.horizon.days, window.active_window.days) == (30, 120)
    assert [c.strftime("%Y-%m-%d") for c in cutoffs] == ["2025-03-31", "2025-04-30", "2025-05-31"]
    # the built-in windows need more history than the configured ones
    with pytest.raises(ValueError, match="needs about 5 months"):
        backtest_plan("2025-03-01", "2025-06-30 23:59:59")
    window, _ = backtest_plan("2025-03-01", "2025-06-30 23:59:59", windows=monthly)
    assert window.horizon.days == 14
    with pytest.raises(ValueError, match="needs about 3 months of orders"):
        backtest_plan("2025-05-01", "2025-06-30 23:59:59", windows=monthly)


# --- page 01 equals the pages ----------------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request, tmp_path_factory):
    folder = VARIANTS[request.param](tmp_path_factory.mktemp(request.param))
    dataset = load(folder)
    period = parse_period(PERIOD)
    return request.param, dataset.as_of(period.end), period


def test_every_variant_is_usable_and_page_01_lists_every_check(variant):
    name, view, period = variant
    caps = capabilities(view, period)
    checks = all_checks(view, period)
    assert caps["analysis"].tolist() == [c.analysis for c in checks]
    assert caps["available"].tolist() == [c.available for c in checks]
    expected_missing = {
        "no_tickets": {"Service KPIs", "Agent scorecards"},
        "no_targets": {"SMART goals"},
        "no_staff_or_owners": {"Account owner books", "Team scorecards", "Blended assessments"},
        "one_year": set(),
        "few_repeat_buyers": {"Lifetime value and P(alive)", "The lifetime-value holdout check"},
        "no_orders_in_period": {"Sales KPIs"},
        "no_surveys": {"NPS"},
    }[name]
    missing = set(caps.loc[~caps["available"], "analysis"])
    assert expected_missing <= missing, missing


def test_page_01_verdict_is_what_the_sections_do(variant):
    name, view, period = variant
    caps = capabilities(view, period).set_index("analysis")["available"]
    # the CLV sections read the scoring's fits and the model choice's holdout (no refit)
    choice = choose_value_model(view, period.end)
    _, fitted, _, _ = scoring._clv_block(view, period.end, choice=choice, view=view)
    models, _ = clv_checks.period_value_models(fitted, choice, view, period.end)
    assert caps["Lifetime value and P(alive)"] == (not isinstance(models, Unavailable))
    check = clv_checks.choice_calibration(choice, view, period.end)
    assert caps["The lifetime-value holdout check"] == (not isinstance(check, Unavailable))
    owners = teams_review.team_scorecard(view, period, "owner")
    assert caps["Account owner books"] == owners.available
    agents = teams_review.team_scorecard(view, period, "agent")
    assert caps["Agent scorecards"] == agents.available
    migration = segment_period.period_migration(view, period)
    assert caps["Segment migration"] == (not isinstance(migration, Unavailable))
    segments = segment_period.segment_table(view, period.end)
    clusters = segment_period.behaviour_clusters(segments, view, period.end)
    assert caps["Behavioural clusters"] == (not isinstance(clusters, Unavailable))
    if caps["The churn backtest"]:
        period_backtest.backtest_cutoffs(view, period)  # planned (the run itself is in the gallery)
    else:
        assert isinstance(period_backtest.churn_backtest(view, period), Unavailable)
    if name == "one_year":
        caps_detail = capabilities(view, period).set_index("analysis")["detail"]
        assert "shorter than the standard" in caps_detail["The churn backtest"]
        assert "shorter than the standard" in caps_detail["Churn model"]


def test_sections_without_owners_say_so_in_one_sentence():
    scored = pd.DataFrame({"customer_id": ["a"], "clv": [1.0], "segment": ["Lost"]})
    gone = clv_tables.value_by(scored, "owner_id")
    assert isinstance(gone, Unavailable)
    assert gone.text == (
        "Lifetime value by account owner is not available: the customers have no owner_id, "
        "so there are no account owners."
    )
    assert isinstance(churn_risk.risk_table(scored), Unavailable)
    assert isinstance(churn_risk.risk_overview(scored), Unavailable)
    assert isinstance(clv_tables.top_customers(scored.drop(columns="clv")), Unavailable)
