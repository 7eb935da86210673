"""The KPI scorecard of a period: every KPI, and the targets of the scope with their status.

- :func:`period_kpis`: every KPI of the period, with the model KPIs from the scored table;
- :func:`scorecard`: the KPIs against their SMART targets of the period (``met``, ``at risk``,
  ``missed``; ``not available`` when the data cannot give the KPI, e.g. service KPIs without a
  tickets table), missed first;
- :func:`status_counts`: how many targets have each status.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.kpis import compute_kpis
>>> from cpm_analysis.periods import parse_period
>>> ds = generate(300, seed=1).to_dataset()
>>> period = parse_period("2025-06")
>>> card = scorecard(compute_kpis(ds, period), ds.targets, period)
>>> set(card["status"]) <= {"met", "at risk", "missed", "not available", "no data"}
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.data.protocol import CustomerData
from cpm_analysis.kpis.targets import period_targets
from cpm_analysis.periods import Period

if TYPE_CHECKING:
    from cpm_analysis.config import WindowsConfig

STATUS_ORDER = {"missed": 0, "at risk": 1, "no data": 2, "not available": 3, "met": 4}


def period_kpis(
    view: CustomerData,
    period: Period | str,
    scored: pd.DataFrame | None = None,
    *,
    sla_hours: float = DEFAULT_CONFIG.sla.first_response_hours,
    windows: WindowsConfig | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """Every KPI of the period, with the model KPIs from the scored table when it has them.

    ``windows`` are the configuration's day windows (``config.windows``; default the built-in).

    ``by`` breaks every KPI down by a customer column (``"owner_id"``), as
    :func:`~cpm_analysis.kpis.compute_kpis` does.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> bool(period_kpis(ds, "2025-06").loc["revenue", "available"])
    True
    """
    from cpm_analysis.kpis import compute_kpis

    scores = None
    if scored is not None and {"customer_id", "clv", "churn_probability"} <= set(scored.columns):
        scores = scored.set_index("customer_id")[["clv", "churn_probability"]]
    return compute_kpis(view, period, by=by, scores=scores, sla_hours=sla_hours, windows=windows)


def scorecard(
    kpis: pd.DataFrame,
    targets: pd.DataFrame | None,
    period: Period | str,
    *,
    owner: str | None = None,
    amber: float = DEFAULT_CONFIG.targets.at_risk_band,
) -> pd.DataFrame:
    """Build the KPI scorecard of the period: every target of the scope with its status.

    Parameters
    ----------
    kpis : DataFrame
        :func:`cpm_analysis.kpis.compute_kpis` of the period (the scope's data).
    targets : DataFrame or None
        The targets table (``dataset.targets``); ``None`` gives an empty scorecard.
    period : Period or str
    owner : str, optional
        Use this owner's own targets (see :func:`~cpm_analysis.kpis.targets.period_targets`).
    amber : float
        Width of the *at risk* band below a target (see
        :func:`~cpm_analysis.kpis.evaluate_targets`).

    Returns
    -------
    DataFrame
        :func:`~cpm_analysis.kpis.evaluate_targets` columns, status ``not available`` (with
        the reason in ``note``) where the data cannot give the KPI, sorted missed first.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.kpis import compute_kpis
    >>> ds = generate(300, seed=1).to_dataset()
    >>> card = scorecard(compute_kpis(ds, "2025-06"), ds.targets, "2025-06")
    >>> card["status"].iloc[0] in {"missed", "at risk", "met"}
    True
    """
    from cpm_analysis.kpis import evaluate_targets

    rows = period_targets(targets, period, owner)
    if rows.empty:
        return pd.DataFrame(
            columns=["kpi", "label_en", "actual", "target", "attainment", "status", "trend"]
        )
    evaluation = evaluate_targets(kpis, rows, amber=amber)
    available = kpis["available"].astype(bool)
    unavailable = evaluation["kpi"].map(~available).fillna(False).astype(bool)
    evaluation.loc[unavailable.to_numpy(), "status"] = "not available"
    notes = evaluation["kpi"].map(kpis["note"]).fillna("")
    evaluation.loc[unavailable.to_numpy(), "note"] = notes.loc[unavailable].to_numpy()
    order = evaluation["status"].map(STATUS_ORDER).fillna(9)
    evaluation = evaluation.assign(_order=order.to_numpy())
    evaluation = evaluation.sort_values(["_order", "attainment"], kind="stable")
    return evaluation.drop(columns="_order").reset_index(drop=True)


def status_counts(card: pd.DataFrame) -> dict[str, int]:
    """How many targets are met, at risk, missed and not available.

    Examples
    --------
    >>> status_counts(pd.DataFrame({"status": ["met", "missed", "met"]}))["met"]
    2
    """
    counts = card["status"].value_counts() if "status" in card else pd.Series(dtype=int)
    return {s: int(counts.get(s, 0)) for s in ("met", "at risk", "missed", "not available")}
