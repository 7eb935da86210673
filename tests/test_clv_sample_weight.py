"""Fitting on a summary's distinct rows with their counts equals fitting on the summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel, rfm_summary
from cpm_analysis.data import load_cdnow


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return rfm_summary(load_cdnow(sample=True), observation_end="1997-09-30", time_unit="W")


def _distinct(summary: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    shuffled = summary.sample(frac=1.0, random_state=3)  # the order must not matter
    rows = shuffled.groupby(columns).size().rename("n").reset_index()
    rows.attrs["time_unit"] = summary.attrs["time_unit"]
    return rows


@pytest.mark.parametrize("model", [BetaGeoModel, ParetoNBDModel])
def test_purchase_models_fit_distinct_rows_to_the_same_parameters(summary, model):
    full = model().fit(summary)
    rows = _distinct(summary, ["frequency", "recency", "T"])
    assert len(rows) < len(summary)
    weighted = model().fit(rows, sample_weight=rows["n"])
    for name, value in full.params_.items():
        assert weighted.params_[name] == pytest.approx(value, rel=1e-12)
    assert weighted.n_customers_ == full.n_customers_ == len(summary)
    assert weighted.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-12)


def test_gamma_gamma_fits_distinct_rows_to_the_same_parameters(summary):
    full = GammaGammaModel().fit(summary)
    rows = _distinct(summary, ["frequency", "monetary_value"])
    weighted = GammaGammaModel().fit(rows, sample_weight=rows["n"])
    for name, value in full.params_.items():
        assert weighted.params_[name] == pytest.approx(value, rel=1e-12)
    assert weighted.n_customers_ == full.n_customers_


def test_weights_change_the_fit(summary):
    heavy = np.where(summary["frequency"] > 0, 5.0, 1.0)
    plain = BetaGeoModel().fit(summary)
    weighted = BetaGeoModel().fit(summary, sample_weight=heavy)
    assert weighted.params_["r"] != pytest.approx(plain.params_["r"], rel=1e-3)


@pytest.mark.parametrize(
    ("weights", "message"),
    [([1.0], "1 weights"), (None, None)],
)
def test_bad_sample_weight_is_named(summary, weights, message):
    if weights is None:
        bad = np.full(len(summary), -1.0)
        with pytest.raises(ValueError, match="sample_weight: weights must be finite"):
            BetaGeoModel().fit(summary, sample_weight=bad)
        with pytest.raises(ValueError, match="sample_weight: at least one"):
            GammaGammaModel().fit(summary, sample_weight=np.zeros(len(summary)))
        return
    with pytest.raises(ValueError, match=f"sample_weight: {message}"):
        BetaGeoModel().fit(summary, sample_weight=weights)
