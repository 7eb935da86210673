"""Validation of raw tables against the data contract.

Two kinds of fault are told apart:

- *unusable data* (a required table or column missing, a table with no rows) raises
  :class:`~cpm_analysis.exceptions.DataValidationError` naming the table and the column;
- *row-level faults* (an unparseable date, a non-numeric amount, a duplicate key, an order of an
  unknown customer, ...) move the row into the rejected table with the reason. Nothing is
  dropped without a trace: for every table, rows read = rows kept + rows rejected.

Validation is written with pandas rather than pandera because the contract needs rules pandera's
schema checks do not express directly: cross-table references (orders of unknown customers), the
refund sign rule that depends on another column, and quarantine with one reason per row and the
raw row kept. Every check is one vectorised pandas expression.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.data import reasons
from cpm_analysis.data.dates import compare_dates, parse_datetime, read_dates
from cpm_analysis.data.distinct import Distinct
from cpm_analysis.data.ids import factorize_ids, normalise_ids
from cpm_analysis.data.schema import STAFF_REFERENCES, TABLES, Column, TableSpec
from cpm_analysis.exceptions import DataValidationError, PeriodError
from cpm_analysis.frames import isin

__all__ = ["convert_table", "empty_rejected", "parse_datetime", "validate_table"]

REJECTED_COLUMNS = ["table", "row", "column", "reason", "values"]
FUTURE_SLACK = pd.Timedelta(days=1)
"""Event dates may be this far after the load time (exports in local time ahead of UTC)."""

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def empty_rejected() -> pd.DataFrame:
    """Return an empty rejected-rows table with the documented columns.

    Examples
    --------
    >>> list(empty_rejected().columns)
    ['table', 'row', 'column', 'reason', 'values']
    """
    return pd.DataFrame(
        {
            "table": pd.Series(dtype="str"),
            "row": pd.Series(dtype="int64"),
            "column": pd.Series(dtype="str"),
            "reason": pd.Series(dtype="str"),
            "values": pd.Series(dtype="str"),
        }
    )


def raw_json(raw: pd.DataFrame) -> list[str]:
    """Each row as read, as one JSON object (the ``values`` of a rejected row).

    Examples
    --------
    >>> raw_json(pd.DataFrame({"amount": ["x"], "note": [None]}))
    ['{"amount":"x","note":null}']
    """
    if len(raw) == 0:
        return []
    values = raw.astype(object).where(raw.notna(), None)
    return values.to_json(orient="records", lines=True, date_format="iso").splitlines()


class _Quarantine:
    """Collects one reason per faulty row of one table (the first fault found wins)."""

    def __init__(self, table: str, raw: pd.DataFrame):
        self.table = table
        self.raw = raw
        self.bad = np.zeros(len(raw), dtype=bool)
        self._column: np.ndarray | None = None  # made at the first fault: most tables have none
        self._reason: np.ndarray | None = None

    @property
    def column(self) -> np.ndarray:
        """Per row, the column of its fault (``None`` for a row without)."""
        if self._column is None:
            self._column = np.full(len(self.bad), None, dtype=object)
        return self._column

    @property
    def reason(self) -> np.ndarray:
        """Per row, the reason of its fault (``None`` for a row without)."""
        if self._reason is None:
            self._reason = np.full(len(self.bad), None, dtype=object)
        return self._reason

    def add(
        self, mask: np.ndarray | pd.Series, column: str, reason: str | pd.Series | np.ndarray
    ) -> None:
        """Quarantine the rows of ``mask`` not yet quarantined, with one reason.

        ``reason`` may also be one per row: a Series or an array as long as the table.
        """
        mask = np.asarray(mask, dtype=bool) & ~self.bad
        if not mask.any():
            return
        self.bad |= mask
        self.column[mask] = column
        if isinstance(reason, pd.Series):
            self.reason[mask] = reason.to_numpy(dtype=object)[mask]
        elif isinstance(reason, np.ndarray):
            self.reason[mask] = reason[mask]
        else:
            self.reason[mask] = reason

    def frame(self) -> pd.DataFrame:
        if not self.bad.any():
            return empty_rejected()
        lines = raw_json(self.raw.loc[self.bad])
        return pd.DataFrame(
            {
                "table": self.table,
                "row": np.flatnonzero(self.bad).astype("int64") + 1,
                "column": self.column[self.bad].astype(str),
                "reason": self.reason[self.bad].astype(str),
                "values": lines,
            }
        )


def _blank(series: pd.Series) -> pd.Series:
    """Return True where a value is missing or an empty/blank string."""
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        stripped = series.astype("str").str.strip()
        return series.isna() | (stripped == "")
    return series.isna()


_to_id = normalise_ids  # the one id normalisation (kept under this name for the Dask engine)


def _to_number(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    text = series.astype("str").str.strip().where(~_blank(series), None)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _to_bool(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (values as nullable boolean, mask of unparseable non-blank values)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("boolean"), pd.Series(False, index=series.index)
    text = series.astype("str").str.strip().str.lower()
    blank = _blank(series)
    is_true = text.isin(_TRUE)
    is_false = text.isin(_FALSE)
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[is_true] = True
    out[is_false] = False
    return out, ~(is_true | is_false | blank)


PER_VALUE_KINDS = ("datetime", "amount", "number", "category", "bool")
"""Column kinds whose checks depend on the cell's value only: run per distinct text value."""

