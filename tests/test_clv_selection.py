"""Tests of the purchase-model choice on a holdout (cpm_analysis/clv/selection.py, issue 16.5).

The routes (contractual -> sBG, discrete -> BG/BB, else the continuous candidates), the stated
rule (lowest error by calibration frequency group, near ties to the simpler model), the pin of
``clv.model``, failed candidates, and that the scoring fits the model the choice took.
"""

from __future__ import annotations

import typing

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.clv import selection
from cpm_analysis.clv.selection import (
    MODEL_NAMES,
    SIMPLICITY,
    TIE_MARGIN,
    choose_value_model,
    discrete_opportunities,
)
from cpm_analysis.config import CLVConfig, ConfigError, parse_config
from cpm_analysis.synthetic import generate, generate_contractual, generate_discrete

CUTOFF = "2025-06-30"


@pytest.fixture(scope="module")
def bgnbd_company():
    """2,000 customers whose purchases follow BG/NBD (the generator's default parameters)."""
    return generate(2000, seed=21).to_dataset()


@pytest.fixture(scope="module")
def bgnbd_choice(bgnbd_company):
    return choose_value_model(bgnbd_company, CUTOFF)


def _errors(choice):
    fitted = choice.table.loc[choice.table["group_error"].notna()]
    return dict(zip(fitted["model"], fitted["group_error"], strict=True))


def test_on_bgnbd_data_the_choice_is_bgnbd_or_a_near_tie_with_the_best(bgnbd_choice):
    choice = bgnbd_choice
    assert choice.route == "continuous"
    errors = _errors(choice)
    assert set(errors) == set(SIMPLICITY)
    best = min(errors.values())
    assert choice.chosen == "BG/NBD" or errors[choice.chosen] <= best + TIE_MARGIN
    # the rule: BG/NBD, the simplest, is chosen whenever it is within the margin of the best
    if errors["BG/NBD"] <= best + TIE_MARGIN:
        assert choice.chosen == "BG/NBD"
    assert choice.chosen in choice.reason and not choice.pinned


def test_the_comparison_lists_every_candidate_with_its_holdout_numbers(bgnbd_choice):
    table = bgnbd_choice.table
    assert table["model"].tolist() == list(MODEL_NAMES)
    assert (table["status"] == "chosen").sum() == 1
    fitted = table.loc[table["model"].isin(SIMPLICITY)]
    assert fitted["actual"].nunique() == 1 and (fitted["predicted"] > 0).all()
    np.testing.assert_allclose(fitted["total_error"], fitted["predicted"] / fitted["actual"] - 1)
    others = table.set_index("model").loc[["BG/BB", "sBG"], "status"]
    assert (others == "not applicable").all()
    by_group = bgnbd_choice.by_group
    assert by_group.index.tolist() == [str(i) for i in range(7)] + ["7+", "total"]
    assert set(SIMPLICITY) <= set(by_group.columns)
    assert by_group.loc["total", "actual"] == fitted["actual"].iloc[0]


def test_the_group_error_is_the_groups_absolute_error_over_the_holdout_purchases(bgnbd_choice):
    groups = bgnbd_choice.by_group.drop(index="total")
    for name, error in _errors(bgnbd_choice).items():
        expected = (groups[name] - groups["actual"]).abs().sum() / groups["actual"].sum()
        assert error == pytest.approx(expected)


def test_the_tracking_series_is_weekly_cumulative_and_ends_at_the_cutoff(bgnbd_choice):
    tracking = bgnbd_choice.tracking
    assert list(tracking.columns) == ["actual", *SIMPLICITY]
    assert (np.diff(tracking.index.values).astype("timedelta64[D]").astype(int) == 7).all()
    assert tracking.index[-1] == pd.Timestamp(CUTOFF)
    assert (tracking.diff().dropna() >= -1e-9).all().all()
    # the last actual point is every repeat transaction of the calibration cohort
    total = bgnbd_choice.by_group.loc["total", "actual"]
    assert tracking["actual"].iloc[-1] >= total


