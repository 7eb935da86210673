"""Lifetime value in tables: by a column of the scored table, and the top customers.

Examples
--------
>>> s = pd.DataFrame({"customer_id": ["a", "b"], "clv": [1.0, 2.0]})
>>> top_customers(s, n=1)["customer_id"].tolist()
['b']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis.availability import Unavailable, check_positive, column_label, missing_columns
from cpm_analysis.i18n import M_

if TYPE_CHECKING:
    from cpm_analysis.clv.base import BaseModel
    from cpm_analysis.clv.uncertainty import ParameterDraws
    from cpm_analysis.data import Dataset
    from cpm_analysis.periods import Cutoff


def value_by(scored: pd.DataFrame, by: str) -> pd.DataFrame:
    """Predicted 12-month CLV by a column of the scored table (segment, owner_id, tier, ...).

    Returns
    -------
    DataFrame
        Indexed by ``by``: customers, total and mean CLV, share of total CLV, mean P(alive),
        expected loss; sorted by total CLV, largest first.

        :class:`~cpm_analysis.availability.Unavailable` when ``scored`` lacks ``by``
        or ``clv`` (no account owners, or the lifetime-value models were not fitted).

    Examples
    --------
    >>> value_by(pd.DataFrame({"clv": [1.0]}), "owner_id").text[:50]
    'Lifetime value by account owner is not available: '
    >>> s = pd.DataFrame({"segment": ["A", "A", "B"], "clv": [1.0, 3.0, 4.0],
    ...                   "p_alive": [0.5, 0.5, 1.0]})
    >>> value_by(s, "segment")["clv_share"].tolist()
    [0.5, 0.5]
    """
    missing = missing_columns(
        scored, ("clv", by), M_("Lifetime value by %(group)s", group=column_label(by))
    )
    if missing is not None:
        return missing
    frame = scored.loc[scored["clv"].notna()]
    grouped = frame.groupby(by, observed=True, sort=False)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "total_clv": grouped["clv"].sum(),
            "mean_clv": grouped["clv"].mean(),
        }
    )
    total = out["total_clv"].sum()
    out["clv_share"] = out["total_clv"] / total if total > 0 else np.nan
    if "p_alive" in frame:
        out["mean_p_alive"] = grouped["p_alive"].mean()
    if "expected_loss" in frame:
        out["expected_loss"] = grouped["expected_loss"].sum(min_count=1)
    return out.sort_values("total_clv", ascending=False, kind="stable")


def top_customers(scored: pd.DataFrame, by: str = "clv", n: int = 20) -> pd.DataFrame:
    """Return the ``n`` customers with the largest ``by``, with the columns a manager acts on.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b"], "clv": [1.0, 2.0]})
    >>> top_customers(s, n=1)["customer_id"].tolist()
    ['b']
    """
    check_positive("n", n)
    missing = missing_columns(
        scored, (by,), M_("Top customers by %(group)s", group=column_label(by))
    )
    if missing is not None:
        return missing
    columns = [
        c
        for c in (
            "customer_id",
            "owner_id",
            "segment",
            "tier",
            "frequency",
            "monetary",
            "p_alive",
            "expected_purchases_90d",
            "clv",
            "churn_probability",
            "recommended_action",
        )
        if c in scored.columns
    ]
    if by not in columns:
        columns.append(by)
    return scored.nlargest(n, by)[columns].reset_index(drop=True)


INTERVAL_DRAWS = 200
"""Parameter draws behind the intervals of the pages."""
INTERVAL_LEVEL = 0.9
"""Coverage of the intervals the pages show."""


def _no_draws(err: ValueError) -> Unavailable:
    """Say why a fit gives no parameter draws, in words a manager reads (the detail in the log).

    The usual reason is a fit at the edge of its parameter range, where the curvature of the
    likelihood (its Hessian) gives no covariance: the Superstore export's BG/NBD has
    ``a`` and ``b`` in the hundreds of thousands, no sign of customers dropping out.

    Examples
    --------
    >>> why = _no_draws(ValueError("model: the Hessian of the BG/NBD fit is not positive definite"))
    >>> "edge of its parameter range" in why.text, "Hessian" in why.text
    (True, False)
    """
    import logging

    logging.getLogger(__name__).info("no parameter draws: %s", err)
    if "Hessian" in str(err):
        return Unavailable(
            M_(
                "Intervals of the lifetime values are not available: the model's fit sits at "
                "the edge of its parameter range (on this data, for example, it sees no "
                "customer drop out), so the data cannot say how uncertain its parameters are."
            )
        )
    return Unavailable(
        M_(
            "Intervals of the lifetime values are not available: %(reason)s.",
            reason=str(err),
        )
    )


def value_draws(
    models: Mapping[str, BaseModel] | Unavailable,
    summary: pd.DataFrame,
    *,
    seed: int = 0,
    n_draws: int = INTERVAL_DRAWS,
    view: Dataset | None = None,
    cutoff: Cutoff | None = None,
    opportunity: str | None = None,
    contract_period: str | None = None,
) -> Any:
    """Parameter draws of the period's value models, for the intervals of the pages.

    The parametric draws of :func:`~cpm_analysis.clv.uncertainty.bootstrap_parameters` (the
    normal law of the estimate, on the log scale) of the scoring's purchase model and
    Gamma-Gamma (:func:`~cpm_analysis.clv.checks.period_value_models`), seeded. For a period
    scored with BG/BB or sBG the draws are made on the route's per-customer table
    (:func:`~cpm_analysis.clv.routes.route_inputs` of ``view`` at ``cutoff``), which the
    draws carry as their ``summary``, so the pages' intervals come from the same models and
    rule as the scored table.

    Parameters
    ----------
    models : dict or Unavailable
        The period's value models by name.
    summary : DataFrame
        The weekly RFM summary they were fitted on (continuous models).
    seed, n_draws :
        Seed and number of the draws.
    view, cutoff, opportunity :
        The period's data, its end and BG/BB's opportunity unit (``"Y"`` or ``"Q"``):
        needed for BG/BB and sBG.
    contract_period : str, optional
        sBG's contract period (``clv.contract_period``: week, month, quarter or year; monthly
        by default), which the draws and their predictions count in.

    Returns
    -------
    ParameterDraws or Unavailable
        The sentence when the models are not available, or when the fit's Hessian does not
        give a covariance (a parameter at the edge of its range).

    Examples
    --------
    >>> value_draws({"sBG": object()}, None).text[:36]
    'Intervals of the lifetime values are'
    """
    from cpm_analysis.clv.checks import MATRIX_MODELS
    from cpm_analysis.clv.routes import ROUTE_MODELS, route_inputs
    from cpm_analysis.clv.sbg import contract_period_code
    from cpm_analysis.clv.selection import CONTRACT_PERIOD
    from cpm_analysis.clv.uncertainty import bootstrap_parameters

    if isinstance(models, Unavailable):
        return models
    name = next((m for m in (*MATRIX_MODELS, *ROUTE_MODELS) if m in models), None)
    spend = models.get("Gamma-Gamma")
    if name is None or (spend is None and name != "sBG"):
        used = next(iter(models), "no model")
        return Unavailable(
            M_(
                "Intervals of the lifetime values are not available: they are computed for "
                "%(models)s with Gamma-Gamma and for sBG, and this period uses %(used)s.",
                models=", ".join((*MATRIX_MODELS, "BG/BB")),
                used=used,
            )
        )
    try:
        if name in MATRIX_MODELS:
            return bootstrap_parameters(
                models[name], summary, spend, n_draws=n_draws, random_state=seed
            )
        if view is None or cutoff is None:
            return Unavailable(
                M_(
                    "Intervals of the lifetime values are not available: the %(model)s "
                    "intervals need the period's data and cutoff.",
                    model=name,
                )
            )
        period = contract_period_code(contract_period or CONTRACT_PERIOD)
        inputs = route_inputs(view, cutoff, name, opportunity, period)
        draws = bootstrap_parameters(
            models[name],
            inputs,
            spend if name == "BG/BB" else None,
            n_draws=n_draws,
            random_state=seed,
            opportunity=opportunity,
            contract_period=period,
        )
    except ValueError as err:
        return _no_draws(err)
    draws.summary = inputs
    return draws


PAGE_INTERVALS: dict[str, tuple[str, str]] = {
    "clv_by_tier": ("clv", "tier"),
    "clv_by_segment": ("clv", "segment"),
    "clv_by_owner": ("clv", "owner_id"),
    "risk_by_segment": ("revenue_at_risk", "segment"),
    "risk_by_owner": ("revenue_at_risk", "owner_id"),
}
"""The interval tables the pages show: name to (measure, column of the scored table)."""


def value_intervals(
    draws: ParameterDraws | Unavailable,
    summary: pd.DataFrame,
    scored: pd.DataFrame,
    tables: dict[str, tuple[str, str]] | None = None,
    *,
    level: float = INTERVAL_LEVEL,
    horizon_months: int = 12,
    discount_rate: float = 0.01,
    seed: int = 0,
) -> dict[str, Any]:
    """Total CLV (or revenue at risk) by columns of the scored table, with intervals.

    The interval is that of the group's *sum* over the parameter draws
    (:func:`~cpm_analysis.clv.uncertainty.grouped_intervals`, one pass for every table): how
    well the model's parameters pin the total down, not the purchase-to-purchase randomness
    of single customers. The revenue at risk is the sum of churn probability x CLV (the KPI
    ``revenue_at_risk``) over the customers with a churn probability; its interval carries the
    CLV's parameter uncertainty and which customers leave: each draw also draws, for every
    customer, whether they churn (Bernoulli of the churn probability scored). It does not
    carry the churn classifier's own estimation error (the probabilities are taken as
    scored).

    Parameters
    ----------
    draws : ParameterDraws or Unavailable
        :func:`value_draws`.
    summary : DataFrame
        The weekly RFM summary the models were fitted on (by customer id); draws made for a
        BG/BB or sBG period carry their own per-customer table, which is used instead.
    scored : DataFrame
        The scored table (``customer_id``, the grouping columns, ``churn_probability`` for the
        revenue at risk); only its customers are counted (an owner's book is a slice).
    tables : dict, optional
        Name to ``(measure, column)``, ``measure`` ``"clv"`` or ``"revenue_at_risk"``; default
        :data:`PAGE_INTERVALS`.
    level : float
        Coverage of the intervals.
    horizon_months, discount_rate :
        As for the scored CLV.
    seed : int
        Seed of the draws of which customers churn (keyed by customer id, so an owner's book
        draws the same as the company's).

    Returns
    -------
    dict
        Name to a table indexed by the column, largest first: ``customers``, ``total``,
        ``lower``, ``upper`` and ``relative_width`` (``(upper - lower) / total``); or to the
        :class:`~cpm_analysis.availability.Unavailable` sentence (no draws, or the scored
        table lacks the column).

    Raises
    ------
    ValueError
        For another measure.

    Examples
    --------
    >>> value_intervals(Unavailable("no draws"), None, pd.DataFrame())["clv_by_tier"].text
    'no draws'
    """
    from cpm_analysis.clv.uncertainty import grouped_intervals

    tables = PAGE_INTERVALS if tables is None else tables
    for measure, _ in tables.values():
        if measure not in ("clv", "revenue_at_risk"):
            raise ValueError(f"measure: expected 'clv' or 'revenue_at_risk', got {measure!r}")
    if isinstance(draws, Unavailable):
        return dict.fromkeys(tables, draws)
    out: dict[str, Any] = {}
    if getattr(draws, "summary", None) is not None:
        summary = draws.summary  # a BG/BB or sBG period's per-customer table
    frame = scored.set_index("customer_id")
    ids = frame.index[frame.index.isin(summary.index)]
    rows = summary.loc[ids]
    groupings: dict[str, tuple[pd.Series, pd.Series | None, bool]] = {}
    at_risk = None
    for name, (measure, by) in tables.items():
        needs = (by,) if measure == "clv" else (by, "churn_probability")
        group = column_label(by)
        what = (
            M_("Intervals of lifetime value by %(group)s", group=group)
            if measure == "clv"
            else M_("Intervals of revenue at risk by %(group)s", group=group)
        )
        missing = missing_columns(scored, needs, what)
        if missing is not None:
            out[name] = missing
            continue
        groups = frame.loc[ids, by].astype("object").fillna("(none)").rename(by)
        weights = None
        if measure == "revenue_at_risk":
            at_risk = frame.loc[ids, "churn_probability"]
            weights = at_risk.fillna(0.0)  # customers without one are not at risk
        groupings[name] = (groups, weights, measure == "revenue_at_risk")
    if groupings:
        computed = grouped_intervals(
            draws,
            rows,
            groupings,
            "clv",
            level=level,
            horizon_months=horizon_months,
            discount_rate=discount_rate,
            random_state=seed,
        )
        for name, table in computed.items():
            table = table.rename(columns={"estimate": "total"})
            if tables[name][0] == "revenue_at_risk" and at_risk is not None:
                scored_ones = at_risk.notna().groupby(groupings[name][0]).sum()
                table["customers"] = scored_ones.reindex(table.index).fillna(0).astype(np.int64)
                table = table.loc[table["customers"] > 0]
            with np.errstate(all="ignore"):
                table["relative_width"] = (table["upper"] - table["lower"]) / table["total"]
            out[name] = table.sort_values("total", ascending=False, kind="stable")
    return {name: out[name] for name in tables}
