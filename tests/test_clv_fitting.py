"""Fits on the distinct rows of the period summary (``cpm_analysis.clv.fitting``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cpm_analysis.clv import (
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    fit_on_rows,
    period_summary,
    score_summary,
    summary_rows,
)
from cpm_analysis.synthetic import generate

CUTOFF = pd.Timestamp("2025-06-30 23:59:59.999999999")


@pytest.fixture(scope="module")
def dataset():
    return generate(800, seed=5).to_dataset()


def test_a_fit_on_the_distinct_rows_equals_the_fit_on_every_customer(dataset):
    summary = period_summary(dataset, CUTOFF)
    rows = summary_rows(dataset, CUTOFF)
    assert int(rows["n_customers"].sum()) == len(summary)
    assert len(rows) < len(summary)
    for model in (BetaGeoModel(), GammaGammaModel(exclude_nonpositive=True)):
        reference = type(model)(**model.get_params()).fit(summary)
        fitted = fit_on_rows(model, rows)
        for name, value in reference.params_.items():
            assert fitted.params_[name] == pytest.approx(value, rel=1e-9), name


def test_scores_of_the_whole_data_in_one_step(dataset):
    summary = period_summary(dataset, CUTOFF)
    rows = summary_rows(dataset, CUTOFF)
    bg = fit_on_rows(BetaGeoModel(), rows)
    gg = fit_on_rows(GammaGammaModel(), rows)
    scores = score_summary(dataset, CUTOFF, bg, gg)
    clv = customer_lifetime_value(bg, gg, summary, time_unit="W")
    np.testing.assert_allclose(scores.loc[summary.index, "clv"], clv, rtol=1e-12)


def test_no_rows_to_fit_is_a_clear_error():
    rows = pd.DataFrame(
        {c: pd.Series(dtype=float) for c in ("frequency", "recency", "T", "monetary_value")}
    ).assign(n_customers=pd.Series(dtype="int64"))
    with pytest.raises(ValueError, match="no customers to fit"):
        fit_on_rows(BetaGeoModel(), rows)
