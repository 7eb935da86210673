"""Charts of the sales and service page; every function takes an optional ``ax`` and returns it.

Each draws a table of :mod:`cpm_analysis.sales`, :mod:`cpm_analysis.service` or
:mod:`cpm_analysis.marketing`; a section whose table is not available
(:class:`~cpm_analysis.availability.Unavailable`) draws nothing (``None``) and the page shows
the sentence instead. The text is in the report's language (:mod:`cpm_analysis.plots.language`).

Examples
--------
>>> import pandas as pd
>>> from cpm_analysis.sales import funnel
>>> rows = pd.DataFrame({"stage_index": [0, 1, 4, 4], "won": [0.0, 0.0, 1.0, 0.0]})
>>> ax = plot_funnel(funnel(rows))
>>> plot_funnel(None) is None
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from cpm_analysis.plots.language import _, category

if TYPE_CHECKING:
    from cpm_analysis.availability import Unavailable

WON, LOST, OTHER = "#2e7d32", "#c62828", "#1565c0"


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _fig, ax = plt.subplots(figsize=size)
    return ax


def _table(value: Any) -> pd.DataFrame | None:
    """Return the table to draw, or ``None`` for a missing (or empty) one."""
    if isinstance(value, pd.DataFrame) and len(value):
        return value
    return None


def plot_funnel(table: pd.DataFrame | Unavailable | None, *, ax: Axes | None = None) -> Axes | None:
    """Horizontal funnel bars: opportunities reaching each stage, with the conversion.

    ``table`` is :func:`cpm_analysis.sales.funnel`.
    """
    table = _table(table)
    if table is None:
        return None
    ax = _axes(ax, (7, 3))
    y = np.arange(len(table))[::-1]
    reached = table["reached"].to_numpy(dtype=float)
    ax.barh(y, reached, color=OTHER, alpha=0.8, label=_("reached the stage"))
    ax.barh(y, table["won"].to_numpy(dtype=float), color=WON, label=_("won"))
    top = max(float(reached.max()), 1.0)
    for yi, count, conv in zip(y, reached, table["conversion"], strict=True):
        text = f"{count:,.0f}" + ("" if pd.isna(conv) else f"  ({conv:.0%})")
        ax.text(count + top * 0.01, yi, text, va="center", fontsize=8)
    ax.set_yticks(y, [category(s) for s in table.index])
    ax.set_xlim(0, top * 1.25)
    ax.set_xlabel(_("opportunities closed in the period"))
    ax.set_title(_("Opportunity funnel (conversion from the stage before)"))
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_cycle(closed: pd.DataFrame | Unavailable | None, *, ax: Axes | None = None) -> Axes | None:
    """Histogram of the sales cycle in days, won and lost opportunities stacked.

    ``closed`` is :func:`cpm_analysis.sales.closed_opportunities`.

    Examples
    --------
    >>> rows = pd.DataFrame({"won": [1.0, 0.0, 0.0], "cycle_days": [10.0, 20.0, 45.0]})
    >>> ax = plot_cycle(rows)
    """
    closed = _table(closed)
    if closed is None:
        return None
    ax = _axes(ax, (7, 3))
    days = closed["cycle_days"].to_numpy(dtype=float)
    won = closed["won"].to_numpy(dtype=float)
    bins = np.histogram_bin_edges(days[~np.isnan(days)], bins=min(20, max(len(days), 1)))
    ax.hist(
        [days[won == 1.0], days[won != 1.0]],
        bins=bins.tolist(),
        stacked=True,
        color=[WON, LOST],
        label=[_("won"), _("lost or unknown")],
    )
    median = float(np.nanmedian(days))
    ax.axvline(median, color="black", linestyle="--", linewidth=1, label=_("median"))
    ax.set_xlabel(_("days from created to closed"))
    ax.set_ylabel(_("opportunities"))
    ax.set_title(_("Sales cycle of the opportunities closed in the period"))
    ax.legend(fontsize=7)
    return ax


def plot_rates(
    table: pd.DataFrame | Unavailable | None,
    column: str,
    *,
    title: str,
    xlabel: str,
    ax: Axes | None = None,
    top: int = 25,
) -> Axes | None:
    """Horizontal bars of a rate column by the table's index (best first), as percentages.

    For the win rate by owner, the response rate by marketer and the like.

    Examples
    --------
    >>> table = pd.DataFrame({"win_rate": [0.5, 0.25]}, index=["S1", "S2"])
    >>> ax = plot_rates(table, "win_rate", title="Win rate", xlabel="win rate")
    """
    table = _table(table)
    if table is None or column not in table.columns:
        return None
    values = table[column].astype(float).dropna().sort_values(ascending=False).head(top)
    if not len(values):
        return None
    ax = _axes(ax, (7, 1 + 0.3 * len(values)))
    y = np.arange(len(values))[::-1]
    ax.barh(y, values.to_numpy() * 100, color=OTHER)
    for yi, value in zip(y, values, strict=True):
        ax.text(value * 100 + 1, yi, f"{value:.0%}", va="center", fontsize=7)
    ax.set_yticks(y, [category(str(i)) for i in values.index], fontsize=8)
    ax.set_xlim(0, max(float(values.max()) * 100 * 1.2, 5))
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return ax


def plot_complaints(
    table: pd.DataFrame | Unavailable | None, *, ax: Axes | None = None
) -> Axes | None:
    """Bars of complaints by category (or product), resolved and open stacked.

    ``table`` is :func:`cpm_analysis.service.complaints_by`.

    Examples
    --------
    >>> table = pd.DataFrame({"resolved": [3, 1], "open": [1, 0]}, index=["billing", "returns"])
    >>> ax = plot_complaints(table)
    """
    table = _table(table)
    if table is None:
        return None
    ax = _axes(ax, (7, 1 + 0.35 * len(table)))
    y = np.arange(len(table))[::-1]
    resolved = table["resolved"].to_numpy(dtype=float)
    ax.barh(y, resolved, color=WON, label=_("resolved"))
    ax.barh(y, table["open"].to_numpy(dtype=float), left=resolved, color=LOST, label=_("open"))
    ax.set_yticks(y, [category(str(i)) for i in table.index], fontsize=8)
    ax.set_xlabel(_("complaints opened in the period"))
    name = table.index.name or "category"
    ax.set_title(_("Complaints by product") if name == "product" else _("Complaints by category"))
    ax.legend(fontsize=7, loc="lower right")
    return ax