IdCodes = dict[str, tuple[np.ndarray, pd.Index]]


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def _convert_column(
    col: Column,
    raw: pd.Series,
    q: _Quarantine,
    table: str,
    dayfirst: bool = False,
    now: pd.Timestamp | None = None,
    codes: IdCodes | None = None,
) -> pd.Series:
    """Convert one column to its contract type, quarantining the rows that do not convert.

    Text cells of the kinds in :data:`PER_VALUE_KINDS` are converted once per distinct value;
    ids through :func:`~cpm_analysis.data.ids.factorize_ids`, whose codes go into ``codes``.
    """
    if col.kind == "id":
        ids, id_codes, uniques = factorize_ids(raw)
        if col.required:  # a blank or missing id is exactly a missing normalised id
            q.add(id_codes < 0, col.name, reasons.missing(col.name))
        if codes is not None:
            codes[col.name] = (id_codes, uniques)
        return ids
    if col.kind not in PER_VALUE_KINDS or not _is_text(raw) or len(raw) < 2:
        return _convert_cells(col, raw, q, table, dayfirst, now)
    distinct = Distinct.of(raw if raw.dtype == "str" else raw.astype("str"))
    values_q = _Quarantine(table, distinct.values.to_frame(col.name))
    typed = _convert_cells(col, distinct.values, values_q, table, dayfirst, now)
    if col.required:
        q.add(distinct.missing, col.name, reasons.missing(col.name))
    if values_q.bad.any():
        per_value = np.concatenate([values_q.reason, np.full(1, None, dtype=object)])
        q.add(distinct.rows(values_q.bad), col.name, per_value[distinct.codes])
    return distinct.expand(typed)


def _convert_cells(
    col: Column,
    raw: pd.Series,
    q: _Quarantine,
    table: str,
    dayfirst: bool = False,
    now: pd.Timestamp | None = None,
) -> pd.Series:
    """:func:`_convert_column` on every cell."""
    blank = _blank(raw)
    if col.required:
        q.add(blank, col.name, reasons.missing(col.name))
    if col.kind == "datetime":
        out, out_of_range, open_ended = read_dates(
            raw, dayfirst=dayfirst, table=table, column=col.name
        )
        q.add(out_of_range, col.name, reasons.DATE_OUT_OF_RANGE)
        dates = out.to_numpy()  # datetime64[ns]: NaT compares False
        if col.name != "churned_at":  # an open-ended contract end reads as still active
            q.add(open_ended, col.name, reasons.OPEN_ENDED_DATE)
            latest = (now if now is not None else load_time()) + FUTURE_SLACK
            after = compare_dates(dates, np.greater, latest)
            q.add(after, col.name, reasons.DATE_AFTER_LOAD)
        q.add(np.isnat(dates) & ~blank & ~open_ended, col.name, reasons.UNPARSEABLE_DATE)
        return out
    if col.kind in ("amount", "number"):
        out = _to_number(raw)
        bad = out.isna() & ~blank
        what = "amount" if col.kind == "amount" else "number"
        q.add(bad, col.name, reasons.NON_NUMERIC[what])
        q.add(np.isinf(out.to_numpy()), col.name, reasons.INFINITE[what])
        if col.bounds is not None:
            lo, hi = col.bounds
            outside = out.notna() & ((out < lo) | (out > hi))
            q.add(
                outside,
                col.name,
                reasons.OUTSIDE % {"column": col.name, "low": f"{lo:g}", "high": f"{hi:g}"},
            )
        return out
    if col.kind == "bool":
        out, bad = _to_bool(raw)
        q.add(bad, col.name, reasons.NOT_YES_NO % {"column": col.name})
        return out
    if col.kind == "category":
        out = raw.astype("str").str.strip().str.lower().where(~blank, None).astype("str")
        unknown = out.notna() & ~out.isin(col.vocabulary or ())
        allowed = ", ".join(col.vocabulary or ())
        q.add(
            unknown, col.name, reasons.UNKNOWN_CATEGORY % {"column": col.name, "allowed": allowed}
        )
        return out
    if col.kind == "period":
        from cpm_analysis.periods import parse_period

        text = raw.astype("str").str.strip().where(~blank, None)
        labels = pd.Series(None, index=raw.index, dtype="str")
        uniques = text.dropna().unique()
        mapping: dict[Any, str | None] = {}
        for value in uniques:  # loop over distinct labels only (a few dozen periods)
            try:
                mapping[value] = parse_period(value).label
            except PeriodError:
                mapping[value] = None
        labels = text.map(mapping).astype("str")
        q.add(labels.isna() & text.notna(), col.name, reasons.UNPARSEABLE_PERIOD)
        return labels
    # text
    out = raw.where(~blank, None)
    return out.astype("str") if len(out) else out.astype("str")