def test_near_ties_go_to_the_simpler_model_and_clear_wins_to_the_best():
    def rows(errors):
        return [selection._row(m, "fitted", group_error=e) for m, e in errors.items()]

    tie = {"BG/NBD": 0.110, "Pareto/NBD": 0.095, "MBG/NBD": 0.120}
    chosen, reason = selection._pick(rows(tie), TIE_MARGIN)
    assert chosen == "BG/NBD" and "simpler model" in reason
    clear = {"BG/NBD": 0.150, "Pareto/NBD": 0.095, "MBG/NBD": 0.120}
    chosen, reason = selection._pick(rows(clear), TIE_MARGIN)
    assert chosen == "Pareto/NBD" and "predicted the holdout best" in reason
    failed = [*rows({"BG/NBD": 0.01})[:0], selection._row("BG/NBD", "failed", "boom")]
    assert selection._pick(failed + rows({"MBG/NBD": 0.2}), TIE_MARGIN)[0] == "MBG/NBD"


def test_discrete_data_takes_the_bgbb_route():
    sd = generate_discrete(3000, seed=4)
    ds = sd.to_dataset()
    assert discrete_opportunities(ds, "2024-12-31")[0] == "Y"
    choice = choose_value_model(ds, "2024-12-31")
    assert (choice.route, choice.chosen, choice.opportunity) == ("discrete", "BG/BB", "Y")
    assert "once a year" in choice.reason
    row = choice.table.set_index("model").loc["BG/BB"]
    assert row["status"] == "chosen" and abs(row["total_error"]) < 0.1
    assert (
        choice.table.set_index("model").loc[list(SIMPLICITY), "status"] == "not applicable"
    ).all()
    assert choice.unit == "years" and choice.holdout == 2
    # the fit recovers the generator's parameters roughly (calibration window only)
    params = choice.model.params_
    assert params["alpha"] / (params["alpha"] + params["beta"]) == pytest.approx(
        1.2 / (1.2 + 0.75), abs=0.08
    )
    assert list(choice.tracking.columns) == ["actual", "BG/BB"]


def test_retail_data_is_not_discrete(bgnbd_company):
    unit, evidence = discrete_opportunities(bgnbd_company, CUTOFF)
    assert unit is None and evidence["share"]["Y"] > selection.DISCRETE_MAX_SHARE


def test_contract_ends_take_the_sbg_route():
    ds = generate_contractual(1500, seed=3).to_dataset()
    choice = choose_value_model(ds, "2025-12-31")
    assert (choice.route, choice.chosen) == ("contractual", "sBG")
    assert "customers.churned_at" in choice.reason
    table = choice.table.set_index("model")
    assert table.loc["sBG", "status"] == "chosen"
    assert (table.drop(index="sBG")["status"] == "not applicable").all()
    assert abs(table.loc["sBG", "total_error"]) < 0.15
    assert choice.by_group.index.name == "renewals"
    truth = {"alpha": 0.7, "beta": 2.5}
    mean = choice.model.params_["alpha"] / sum(choice.model.params_.values())
    assert mean == pytest.approx(truth["alpha"] / sum(truth.values()), abs=0.05)


def test_a_pinned_model_is_used_and_the_comparison_still_shown(bgnbd_company):
    choice = choose_value_model(bgnbd_company, CUTOFF, model="MBG/NBD")
    assert choice.chosen == "MBG/NBD" and choice.pinned
    assert choice.reason == "MBG/NBD: pinned in the configuration (clv.model)."
    table = choice.table.set_index("model")
    assert table.loc["MBG/NBD", "status"] == "chosen"
    assert table.loc[["BG/NBD", "Pareto/NBD"], "group_error"].notna().all()


def test_an_unknown_model_is_a_clear_error(bgnbd_company):
    with pytest.raises(ValueError, match="model: expected 'auto' or one of 'BG/NBD'"):
        choose_value_model(bgnbd_company, CUTOFF, model="Pareto")
    with pytest.raises(ConfigError, match="key clv.model: Input should be 'auto', 'BG/NBD'"):
        parse_config({"clv": {"model": "pareto"}}, source="cpm.yaml")
    assert parse_config({"clv": {"model": "Pareto/NBD"}}).clv.model == "Pareto/NBD"


def test_the_configuration_knows_every_candidate():
    names = typing.get_args(CLVConfig.model_fields["model"].annotation)
    assert names == ("auto", *MODEL_NAMES)
    assert CLVConfig().model == "auto"


class _Broken:
    def fit(self, summary, sample_weight=None):
        raise ValueError("the optimiser exploded")


