"""Charts of the data-quality report: table sizes, coverage over time, rejected rows.

Every function takes an optional ``ax`` and returns the Axes; none calls ``plt.show``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.periods import parse_period
>>> from cpm_analysis.data import quality
>>> ds = generate(100, seed=1).to_dataset()
>>> ax = table_sizes(quality.table_overview(ds.as_of("2024-06"), parse_period("2024-06")))
>>> ax.get_title(loc="left")
'Rows per table'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from cpm_analysis.i18n import N_
from cpm_analysis.periods import Period
from cpm_analysis.plots.language import _, category

_TABLE_LABELS = {
    "customers": N_("signups"),
    "orders": N_("orders"),
    "tickets": N_("tickets opened"),
    "surveys": N_("survey answers"),
}
_TABLE_NAMES = (
    N_("customers"),
    N_("orders"),
    N_("order_lines"),
    N_("tickets"),
    N_("surveys"),
    N_("staff"),
    N_("targets"),
    N_("assessments"),
    N_("activities"),
    N_("opportunities"),
)
"""The tables a chart names, marked for the catalogue (shown by :func:`category`)."""


def _axes(ax: Axes | None, size: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    _figure, ax = plt.subplots(figsize=size) if size else plt.subplots()
    return ax


def table_sizes(overview: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars: rows of each present table as of the period end, and in the period.

    Parameters
    ----------
    overview : DataFrame
        :func:`cpm_analysis.data.quality.table_overview`.
    ax : Axes, optional
        Where to draw.
    """
    present = overview.loc[overview["present"].to_numpy(dtype=bool)]
    ax = _axes(ax, (9.0, 0.45 * max(len(present), 2) + 1.2))
    names = present.index.tolist()[::-1]
    y = np.arange(len(names))
    total = present["rows"].to_numpy(dtype=float)[::-1]
    in_period = present["in_period"].astype("Float64").fillna(0).to_numpy(dtype=float)[::-1]
    ax.barh(y, total, color="#c9d6e3", label=_("as of the period end"))
    ax.barh(y, in_period, color="#2f6690", height=0.5, label=_("in the period"))
    ax.set_yticks(y, [category(name) for name in names])
    if len(total) and total.max() > 0 and total.max() / max(total[total > 0].min(), 1) > 200:
        ax.set_xscale("log")
        ax.set_xlabel(_("rows (log scale)"))
    else:
        ax.set_xlabel(_("rows"))
    for yi, value in zip(y, total, strict=True):
        ax.text(value, float(yi), f" {int(value):,}", va="center", fontsize=9)
    ax.set_title(_("Rows per table"), loc="left")
    ax.legend(loc="lower right")
    ax.grid(axis="y", visible=False)
    return ax


def monthly_activity(
    activity: pd.DataFrame, period: Period | None = None, *, ax: Axes | None = None
) -> Axes:
    """Lines of rows per month for each dated table, the reporting period shaded.

    Parameters
    ----------
    activity : DataFrame
        :func:`cpm_analysis.data.quality.monthly_activity`.
    period : Period, optional
        Shaded when given.
    ax : Axes, optional
        Where to draw.
    """
    ax = _axes(ax)
    if activity.empty:
        ax.text(0.5, 0.5, _("No dated rows"), ha="center", va="center", transform=ax.transAxes)
    wide = activity.pivot_table(index="month", columns="table", values="rows", aggfunc="sum")
    for table in [t for t in _TABLE_LABELS if t in wide.columns]:
        ax.plot(wide.index, wide[table], label=_(_TABLE_LABELS[table]), linewidth=1.6)
    if period is not None:
        ax.axvspan(period.start, period.end, color="#edae49", alpha=0.25, label=f"{period.label}")
    ax.set_ylabel(_("rows per month"))
    ax.set_title(_("Coverage over time"), loc="left")
    ax.set_ylim(bottom=0)
    if not activity.empty:
        ax.legend(loc="upper left", ncols=5)
    return ax


def rejected_by_reason(summary: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars: rejected rows per table and reason, most frequent on top.

    Parameters
    ----------
    summary : DataFrame
        :func:`cpm_analysis.data.quality.rejected_summary`.
    ax : Axes, optional
        Where to draw.
    """
    counts = summary.groupby(["table", "reason"], sort=False)["rows"].sum().reset_index()
    ax = _axes(ax, (9.0, 0.4 * max(len(counts), 2) + 1.2))
    if counts.empty:
        ax.text(
            0.5, 0.5, _("No rows were rejected"), ha="center", va="center", transform=ax.transAxes
        )
        ax.set_yticks([])
        ax.set_xticks([])
    else:
        counts = counts.sort_values("rows", ascending=True, kind="stable")
        labels = (counts["table"] + ": " + counts["reason"]).tolist()
        y = np.arange(len(labels))
        ax.barh(y, counts["rows"].to_numpy(), color="#d1495b")
        ax.set_yticks(y, labels)
        for yi, value in zip(y, counts["rows"].to_numpy(), strict=True):
            ax.text(value, float(yi), f" {int(value):,}", va="center", fontsize=9)
        ax.set_xlabel(_("rejected rows"))
        ax.grid(axis="y", visible=False)
    ax.set_title(_("Rejected rows by reason"), loc="left")
    return ax
