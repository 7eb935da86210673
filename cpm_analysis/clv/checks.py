"""The lifetime-value models of a period and their checks: holdout, fit health, parameters.

One fit per model and period: the models a page shows are the scoring's
(:func:`period_value_models`: the purchase model the period's model choice took, and
Gamma-Gamma), and the holdout check is the choice's own calibration fit of that model with its
holdout by frequency group (:func:`choice_calibration`); nothing here fits a model. Either is
the :class:`~cpm_analysis.availability.Unavailable` sentence when the data has too few repeat
buyers.

The frequency-recency and P(alive) matrices read a continuous-time purchase model (BG/NBD,
Pareto/NBD, MBG/NBD): :func:`matrix_model` returns it, or the sentence that says what the page
shows instead for BG/BB (yearly or quarterly opportunities) and sBG (contracts).

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.clv.selection import choose_value_model
>>> from cpm_analysis.scoring import score_customers
>>> ds = generate(400, seed=3).to_dataset()
>>> choice = choose_value_model(ds.as_of("2025-06-30"), "2025-06-30")
>>> scored = score_customers(ds, "2025-06", model_choice=choice)
>>> models, summary = period_value_models(scored.models, choice, ds.as_of("2025-06-30"),
...                                       pd.Timestamp("2025-06-30 23:59:59"))
>>> models[choice.chosen] is scored.models["purchase"]
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis import availability
from cpm_analysis.availability import CALIBRATION_WEEKS, Unavailable
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.i18n import M_, N_, join

if TYPE_CHECKING:
    from cpm_analysis.clv.base import BaseModel
    from cpm_analysis.clv.selection import ModelChoice

MATRIX_MODELS = ("BG/NBD", "Pareto/NBD", "MBG/NBD")
"""The purchase models the frequency-recency and P(alive) matrices are drawn for."""


@dataclass
class CalibrationCheck:
    """What :func:`choice_calibration` returns: the chosen model's holdout check.

    Attributes
    ----------
    model : purchase model
        The chosen model fitted on the calibration window (by the model choice).
    summary : DataFrame or None
        Not kept (the choice's fits hold their own summaries); ``None``.
    report : DataFrame
        By calibration frequency group (``"0"`` ... ``"7+"``, ``"total"``): ``customers``,
        ``actual``, ``predicted``, ``actual_mean``, ``predicted_mean``.
    calibration_end, observation_end : Timestamp
        The end of the calibration window and of the holdout.
    name : str
        The chosen model's name.
    unit : str
        Unit of the holdout (``"weeks"``, ``"years"``, ``"quarters"``, ``"months"``).
    holdout : int
        Length of the holdout in that unit (``0``: computed from the dates, in weeks).
    measure : str
        What is counted: ``"repeat purchases"`` or, for contracts, ``"contracts still running"``.
    """

    model: Any
    summary: pd.DataFrame | None
    report: pd.DataFrame
    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    name: str = "the model"
    unit: str = "weeks"
    holdout: int = 0
    measure: str = N_("repeat purchases")

    def verdict(self) -> str:
        """One sentence comparing predicted and actual holdout counts in total.

        Examples
        --------
        >>> report = pd.DataFrame({"actual": [90.0], "predicted": [100.0]}, index=["total"])
        >>> CalibrationCheck(None, None, report, pd.Timestamp(0), pd.Timestamp(0)
        ...                  ).verdict()[:40]
        'Over the 0-week holdout the model predic'
        """
        total = self.report.loc["total"]
        length = self.holdout or round(
            (self.observation_end - self.calibration_end) / pd.Timedelta(weeks=1)
        )
        predicted, actual = total["predicted"], total["actual"]
        values = {
            "n": length,
            "unit": M_(self.unit.rstrip("s")),
            "who": M_("the model") if self.name == "the model" else self.name,
            "measure": M_(self.measure),
            "predicted": f"{predicted:,.0f}" if availability.finite(predicted) else "",
            "actual": f"{actual:,.0f}",
        }
        if not availability.finite(predicted):
            return M_(
                "Over the %(n)s-%(unit)s holdout the actual count of %(measure)s was "
                "%(actual)s; the prediction of %(who)s is not available (the fit did not "
                "give a finite number).",
                **values,
            )
        if not actual > 0:
            return M_(
                "Over the %(n)s-%(unit)s holdout %(who)s predicted %(predicted)s %(measure)s "
                "and there were none, so the error is not available.",
                **values,
            )
        error = predicted / actual - 1
        values["error"] = f"{abs(error):.0%}"
        if error > 0:
            return M_(
                "Over the %(n)s-%(unit)s holdout %(who)s predicted %(predicted)s %(measure)s "
                "against %(actual)s actual (%(error)s over-estimate in total).",
                **values,
            )
        return M_(
            "Over the %(n)s-%(unit)s holdout %(who)s predicted %(predicted)s %(measure)s "
            "against %(actual)s actual (%(error)s under-estimate in total).",
            **values,
        )


def choice_calibration(
    choice: ModelChoice | None,
    view: CustomerData,
    cutoff: pd.Timestamp,
    weeks: int = CALIBRATION_WEEKS,
) -> CalibrationCheck | Unavailable:
    """Return the holdout check of the period's model: the choice's calibration fit, no refit.

    Parameters
    ----------
    choice : ModelChoice or None
        The period's model choice (:func:`~cpm_analysis.clv.selection.choose_value_model`).
    view : Dataset
        The point-in-time data (for the page-01 availability verdict).
    cutoff : Timestamp
        End of the holdout (the period's end).
    weeks : int
        The holdout the availability verdict is stated for.

    Returns
    -------
    CalibrationCheck or Unavailable
        :class:`~cpm_analysis.availability.Unavailable` when the calibration window lacks
        repeat buyers (:func:`cpm_analysis.availability.calibration`) or the chosen model has
        no calibration fit (the choice's reason says why).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.clv.selection import choose_value_model
    >>> ds = generate(400, seed=3).to_dataset()
    >>> choice = choose_value_model(ds, "2025-06-30")
    >>> check = choice_calibration(choice, ds, pd.Timestamp("2025-06-30 23:59:59"))
    >>> check.model is choice.model, "total" in check.report.index
    (True, True)
    """
    view = customer_data(view, "view").collect()  # either engine; its pandas view
    check = availability.calibration(view, cutoff, weeks)
    if not check.available:
        return check.missing()
    if choice is None or choice.model is None or choice.chosen not in choice.by_group:
        reason = M_("no model choice") if choice is None else choice.reason
        return Unavailable(
            M_(
                "The holdout check of the period's model is not available: %(reason)s",
                reason=reason,
            )
        )
    groups = choice.by_group
    report = pd.DataFrame(
        {
            "customers": groups["customers"].astype(np.int64),
            "actual": groups["actual"].astype(np.float64),
            "predicted": groups[choice.chosen].astype(np.float64),
        },
        index=groups.index,
    )
    with np.errstate(all="ignore"):
        report["actual_mean"] = report["actual"] / report["customers"]
        report["predicted_mean"] = report["predicted"] / report["customers"]
    contracts = choice.route == "contractual"
    report.attrs["measure"] = (
        N_("contracts still running") if contracts else N_("holdout purchases")
    )
    report.attrs["groups"] = (
        N_("Renewals before the holdout")
        if contracts
        else N_("Repeat purchases in the calibration period")
    )
    return CalibrationCheck(
        model=choice.model,
        summary=None,
        report=report,
        calibration_end=choice.calibration_end,
        observation_end=choice.observation_end,
        name=choice.chosen,
        unit=choice.unit,
        holdout=int(choice.holdout),
        measure="contracts still running" if contracts else "repeat purchases",
    )


def period_value_models(
    models: Mapping[str, object],
    choice: ModelChoice | None,
    view: CustomerData,
    cutoff: pd.Timestamp,
) -> tuple[dict[str, Any], pd.DataFrame] | tuple[Unavailable, Unavailable]:
    """Return the scoring's fitted models by name: the ones behind the scored table's numbers.

    No model is fitted here: ``models`` are :attr:`cpm_analysis.scoring.ScoredPeriod.models`
    (``purchase``, the model the period's choice took, and ``gamma_gamma``; sBG values a
    contract at its mean payment and has no spend model).

    Parameters
    ----------
    models : dict
        The scoring's fitted models.
    choice : ModelChoice or None
        The period's model choice (its ``chosen`` names the purchase model; BG/NBD without).
    view : Dataset
        The point-in-time data.
    cutoff : Timestamp
        The period's end.

    Returns
    -------
    models : dict
        ``{<purchase model name>: model, "Gamma-Gamma": model}`` (no Gamma-Gamma for sBG).
    summary : DataFrame
        The weekly RFM summary at ``cutoff`` (for the health sentences).

    Both are the same :class:`~cpm_analysis.availability.Unavailable` when the data
    has too little history or too few repeat buyers
    (:func:`cpm_analysis.availability.lifetime_value`), or when the scoring fitted no
    purchase model.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> view = generate(20, seed=3).to_dataset().as_of("2025-06-30")
    >>> period_value_models({}, None, view, pd.Timestamp("2025-06-30"))[0].text[:28]
    'Lifetime value and P(alive) '
    """
    view = customer_data(view, "view").collect()  # either engine; its pandas view
    from cpm_analysis.clv import period_summary

    check = availability.lifetime_value(view, cutoff)
    if not check.available:
        missing = check.missing()
        return missing, missing
    purchase = models.get("purchase")
    if purchase is None:
        missing = Unavailable(
            "Lifetime value and P(alive) are not available: the purchase model was not fitted."
        )
        return missing, missing
    name = "BG/NBD" if choice is None else str(choice.chosen)
    out: dict[str, Any] = {name: purchase}
    if models.get("gamma_gamma") is not None:
        out["Gamma-Gamma"] = models["gamma_gamma"]
    return out, period_summary(view, pd.Timestamp(cutoff))


def matrix_model(models: Mapping[str, BaseModel] | Unavailable) -> Any:
    """Return the purchase model the frequency-recency and P(alive) matrices are drawn for.

    The matrices are hypothetical customers on a grid of repeat purchases and recency in
    weeks, which a continuous-time model (:data:`MATRIX_MODELS`) scores. BG/BB counts
    purchases per yearly or quarterly opportunity and sBG counts contract renewals, so for
    them the sentence returned says so and what the page shows instead.

    Examples
    --------
    >>> matrix_model({"sBG": object()}).text[:40]
    'The frequency-recency and P(alive) matri'
    """
    if isinstance(models, Unavailable):
        return models
    for name in MATRIX_MODELS:
        if name in models:
            return models[name]
    name = next(iter(models), "")
    instead = {
        "BG/BB": M_(
            "BG/BB counts purchases per yearly or quarterly opportunity; its P(alive) per "
            "customer is in the scored table and its fit in the parameters table"
        ),
        "sBG": M_(
            "sBG models contract renewals, not purchases; the contracts still running by "
            "renewals made are in the holdout check below"
        ),
    }.get(name, M_("the period's model is not one of them"))
    return Unavailable(
        M_(
            "The frequency-recency and P(alive) matrices are drawn for continuous-time purchase "
            "models (%(models)s): %(instead)s.",
            models=", ".join(MATRIX_MODELS),
            instead=instead,
        )
    )


NO_DROPOUT_P_ALIVE = 0.99
"""P(alive) above which, for every repeat buyer, the purchase model detects no dropout."""


def value_model_health(
    models: Mapping[str, BaseModel | None] | Unavailable, summary: pd.DataFrame | None
) -> str | Unavailable:
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
    >>> value_model_health({"BG/NBD": Healthy(), "Gamma-Gamma": Healthy()}, None)
    'Both fits converged and the purchase model detects dropout.'
    >>> value_model_health({"sBG": Healthy()}, None)
    'The fit converged.'
    """
    if isinstance(models, Unavailable):
        return models
    parts: list[str] = []
    for name, model in models.items():
        if model is None:
            continue
        if hasattr(model, "fit_warnings_"):
            parts.extend(model.fit_warnings_)
            continue
        if getattr(model, "converged_", True) is False:
            parts.append(
                M_(
                    "The %(model)s fit did not converge: its numbers are the optimiser's last "
                    "estimate, read them with care.",
                    model=name,
                )
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
                M_(
                    "The purchase model found no detectable dropout: P(alive) is about 1 for "
                    "every customer, so the lifetime values assume nobody leaves and are an "
                    "upper bound."
                )
            )
    if not parts and len([m for m in models.values() if m is not None]) == 1:
        parts.append(M_("The fit converged."))  # sBG: no spend model, the dropout is observed
    if not parts:
        parts.append(M_("Both fits converged and the purchase model detects dropout."))
    return join(" ", parts)


PARAMETER_MEANINGS = {
    "r": N_("shape of the purchase-rate distribution across customers"),
    "alpha": N_("scale of the purchase-rate distribution (weeks)"),
    "a": N_("first shape of the drop-out probability distribution"),
    "b": N_("second shape of the drop-out probability distribution"),
    "s": N_("shape of the dropout-rate distribution across customers"),
    "beta": N_("scale of the dropout-rate distribution (weeks)"),
    "p": N_("shape of the spend-per-order distribution"),
    "q": N_("shape of the customers' mean-spend distribution"),
    "v": N_("scale of the customers' mean-spend distribution"),
}
"""What each parameter of the continuous models and Gamma-Gamma means."""
ROUTE_PARAMETER_MEANINGS = {
    "BG/BB": {
        "alpha": N_("first shape of the purchase-probability distribution (per opportunity)"),
        "beta": N_("second shape of the purchase-probability distribution"),
        "gamma": N_("first shape of the dropout-probability distribution (per opportunity)"),
        "delta": N_("second shape of the dropout-probability distribution"),
    },
    "sBG": {
        "alpha": N_("first shape of the churn-probability distribution (per renewal)"),
        "beta": N_("second shape of the churn-probability distribution"),
    },
}
"""The parameters of BG/BB and sBG, whose names clash with the continuous models'."""


def model_parameters(models: Mapping[str, BaseModel | None] | Unavailable) -> pd.DataFrame:
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
            "meaning": ROUTE_PARAMETER_MEANINGS.get(name, PARAMETER_MEANINGS).get(key, ""),
        }
        for name, model in models.items()
        if model is not None
        for key, value in model.params_.items()
    ]
    return pd.DataFrame(rows, columns=["model", "parameter", "value", "meaning"])