def test_a_candidate_that_raises_is_listed_as_failed_not_fatal(bgnbd_company, monkeypatch):
    monkeypatch.setitem(selection.CONTINUOUS_MODELS, "Pareto/NBD", _Broken)
    choice = choose_value_model(bgnbd_company, CUTOFF)
    row = choice.table.set_index("model").loc["Pareto/NBD"]
    assert row["status"] == "failed" and "the optimiser exploded" in row["note"]
    assert choice.chosen in ("BG/NBD", "MBG/NBD")
    assert "Pareto/NBD" not in choice.tracking.columns


def test_without_holdout_evidence_the_default_is_used_and_the_reason_says_why():
    ds = generate(60, seed=2).to_dataset()
    choice = choose_value_model(ds, "2022-03-31")
    assert choice.chosen == "BG/NBD" and "no holdout evidence" in choice.reason
    assert len(choice.tracking) == 0


@pytest.mark.slow
def test_the_scoring_fits_the_model_the_choice_took(bgnbd_company):
    from cpm_analysis.clv import ParetoNBDModel
    from cpm_analysis.scoring import score_customers

    choice = choose_value_model(bgnbd_company, CUTOFF, model="Pareto/NBD")
    result = score_customers(bgnbd_company, "2025-06", model_choice=choice)
    assert isinstance(result.models["purchase"], ParetoNBDModel)
    assert result.models["bgnbd"] is None
    assert result.metrics["models"]["model_choice"]["model"] == "Pareto/NBD"
    assert result.metrics["models"]["purchase"]["name"] == "Pareto/NBD"
    assert result.scored["p_alive"].notna().any()


@pytest.mark.slow
def test_the_period_pipeline_scores_contracts_with_sbg():
    from cpm_analysis.clv import ShiftedBetaGeoModel
    from cpm_analysis.pipeline import build_period

    ds = generate_contractual(600, seed=5).to_dataset()
    result = build_period(ds, "2025-12")
    assert result.model_choice.chosen == "sBG"
    assert isinstance(result.models["purchase"], ShiftedBetaGeoModel)
    scored = result.scored.set_index("customer_id")
    ended = ds.customers.set_index("customer_id")["churned_at"].notna()
    assert (scored.loc[ended[ended].index, "clv"] == 0).all()
    assert (scored.loc[ended[~ended].index, "clv"] > 0).all()
    # the CLV page: sBG's own fit, its contract holdout, and what it does not draw
    from cpm_analysis.clv.checks import matrix_model, model_parameters

    assert list(result.value_models) == ["sBG"]
    assert result.value_models["sBG"] is result.models["purchase"]
    assert "contract renewals" in matrix_model(result.value_models).text
    meanings = model_parameters(result.value_models).set_index("parameter")["meaning"]
    assert "per renewal" in meanings["alpha"]
    check = result.calibration
    assert check.model is result.model_choice.model and check.measure == "contracts still running"
    assert "6-month holdout sBG predicted" in check.verdict()
    assert check.report.attrs["groups"] == "Renewals before the holdout"
    # the intervals of the pages: sBG's own draws, around the scored totals
    tiers = result.value_intervals["clv_by_tier"]
    assert isinstance(tiers, pd.DataFrame) and result.value_draws.summary is not None
    totals = scored.groupby("tier")["clv"].sum()
    np.testing.assert_allclose(tiers["total"], totals.reindex(tiers.index), rtol=1e-9)
    assert (tiers["lower"] <= tiers["upper"]).all()
    risk = result.value_intervals["risk_by_owner"]
    assert isinstance(risk, pd.DataFrame) and (risk["lower"] <= risk["upper"]).all()


def test_the_discrete_route_scores_every_customer_with_bgbb():
    from cpm_analysis.clv import BetaGeoBetaBinomModel
    from cpm_analysis.clv.routes import score_route

    sd = generate_discrete(2000, seed=6)
    scores, models, metrics = score_route(sd.to_dataset(), "2024-12-31", "BG/BB", opportunity="Y")
    assert isinstance(models["purchase"], BetaGeoBetaBinomModel)
    assert metrics["opportunity"] == "year" and metrics["opportunities_valued"] == 1
    alive = sd.truth["customers"]["alive"].reindex(scores.index).to_numpy(dtype=bool)
    assert scores.loc[alive, "p_alive"].mean() > scores.loc[~alive, "p_alive"].mean() + 0.2
    assert (scores["clv"] >= 0).all()
    assert scores["expected_purchases_90d"].between(0, 0.25).all()  # a quarter of a year's one
    truth = sd.truth["bgbb"]
    params = models["purchase"].params_
    assert params["gamma"] / (params["gamma"] + params["delta"]) == pytest.approx(
        truth["gamma"] / (truth["gamma"] + truth["delta"]), abs=0.06
    )