def check_columns(table: str, frame: pd.DataFrame) -> None:
    """Raise :class:`DataValidationError` when a required column is missing or no rows exist."""
    require_columns(table, frame.columns)
    require_rows(table, len(frame))


def require_columns(table: str, columns: Iterable[Hashable]) -> None:
    """Raise :class:`DataValidationError` naming the first required column ``columns`` lacks.

    Examples
    --------
    >>> require_columns("customers", ["customer_id", "signup_date"])
    """
    spec = TABLES[table]
    columns = list(columns)
    missing = [c for c in spec.required_columns if c not in columns]
    if missing:
        have = ", ".join(map(str, columns[:12])) or "none"
        raise DataValidationError(
            f"{table}: required column '{missing[0]}' is missing (columns found: {have}). "
            f"Add it, or map your column onto it with mapping={{'{table}': "
            f"{{'your_column': '{missing[0]}'}}}}.",
            table=table,
            column=missing[0],
        )


def require_rows(table: str, rows: int) -> None:
    """Raise :class:`DataValidationError` when ``table`` has no rows.

    Examples
    --------
    >>> require_rows("orders", 3)
    """
    if rows == 0:
        raise DataValidationError(
            f"{table}: the table has no rows. "
            + (
                "It is required: export it with at least one row."
                if table in ("customers", "orders")
                else "Remove it from the source if you have no such data."
            ),
            table=table,
        )


