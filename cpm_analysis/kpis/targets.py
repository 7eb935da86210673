"""SMART targets: attainment, status (met / at risk / missed) and trend of each target row."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from cpm_analysis.config import DEFAULT_CONFIG
from cpm_analysis.exceptions import PeriodError
from cpm_analysis.kpis.registry import KPIS
from cpm_analysis.periods import Period, parse_period

STATUSES: tuple[str, ...] = ("met", "at risk", "missed", "no data")
TRENDS: tuple[str, ...] = ("improving", "flat", "worsening", "no previous")
_DIMENSIONS = ("owner_id", "segment")
OUTPUT_COLUMNS = [
    "kpi",
    "period",
    "owner_id",
    "segment",
    "target",
    "weight",
    "actual",
    "previous",
    "change",
    "attainment",
    "status",
    "trend",
    "label_en",
    "label_zh",
    "unit",
    "direction",
    "note",
]


def period_targets(
    targets: pd.DataFrame | None,
    period: Period | str,
    owner: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Return the target rows of ``period`` for a scope: the one rule of target scoping.

    A scope is the company (``owner`` None: the rows with no ``owner_id`` and no ``segment``)
    or account owners (the rows of those owners with no ``segment``). A row with a ``segment``
    is that segment's target and never an owner's or the company's. Both the report's
    scorecard and the team scorecards (:mod:`cpm_analysis.teams`) read targets through here.

    Parameters
    ----------
    targets : DataFrame or None
        The targets table (``kpi, period, target`` and optionally ``owner_id, segment,
        weight``); None or empty gives no rows.
    period : Period or str
        The period whose targets apply (its label is compared with ``period``).
    owner : str or iterable of str, optional
        One owner (the rows are that owner's book targets, returned without ``owner_id``) or
        several (returned with ``owner_id``, for a table per owner).

    Returns
    -------
    DataFrame
        ``kpi, period, target, weight`` (plus ``owner_id`` for several owners) and any other
        column of ``targets`` except ``owner_id`` and ``segment``; index reset.

    Examples
    --------
    >>> t = pd.DataFrame({"kpi": ["revenue", "revenue", "revenue"],
    ...                   "period": ["2025-06"] * 3, "target": [100.0, 10.0, 5.0],
    ...                   "owner_id": [None, "S1", "S1"], "segment": [None, None, "vip"]})
    >>> period_targets(t, "2025-06")["target"].tolist()
    [100.0]
    >>> period_targets(t, "2025-06", owner="S1")["target"].tolist()
    [10.0]
    >>> period_targets(t, "2025-06", owner=["S1", "S2"])[["owner_id", "target"]].values.tolist()
    [['S1', 10.0]]
    """
    label = parse_period(period).label
    several = owner is not None and not isinstance(owner, str)
    columns = ["kpi", "period", "target", "weight"] + (["owner_id"] if several else [])
    if targets is None or targets.empty:
        return pd.DataFrame(columns=columns)
    frame = targets.loc[(targets["period"].astype("str") == label).to_numpy(dtype=bool)]
    none = pd.Series(None, index=frame.index, dtype="str")
    owners = frame["owner_id"] if "owner_id" in frame else none
    segments = frame["segment"] if "segment" in frame else none
    keep = segments.isna().to_numpy(dtype=bool)
    if owner is None:
        keep = keep & owners.isna().to_numpy(dtype=bool)
    else:
        wanted = [owner] if isinstance(owner, str) else list(owner)
        keep = keep & owners.isin(wanted).to_numpy(dtype=bool)
    out = frame.loc[keep]
    if "weight" not in out:
        out = out.assign(weight=np.nan)
    drop = [c for c in _DIMENSIONS if c in out and not (several and c == "owner_id")]
    return out.drop(columns=drop).reset_index(drop=True)


def attainment(actual: np.ndarray, target: np.ndarray, higher: np.ndarray) -> np.ndarray:
    """Attainment of targets: ``actual / target``, or ``target / actual`` when lower is better.

    Edge cases: equal actual and target give 1 (also when both are 0); a lower-is-better actual
    of 0 against a positive target gives ``inf`` (met); a target of 0 or below, which a ratio
    cannot measure, gives NaN (status then comes from the plain comparison).

    Examples
    --------
    >>> attainment(np.array([90.0, 2.0]), np.array([100.0, 1.0]), np.array([True, False]))
    array([0.9, 0.5])
    """
    actual = np.asarray(actual, dtype=float)
    target = np.asarray(target, dtype=float)
    higher = np.asarray(higher, dtype=bool)
    num = np.where(higher, actual, target)
    den = np.where(higher, target, actual)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out = np.where(target <= 0, np.nan, out)
    out = np.where((~higher) & (actual == 0) & (target > 0), np.inf, out)
    out = np.where(actual == target, 1.0, out)
    return np.where(np.isnan(actual), np.nan, out)


