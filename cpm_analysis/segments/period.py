"""The segments of a period: the segment table at a cutoff, the migration, the clusters.

Each function turns the period's data or scored table into one table of the segment report,
or the :class:`~cpm_analysis.availability.Unavailable` sentence saying why there is none.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.periods import parse_period
>>> ds = generate(300, seed=1).to_dataset()
>>> period = parse_period("2025-06")
>>> segments = segment_table(ds.as_of(period.end), period.end)
>>> {"segment", "tier", "r_score"} <= set(segments.columns)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpm_analysis import availability
from cpm_analysis.availability import Unavailable, check_positive
from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.data import Dataset
from cpm_analysis.data.protocol import CustomerData, customer_data
from cpm_analysis.periods import Instant, Period

if TYPE_CHECKING:
    from cpm_analysis.periods import Cutoff
    from cpm_analysis.segments.clusters import ClusterResult
    from cpm_analysis.segments.maps import SegmentMapSource
    from cpm_analysis.segments.migration import SegmentMigration


def segment_table(
    view: CustomerData,
    cutoff: Cutoff,
    *,
    segment_map: SegmentMapSource | None = None,
    tier_shares: Sequence[float] = DEFAULT_CONFIG.segments.tier_shares,
    scores: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """RFM scores, named segment and value tier of every buyer at ``cutoff``.

    The one segmentation of a period: the scored table's ``segment`` and ``tier``
    (:func:`cpm_analysis.scoring.score_customers`) and the segment pages both come from here.

    Parameters
    ----------
    view : Dataset or DaskDataset
        The point-in-time data (only orders up to ``cutoff`` count).
    cutoff : Timestamp, str, date or Period
        The instant the segments describe (read by :func:`cpm_analysis.periods.to_cutoff`).
    segment_map : optional
        The segment map (``segments.map`` of the configuration; see
        :func:`~cpm_analysis.segments.load_segment_map`); default the built-in one.
    tier_shares : sequence of float
        Value shares of the tiers A, B, C (``segments.tier_shares``).
    scores : DataFrame, optional
        :func:`~cpm_analysis.segments.rfm_scores` at ``cutoff`` when already computed.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: :func:`~cpm_analysis.segments.rfm_scores` columns,
        ``segment``, ``action``, ``tier``.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(200, seed=2).to_dataset()
    >>> segment_table(ds, "2025-06-30").index.name
    'customer_id'
    """
    from cpm_analysis.segments import load_segment_map, rfm_scores, rfm_segments, value_tiers

    if scores is None:
        scores = rfm_scores(view, cutoff)
    return value_tiers(rfm_segments(scores, load_segment_map(segment_map)), tier_shares)


def period_migration(
    view: Dataset,
    period: Period,
    *,
    previous: pd.DataFrame | None = None,
    current: pd.DataFrame | None = None,
    segment_map: SegmentMapSource | None = None,
    tier_shares: Sequence[float] = DEFAULT_CONFIG.segments.tier_shares,
) -> Any:
    """Segment migration from the end of the previous period to the end of ``period``.

    ``previous`` and ``current`` are the :func:`segment_table` of the two cutoffs when they
    are already computed (an owner's book: the company's rows of its customers, so that the
    book's segments are the company's); otherwise they are computed from ``view`` with
    ``segment_map`` and ``tier_shares`` (see :func:`segment_table`), the map that also names
    the migration's top and at-risk groups.

    Returns
    -------
    SegmentMigration or Unavailable
        See :func:`cpm_analysis.segments.segment_migration` (``counts``, ``shares``,
        ``fallen``); :class:`~cpm_analysis.availability.Unavailable` when no customer
        had bought by the end of the previous period.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(200, seed=2).to_dataset()
    >>> migration = period_migration(ds, parse_period("2025-06"))
    >>> int(migration.counts.to_numpy().sum()) > 0
    True
    """
    from cpm_analysis.segments import segment_migration

    check = availability.migration(view, period)
    if not check.available:
        return check.missing()
    rules: dict[str, Any] = {"segment_map": segment_map, "tier_shares": tier_shares}
    if previous is None:
        previous = segment_table(view, period.previous().end, **rules)
    if current is None:
        current = segment_table(view, period.end, **rules)
    return segment_migration(previous, current, segment_map=segment_map)


def fallen_customers(
    migration: SegmentMigration | Unavailable, scored: pd.DataFrame, n: int = 25
) -> pd.DataFrame:
    """Return the customers who fell from a top segment, most valuable first, with owner and action.

    Parameters
    ----------
    migration : SegmentMigration or Unavailable
        From :func:`period_migration` (an ``Unavailable`` is returned as it is).
    scored : DataFrame
        The period's scored table (for the owner, CLV and recommended action).
    n : int
        Rows to return (the most valuable by historical revenue).

    Returns
    -------
    DataFrame or Unavailable
        The sentence "No customer fell ..." instead of an empty table.

    Examples
    --------
    >>> from cpm_analysis.segments import segment_migration
    >>> prev = pd.Series({"C1": "Champions", "C2": "Lost"})
    >>> cur = pd.Series({"C1": "At Risk", "C2": "Lost"})
    >>> m = segment_migration(prev, cur)
    >>> fallen_customers(m, pd.DataFrame({"customer_id": ["C1"], "owner_id": ["S1"]}))[
    ...     "customer_id"
    ... ].tolist()
    ['C1']
    """
    check_positive("n", n)
    if isinstance(migration, Unavailable):
        return migration
    fallen = migration.fallen.reset_index()
    fallen = fallen.rename(columns={fallen.columns[0]: "customer_id"})
    keep = [c for c in ("customer_id", "owner_id", "clv", "recommended_action") if c in scored]
    out = fallen.merge(scored[keep], on="customer_id", how="left")
    columns = [
        c
        for c in (
            "customer_id",
            "owner_id",
            "previous",
            "current",
            "recency_days",
            "frequency",
            "monetary",
            "clv",
            "recommended_action",
        )
        if c in out
    ]
    out = out.sort_values("monetary", ascending=False, kind="stable") if "monetary" in out else out
    if out.empty:
        return Unavailable("No customer fell from a top segment since the previous period.")
    return out[columns].head(n).reset_index(drop=True)


def migration_summary(migration: SegmentMigration | Unavailable) -> pd.DataFrame:
    """Per previous segment: customers, how many stayed, moved up or down a group, or left.

    A move counts as *down* when it lands in the previous segment's group or a worse one
    (groups ordered top, growth, at_risk, lapsed) in another segment of a worse group, *up*
    when the group is better; ``new`` and ``lost`` rows/columns are entries and exits.

    Examples
    --------
    >>> from cpm_analysis.segments import segment_migration
    >>> m = segment_migration(pd.Series({"a": "Champions"}), pd.Series({"a": "At Risk"}))
    >>> int(migration_summary(m).loc["Champions", "down"])
    1
    """
    from cpm_analysis.segments import default_segment_map

    if isinstance(migration, Unavailable):
        return migration
    counts = migration.counts
    groups = migration.groups or dict(default_segment_map().groups)
    order = {"top": 0, "growth": 1, "at_risk": 2, "lapsed": 3}
    rank_rows = pd.Series(counts.index.map(groups), index=counts.index).map(order)
    rank_cols = pd.Series(counts.columns.map(groups), index=counts.columns).map(order)
    diff = rank_cols.to_numpy()[None, :] - rank_rows.to_numpy()[:, None]
    values = counts.to_numpy()
    same = counts.index.to_numpy()[:, None] == counts.columns.to_numpy()[None, :]
    known = ~np.isnan(diff)
    out = pd.DataFrame(
        {
            "customers": values.sum(axis=1),
            "stayed": (values * same).sum(axis=1),
            "up": (values * (known & (diff < 0))).sum(axis=1),
            "down": (values * (known & (diff > 0))).sum(axis=1),
        },
        index=counts.index,
    )
    out["sideways"] = (values * (known & (diff == 0) & ~same)).sum(axis=1)
    if migration.lost_label in counts.columns:
        out["left"] = counts[migration.lost_label].to_numpy()
    out["stayed_share"] = out["stayed"] / out["customers"].where(out["customers"] > 0)
    out.index.name = "previous segment"
    return out


# ``cutoff`` is read with pd.Timestamp (availability.clusters), so a Period is not accepted.
def behaviour_clusters(
    segments: pd.DataFrame, view: CustomerData, cutoff: Instant, seed: int = 0
) -> Any:
    """Return the behavioural clusters of the customers, or why not.

    The clusters are computed by :func:`cpm_analysis.segments.cluster_customers`.

    Returns
    -------
    CustomerClusters or Unavailable
        :class:`~cpm_analysis.availability.Unavailable` with fewer than
        :data:`~cpm_analysis.availability.MIN_CLUSTER_BUYERS` buyers.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(30, seed=2).to_dataset()
    >>> behaviour_clusters(segment_table(ds, "2025-06-30"), ds, "2025-06-30").available
    False
    """
    view = customer_data(view, "view").collect()  # either engine; its pandas view
    from cpm_analysis.segments import cluster_customers

    check = availability.clusters(view, cutoff)
    if not check.available:
        return check.missing()
    return cluster_customers(segments, random_state=seed)


def cluster_table(clusters: ClusterResult | Unavailable) -> pd.DataFrame:
    """Return the clusters' profile for display, ``name`` renamed ``cluster_name``.

    (A column called ``name`` would be dropped as personal data by the masked display.)

    Examples
    --------
    >>> class C:
    ...     profile = pd.DataFrame({"name": ["Recent"], "customers": [3]})
    >>> cluster_table(C()).columns.tolist()
    ['cluster_name', 'customers']
    """
    if isinstance(clusters, Unavailable):
        return clusters
    return clusters.profile.rename(columns={"name": "cluster_name"})