def load_time() -> pd.Timestamp:
    """Now, tz-naive UTC: event dates after it (plus a day) are typos and quarantined.

    Examples
    --------
    >>> load_time() > pd.Timestamp("2024-01-01")
    True
    """
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def convert_table(
    table: str,
    raw: pd.DataFrame,
    *,
    dayfirst: bool = False,
    now: pd.Timestamp | None = None,
    codes: IdCodes | None = None,
) -> tuple[pd.DataFrame, _Quarantine]:
    """Type one raw table and find its row-level faults (the checks that need no other row).

    The first half of :func:`validate_table`, shared with the Dask engine, which runs it per
    partition and adds the checks across rows (duplicate keys, unknown customers) itself.

    Parameters
    ----------
    table : str
        A table name of the contract.
    raw : DataFrame
        The rows as read, with canonical column names (the required columns are checked by
        :func:`check_columns` before).
    dayfirst : bool
        Numeric dates are day/month/year (see :mod:`cpm_analysis.data.dates`).
    now : Timestamp, optional
        The load time; event dates more than a day after it are quarantined. Default: now.
    codes : dict, optional
        When given, filled with the codes of each id column of the contract, by column name:
        ``(codes, uniques)`` as :func:`~cpm_analysis.data.distinct.codes_of` gives them for
        the typed column (computed on the way, so that grouping by the ids costs no second
        pass).

    Returns
    -------
    (typed, quarantine)
        Every row typed (faulty ones included, with a fresh ``RangeIndex``) and the quarantine
        holding one reason per faulty row.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["1"], "signup_date": ["soon"]})
    >>> typed, q = convert_table("customers", raw)
    >>> q.bad.tolist()
    [True]
    """
    spec: TableSpec = TABLES[table]
    raw = raw.reset_index(drop=True)
    q = _Quarantine(table, raw)
    now = now if now is not None else load_time()
    out = {}
    for name in raw.columns:
        col = spec.column(name)
        if col is None:
            out[name] = raw[name]
        else:
            out[name] = _convert_column(col, raw[name], q, table, dayfirst, now, codes)
    clean = pd.DataFrame(out, index=raw.index)

    if table == "orders":
        status = clean["status"] if "status" in clean else None
        refund = status.eq("refunded").to_numpy() if status is not None else False
        negative = (clean["amount"] < 0).to_numpy()
        q.add(negative & ~refund, "amount", reasons.NOT_REFUNDED)
    if table == "tickets":
        for late in ("first_response_at", "resolved_at"):
            if late in clean:
                before = (clean[late] < clean["opened_at"]).to_numpy()
                why = (
                    reasons.RESPONSE_BEFORE_OPENING
                    if late == "first_response_at"
                    else reasons.RESOLUTION_BEFORE_OPENING
                )
                q.add(before, late, why)
    if table == "opportunities":
        _opportunity_checks(clean, q)
    if table == "customers" and "churned_at" in clean:
        q.add(
            (clean["churned_at"] < clean["signup_date"]).to_numpy(),
            "churned_at",
            reasons.CHURNED_BEFORE_SIGNUP,
        )
    return clean, q


def _opportunity_checks(clean: pd.DataFrame, q: _Quarantine) -> None:
    """Quarantine opportunities whose dates, outcome and stage contradict one another.

    Examples
    --------
    >>> raw = pd.DataFrame({"opportunity_id": ["1", "2"], "customer_id": ["a", "a"],
    ...     "owner_id": ["s", "s"], "created_at": ["2024-01-05", "2024-01-05"],
    ...     "stage": ["closed", "lead"], "closed_at": ["2024-01-01", None], "won": ["yes", "no"]})
    >>> q = convert_table("opportunities", raw)[1]
    >>> q.reason.tolist()
    ['closed_at before created_at', 'won or lost without closed_at']
    """
    if "amount" in clean:
        q.add((clean["amount"] < 0).to_numpy(), "amount", reasons.NEGATIVE_OPPORTUNITY)
    if "closed_at" not in clean:
        if "won" in clean:
            decided = clean["won"].notna().to_numpy(dtype=bool)
            q.add(decided, "won", reasons.DECIDED_WITHOUT_CLOSE)
        return
    closed = clean["closed_at"].notna().to_numpy(dtype=bool)
    before = (clean["closed_at"] < clean["created_at"]).to_numpy(dtype=bool)
    q.add(before, "closed_at", reasons.CLOSED_BEFORE_CREATED)
    stage_closed = clean["stage"].eq("closed").to_numpy(dtype=bool, na_value=False)
    if "won" in clean:
        won = clean["won"]
        decided = won.notna().to_numpy(dtype=bool)
        q.add(decided & ~closed, "won", reasons.DECIDED_WITHOUT_CLOSE)
        q.add(closed & ~decided, "won", reasons.CLOSED_WITHOUT_WON)
        is_won = won.fillna(False).to_numpy(dtype=bool)
        q.add(is_won & ~stage_closed, "stage", reasons.WON_NOT_CLOSED)
    q.add(stage_closed & ~closed, "closed_at", reasons.CLOSED_STAGE_WITHOUT_DATE)


# The registered KPI ids, read when a targets table is validated. The KPI registry
# (cpm_analysis.kpis, imported by the package itself) hands its live view in here: the data
# layer never imports the analyses.
_kpi_ids: Callable[[], Iterable[str]] | None = None


def register_kpi_ids(ids: Callable[[], Iterable[str]]) -> None:
    """Tell validation where the registered KPI ids are (called by :mod:`cpm_analysis.kpis`).

    Examples
    --------
    >>> "revenue" in set(_kpi_ids())
    True
    """
    global _kpi_ids
    _kpi_ids = ids


