"""Churn: who is likely to leave next period, why, and how much that puts at risk.

The churn step of the CPM loop ("analyse the churned customers to learn why they left, then act
to keep the rest"), in five pieces:

- :func:`churn_labels` / :func:`active_customers`: who counts as a customer at a cutoff and who
  churned in the following horizon (contractual or non-contractual rule);
- :func:`churn_features`: point-in-time features per customer (recency, frequency, spend
  windows and trend, service tickets and complaints, CSAT, NPS, BG/NBD P(alive), attributes);
- :class:`ChurnModel`: a calibrated scikit-learn classifier that also takes any customer table
  of mixed columns, with :meth:`ChurnModel.explain` reason codes;
- :func:`backtest`: out-of-time evaluation over consecutive cutoffs (ROC AUC, PR AUC, Brier,
  top-decile lift and capture, calibration, permutation importance);
- :func:`risk_list`: customers ranked by expected loss with owner, segment and reasons.

Examples
--------
>>> from cpm_analysis.churn import ChurnModel, churn_features, churn_labels, risk_list
>>> y = churn_labels(ds, "2025-06", horizon="90D")
>>> X = churn_features(ds, "2025-06").loc[y.index]
>>> model = ChurnModel(model="logistic", random_state=0).fit(X, y)
>>> risk_list(model, ds, "2025-12")[["customer_id", "churn_probability"]].head(3)
  customer_id  churn_probability
0     C001334           0.993507
1     C001373           0.988618
2     C000533           0.986216
"""

from __future__ import annotations

from cpm_analysis.churn.evaluation import (
    BacktestResult,
    backtest,
    calibration_table,
    churn_metrics,
    lift_table,
)
from cpm_analysis.churn.features import churn_features
from cpm_analysis.churn.labels import active_customers, churn_labels, parse_horizon
from cpm_analysis.churn.model import ChurnModel
from cpm_analysis.churn.reasons import format_reasons, phrase_feature
from cpm_analysis.churn.risk import risk_list
from cpm_analysis.churn.table import TableCoercer, infer_column_kinds

__all__ = [
    "BacktestResult",
    "ChurnModel",
    "TableCoercer",
    "active_customers",
    "backtest",
    "calibration_table",
    "churn_features",
    "churn_labels",
    "churn_metrics",
    "format_reasons",
    "infer_column_kinds",
    "lift_table",
    "parse_horizon",
    "phrase_feature",
    "risk_list",
]
