"""Tests of cpm_analysis.plots.clv (Agg backend, set in conftest)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

from cpm_analysis.clv import BetaGeoModel, ParetoNBDModel, calibration_holdout_report, rfm_summary
from cpm_analysis.data import load_cdnow
from cpm_analysis.plots.clv import (
    plot_calibration_purchases_vs_holdout_purchases,
    plot_cumulative_transactions,
    plot_frequency_recency_matrix,
    plot_probability_alive_matrix,
)

CAL, OBS = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow(sample=True)


@pytest.fixture(scope="module")
def summary(cdnow):
    return rfm_summary(cdnow.orders, calibration_end=CAL, observation_end=OBS)


@pytest.fixture(scope="module")
def bgf(summary):
    return BetaGeoModel().fit(summary)


@pytest.fixture(autouse=True)
def _no_show_and_close(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("plots must not call plt.show()")

    monkeypatch.setattr(plt, "show", refuse)
    yield
    plt.close("all")


def test_frequency_recency_matrix_holds_the_model_values(bgf):
    ax = plot_frequency_recency_matrix(bgf, t=4, max_frequency=10, max_recency=30, n_recency=31)
    assert isinstance(ax, Axes)
    matrix = np.asarray(ax.get_images()[0].get_array())
    assert matrix.shape == (11, 31)
    cell = pd.DataFrame({"frequency": [5.0], "recency": [12.0], "T": [30.0]})
    assert matrix[5, 12] == pytest.approx(bgf.expected_purchases(4, cell).iloc[0])
    assert "weeks" in ax.get_xlabel()
    # defaults come from the fitted customers
    ax = plot_frequency_recency_matrix(bgf)
    assert (
        np.asarray(ax.get_images()[0].get_array()).shape[0]
        == int(bgf._fitted["frequency"].max()) + 1
    )


def test_probability_alive_matrix(bgf, summary):
    _, given = plt.subplots()
    ax = plot_probability_alive_matrix(bgf, max_frequency=5, max_recency=39, n_recency=40, ax=given)
    assert ax is given
    matrix = np.asarray(ax.get_images()[0].get_array())
    assert np.all(matrix[0] == 1.0)  # BG/NBD: no repeat purchase, no chance to drop out
    assert np.all((matrix >= 0) & (matrix <= 1))
    assert np.all(np.diff(matrix[3]) >= 0)  # more recent last purchase, more likely alive
    pareto = ParetoNBDModel().fit(summary)
    assert isinstance(plot_probability_alive_matrix(pareto, max_frequency=3), Axes)


def test_calibration_plot_from_a_report_or_a_model(bgf, summary):
    report = calibration_holdout_report(bgf, summary)
    ax = plot_calibration_purchases_vs_holdout_purchases(report)
    actual, model = ax.get_lines()
    np.testing.assert_allclose(actual.get_ydata(), report["actual_mean"].iloc[:-1])
    np.testing.assert_allclose(model.get_ydata(), report["predicted_mean"].iloc[:-1])
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "7+"
    ax = plot_calibration_purchases_vs_holdout_purchases(bgf, summary, max_frequency=4)
    assert len(ax.get_lines()[0].get_ydata()) == 5
    with pytest.raises(ValueError, match="summary"):
        plot_calibration_purchases_vs_holdout_purchases(bgf)


def test_cumulative_transactions(bgf, cdnow, summary):
    ax = plot_cumulative_transactions(
        bgf, cdnow.orders, calibration_end=CAL, observation_end=OBS, time_unit="W"
    )
    actual, expected = ax.get_lines()[:2]
    # every CDNOW customer is in the calibration cohort: all repeat transactions to the end
    total = summary["frequency"].sum() + summary["frequency_holdout"].sum()
    assert actual.get_ydata()[-1] == total == 4339
    # the convolution equals the sum over customers of E[X(time since first purchase)]
    observed_for = summary["T"] + summary["duration_holdout"]
    direct = bgf.expected_purchases_new_customer(observed_for.to_numpy()).sum()
    assert expected.get_ydata()[-1] == pytest.approx(direct, rel=1e-9)
    assert abs(expected.get_ydata()[-1] - total) / total < 0.1  # the model tracks the data
    assert len(ax.get_lines()) == 3  # plus the calibration-end marker
