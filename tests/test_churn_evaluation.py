"""Tests of cpm_analysis.churn.evaluation: metrics by hand, the out-of-time backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from churn_fixtures import one_thread  # noqa: F401 (autouse fixture)

from cpm_analysis.churn import (
    BacktestResult,
    ChurnModel,
    backtest,
    calibration_table,
    churn_features,
    churn_labels,
    churn_metrics,
    lift_table,
)
from cpm_analysis.periods import to_cutoff
from cpm_analysis.synthetic import generate

# ten customers, scores falling; churners at ranks 1, 2 and 6
Y = np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 0])
S = np.linspace(0.9, 0.0, 10)


def test_lift_table_by_hand():
    table = lift_table(Y, S, n_bins=5)
    assert table["customers"].tolist() == [2, 2, 2, 2, 2]
    assert table["churners"].tolist() == [2, 0, 1, 0, 0]
    # overall rate 0.3: the top fifth churns at 100%, lift 1 / 0.3
    assert table["lift"].tolist() == pytest.approx([1 / 0.3, 0, 0.5 / 0.3, 0, 0])
    assert table["cumulative_capture"].tolist() == pytest.approx([2 / 3, 2 / 3, 1, 1, 1])
    assert table["cumulative_share"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert table["cumulative_lift"].iloc[1] == pytest.approx(0.5 / 0.3)


def test_lift_table_ties_keep_input_order():
    table = lift_table([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], n_bins=2)
    assert table["churners"].tolist() == [1, 1]


def test_calibration_table_by_hand():
    table = calibration_table([0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.8, 0.9], n_bins=3)
    assert table["mean_predicted"].tolist() == pytest.approx([0.15, 0.45, 0.85])
    assert table["observed_rate"].tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_churn_metrics_by_hand():
    m = churn_metrics(Y, S)
    # 21 churner-stayer pairs; the churner at rank 6 is below 3 stayers
    assert m["roc_auc"] == pytest.approx(18 / 21)
    assert m["pr_auc"] == pytest.approx((1 + 1 + 3 / 6) / 3)
    assert m["brier"] == pytest.approx(np.mean((S - Y) ** 2))
    assert m["lift_top_decile"] == pytest.approx(1 / 0.3)
    assert m["capture_top_decile"] == pytest.approx(1 / 3)
    assert m["churn_rate"] == pytest.approx(0.3) and m["customers"] == 10
    one_class = churn_metrics(np.zeros(10), S)
    assert np.isnan(one_class["roc_auc"]) and np.isnan(one_class["pr_auc"])


def test_metric_inputs_are_checked():
    with pytest.raises(ValueError, match="same length"):
        churn_metrics([0, 1], [0.5])
    with pytest.raises(ValueError, match="0/1"):
        churn_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="missing"):
        churn_metrics([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="n_bins"):
        lift_table([0, 1], [0.1, 0.2], n_bins=3)


@pytest.fixture(scope="module")
def company():
    return generate(2500, seed=21).to_dataset()


@pytest.fixture(scope="module")
def result(company):
    model = ChurnModel("logistic", cv=3, random_state=0)
    return backtest(
        company, ["2025-09", "2025-03", "2025-06"], "90D", model=model, clv=False, n_repeats=2
    )


def test_backtest_trains_at_each_cutoff_and_scores_the_next(company, result):
    assert isinstance(result, BacktestResult)
    cutoffs = [to_cutoff(c) for c in ("2025-03", "2025-06", "2025-09")]  # sorted
    assert result.metrics.index.tolist() == cutoffs[1:]
    assert result.metrics["train_cutoff"].tolist() == cutoffs[:-1]
    for train, test in zip(cutoffs[:-1], cutoffs[1:], strict=True):
        labels = churn_labels(company, train, "90D")
        assert result.metrics.loc[test, "train_customers"] == len(labels)
        # the stored model scored the held-out customers of the next cutoff
        held_out = result.predictions.loc[result.predictions["cutoff"] == test]
        expected = churn_labels(company, test, "90D")
        assert held_out["customer_id"].tolist() == expected.index.tolist()
        assert held_out["y_true"].tolist() == expected.tolist()
        X = churn_features(company, test, clv=False).loc[expected.index]
        np.testing.assert_allclose(held_out["y_score"], result.models[test].predict_proba(X)[:, 1])
        assert result.metrics.loc[test, "roc_auc"] == pytest.approx(
            churn_metrics(held_out["y_true"], held_out["y_score"])["roc_auc"]
        )


def test_backtest_tables(result):
    expected = {"roc_auc", "pr_auc", "brier", "lift_top_decile", "capture_top_decile"}
    assert expected <= set(result.metrics.columns)
    assert (result.metrics["model"] == "logistic").all()
    assert set(result.calibration.columns) == {
        "cutoff",
        "bin",
        "customers",
        "mean_predicted",
        "observed_rate",
    }
    assert result.calibration.groupby("cutoff").size().tolist() == [10, 10]
    assert set(result.importance["cutoff"]) == set(result.metrics.index)
    drivers = result.drivers()
    assert drivers.index.is_unique and "days_since_last_order" in drivers.index
    assert drivers["importance_mean"].is_monotonic_decreasing
    # the recency of the last order matters more than the customer's region
    assert (
        drivers.loc["days_since_last_order", "importance_mean"]
        > drivers.loc["region", "importance_mean"]
    )
    summary = result.summary()
    assert summary["roc_auc"] == pytest.approx(result.metrics["roc_auc"].mean())


def test_backtest_is_deterministic(company, result):
    again = backtest(
        company,
        ["2025-03", "2025-06", "2025-09"],
        "90D",
        model=ChurnModel("logistic", cv=3, random_state=0),
        clv=False,
        importance=False,
    )
    pd.testing.assert_frame_equal(again.predictions, result.predictions)
    assert again.importance.empty


def test_backtest_refuses_what_would_not_be_out_of_time(company):
    with pytest.raises(ValueError, match="at least two cutoffs"):
        backtest(company, ["2025-06"], "90D")
    with pytest.raises(ValueError, match="closer than the horizon"):
        backtest(company, ["2025-05", "2025-06"], "90D")
    with pytest.raises(ValueError, match="past the end of the data"):
        backtest(company, ["2025-06", "2025-12"], "90D", clv=False)