def test_route_scoring_rejects_what_it_cannot_score():
    from cpm_analysis.clv.routes import score_route

    ds = generate_discrete(200, seed=1).to_dataset()
    with pytest.raises(ValueError, match="model: expected one of 'BG/BB', 'sBG'"):
        score_route(ds, "2024-12-31", "BG/NBD")
    with pytest.raises(ValueError, match="opportunity: BG/BB needs 'Y' or 'Q'"):
        score_route(ds, "2024-12-31", "BG/BB")


def test_the_tracking_plot_draws_every_candidate_or_says_why_not(bgnbd_choice):
    import matplotlib.pyplot as plt

    from cpm_analysis.plots.clv import plot_model_tracking

    ax = plot_model_tracking(bgnbd_choice)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[0] == "actual" and f"{bgnbd_choice.chosen} (chosen)" in labels
    assert len(labels) == 1 + len(SIMPLICITY) + 1  # the calibration end
    plt.close(ax.figure)
    contracts = choose_value_model(generate_contractual(400, seed=2).to_dataset(), "2025-12-31")
    ax = plot_model_tracking(contracts)
    assert ax.get_ylabel() == "Contracts still running"
    plt.close(ax.figure)
    nothing = choose_value_model(generate(60, seed=2).to_dataset(), "2022-03-31")
    ax = plot_model_tracking(nothing)
    assert "nothing to track" in ax.texts[0].get_text() and not ax.axison
    plt.close(ax.figure)


def test_the_contract_tracking_counts_the_running_contracts_of_the_cohort():
    sd = generate_contractual(800, seed=7)
    choice = choose_value_model(sd.to_dataset(), "2025-12-31")
    tracking = choice.tracking
    customers = sd.tables["customers"]
    cohort = customers["signup_date"] <= choice.calibration_end
    at_end = cohort & ~(customers["churned_at"] <= pd.Timestamp("2025-12-31 23:59:59"))
    assert tracking["actual"].iloc[-1] == at_end.sum()
    assert tracking.index[-1] == pd.Timestamp("2025-12-31")
    # the model's running contracts follow the actual ones within 10% over the holdout
    holdout = tracking.loc[tracking.index > choice.calibration_end]
    assert ((holdout["sBG"] / holdout["actual"] - 1).abs() < 0.1).all()


def test_on_cdnow_mbgnbd_is_chosen_on_the_holdout():
    """The full CDNOW cohort (1997-1998), 26-week holdout to the end of June 1998."""
    from cpm_analysis.data import load_cdnow

    end = pd.Timestamp("1998-06-30 23:59:59.999999999")
    choice = choose_value_model(load_cdnow().as_of(end), end)
    table = choice.table.set_index("model")
    assert (table.loc[list(SIMPLICITY), "status"] != "failed").all()
    assert table.loc["BG/NBD", "actual"] == 12_320
    assert choice.chosen == "MBG/NBD"
    assert table.loc["MBG/NBD", "group_error"] + TIE_MARGIN < table.loc["BG/NBD", "group_error"]
    # the one-time buyers' holdout purchases are where MBG/NBD does better
    zero = choice.by_group.loc["0"]
    assert abs(zero["MBG/NBD"] - zero["actual"]) < abs(zero["BG/NBD"] - zero["actual"])


def test_on_superstore_candidates_that_do_not_converge_are_listed_with_why():
    from cpm_analysis.data import data_dir, load

    end = pd.Timestamp("2022-11-30 23:59:59.999999999")
    choice = choose_value_model(load(data_dir() / "external" / "superstore").as_of(end), end)
    table = choice.table.set_index("model")
    failed = table.loc[table["status"] == "failed"]
    assert len(failed) >= 1
    assert failed["note"].str.startswith("the fit did not converge").all()
    assert choice.chosen not in failed.index
    assert not set(failed.index) & set(choice.tracking.columns)
