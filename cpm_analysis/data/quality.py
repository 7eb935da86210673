"""The quality of the data of a period: what each table holds and what was rejected.

Examples
--------
>>> from cpm_analysis.synthetic import generate
>>> from cpm_analysis.periods import parse_period
>>> ds = generate(300, seed=1, faults=0.01).to_dataset()
>>> overview = table_overview(ds.as_of("2024-06"), parse_period("2024-06"), ds.rejected)
>>> bool(overview.loc["orders", "present"])
True
"""

from __future__ import annotations

import pandas as pd

from cpm_analysis.data.dataset import Dataset
from cpm_analysis.data.schema import ALL_TABLES, EVENT_DATE
from cpm_analysis.periods import Period


def table_overview(
    view: Dataset, period: Period, rejected: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Rows per table as of the period's end, rows dated in the period, rows rejected, dates.

    Parameters
    ----------
    view : Dataset
        The point-in-time view (``dataset.as_of(period.end)``).
    period : Period
        The reporting period.
    rejected : DataFrame, optional
        The rejected rows of the load (``dataset.rejected``; default ``view.rejected``).

    Returns
    -------
    DataFrame
        Indexed by table, in contract order: ``present``, ``rows``, ``in_period`` (rows dated
        in the period; targets and assessments set for it), ``rejected``, ``first`` and
        ``last`` (the first and last day with a row).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> from cpm_analysis.periods import parse_period
    >>> ds = generate(100, seed=1).to_dataset()
    >>> table_overview(ds.as_of("2024-06"), parse_period("2024-06")).columns.tolist()
    ['present', 'rows', 'in_period', 'rejected', 'first', 'last']
    """
    rejected = view.rejected if rejected is None else rejected
    counts = rejected.groupby("table").size() if len(rejected) else pd.Series(dtype="int64")
    records = []
    for name in ALL_TABLES:
        frame = getattr(view, name)
        row = {
            "table": name,
            "present": frame is not None,
            "rows": 0 if frame is None else len(frame),
            "in_period": pd.NA,
            "rejected": int(counts.get(name, 0)),
            "first": pd.NaT,
            "last": pd.NaT,
        }
        if frame is not None and name in EVENT_DATE and len(frame):
            dates = frame[EVENT_DATE[name]]
            row.update(
                in_period=int(period.contains(dates).sum()),
                first=dates.min().normalize(),
                last=dates.max().normalize(),
            )
        elif frame is not None and "period" in frame.columns:
            row["in_period"] = int((frame["period"] == period.label).sum())
        records.append(row)
    out = pd.DataFrame.from_records(records).set_index("table")
    out["in_period"] = out["in_period"].astype("Int64")
    out["first"] = pd.to_datetime(out["first"])
    out["last"] = pd.to_datetime(out["last"])
    return out


def monthly_activity(view: Dataset) -> pd.DataFrame:
    """Rows per calendar month of each dated table (signups, orders, tickets, survey answers).

    Returns
    -------
    DataFrame
        Long format: ``month`` (first day), ``table``, ``rows``; months without rows appear
        with 0 between a table's first and last month, so gaps show.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> activity = monthly_activity(generate(100, seed=1).to_dataset().as_of("2022-06"))
    >>> activity.columns.tolist()
    ['month', 'table', 'rows']
    """
    frames = []
    for name, column in EVENT_DATE.items():
        frame = getattr(view, name)
        if frame is None or not len(frame):
            continue
        months = frame[column].dt.to_period("M")
        counts = months.value_counts().sort_index()
        full = pd.period_range(counts.index.min(), counts.index.max(), freq="M")
        counts = counts.reindex(full, fill_value=0)
        frames.append(
            pd.DataFrame(
                {
                    "month": counts.index.to_timestamp(),
                    "table": name,
                    "rows": counts.to_numpy(dtype="int64"),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {
                "month": pd.Series(dtype="datetime64[ns]"),
                "table": pd.Series(dtype="str"),
                "rows": pd.Series(dtype="int64"),
            }
        )
    return pd.concat(frames, ignore_index=True)


def rejected_summary(rejected: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows counted by table, column and reason, most frequent first.

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=1, faults=0.01).to_dataset()
    >>> rejected_summary(ds.rejected).columns.tolist()
    ['table', 'column', 'reason', 'rows']
    """
    if rejected.empty:
        return pd.DataFrame(
            {
                "table": pd.Series(dtype="str"),
                "column": pd.Series(dtype="str"),
                "reason": pd.Series(dtype="str"),
                "rows": pd.Series(dtype="int64"),
            }
        )
    counts = rejected.groupby(["table", "column", "reason"]).size().rename("rows").reset_index()
    order = {name: i for i, name in enumerate(ALL_TABLES)}
    counts["_order"] = counts["table"].map(order)
    counts = counts.sort_values(["rows", "_order", "reason"], ascending=[False, True, True])
    return counts.drop(columns="_order").reset_index(drop=True)


def rejected_examples(rejected: pd.DataFrame, per_reason: int = 1) -> pd.DataFrame:
    """Return the first ``per_reason`` rejected rows of each table and reason (mask them before showing).

    Examples
    --------
    >>> from cpm_analysis.synthetic import generate
    >>> ds = generate(300, seed=1, faults=0.01).to_dataset()
    >>> int(rejected_examples(ds.rejected).groupby(["table", "reason"]).size().max())
    1
    """
    if per_reason < 1:
        raise ValueError(f"per_reason: expected at least 1, got {per_reason}")
    out = rejected.sort_values(["table", "reason", "row"], kind="stable")
    return out.groupby(["table", "reason"], sort=False).head(per_reason).reset_index(drop=True)
