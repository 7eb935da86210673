"""Charts of the segmentation: segment sizes and revenue, the R-F grid, migration, clusters.

Every function takes an optional matplotlib ``ax``, draws on it (or on a new figure) and returns
the Axes; none calls ``plt.show``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from cpm_analysis.segments import rfm_scores, rfm_segments
>>> from cpm_analysis.plots.segments import plot_rf_heatmap
>>> ax = plot_rf_heatmap(rfm_segments(rfm_scores(ds, "2024-06")))
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from cpm_analysis.i18n import N_
from cpm_analysis.plots.language import _, category
from cpm_analysis.segments.clusters import ClusterResult, CustomerClusters
from cpm_analysis.segments.maps import SegmentMapSource, load_segment_map, segment_summary
from cpm_analysis.segments.migration import SegmentMigration
from cpm_analysis.segments.tiers import tier_summary

_VALUE_NAMES = (N_("revenue"), N_("value"), N_("new"), N_("lost"))
"""The value measures and migration states a chart may name, for the catalogue."""

CUSTOMER_COLOR = "#4C72B0"
REVENUE_COLOR = "#DD8452"


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _figure, ax = plt.subplots(figsize=size)
    return ax


def _share_bars(
    ax: Axes, labels: list[str], customers: np.ndarray, revenue: np.ndarray, value_name: str
) -> None:
    y = np.arange(len(labels))
    height = 0.4
    ax.barh(y - height / 2, customers, height, color=CUSTOMER_COLOR, label=_("share of customers"))
    ax.barh(
        y + height / 2,
        revenue,
        height,
        color=REVENUE_COLOR,
        label=_("share of %(value)s") % {"value": _(value_name)},
    )
    for offset, values in ((-height / 2, customers), (height / 2, revenue)):
        for yi, v in zip(y, values, strict=True):
            if np.isfinite(v):
                ax.text(v, yi + offset, f" {v:.0%}", va="center", fontsize=8)
    ax.set_yticks(y, [category(label) for label in labels])
    ax.invert_yaxis()
    top = np.nanmax(np.r_[customers, revenue, 0.0])
    ax.set_xlim(0, max(top * 1.15, 0.05))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.legend(loc="lower right", frameon=False)


def plot_segment_sizes(
    segments: pd.DataFrame,
    *,
    value: str = "monetary",
    labels: dict[str, str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Each segment's share of customers next to its share of revenue (horizontal bars).

    Parameters
    ----------
    segments : DataFrame
        The output of :func:`~cpm_analysis.segments.rfm_segments`, or of
        :func:`~cpm_analysis.segments.segment_summary`.
    value : str, default "monetary"
        The revenue column (when ``segments`` is not a summary yet).
    labels : dict, optional
        Display labels by segment, e.g. ``segment_labels("zh")`` (the font must have the
        glyphs).
    ax : Axes, optional

    Returns
    -------
    Axes

    Examples
    --------
    >>> from cpm_analysis.segments import rfm_scores, rfm_segments
    >>> scores = rfm_scores(ds, "2024-06")
    >>> ax = plot_segment_sizes(rfm_segments(scores))
    """
    summary = (
        segments
        if {"customer_share", "revenue_share"} <= set(segments.columns)
        else segment_summary(segments, value=value)
    )
    ax = _axes(ax, (8, 0.45 * len(summary) + 1.5))
    names = [str(s) for s in summary.index]
    shown = [labels.get(s, s) for s in names] if labels else names
    _share_bars(
        ax,
        shown,
        summary["customer_share"].to_numpy(dtype=float),
        summary["revenue_share"].to_numpy(dtype=float),
        "revenue",
    )
    ax.set_title(_("Segments: share of customers and of revenue"))
    return ax


