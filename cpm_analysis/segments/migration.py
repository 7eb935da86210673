"""How customers moved between segments from one period to the next.

:func:`segment_migration` cross-tabulates every customer's previous segment (rows) against
their current one (columns). Customers who appear only in the current period sit in the row
``"new"``; customers who appear only in the previous one sit in the column ``"lost"``. So each
row sums to the previous period's segment size (the ``"new"`` row: to the number of new
customers), and each column, except ``"lost"``, to the current period's segment size.

With :func:`~cpm_analysis.segments.rfm_scores` every customer with a paid order up to the cutoff
is scored, so between two cutoffs of the same data nobody is ``"lost"`` (a lapsed customer
moves to Hibernating or Lost instead); the ``"lost"`` column fills when the populations differ
(a trailing ``window`` population, deleted customers, another source).

``fallen`` lists the customers who moved from a ``top`` segment (default: the map's group
``top``: Champions, Loyal) to an at-risk one (groups ``at_risk`` and ``lapsed``: Need
Attention, About to Sleep, Can't Lose Them, At Risk, Hibernating, Lost), for follow-up.

Examples
--------
>>> import pandas as pd
>>> before = pd.Series({"a": "Champions", "b": "Loyal", "c": "New"})
>>> after = pd.Series({"a": "At Risk", "b": "Loyal", "d": "New"})
>>> m = segment_migration(before, after)
>>> m.counts.loc["Champions", "At Risk"], m.counts.loc["new", "New"], m.counts.loc["New", "lost"]
(np.int64(1), np.int64(1), np.int64(1))
>>> m.fallen.index.tolist()
['a']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.segments.maps import SegmentMapSource, load_segment_map
from cpm_analysis.segments.rfm import factorize_ids

NEW = "new"
LOST = "lost"
_CONTEXT = ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score")


@dataclass
class SegmentMigration:
    """What :func:`segment_migration` returns.

    Attributes
    ----------
    counts : DataFrame
        Customers by previous segment (rows, plus ``"new"``) and current segment (columns,
        plus ``"lost"``).
    shares : DataFrame
        ``counts`` divided by row sums (each row sums to 1; an empty row is all zeros).
    fallen : DataFrame
        Customers who fell from a top segment to an at-risk one, indexed by customer id, with
        ``previous`` and ``current`` segment and, when ``current`` was a segments table, their
        current R/F/M measures and scores; biggest spenders first.
    new_label, lost_label : str
        The labels of the ``"new"`` row and the ``"lost"`` column.
    groups : dict
        The segment map's group of each segment (``top``, ``growth``, ``at_risk``,
        ``lapsed``): the map the segments were named by, for :func:`migration_summary
        <cpm_analysis.segments.period.migration_summary>`.
    """

    counts: pd.DataFrame
    shares: pd.DataFrame
    fallen: pd.DataFrame
    new_label: str = NEW
    lost_label: str = LOST
    groups: dict[str, str | None] = field(default_factory=dict)

    def stayed(self) -> pd.Series:
        """Return the customers who kept their segment, by segment (the diagonal of ``counts``)."""
        common = [s for s in self.counts.index if s in self.counts.columns]
        return pd.Series({s: int(self.counts.loc[s, s]) for s in common}, name="stayed")


def _as_segments(value: Any, name: str) -> tuple[pd.Series, pd.DataFrame | None]:
    frame = None
    if isinstance(value, pd.DataFrame):
        if "segment" not in value.columns:
            raise ValueError(f"{name}: no 'segment' column; pass rfm_segments() output or a Series")
        frame, value = value, value["segment"]
    if not isinstance(value, pd.Series):
        raise TypeError(
            f"{name}: expected a Series (customer id -> segment) or a segments DataFrame, got "
            f"{type(value).__name__}"
        )
    if value.index.has_duplicates:
        dupes = value.index[value.index.duplicated()].unique()[:3].tolist()
        raise ValueError(f"{name}: duplicate customer id(s), e.g. {dupes}")
    if value.isna().any():
        raise ValueError(f"{name}: {int(value.isna().sum())} customer(s) have no segment")
    return value, frame


def _order(series: pd.Series, known: list[str]) -> list[str]:
    """Segment labels in a stable order: categorical order, else the map's, else sorted."""
    present = pd.unique(series.astype("str"))
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in series.cat.categories]
        return cats + sorted(set(present) - set(cats))
    ranked = [s for s in known if s in set(present)]
    return ranked + sorted(set(present) - set(ranked))


