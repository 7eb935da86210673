"""Reading dates from exports: ISO 8601, day-first or month-first numbers, sentinels, typos.

Rules
-----
- ISO 8601 (``2024-06-01``, ``2024-06-01T10:00:00+02:00``) is read first; aware values are
  converted to UTC, naive values are taken as UTC; the result is tz-naive ``datetime64[ns]``.
- Numeric dates with ``/``, ``-`` or ``.`` between day, month and year (``03/01/19``,
  ``13.06.2024``, ``12/1/2010 8:26``) are read month-first unless ``dayfirst`` is set. A
  column that holds values only the other order can read (``13/06/2024`` read month-first,
  ``06/13/2024`` read day-first) is refused with a :class:`DataValidationError` naming the
  table, the column and the ``dayfirst`` option: a column is never read half one way and half
  the other.
- Two-digit years follow the POSIX rule: ``00``-``68`` are 2000-2068, ``69``-``99`` 1969-1999.
- Other layouts (``1 June 2024``) go to pandas' mixed-format parser.
- Range: a date before :data:`EARLIEST` (``0001-01-01``, ``1899-12-30``) is out of range, as is
  one past the range of ``datetime64[ns]``; an *open-ended* date (on or after
  :data:`OPEN_ENDED`, e.g. ``9999-12-31``) means "no end". The validator decides what each
  means per column (see :func:`cpm_analysis.data.validate.convert_table`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.errors import OutOfBoundsDatetime

from cpm_analysis.exceptions import DataValidationError

EARLIEST = pd.Timestamp("1900-01-01")
"""Dates before this are out of range (sentinels such as 0001-01-01 or Excel's day zero)."""
OPEN_ENDED = pd.Timestamp("2999-12-31")
"""Dates on or after this mean "open-ended" (9999-12-31 is the usual one)."""
LATEST_NS = pd.Timestamp.max.floor("D")

_NUMERIC = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})((?:[ T].*)?)$"


def _text(series: pd.Series) -> pd.Series:
    text = series.astype("str").str.strip()
    blank = series.isna() | (text == "")
    return text.where(~blank, None)


def _numeric_dates(
    text: pd.Series, dayfirst: bool, table: str, column: str
) -> tuple[pd.Series, pd.Series]:
    """ISO text for the numeric dates of ``text`` (and the mask of those); refuses mixed orders."""
    parts = text.str.extract(_NUMERIC)
    numeric = parts[0].notna().to_numpy()
    if not numeric.any():
        return pd.Series(None, index=text.index, dtype="str"), pd.Series(numeric, text.index)
    parts = parts.loc[numeric]
    first, second = parts[0].astype("int64"), parts[1].astype("int64")
    day, month = (first, second) if dayfirst else (second, first)
    other_only = (month > 12) & (day <= 12)
    if other_only.any():
        example = text.loc[other_only[other_only].index[0]]
        if dayfirst:
            raise DataValidationError(
                f"{table}: column '{column}' has dates that only read month-first "
                f"(e.g. '{example}') although the mapping sets 'dayfirst: true'; the column "
                "mixes both orders: fix the export, or remove 'dayfirst' if it is month-first.",
                table=table,
                column=column,
            )
        raise DataValidationError(
            f"{table}: column '{column}' has dates that only read day-first (e.g. '{example}'); "
            "set 'dayfirst: true' in the mapping if the export writes day/month/year.",
            table=table,
            column=column,
        )
    year = parts[2].astype("int64")
    short = parts[2].str.len() == 2
    year = year.where(~short, np.where(year < 69, 2000 + year, 1900 + year))
    rest = parts[3].fillna("").str.replace(r"^[ T](\d)(?=:)", r" 0\1", regex=True)
    iso = (
        year.astype("str").str.zfill(4)
        + "-"
        + month.astype("str").str.zfill(2)
        + "-"
        + day.astype("str").str.zfill(2)
        + rest
    )
    out = pd.Series(None, index=text.index, dtype="str")
    out.loc[numeric] = iso
    return out, pd.Series(numeric, index=text.index)


