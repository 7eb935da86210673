"""Out-of-time quality of the default churn pipeline on synthetic companies (churn is known).

Two synthetic companies from :func:`cpm_analysis.synthetic.generate`, each backtested over two
consecutive quarters (train at one quarter end with the labels known by the next, score the
next):

- a *frequent-buyer* business (BG/NBD ``r=3, alpha=10``: about four orders a quarter; ``a=1,
  b=40``: a 2.4% chance of leaving after each order), where "no order in 90 days" is close to
  "has left": the bar of issue 4, top-decile lift of at least 3, applies here;
- the generator's *default* business (about one order a quarter, many customers who buy once
  or twice a year), where two thirds of the active base make no order in a given 90 days. The
  top-decile lift can then be at most 1 / 0.63 = 1.6 whatever the model, so the test checks
  that most of that ceiling is reached.

Both check against the generator's truth too: customers who have really dropped out by the
cutoff must get higher scores.
"""

from __future__ import annotations

import numpy as np
from churn_fixtures import one_thread  # noqa: F401 (autouse fixture)
from sklearn.metrics import roc_auc_score

from cpm_analysis.churn import backtest
from cpm_analysis.synthetic import generate

FREQUENT_BUYERS = {"r": 3.0, "alpha": 10.0, "a": 1.0, "b": 40.0}
CUTOFFS = ["2025-03", "2025-06", "2025-09"]


def _truly_gone(sd, predictions):
    truth = sd.truth["customers"]
    out = []
    for cutoff, part in predictions.groupby("cutoff"):
        t = truth.loc[part["customer_id"]]
        gone = (t["dropout_at"].notna() & (t["dropout_at"] <= cutoff)).to_numpy()
        out.append(roc_auc_score(gone, part["y_score"]))
    return np.array(out)


def test_frequent_buyer_business_top_decile_lift_is_at_least_3():
    sd = generate(8_000, seed=7, bgnbd=FREQUENT_BUYERS)
    result = backtest(sd.to_dataset(), CUTOFFS, "90D", importance=False)
    metrics = result.metrics
    assert len(metrics) == 2
    assert (metrics["roc_auc"] > 0.8).all(), metrics["roc_auc"]
    assert (metrics["lift_top_decile"] >= 3.0).all(), metrics["lift_top_decile"]
    assert (metrics["capture_top_decile"] > 0.3).all()
    # calibrated: better than always predicting the churn rate, and right on average
    rate = metrics["churn_rate"]
    assert (metrics["brier"] < 0.75 * rate * (1 - rate)).all()
    by_cutoff = result.predictions.groupby("cutoff")
    assert (by_cutoff["y_score"].mean() - by_cutoff["y_true"].mean()).abs().max() < 0.03
    assert (_truly_gone(sd, result.predictions) > 0.85).all()


def test_default_business_auc_is_well_above_chance():
    sd = generate(6_000, seed=7)
    result = backtest(sd.to_dataset(), CUTOFFS, "90D", importance=False)
    metrics = result.metrics
    assert (metrics["roc_auc"] > 0.72).all(), metrics["roc_auc"]
    ceiling = 1.0 / metrics["churn_rate"]
    assert (metrics["lift_top_decile"] > 0.85 * ceiling).all()
    assert (_truly_gone(sd, result.predictions) > 0.65).all()
