"""Charts of KPIs, targets and cohorts; every function takes an optional ``ax`` and returns it.

Examples
--------
>>> from cpm_analysis.cohorts import cohort_retention
>>> from cpm_analysis.plots.kpis import cohort_heatmap, kpi_trend, target_attainment
>>> ax = cohort_heatmap(cohort_retention(ds, freq="Q"))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from cpm_analysis.kpis.trends import headline_kpis
from cpm_analysis.plots.language import _, category

if TYPE_CHECKING:
    from cpm_analysis.cohorts import CohortRetention

STATUS_COLORS: dict[str, str] = {
    "met": "#2e7d32",
    "at risk": "#f9a825",
    "missed": "#c62828",
    "no data": "#9e9e9e",
}
"""Colours of the target statuses (green, amber, red, grey)."""


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _fig, ax = plt.subplots(figsize=size)
    return ax


def cohort_heatmap(
    result: CohortRetention,
    *,
    metric: str = "customers",
    ax: Axes | None = None,
    annot: bool | None = None,
    cmap: str = "Blues",
) -> Axes:
    """Heatmap of a cohort triangle (:func:`cpm_analysis.cohorts.cohort_retention`).

    Parameters
    ----------
    result : CohortRetention
        The triangles.
    metric : str
        ``"customers"`` (share of the cohort active) or ``"revenue"`` (revenue retention).
    ax : Axes, optional
        Where to draw; a new figure when omitted.
    annot : bool, optional
        Write the percentages in the cells (default: when there are at most 24 cohorts).
    cmap : str
        The colour map.

    Returns
    -------
    Axes

    Examples
    --------
    >>> from cpm_analysis.cohorts import cohort_retention
    >>> ax = cohort_heatmap(cohort_retention(ds, freq="Q"), metric="revenue")
    """
    if metric not in ("customers", "revenue"):
        raise ValueError(f"metric: expected 'customers' or 'revenue', got {metric!r}")
    table = result.customers if metric == "customers" else result.revenue
    rows, cols = table.shape
    ax = _axes(ax, (min(2 + 0.45 * cols, 16), min(1.5 + 0.3 * rows, 12)))
    if annot is None:
        annot = rows <= 24
    sns.heatmap(
        table,
        ax=ax,
        cmap=cmap,
        vmin=0,
        vmax=1 if metric == "customers" else max(1.0, float(np.nanmax(table.to_numpy()) or 1)),
        annot=annot,
        fmt=".0%",
        annot_kws={"fontsize": 7},
        cbar_kws={"format": plt.FuncFormatter(lambda v, _: f"{v:.0%}")},
        mask=table.isna(),
    )
    what = _("customers active") if metric == "customers" else _("revenue vs first period")
    ax.set_title(_("Cohort retention: %(what)s") % {"what": what})
    ax.set_xlabel(_("periods since first purchase"))
    ax.set_ylabel(_("cohort (first paid order)"))
    return ax


def kpi_trend(
    history: pd.DataFrame,
    kpi: str,
    *,
    targets: pd.DataFrame | None = None,
    ax: Axes | None = None,
    max_labels: int = 8,
) -> Axes:
    """Line chart of one KPI across periods (from :func:`cpm_analysis.kpis.kpi_history`).

    With a breakdown, one line per group. ``targets`` (rows of the targets table) adds the
    company-level targets of the KPI as markers. At most ``max_labels`` periods are labelled
    on the time axis (every k-th, the latest always), level.

    Examples
    --------
    >>> from cpm_analysis.kpis import kpi_history
    >>> from cpm_analysis.periods import period_range
    >>> ax = kpi_trend(kpi_history(ds, period_range("2024-01", "2024-06")), "revenue")
    """
    if "kpi" not in history.index.names or "period" not in history.index.names:
        raise ValueError("history: expected the output of kpi_history (index period, kpi, ...)")
    if kpi not in history.index.get_level_values("kpi"):
        raise ValueError(f"kpi: '{kpi}' is not in the history")
    rows = history.xs(kpi, level="kpi")
    ax = _axes(ax, (8, 3.5))
    order = list(dict.fromkeys(history.index.get_level_values("period")))
    if rows.index.nlevels > 1:
        wide = rows["value"].unstack(rows.index.names[1]).reindex(order)
        for column in wide.columns:
            ax.plot(range(len(order)), wide[column].to_numpy(), marker="o", label=str(column))
        ax.legend(fontsize=7, ncol=2, title=rows.index.names[1])
    else:
        values = rows["value"].reindex(order)
        ax.plot(
            range(len(order)), values.to_numpy(), marker="o", color="#1565c0", label=_("actual")
        )
    if targets is not None and len(targets):
        mine = targets.loc[targets["kpi"] == kpi]
        for column in ("owner_id", "segment"):  # company-level targets only
            if column in mine.columns:
                mine = mine.loc[mine[column].isna().to_numpy()]
        goal = mine.set_index(mine["period"].astype("str"))["target"].reindex(order)
        if goal.notna().any():
            ax.plot(range(len(order)), goal.to_numpy(), ls="--", marker="_", color="0.3")
            ax.plot([], [], ls="--", color="0.3", label=_("target"))
            ax.legend(fontsize=7)
    first = rows.iloc[0]
    # every k-th period labelled, level, so that the labels never overlap each other or the
    # value axis (tests/test_plots_text.py)
    step = max(1, -(-len(order) // max_labels))
    ticks = list(range(len(order) - 1, -1, -step))[::-1]  # the latest is always labelled
    ax.set_xticks(range(len(order)), minor=True)
    ax.set_xticks(ticks, [order[i] for i in ticks], fontsize=8)
    ax.set_title(category(str(first["label_en"])))  # the KPI's label_zh on a Chinese page
    ax.set_ylabel(category(str(first["unit"])))
    ax.grid(alpha=0.3)
    return ax


def target_attainment(evaluation: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars of attainment per target, coloured by status (from ``evaluate_targets``).

    Attainment is drawn capped at 150% (the label gives the real value); a line marks 100%.

    Examples
    --------
    >>> from cpm_analysis.kpis import compute_kpis, evaluate_targets
    >>> kpis = compute_kpis(ds, "2024-06")
    >>> targets = ds.targets[(ds.targets["period"] == "2024-06") & ds.targets["owner_id"].isna()]
    >>> ax = target_attainment(evaluate_targets(kpis, targets))
    """
    for column in ("kpi", "attainment", "status"):
        if column not in evaluation.columns:
            raise ValueError(f"evaluation: column '{column}' is missing (use evaluate_targets)")
    frame = evaluation.iloc[::-1]
    names = frame["label_en"] if "label_en" in frame else frame["kpi"]
    if "owner_id" in frame:
        names = names.where(frame["owner_id"].isna(), names + " · " + frame["owner_id"].fillna(""))
    ax = _axes(ax, (8, 1 + 0.35 * len(frame)))
    shown = frame["attainment"].clip(upper=1.5).fillna(0).to_numpy()
    colors = [STATUS_COLORS.get(s, "#9e9e9e") for s in frame["status"]]
    ax.barh(range(len(frame)), shown, color=colors)
    for i, (value, status) in enumerate(zip(frame["attainment"], frame["status"], strict=True)):
        text = _("no data") if status == "no data" or pd.isna(value) else f"{value:.0%}"
        ax.text(min(shown[i], 1.5) + 0.01, i, text, va="center", fontsize=7)
    ax.axvline(1.0, color="0.2", lw=1)
    ax.set_yticks(range(len(frame)), [category(n) for n in names.astype(str)], fontsize=8)
    ax.set_xlim(0, 1.65)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel(_("attainment"))
    for status, color in STATUS_COLORS.items():
        ax.bar(0, 0, color=color, label=category(status))
    # beside the bars, never over a bar's label
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def plot_scorecard(card: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Attainment bars of the scorecard (``target_attainment``), or a note when empty.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_scorecard(pd.DataFrame(columns=["status", "attainment"]))
    >>> "No target" in ax.texts[0].get_text()
    True
    """
    rated = card.loc[card["attainment"].notna()] if "attainment" in card else card.iloc[0:0]
    if len(rated):
        return target_attainment(rated, ax=ax)
    if ax is None:
        _fig, ax = plt.subplots(figsize=(8, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, _("No target with a value for this period"), ha="center", va="center")
    return ax


def plot_kpi_trends(
    history: pd.DataFrame,
    kpis: list[str] | tuple[str, ...] | None = None,
    *,
    targets: pd.DataFrame | None = None,
    ncols: int = 3,
) -> np.ndarray:
    """Small multiples of :func:`~cpm_analysis.plots.kpis.kpi_trend`, one panel per KPI.

    Parameters
    ----------
    history : DataFrame
        From :func:`~cpm_analysis.kpis.trends.kpi_trends`.
    kpis : sequence of str, optional
        KPIs to draw; default :func:`~cpm_analysis.kpis.trends.headline_kpis`.
    targets : DataFrame, optional
        Company-level targets (drawn as markers).
    ncols : int
        Panels per row.

    Returns
    -------
    ndarray of Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=1).to_dataset()
    >>> from cpm_analysis.kpis.trends import kpi_trends
    >>> axes = plot_kpi_trends(kpi_trends(ds, "2025-06", 4), ["revenue", "orders"])
    >>> len(axes)
    2
    """
    names = list(headline_kpis(history) if kpis is None else kpis)
    if not names:
        raise ValueError("kpis: no KPI with a value in the history")
    ncols = max(1, min(ncols, len(names)))
    nrows = -(-len(names) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False)
    axes = grid.ravel()
    if targets is not None and {"owner_id"} <= set(targets.columns):
        targets = targets.loc[targets["owner_id"].isna().to_numpy()]
    for ax, kpi in zip(axes, names, strict=False):
        kpi_trend(history, kpi, targets=targets, ax=ax, max_labels=4)
        ax.set_xlabel("")
    for ax in axes[len(names) :]:
        ax.axis("off")
    return axes[: len(names)]