def compare_dates(values: np.ndarray, op: np.ufunc, bound: pd.Timestamp) -> np.ndarray:
    """Compute ``op(values, bound)`` for ``datetime64`` values of any unit.

    A numpy comparison (``NaT`` compares ``False``), also when the bound lies outside what the
    unit can hold (``2999-12-31`` against nanoseconds): then every value is on the same side.

    Examples
    --------
    >>> values = np.array(["2024-01-01", "NaT"], dtype="datetime64[ns]")
    >>> compare_dates(values, np.greater_equal, OPEN_ENDED).tolist()
    [False, False]
    >>> compare_dates(values, np.less, OPEN_ENDED).tolist()
    [True, False]
    """
    unit = np.datetime_data(values.dtype)[0]
    try:
        edge = bound.as_unit(unit).to_datetime64()
    except (OutOfBoundsDatetime, ValueError):
        present = ~np.isnat(values)
        above_all = bound > pd.Timestamp("1970-01-01")  # the bound is past every value
        if op in (np.greater, np.greater_equal):
            return np.zeros(len(values), dtype=bool) if above_all else present
        return present if above_all else np.zeros(len(values), dtype=bool)
    return op(values, edge)


def read_dates(
    series: pd.Series, *, dayfirst: bool = False, table: str = "data", column: str = "date"
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse dates and tell the sentinels apart (see the module rules).

    Parameters
    ----------
    series : Series
        Dates as read: text, ``datetime64`` of any unit, aware or naive, or Excel date cells.
    dayfirst : bool
        Numeric dates are day/month/year (the mapping's ``dayfirst: true``).
    table, column : str
        Named in the error for a column that mixes day-first and month-first values.

    Returns
    -------
    (dates, out_of_range, open_ended)
        Tz-naive UTC ``datetime64[ns]`` (``NaT`` where unparseable, out of range or
        open-ended), and the masks of the out-of-range and of the open-ended values.

    Raises
    ------
    DataValidationError
        When the column holds numeric dates that only the other order reads.

    Examples
    --------
    >>> dates, bad, open_ = read_dates(pd.Series(["03/01/19", "9999-12-31", "0001-01-01"]),
    ...                                dayfirst=True)
    >>> dates.tolist(), bad.tolist(), open_.tolist()
    ([Timestamp('2019-01-03 00:00:00'), NaT, NaT], [False, False, True], [False, True, False])
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        parsed = series.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        parsed = series
    else:
        text = _text(series)
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        retry = (parsed.isna() & text.notna()).to_numpy()
        if retry.any():
            iso, numeric = _numeric_dates(text[retry], dayfirst, table, column)
            numeric_rows = numeric.index[numeric.to_numpy()]
            if len(numeric_rows):
                parsed.loc[numeric_rows] = pd.to_datetime(
                    iso.loc[numeric_rows], format="ISO8601", errors="coerce", utc=True
                )
            other = numeric.index[~numeric.to_numpy()]
            if len(other):
                parsed.loc[other] = pd.to_datetime(
                    text.loc[other], format="mixed", dayfirst=dayfirst, errors="coerce", utc=True
                )
        parsed = parsed.dt.tz_localize(None)
    values = parsed.to_numpy()  # datetime64 of the parsed unit
    open_ended = compare_dates(values, np.greater_equal, OPEN_ENDED)
    out_of_range = compare_dates(values, np.less, EARLIEST) | (
        compare_dates(values, np.greater, LATEST_NS) & ~open_ended
    )
    if open_ended.any() or out_of_range.any():
        parsed = parsed.where(~(open_ended | out_of_range))
    out = parsed.astype("datetime64[ns]")
    return out, pd.Series(out_of_range, series.index), pd.Series(open_ended, series.index)


def parse_datetime(series: pd.Series, dayfirst: bool = False) -> pd.Series:
    """Parse to tz-naive UTC ``datetime64[ns]``; unparseable values become ``NaT``.

    ISO 8601 is parsed fast; numeric day/month/year layouts as described in the module; other
    layouts fall back to pandas' mixed-format parser. Out-of-range and open-ended dates
    (``0001-01-01``, ``9999-12-31``) become ``NaT`` too.

    Examples
    --------
    >>> parse_datetime(pd.Series(["2024-06-01", "2024-06-01T10:00:00+02:00", "junk"])).tolist()
    [Timestamp('2024-06-01 00:00:00'), Timestamp('2024-06-01 08:00:00'), NaT]
    """
    return read_dates(series, dayfirst=dayfirst)[0]