def _long_kpis(kpis: pd.DataFrame | Sequence[pd.DataFrame]) -> pd.DataFrame:
    """KPI values as rows ``kpi, period, dimension, key, value, previous, change, note``."""
    frames = [kpis] if isinstance(kpis, pd.DataFrame) else list(kpis)
    if not frames:
        raise ValueError("kpis: no KPI tables given")
    out = []
    for i, frame in enumerate(frames):
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"kpis: item {i} is not a DataFrame from compute_kpis/kpi_history")
        flat = frame.reset_index()
        missing = [c for c in ("kpi", "period", "value") if c not in flat.columns]
        if missing:
            raise ValueError(
                f"kpis: column '{missing[0]}' is missing; pass the output of compute_kpis or "
                "kpi_history"
            )
        levels = [n for n in frame.index.names if n not in ("kpi", "period", None)]
        if len(levels) > 1:
            raise ValueError(f"kpis: more than one breakdown level ({levels})")
        dim = levels[0] if levels else ""
        flat["dimension"] = dim
        flat["key"] = flat[dim].astype("str") if dim else ""
        flat["period"] = flat["period"].astype("str")
        for column in ("previous", "change"):
            if column not in flat.columns:
                flat[column] = np.nan
        if "note" not in flat.columns:
            flat["note"] = ""
        out.append(
            flat[["kpi", "period", "dimension", "key", "value", "previous", "change", "note"]]
        )
    long = pd.concat(out, ignore_index=True)
    long["kpi"] = long["kpi"].astype("str")
    dup = long.duplicated(["kpi", "period", "dimension", "key"])
    if dup.any():
        row = long.loc[dup].iloc[0]
        raise ValueError(
            f"kpis: the value of kpi='{row['kpi']}', period='{row['period']}'"
            + (f", {row['dimension']}='{row['key']}'" if row["dimension"] else "")
            + " is given twice"
        )
    return long


def _describe(row: pd.Series, number: int) -> str:
    extra = "".join(f", {d}='{row[d]}'" for d in _DIMENSIONS if d in row.index and pd.notna(row[d]))
    return f"targets row {number} (kpi='{row['kpi']}', period='{row['period']}'{extra})"


def _clean_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """Check the targets and normalise their period labels; a ValueError names the first bad row."""
    if not isinstance(targets, pd.DataFrame):
        raise ValueError(f"targets: expected a DataFrame, got {type(targets).__name__}")
    for column in ("kpi", "period", "target"):
        if column not in targets.columns:
            raise ValueError(f"targets: required column '{column}' is missing")
    frame = targets.copy()
    numbers = np.arange(1, len(frame) + 1)
    for column in _DIMENSIONS:
        if column not in frame.columns:
            frame[column] = pd.Series(None, index=frame.index, dtype="str")
        else:
            blank = frame[column].isna() | (frame[column].astype("str").str.strip() == "")
            frame[column] = frame[column].astype("str").str.strip().where(~blank)
    if "weight" not in frame.columns:
        frame["weight"] = np.nan

    unknown = ~frame["kpi"].astype("str").isin(list(KPIS))
    if unknown.any():
        pos = int(np.flatnonzero(unknown.to_numpy())[0])
        raise ValueError(
            f"{_describe(frame.iloc[pos], numbers[pos])}: unknown KPI id "
            f"'{frame['kpi'].iloc[pos]}' (known: {', '.join(KPIS)})"
        )
    labels: dict[object, str | None] = {}
    for value in frame["period"].dropna().unique():  # a few dozen distinct labels
        try:
            labels[value] = parse_period(str(value)).label
        except PeriodError:
            labels[value] = None
    parsed = frame["period"].map(labels)
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{_describe(frame.iloc[pos], numbers[pos])}: period '{frame['period'].iloc[pos]}' "
            "does not parse (use 2024-06, 2024-Q2 or 2024)"
        )
    frame["period"] = parsed.astype("str")
    values = pd.to_numeric(frame["target"], errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{_describe(frame.iloc[pos], numbers[pos])}: target "
            f"{frame['target'].iloc[pos]!r} is not a number"
        )
    frame["target"] = values.astype(float)
    frame["weight"] = pd.to_numeric(frame["weight"], errors="coerce").astype(float)
    both = (frame["owner_id"].notna() & frame["segment"].notna()).to_numpy()
    if both.any():
        pos = int(np.flatnonzero(both)[0])
        raise ValueError(
            f"{_describe(frame.iloc[pos], numbers[pos])}: sets both owner_id and segment; a "
            "target is for the company, one owner or one segment"
        )
    keys = ["kpi", "period", "owner_id", "segment"]
    dup = frame.duplicated(keys, keep=False).to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        same = (frame[keys].fillna("\0") == frame[keys].fillna("\0").iloc[first]).all(axis=1)
        rows = numbers[same.to_numpy()]
        raise ValueError(
            f"{_describe(frame.iloc[first], numbers[first])}: duplicated target (rows "
            f"{', '.join(map(str, rows))} set the same kpi, period, owner_id and segment)"
        )
    frame["dimension"] = np.where(
        frame["owner_id"].notna(), "owner_id", np.where(frame["segment"].notna(), "segment", "")
    )
    frame["key"] = frame["owner_id"].fillna(frame["segment"]).fillna("").astype("str")
    return frame


