"""Customer segmentation: RFM scores, named segments, value tiers, clusters and migration.

The CPM process starts by classifying customers by purchase amount and frequency and grading
them by value, so that each group gets its own goals, service and incentives:

- :func:`rfm_scores`: recency, frequency, monetary value and their 1..5 quantile scores per
  customer, as of a cutoff (:mod:`~cpm_analysis.segments.rfm`);
- :func:`rfm_segments`: named segments (Champions, Loyal, ..., Lost) from the scores by an
  ordered, total segment map, each with a recommended action and a Chinese label
  (:mod:`~cpm_analysis.segments.maps`);
- :func:`value_tiers`: A/B/C tiers by cumulative share of revenue or of predicted CLV
  (:mod:`~cpm_analysis.segments.tiers`);
- :func:`cluster_customers`: k-means behavioural clusters, ordered and named by value
  (:mod:`~cpm_analysis.segments.clusters`);
- :func:`segment_migration`: the transition matrix between two periods' segments and the
  customers who fell from the top (:mod:`~cpm_analysis.segments.migration`).

Charts are in :mod:`cpm_analysis.plots.segments`.

Examples
--------
>>> from cpm_analysis.data import load_cdnow
>>> from cpm_analysis.segments import rfm_scores, rfm_segments, value_tiers
>>> scores = rfm_scores(load_cdnow(), "1998-06")
>>> table = value_tiers(rfm_segments(scores))
>>> table[["segment", "tier"]].value_counts().head(3)
segment      tier
Champions    A       6360
Lost         C       2705
Hibernating  C       2462
Name: count, dtype: int64
"""

from __future__ import annotations

from cpm_analysis.segments.clusters import ClusterResult, CustomerClusters, cluster_customers
from cpm_analysis.segments.maps import (
    GROUPS,
    SegmentMap,
    SegmentRule,
    default_segment_map,
    load_segment_map,
    rfm_segments,
    segment_actions,
    segment_labels,
    segment_summary,
)
from cpm_analysis.segments.migration import SegmentMigration, segment_migration
from cpm_analysis.segments.rfm import RFM_COLUMNS, SCORE_COLUMNS, monetary_value, rfm_scores
from cpm_analysis.segments.tiers import tier_summary, value_tiers

__all__ = [
    "GROUPS",
    "RFM_COLUMNS",
    "SCORE_COLUMNS",
    "ClusterResult",
    "CustomerClusters",
    "SegmentMap",
    "SegmentMigration",
    "SegmentRule",
    "cluster_customers",
    "default_segment_map",
    "load_segment_map",
    "monetary_value",
    "rfm_scores",
    "rfm_segments",
    "segment_actions",
    "segment_labels",
    "segment_migration",
    "segment_summary",
    "tier_summary",
    "value_tiers",
]
