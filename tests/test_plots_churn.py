"""Tests of cpm_analysis.plots.churn (Agg backend, set in conftest)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cpm_analysis.churn import BacktestResult, lift_table
from cpm_analysis.plots.churn import (
    plot_calibration,
    plot_drivers,
    plot_gains,
    plot_lift,
    plot_precision_recall,
    plot_roc,
)


@pytest.fixture(scope="module")
def predictions() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frames = []
    for cutoff in ("2025-06-30", "2025-09-30"):
        y = (rng.random(400) < 0.25).astype(int)
        score = np.clip(0.25 + 0.3 * (y - 0.25) + rng.normal(0, 0.15, 400), 0.01, 0.99)
        frames.append(
            pd.DataFrame(
                {
                    "cutoff": pd.Timestamp(cutoff),
                    "customer_id": [f"C{i}" for i in range(400)],
                    "y_true": y,
                    "y_score": score,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def result(predictions) -> BacktestResult:
    importance = pd.DataFrame(
        {
            "cutoff": np.repeat(pd.to_datetime(["2025-06-30", "2025-09-30"]), 3),
            "feature": ["days_since_last_order", "complaints_90d", "region"] * 2,
            "importance_mean": [0.10, 0.03, 0.001, 0.12, 0.02, -0.001],
            "importance_std": [0.01, 0.005, 0.001, 0.01, 0.004, 0.001],
        }
    )
    empty = pd.DataFrame()
    return BacktestResult(
        metrics=empty, calibration=empty, importance=importance, predictions=predictions
    )


@pytest.mark.parametrize(
    "plot", [plot_roc, plot_precision_recall, plot_calibration, plot_lift, plot_gains]
)
def test_curves_draw_on_the_given_axes(plot, result, predictions):
    fig, ax = plt.subplots()
    assert plot(result, ax=ax) is ax
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    own = plot(predictions.drop(columns="cutoff"))  # one curve, new figure
    assert own is not ax
    plt.close("all")


def test_roc_has_one_curve_per_cutoff_and_the_chance_line(result):
    ax = plot_roc(result)
    labels = [line.get_label() for line in ax.get_lines()]
    assert len(labels) == 3 and labels[-1] == "chance"
    assert labels[0].startswith("2025-06-30: AUC ")
    plt.close("all")


def test_lift_bars_are_the_decile_lifts(predictions):
    single = predictions.loc[predictions["cutoff"] == predictions["cutoff"].iloc[0]]
    ax = plot_lift(single)
    heights = [bar.get_height() for bar in ax.patches]
    expected = lift_table(single["y_true"], single["y_score"])["lift"].tolist()
    assert heights == pytest.approx(expected)
    plt.close("all")


def test_drivers_are_sorted_and_averaged_over_cutoffs(result):
    ax = plot_drivers(result, top=2)
    assert _top_down(ax) == ["days since the last order", "complaints in the last 90 days"]
    widths = sorted(bar.get_width() for bar in ax.patches)
    assert widths == pytest.approx([0.025, 0.11])
    assert _top_down(plot_drivers(pd.Series({"a": 0.2, "b": 0.5}))) == ["b", "a"]
    plt.close("all")


def _top_down(ax) -> list[str]:
    ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    return [t.get_text() for t in ticks]


def test_bad_inputs_are_clear_errors(predictions):
    with pytest.raises(ValueError, match="y_score"):
        plot_roc(predictions.drop(columns="y_score"))
    with pytest.raises(ValueError, match="no rows"):
        plot_gains(predictions.iloc[:0])
    with pytest.raises(ValueError, match="importance_mean"):
        plot_drivers(pd.DataFrame({"feature": ["a"]}))
    with pytest.raises(ValueError, match="top"):
        plot_drivers(pd.Series({"a": 1.0}), top=0)