def _reject_unknown_kpis(targets: pd.DataFrame, q: _Quarantine) -> None:
    """Quarantine target rows whose ``kpi`` is not a registered KPI id (``unknown kpi 'x'``).

    The registry is read when the data is validated, so KPIs registered by a plug-in count.
    """
    if _kpi_ids is None:  # pragma: no cover - cpm_analysis/__init__ imports cpm_analysis.kpis
        raise RuntimeError("targets: no KPI registry (import cpm_analysis.kpis first)")
    kpi = targets["kpi"].astype("str")
    unknown = targets["kpi"].notna() & ~kpi.isin(list(_kpi_ids()))
    before, after = reasons.UNKNOWN_KPI.split("%(code)s")
    q.add(unknown.to_numpy(dtype=bool), "kpi", before + kpi + after)


def validate_table(
    table: str,
    raw: pd.DataFrame,
    customer_ids: pd.Index | None = None,
    *,
    dayfirst: bool = False,
    now: pd.Timestamp | None = None,
    staff_ids: pd.Index | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type one raw table and quarantine its faulty rows.

    Parameters
    ----------
    table : str
        A table name of the contract.
    raw : DataFrame
        The table as read, with canonical column names.
    customer_ids : Index, optional
        The valid customer ids; rows referencing others are rejected (orders, tickets, surveys,
        activities, opportunities).
    dayfirst, now
        As for :func:`convert_table`.
    staff_ids : Index, optional
        The valid staff ids; activities of another ``staff_id`` and opportunities of another
        ``owner_id`` are rejected (not checked without a staff table).

    Returns
    -------
    (clean, rejected) : tuple of DataFrame
        The typed rows that passed, with a fresh ``RangeIndex``, and the rejected rows.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["1", "2"], "signup_date": ["2024-01-05", "soon"]})
    >>> clean, rejected = validate_table("customers", raw)
    >>> len(clean), rejected["reason"].tolist()
    (1, ['unparseable date'])
    """
    check_columns(table, raw)
    clean, q = convert_table(table, raw, dayfirst=dayfirst, now=now)
    cross_checks(table, clean, q, customer_ids, staff_ids=staff_ids)
    rejected = q.frame()
    clean = clean.loc[~q.bad].reset_index(drop=True)
    return clean, rejected


def cross_checks(
    table: str,
    clean: pd.DataFrame,
    q: _Quarantine,
    customer_ids: pd.Index | None = None,
    *,
    keys: bool = True,
    staff_ids: pd.Index | None = None,
) -> None:
    """Return the checks across rows (duplicate keys, unknown customers), added to ``q``.

    The second half of :func:`validate_table`; ``clean`` and ``q`` come from
    :func:`convert_table`. ``keys=False`` skips the duplicate-key check (for keys unique by
    construction, such as orders aggregated from lines). ``staff_ids``: the known staff, which
    the staff columns of :data:`~cpm_analysis.data.schema.STAFF_REFERENCES` must name.

    Examples
    --------
    >>> typed, q = convert_table("customers", pd.DataFrame(
    ...     {"customer_id": ["1", "1"], "signup_date": ["2024-01-05", "2024-01-06"]}))
    >>> cross_checks("customers", typed, q)
    >>> q.reason.tolist()
    [None, 'duplicate customer_id']
    """
    spec: TableSpec = TABLES[table]
    if spec.key is not None and keys:
        key = clean[spec.key]
        candidates = key.where(~pd.Series(q.bad, index=key.index))
        dup = candidates.duplicated(keep="first") & candidates.notna()
        q.add(dup.to_numpy(), spec.key, reasons.duplicate(spec.key))
    if table == "targets":
        _reject_unknown_kpis(clean, q)
    if table == "assessments":
        dup = clean.duplicated(["staff_id", "period"], keep="first") & ~q.bad
        q.add(dup.to_numpy(), "period", reasons.DUPLICATE_ASSESSMENT)
    if spec.references_customers and customer_ids is not None:
        unknown = (
            ~isin(clean["customer_id"], customer_ids) & clean["customer_id"].notna().to_numpy()
        )
        q.add(unknown, "customer_id", reasons.UNKNOWN_CUSTOMER)
    column = STAFF_REFERENCES.get(table)
    if column is not None and staff_ids is not None and column in clean:
        named = clean[column].notna().to_numpy()
        unknown = ~isin(clean[column], staff_ids) & named
        q.add(unknown, column, reasons.unknown_staff(column))
