"""Customer lifetime value with buy-till-you-die models.

The workflow follows ``lifetimes`` / ``pymc-marketing`` naming:

1. :func:`rfm_summary` turns orders into one row per customer (``frequency``, ``recency``,
   ``T``, ``monetary_value``; optionally a calibration/holdout split);
2. a purchase model, :class:`BetaGeoModel` (BG/NBD) or :class:`ParetoNBDModel`, is fitted by
   maximum likelihood and gives :meth:`~BetaGeoModel.expected_purchases` and
   :meth:`~BetaGeoModel.probability_alive` per customer;
3. :class:`GammaGammaModel` gives each customer's expected spend per transaction;
4. :func:`customer_lifetime_value` discounts expected purchases times spend over the next
   months; :func:`calibration_holdout_report` checks a model against a holdout period, and
   :func:`choose_value_model` picks a period's purchase model on one
   (:mod:`cpm_analysis.clv.selection`).

Times are in the summary's unit (``time_unit="W"`` weeks by default, or ``"D"`` days), and the
models' rates are per that unit. A month is 30.4375 days (4.348 weeks).

Examples
--------
>>> from cpm_analysis.data import load_cdnow
>>> from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, rfm_summary
>>> ds = load_cdnow(sample=True)
>>> summary = rfm_summary(ds, calibration_end="1997-09-30", observation_end="1998-06-30")
>>> bgf = BetaGeoModel().fit(summary)
>>> round(bgf.params_["r"], 4)
0.2426
>>> spend = GammaGammaModel().fit(summary)
>>> clv = customer_lifetime_value(bgf, spend, summary, horizon_months=12)
>>> len(clv)
2357
"""

from __future__ import annotations

from cpm_analysis.clv.base import ConvergenceWarning, NotFittedError
from cpm_analysis.clv.bgbb import BetaGeoBetaBinomModel
from cpm_analysis.clv.bgnbd import BetaGeoModel
from cpm_analysis.clv.covariates import BetaGeoCovariateModel, ParetoNBDCovariateModel
from cpm_analysis.clv.fitting import fit_on_rows, score_summary, summary_rows
from cpm_analysis.clv.gammagamma import GammaGammaModel, gamma_gamma_eligible
from cpm_analysis.clv.mbgnbd import ModifiedBetaGeoModel
from cpm_analysis.clv.paretonbd import ParetoNBDModel
from cpm_analysis.clv.sbg import ShiftedBetaGeoModel, contract_periods, rows_from_survivors
from cpm_analysis.clv.selection import ModelChoice, choose_value_model
from cpm_analysis.clv.summary import period_summary, rfm_summary
from cpm_analysis.clv.uncertainty import (
    ParameterDraws,
    bootstrap_parameters,
    customer_and_group_intervals,
    group_intervals,
    parameter_covariance,
    prediction_intervals,
)
from cpm_analysis.clv.value import (
    DAYS_PER_MONTH,
    calibration_holdout_report,
    customer_lifetime_value,
)

__all__ = [
    "DAYS_PER_MONTH",
    "BetaGeoBetaBinomModel",
    "BetaGeoCovariateModel",
    "BetaGeoModel",
    "ConvergenceWarning",
    "GammaGammaModel",
    "ModelChoice",
    "ModifiedBetaGeoModel",
    "NotFittedError",
    "ParameterDraws",
    "ParetoNBDCovariateModel",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
    "bootstrap_parameters",
    "calibration_holdout_report",
    "choose_value_model",
    "contract_periods",
    "customer_and_group_intervals",
    "customer_lifetime_value",
    "gamma_gamma_eligible",
    "group_intervals",
    "parameter_covariance",
    "prediction_intervals",
    "period_summary",
    "rfm_summary",
    "fit_on_rows",
    "score_summary",
    "summary_rows",
    "rows_from_survivors",
]