def _segment_codes(series: pd.Series, labels: list[str]) -> np.ndarray:
    """Position of each customer's segment in ``labels`` (which hold every segment present)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        position = {label: i for i, label in enumerate(labels)}
        remap = np.array(
            [position.get(str(cat), -1) for cat in series.cat.categories] or [-1], dtype=np.int64
        )
        return remap[series.cat.codes.to_numpy()]
    return pd.Categorical(series.astype("str"), categories=labels).codes.astype(np.int64)


def segment_migration(
    previous: pd.Series | pd.DataFrame,
    current: pd.Series | pd.DataFrame,
    *,
    top: Iterable[str] | None = None,
    at_risk: Iterable[str] | None = None,
    segment_map: SegmentMapSource | None = None,
    new_label: str = NEW,
    lost_label: str = LOST,
) -> SegmentMigration:
    """Return the transition matrix between two periods' segments, and who fell from the top.

    Parameters
    ----------
    previous, current : Series or DataFrame
        Segments by customer id: a Series, or the frame :func:`rfm_segments` returns.
    top, at_risk : iterable of str, optional
        Segment names for ``fallen``; default: the map's groups ``top`` and
        ``at_risk`` + ``lapsed``.
    segment_map : optional
        The map the segments come from (for the defaults of ``top``/``at_risk`` and the row
        order); default: the default map.
    new_label, lost_label : str
        Labels of the row of new customers and the column of lost ones.

    Returns
    -------
    SegmentMigration
        ``counts``, ``shares``, ``fallen``.

    Raises
    ------
    ValueError
        For duplicate customer ids or missing segments, a segment named like ``new_label`` or
        ``lost_label``, labels in ``top``/``at_risk`` that the map does not have, or segments
        outside the map when ``top``/``at_risk`` are left to default.

    Examples
    --------
    >>> from cpm_analysis.segments import rfm_scores, rfm_segments
    >>> m = segment_migration(rfm_segments(rfm_scores(ds, "2024-05")),
    ...                       rfm_segments(rfm_scores(ds, "2024-06")))
    >>> m.shares.loc["Champions"].round(3).head(3)
    current
    Champions              0.859
    Loyal                  0.133
    Potential Loyalists    0.007
    Name: Champions, dtype: float64
    """
    prev, prev_frame = _as_segments(previous, "previous")
    cur, cur_frame = _as_segments(current, "current")
    if new_label == lost_label:
        raise ValueError("new_label, lost_label: must differ")
    seg_map = load_segment_map(segment_map)
    known = list(seg_map.segments)
    prev_labels = _order(prev, known)
    cur_labels = _order(cur, known)
    for label in (new_label, lost_label):
        if label in prev_labels or label in cur_labels:
            raise ValueError(
                f"new_label/lost_label: {label!r} is also a segment name; pass another label"
            )
    observed = set(prev_labels) | set(cur_labels)
    groups = seg_map.groups
    if top is None or at_risk is None:
        outside = sorted(observed - set(known) - {"Other"})
        if outside:
            raise ValueError(
                f"segments {', '.join(map(repr, outside[:5]))} are not in the segment map; pass "
                "segment_map= (your map) or top= and at_risk="
            )
    top_set = {s for s in known if groups.get(s) == "top"} if top is None else {str(s) for s in top}
    risk_set = (
        {s for s in known if groups.get(s) in ("at_risk", "lapsed")}
        if at_risk is None
        else {str(s) for s in at_risk}
    )
    valid = set(known) | observed
    for name, chosen in (("top", top_set), ("at_risk", risk_set)):
        unknown = sorted(chosen - valid)
        if unknown:
            raise ValueError(
                f"{name}: unknown segment label(s) {', '.join(map(repr, unknown))}; the segments "
                f"are {', '.join(map(repr, known))}"
            )

    rows = prev_labels + [new_label]
    cols = cur_labels + [lost_label]
    # align the two periods on customer id by hashing the ids once (no index join)
    ids = pd.concat(
        [
            pd.Series(prev.index, dtype=prev.index.dtype),
            pd.Series(cur.index, dtype=cur.index.dtype),
        ],
        ignore_index=True,
    )
    if ids.isna().any():
        raise ValueError("previous, current: customer ids must not be missing")
    codes, uniques = factorize_ids(ids)
    n_ids = len(uniques)
    prev_at, cur_at = codes[: len(prev)], codes[len(prev) :]
    p = np.full(n_ids, len(rows) - 1, dtype=np.int64)
    p[prev_at] = _segment_codes(prev, rows)
    c = np.full(n_ids, len(cols) - 1, dtype=np.int64)
    c[cur_at] = _segment_codes(cur, cols)
    cells = np.bincount(p * len(cols) + c, minlength=len(rows) * len(cols))
    counts = pd.DataFrame(
        cells.reshape(len(rows), len(cols)),
        index=pd.Index(rows, name="previous", dtype="str"),
        columns=pd.Index(cols, name="current", dtype="str"),
    )
    totals = counts.sum(axis=1).to_numpy()
    shares = counts.div(np.where(totals > 0, totals, 1), axis=0)

    top_codes = np.array([i for i, s in enumerate(rows) if s in top_set], dtype=np.int64)
    risk_codes = np.array([i for i, s in enumerate(cols) if s in risk_set], dtype=np.int64)
    who = np.flatnonzero(np.isin(p, top_codes) & np.isin(c, risk_codes))
    cur_row = np.full(n_ids, -1, dtype=np.int64)
    cur_row[cur_at] = np.arange(len(cur))
    fallen = pd.DataFrame(
        {
            "previous": pd.array(np.asarray(rows, dtype=object)[p[who]], dtype="str"),
            "current": pd.array(np.asarray(cols, dtype=object)[c[who]], dtype="str"),
        },
        index=cur.index[cur_row[who]],
    )
    if cur_frame is not None:
        context = [col for col in _CONTEXT if col in cur_frame.columns]
        for col in context:
            fallen[col] = cur_frame[col].to_numpy()[cur_row[who]]
    fallen = (
        fallen.sort_values("monetary", ascending=False, kind="stable")
        if "monetary" in fallen.columns
        else fallen.sort_index()
    )
    fallen.index.name = prev.index.name or cur.index.name or "customer_id"
    return SegmentMigration(counts, shares, fallen, new_label, lost_label, dict(groups))