def plot_value_tiers(tiers: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Each value tier's share of customers next to its share of value (Pareto bars).

    Parameters
    ----------
    tiers : DataFrame
        The output of :func:`~cpm_analysis.segments.value_tiers` or
        :func:`~cpm_analysis.segments.tier_summary`.
    ax : Axes, optional

    Examples
    --------
    >>> from cpm_analysis.segments import rfm_scores, rfm_segments
    >>> scores = rfm_scores(ds, "2024-06")
    >>> from cpm_analysis.segments import value_tiers
    >>> ax = plot_value_tiers(value_tiers(scores))
    """
    summary = tiers if "value_share" in tiers.columns else tier_summary(tiers)
    ax = _axes(ax, (7, 0.6 * len(summary) + 1.5))
    value_name = str(tiers.attrs.get("tier_value", "value"))
    value_name = "revenue" if value_name == "monetary" else value_name
    _share_bars(
        ax,
        [_("tier %(tier)s") % {"tier": t} for t in summary.index],
        summary["customer_share"].to_numpy(dtype=float),
        summary["value_share"].to_numpy(dtype=float),
        value_name,
    )
    ax.set_title(_("Value tiers: share of customers and of %(value)s") % {"value": _(value_name)})
    return ax


def _dominant_segments(segments: pd.DataFrame, bins: int, segment_map: Any) -> np.ndarray:
    """Per (r, f) cell, the segment most of its customers are in (map's choice when empty)."""
    grid = np.full((bins, bins), "", dtype=object)
    if len(segments):
        cells = (
            segments.groupby(["r_score", "f_score", "segment"], observed=True)
            .size()
            .reset_index(name="n")
            .sort_values(["n"], ascending=False, kind="stable")
            .drop_duplicates(["r_score", "f_score"])
        )
        for r, f, seg in cells[["r_score", "f_score", "segment"]].itertuples(index=False):
            grid[int(r) - 1, int(f) - 1] = str(seg)
    try:
        seg_map = load_segment_map(segment_map, bins=bins)
    except ValueError:
        return grid
    present = {str(s) for s in pd.unique(segments["segment"].astype("str"))}
    if not present <= set(seg_map.segments) | {"Other"}:
        return grid  # the segments come from another map: leave empty cells unnamed
    for r in range(bins):
        for f in range(bins):
            if grid[r, f] == "":
                codes = seg_map.grid[r, f][seg_map.grid[r, f] >= 0]
                if len(codes):
                    grid[r, f] = seg_map.segments[np.bincount(codes).argmax()]
    return grid


def plot_rf_heatmap(
    segments: pd.DataFrame,
    *,
    segment_map: SegmentMapSource | None = None,
    labels: dict[str, str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Return the customers by R score (rows, best on top) and F score (columns), with segment boundaries.

    Each cell shows its number of customers; thick lines separate cells whose customers are
    mostly in different segments, and each segment's name is written in its largest cell.

    Parameters
    ----------
    segments : DataFrame
        The output of :func:`~cpm_analysis.segments.rfm_segments`.
    segment_map : optional
        The map used, to name empty cells (default: the default map).
    labels : dict, optional
        Display labels by segment (e.g. ``segment_labels("zh")``).
    ax : Axes, optional

    Examples
    --------
    >>> from cpm_analysis.segments import rfm_scores, rfm_segments
    >>> scores = rfm_scores(ds, "2024-06")
    >>> ax = plot_rf_heatmap(rfm_segments(scores))
    """
    for col in ("r_score", "f_score", "segment"):
        if col not in segments.columns:
            raise ValueError(f"segments: no {col!r} column; compute it with rfm_segments()")
    bins = int(segments.attrs.get("bins") or max(5, segments[["r_score", "f_score"]].max().max()))
    r = segments["r_score"].to_numpy(dtype=np.int64)
    f = segments["f_score"].to_numpy(dtype=np.int64)
    counts = np.bincount((r - 1) * bins + (f - 1), minlength=bins * bins).reshape(bins, bins)
    dominant = _dominant_segments(segments, bins, segment_map)
    ax = _axes(ax, (8, 6.5))
    # row 0 of the image is R = bins (best) so that the best customers sit at the top
    image = ax.imshow(counts[::-1], cmap="Blues", aspect="auto")
    ax.figure.colorbar(image, ax=ax, label=_("customers"))
    ax.set_xticks(range(bins), [str(i) for i in range(1, bins + 1)])
    ax.set_yticks(range(bins), [str(i) for i in range(bins, 0, -1)])
    ax.set_xlabel(_("F score (frequency)"))
    ax.set_ylabel(_("R score (recency)"))
    top = counts.max() if counts.size else 0
    for ri in range(bins):
        for fi in range(bins):
            y = bins - 1 - ri
            dark = top and counts[ri, fi] > 0.6 * top
            ax.text(
                fi,
                y - 0.12,
                f"{counts[ri, fi]:,}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if dark else "black",
            )
            # boundaries: right and lower neighbours
            if fi + 1 < bins and dominant[ri, fi] != dominant[ri, fi + 1]:
                ax.plot([fi + 0.5, fi + 0.5], [y - 0.5, y + 0.5], color="black", lw=2.5)
            if ri + 1 < bins and dominant[ri, fi] != dominant[ri + 1, fi]:
                ax.plot([fi - 0.5, fi + 0.5], [y + 0.5, y + 0.5], color="black", lw=2.5)
    for name in dict.fromkeys(dominant.ravel()):
        if not name:
            continue
        cells = np.argwhere(dominant == name)
        ri, fi = max(cells, key=lambda c: (counts[c[0], c[1]], -c[0], -c[1]))
        dark = top and counts[ri, fi] > 0.6 * top
        shown = labels.get(name, name) if labels else category(name)
        ax.text(
            fi,
            bins - 1 - ri + 0.2,
            shown,
            ha="center",
            va="center",
            fontsize=7.5,
            style="italic",
            color="white" if dark else "#333333",
        )
    ax.set_xlim(-0.5, bins - 0.5)
    ax.set_ylim(bins - 0.5, -0.5)
    ax.set_title(_("Customers by recency and frequency score, with segments"))
    return ax


def plot_migration(
    migration: SegmentMigration, *, normalize: bool = True, ax: Axes | None = None
) -> Axes:
    """Heatmap of the segment transition matrix (previous segment rows, current columns).

    Parameters
    ----------
    migration : SegmentMigration
        The output of :func:`~cpm_analysis.segments.segment_migration`.
    normalize : bool, default True
        Colour and annotate by row share (with the count); ``False``: by count.
    ax : Axes, optional

    Examples
    --------
    >>> from cpm_analysis.segments import rfm_scores, rfm_segments, segment_migration
    >>> before = rfm_segments(rfm_scores(ds, "2024-05"))
    >>> after = rfm_segments(rfm_scores(ds, "2024-06"))
    >>> ax = plot_migration(segment_migration(before, after))
    """
    counts = migration.counts
    shares = migration.shares
    data = shares if normalize else counts
    ax = _axes(ax, (0.8 * counts.shape[1] + 3, 0.55 * counts.shape[0] + 2))
    image = ax.imshow(data.to_numpy(dtype=float), cmap="Purples", aspect="auto")
    ax.figure.colorbar(image, ax=ax, label=_("share of row") if normalize else _("customers"))
    ax.set_xticks(
        range(counts.shape[1]), [category(c) for c in counts.columns], rotation=45, ha="right"
    )
    ax.set_yticks(range(counts.shape[0]), [category(r) for r in counts.index])
    ax.set_xlabel(_("current segment"))
    ax.set_ylabel(_("previous segment"))
    top = float(np.nanmax(data.to_numpy(dtype=float))) if data.size else 0.0
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            n = int(counts.iat[i, j])
            if n == 0:
                continue
            text = f"{shares.iat[i, j]:.0%}\n{n:,}" if normalize else f"{n:,}"
            dark = top and float(data.iat[i, j]) > 0.6 * top
            ax.text(
                j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "black"
            )
    ax.set_title(_("Segment migration"))
    return ax


def plot_cluster_profile(
    result: ClusterResult | CustomerClusters, *, ax: Axes | None = None
) -> Axes:
    """Each cluster's centre on the (log-scaled, standardised) features, annotated with means.

    Rows are clusters (value order, named, with their share of customers and revenue), columns
    the features; the colour is the centre in standard deviations from the average customer
    (recency: low is recent), the text the cluster's mean in the original units.

    Parameters
    ----------
    result : ClusterResult or CustomerClusters
        The output of :func:`~cpm_analysis.segments.cluster_customers` or a fitted estimator.
    ax : Axes, optional

    Examples
    --------
    >>> from cpm_analysis.segments import cluster_customers, rfm_scores
    >>> ax = plot_cluster_profile(cluster_customers(rfm_scores(ds, "2024-06"), k=3, random_state=0))
    """
    model = result.model if isinstance(result, ClusterResult) else result
    if not hasattr(model, "cluster_centers_"):
        raise ValueError("result: the clustering is not fitted")
    profile = model.profile_
    centres = model.cluster_centers_
    columns = list(model.columns_)
    ax = _axes(ax, (1.6 * len(columns) + 4, 0.7 * len(profile) + 1.8))
    limit = max(float(np.abs(centres).max()), 1e-9)
    image = ax.imshow(centres, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.figure.colorbar(image, ax=ax, label=_("centre (std. dev. from average, log scale)"))
    ax.set_xticks(range(len(columns)), columns)
    rows = [
        f"{i}: {row['name']}\n{row['customer_share']:.0%} of customers, "
        f"{row['revenue_share']:.0%} of revenue"
        for i, row in profile.iterrows()
    ]
    ax.set_yticks(range(len(profile)), rows, fontsize=8)
    for i in range(len(profile)):
        for j, col in enumerate(columns):
            mean = profile[f"mean_{col}"].iat[i] if f"mean_{col}" in profile else np.nan
            dark = abs(centres[i, j]) > 0.6 * limit
            ax.text(
                j,
                i,
                f"{mean:,.1f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
    ax.set_title(_("Customer clusters (k = %(k)s): mean per cluster") % {"k": len(profile)})
    return ax