def evaluate_targets(
    kpis: pd.DataFrame | Sequence[pd.DataFrame],
    targets: pd.DataFrame,
    *,
    amber: float = DEFAULT_CONFIG.targets.at_risk_band,
) -> pd.DataFrame:
    """Set the KPIs against their SMART targets.

    Each target row names a KPI id, a period and a target value, optionally an ``owner_id``
    (the owner's own target) or a ``segment``, and a ``weight``. It is matched with the KPI
    value of the same KPI, period and, for owner/segment targets, the same group of a breakdown
    named ``owner_id`` / ``segment`` (``compute_kpis(..., by="owner_id")``, or a segment Series
    named ``segment``).

    Attainment is ``actual / target``, inverted (``target / actual``) for lower-is-better KPIs,
    so above 1 is always better than the target (see :func:`attainment` for the edge cases).
    Status: ``met`` when the target is reached (attainment >= 1, or the actual on the right
    side of a target of 0 or below), ``at risk`` when attainment is in ``[1 - amber, 1)``,
    ``missed`` otherwise, ``no data`` when ``kpis`` holds no value for the row (the reason is
    in ``note``). Trend compares the actual with the previous period: ``improving``,
    ``worsening`` (in the KPI's good direction), ``flat`` or ``no previous``.

    Target rows of periods that ``kpis`` does not cover at all are not evaluated: a
    ``UserWarning`` says how many, and ``attrs["skipped"]`` / ``attrs["skipped_periods"]``
    record them. Select the periods first (``targets[targets["period"] == "2024-06"]``) to
    evaluate one period quietly. Rows of a covered period without a matching KPI value are
    kept with status ``no data`` and the reason in ``note``.

    Parameters
    ----------
    kpis : DataFrame or list of DataFrame
        Output of :func:`compute_kpis` or :func:`kpi_history`; a list combines e.g. the
        company-level table and the one by owner.
    targets : DataFrame
        Columns ``kpi``, ``period``, ``target``; optional ``owner_id``, ``segment``,
        ``weight`` (the data contract's targets table, ``dataset.targets``).
    amber : float
        Width of the "at risk" band below the target, as a share of it (default 0.05, the
        configuration's ``targets.at_risk_band``).

    Returns
    -------
    DataFrame
        One row per evaluated target, indexed like ``targets``: ``kpi``, ``period``,
        ``owner_id``, ``segment``, ``target``, ``weight``, ``actual``, ``previous``,
        ``change``, ``attainment``, ``status``, ``trend``, ``label_en``, ``label_zh``, ``unit``,
        ``direction``, ``note``.

    Raises
    ------
    ValueError
        Naming the row (1-based) for a KPI id that does not exist, a period that does not
        parse, a target that is not a number, a row setting both owner_id and segment, or a
        duplicated target (same kpi, period, owner_id, segment); also for ``amber`` outside
        [0, 1).

    Examples
    --------
    >>> from cpm_analysis.kpis import compute_kpis
    >>> kpis = compute_kpis(ds, "2024-06")
    >>> targets = ds.targets[ds.targets["period"] == "2024-06"]
    >>> table = evaluate_targets(kpis, targets[targets["owner_id"].isna()])
    >>> table[["kpi", "actual", "target", "attainment", "status"]].head(3).round(3)
                      kpi    actual   target  attainment   status
    280           revenue  11114.43  11671.0       0.952  at risk
    281            orders    378.00    372.0       1.016      met
    282  active_customers    295.00    310.0       0.952  at risk
    """
    if not (isinstance(amber, int | float) and 0 <= amber < 1):
        raise ValueError(f"amber: expected a share in [0, 1), got {amber!r}")
    long = _long_kpis(kpis)
    frame = _clean_targets(targets)
    covered = frame["period"].isin(set(long["period"]))
    skipped = frame.loc[~covered]
    frame = frame.loc[covered]
    if len(skipped):
        periods = sorted(skipped["period"].unique())
        shown = ", ".join(periods[:6]) + (", ..." if len(periods) > 6 else "")
        warnings.warn(
            f"evaluate_targets: {len(skipped)} target rows of periods not in kpis were not "
            f"evaluated ({shown})",
            UserWarning,
            stacklevel=2,
        )

    merged = frame.reset_index(names="_row").merge(
        long, how="left", on=["kpi", "period", "dimension", "key"], indicator=True
    )
    merged = merged.set_index("_row")
    merged.index.name = targets.index.name
    meta = pd.DataFrame.from_records(
        [
            {
                "kpi": k.id,
                "label_en": k.label_en,
                "label_zh": k.label_zh,
                "unit": k.unit,
                "direction": k.direction,
            }
            for k in KPIS.values()
        ]
    ).set_index("kpi")
    info = meta.reindex(merged["kpi"].to_numpy())
    higher = (info["direction"] == "higher").to_numpy()
    actual = merged["value"].to_numpy(dtype=float, na_value=np.nan)
    target = merged["target"].to_numpy(dtype=float)
    ratio = attainment(actual, target, higher)
    reached = np.where(higher, actual >= target, actual <= target)
    status = np.where(
        np.isnan(actual),
        "no data",
        np.where(
            reached,
            "met",
            np.where(np.nan_to_num(ratio, nan=-np.inf) >= 1 - amber, "at risk", "missed"),
        ),
    )
    change = merged["change"].to_numpy(dtype=float, na_value=np.nan)
    better = np.where(higher, change, -change)
    trend = np.where(
        np.isnan(change),
        "no previous",
        np.where(better > 0, "improving", np.where(better < 0, "worsening", "flat")),
    )
    note = np.array(merged["note"].astype(object).where(merged["note"].notna(), ""), dtype=object)
    absent = (merged["_merge"] == "left_only").to_numpy()
    if absent.any():
        dims = set(long["dimension"])
        for i in np.flatnonzero(absent):  # one message per target without a KPI value
            dim = merged["dimension"].iloc[i]
            if dim not in dims:
                how = f"by='{dim}'" if dim else "without by"
                note[i] = f"kpis has no values {how}; pass compute_kpis(..., {how}) too"
            else:
                where = f" for {dim} '{merged['key'].iloc[i]}'" if dim else ""
                note[i] = f"kpis has no value of '{merged['kpi'].iloc[i]}'{where} in this period"
    out = pd.DataFrame(
        {
            "kpi": merged["kpi"].astype("str"),
            "period": merged["period"].astype("str"),
            "owner_id": merged["owner_id"],
            "segment": merged["segment"],
            "target": target,
            "weight": merged["weight"].to_numpy(dtype=float),
            "actual": actual,
            "previous": merged["previous"].to_numpy(dtype=float, na_value=np.nan),
            "change": change,
            "attainment": ratio,
            "status": status,
            "trend": trend,
            "label_en": info["label_en"].to_numpy(),
            "label_zh": info["label_zh"].to_numpy(),
            "unit": info["unit"].to_numpy(),
            "direction": info["direction"].to_numpy(),
            "note": pd.array(note.astype(str), dtype="str"),
        },
        index=merged.index,
    )[OUTPUT_COLUMNS]
    out.attrs.update(
        amber=amber,
        skipped=len(skipped),
        skipped_periods=sorted(skipped["period"].unique()) if len(skipped) else [],
    )
    return out
