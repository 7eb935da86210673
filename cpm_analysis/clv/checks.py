"""The lifetime-value models of a period and their checks: holdout, fit health, parameters.

The models are fitted with the scoring's recipe (:func:`fit_value_models`); the holdout check
refits BG/NBD on a calibration window the period's model never saw (:func:`calibration_check`).
Either is the :class:`~cpm_analysis.availability.Unavailable` sentence when the data has too
few repeat buyers.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> ds = generate(400, seed=3).to_dataset()
>>> models, summary = fit_value_models(ds, pd.Timestamp("2025-06-30 23:59:59"))
>>> model_parameters(models)["model"].unique().tolist()
['BG/NBD', 'Gamma-Gamma']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis import availability
from cpm_analysis.availability import CALIBRATION_WEEKS, Unavailable, check_positive
from cpm_analysis.data import Dataset


@dataclass
class CalibrationCheck:
    """What :func:`calibration_check` returns.

    Attributes
    ----------
    model : BetaGeoModel
        BG/NBD fitted on the calibration window.
    summary : DataFrame
        The calibration/holdout RFM summary (weeks).
    report : DataFrame
        :func:`~cpm_analysis.clv.calibration_holdout_report` of the model.
    calibration_end, observation_end : Timestamp
        The end of the calibration window and of the holdout.
    """

    model: Any
    summary: pd.DataFrame
    report: pd.DataFrame
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp

    def verdict(self) -> str:
        """One sentence comparing predicted and actual holdout purchases in total.

        Examples
        --------
        >>> report = pd.DataFrame({"actual": [90.0], "predicted": [100.0]}, index=["total"])
        >>> CalibrationCheck(None, pd.DataFrame(), report, pd.Timestamp(0), pd.Timestamp(0)
        ...                  ).verdict()[:40]
        'Over the 0-week holdout the model predic'
        """
        total = self.report.loc["total"]
        weeks = round((self.observation_end - self.calibration_end) / pd.Timedelta(weeks=1))
        predicted, actual = total["predicted"], total["actual"]
        if not availability.finite(predicted):
            return (
                f"Over the {weeks}-week holdout customers made {actual:,.0f} repeat purchases; "
                "the model's prediction is not available (the fit did not give a finite "
                "number of purchases)."
            )
        if not actual > 0:
            return (
                f"Over the {weeks}-week holdout the model predicted {predicted:,.0f} repeat "
                "purchases and customers made none, so the error is not available."
            )
        error = predicted / actual - 1
        direction = "over" if error > 0 else "under"
        return (
            f"Over the {weeks}-week holdout the model predicted {predicted:,.0f} repeat "
            f"purchases against {actual:,.0f} actual ({abs(error):.0%} {direction}"
            "-estimate in total)."
        )


def calibration_check(
    view: Dataset, cutoff: Any, weeks: int = CALIBRATION_WEEKS
) -> CalibrationCheck | Unavailable:
    """Fit BG/NBD on the orders up to ``cutoff - weeks`` and compare with the holdout.

    Parameters
    ----------
    view : Dataset
        The point-in-time data.
    cutoff : Timestamp
        End of the holdout (the period's end).
    weeks : int
        Length of the holdout in weeks.

    Returns
    -------
    CalibrationCheck or Unavailable
        :class:`~cpm_analysis.availability.Unavailable` when the calibration window
        lacks repeat buyers (:func:`cpm_analysis.availability.calibration`).

    Raises
    ------
    ValueError
        When ``weeks`` is not positive.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(400, seed=3).to_dataset()
    >>> check = calibration_check(ds, pd.Timestamp("2025-06-30 23:59:59"))
    >>> "total" in check.report.index
    True
    """
    from cpm_analysis.clv import BetaGeoModel, calibration_holdout_report, period_summary

    check_positive("weeks", weeks)
    check = availability.calibration(view, cutoff, weeks)
    if not check.available:
        return check.missing()
    end = pd.Timestamp(cutoff)
    calibration_end = end - pd.Timedelta(weeks=weeks)
    summary = period_summary(view, end, calibration_end=calibration_end)
    if not (summary["frequency"] > 0).any():
        raise ValueError(
            f"weeks: no repeat buyer before {calibration_end:%Y-%m-%d}; shorten the holdout"
        )
    model = BetaGeoModel().fit(summary)
    report = calibration_holdout_report(model, summary)
    return CalibrationCheck(model, summary, report, calibration_end, end)


def fit_value_models(
    view: Dataset, cutoff: Any
) -> tuple[dict[str, Any], pd.DataFrame] | tuple[Unavailable, Unavailable]:
    """BG/NBD and Gamma-Gamma fitted at ``cutoff`` on the weekly RFM summary.

    The same recipe as :func:`cpm_analysis.scoring.score_customers` (maximum likelihood, no
    randomness), so the parameters shown are those behind the scored table's CLV.

    Returns
    -------
    models : dict
        ``{"BG/NBD": BetaGeoModel, "Gamma-Gamma": GammaGammaModel}``.
    summary : DataFrame
        The RFM summary the models were fitted on.

    Both are the same :class:`~cpm_analysis.availability.Unavailable` when the data
    has too little history or too few repeat buyers
    (:func:`cpm_analysis.availability.lifetime_value`).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(400, seed=3).to_dataset()
    >>> models, summary = fit_value_models(ds, pd.Timestamp("2025-06-30 23:59:59"))
    >>> sorted(models)
    ['BG/NBD', 'Gamma-Gamma']
    """
    import warnings

    from cpm_analysis.clv import BetaGeoModel, GammaGammaModel, period_summary

    check = availability.lifetime_value(view, cutoff)
    if not check.available:
        missing = check.missing()
        return missing, missing
    summary = period_summary(view, pd.Timestamp(cutoff))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {
            "BG/NBD": BetaGeoModel().fit(summary),
            "Gamma-Gamma": GammaGammaModel().fit(summary),
        }
    return models, summary


NO_DROPOUT_P_ALIVE = 0.99
"""P(alive) above which, for every repeat buyer, the purchase model detects no dropout."""


def value_model_health(models: Any, summary: Any) -> str | Unavailable:
    """One or two sentences on the fits: did they converge, does the model detect dropout.

    The models' own health sentences (``fit_warnings_``: not converged, parameters at the edge
    of their range, no detectable dropout, spend left out) are used when they have them.
    Otherwise, from ``converged_`` and ``no_dropout_``, and when the purchase model has no
    ``no_dropout_``, *no detectable dropout* is computed here: P(alive) of at least
    :data:`NO_DROPOUT_P_ALIVE` for every repeat buyer (customers who bought once always have
    P(alive) = 1 in BG/NBD), which makes the lifetime value an upper bound.

    Examples
    --------
    >>> class M:
    ...     converged_ = False
    ...     no_dropout_ = True
    >>> value_model_health({"BG/NBD": M()}, None)[:40]
    'The BG/NBD fit did not converge: its num'
    >>> class Healthy:
    ...     fit_warnings_ = []
    >>> value_model_health({"BG/NBD": Healthy()}, None)
    'Both fits converged and the purchase model detects dropout.'
    """
    if isinstance(models, Unavailable):
        return models
    parts: list[str] = []
    for name, model in models.items():
        if model is None:
            continue
        if hasattr(model, "fit_warnings_"):
            parts.extend(str(sentence) for sentence in model.fit_warnings_)
            continue
        if getattr(model, "converged_", True) is False:
            parts.append(
                f"The {name} fit did not converge: its numbers are the optimiser's last "
                "estimate, read them with care."
            )
        if name != "BG/NBD":
            continue
        no_dropout = getattr(model, "no_dropout_", None)
        if no_dropout is None and summary is not None:
            repeat = summary.loc[summary["frequency"] > 0]
            p_alive: Any = (
                np.asarray(model.probability_alive(repeat), dtype=float) if len(repeat) else []
            )
            no_dropout = bool(len(p_alive)) and bool(np.nanmin(p_alive) >= NO_DROPOUT_P_ALIVE)
        if no_dropout:
            parts.append(
                "The purchase model found no detectable dropout: P(alive) is about 1 for every "
                "customer, so the lifetime values assume nobody leaves and are an upper bound."
            )
    if not parts:
        parts.append("Both fits converged and the purchase model detects dropout.")
    return " ".join(parts)


PARAMETER_MEANINGS = {
    "r": "shape of the purchase-rate distribution across customers",
    "alpha": "scale of the purchase-rate distribution (weeks)",
    "a": "first shape of the drop-out probability distribution",
    "b": "second shape of the drop-out probability distribution",
    "p": "shape of the spend-per-order distribution",
    "q": "shape of the customers' mean-spend distribution",
    "v": "scale of the customers' mean-spend distribution",
}


def model_parameters(models: dict[str, Any]) -> pd.DataFrame:
    """Return the fitted parameters of the lifetime-value models, one row each, with their meaning.

    Parameters
    ----------
    models : dict
        Model name to fitted model (``params_`` dict), e.g. ``{"BG/NBD": bg}``; ``None``
        values are skipped.

    Examples
    --------
    >>> class M:
    ...     params_ = {"r": 0.5, "alpha": 4.0}
    >>> model_parameters({"BG/NBD": M()})["parameter"].tolist()
    ['r', 'alpha']
    """
    if isinstance(models, Unavailable):
        return models
    rows = [
        {
            "model": name,
            "parameter": key,
            "value": float(value),
            "meaning": PARAMETER_MEANINGS.get(key, ""),
        }
        for name, model in models.items()
        if model is not None
        for key, value in model.params_.items()
    ]
    return pd.DataFrame(rows, columns=["model", "parameter", "value", "meaning"])
