"""Reporting periods: months (``2024-06``), quarters (``2024-Q2``) and years (``2024``).

A period's cutoff is its last instant (``2024-06-30 23:59:59.999999999``); ``latest`` is the
last complete period in the data: the last one whose final day the data reaches.

Examples
--------
>>> p = parse_period("2024-Q2")
>>> p.start, p.end
(Timestamp('2024-04-01 00:00:00'), Timestamp('2024-06-30 23:59:59.999999999'))
>>> p.previous().label
'2024-Q1'
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from cpm_analysis.exceptions import PeriodError

FREQS = {"M": "monthly", "Q": "quarterly", "Y": "yearly"}
_FREQ_ALIASES = {
    "m": "M",
    "month": "M",
    "monthly": "M",
    "q": "Q",
    "quarter": "Q",
    "quarterly": "Q",
    "y": "Y",
    "a": "Y",
    "year": "Y",
    "yearly": "Y",
    "annual": "Y",
}
_PANDAS_FREQ = {"M": "M", "Q": "Q-DEC", "Y": "Y-DEC"}
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def normalize_freq(freq: str) -> str:
    """``"monthly"``, ``"M"``, ``"quarter"``, ... to one of ``"M"``, ``"Q"``, ``"Y"``.

    Examples
    --------
    >>> normalize_freq("quarterly")
    'Q'
    """
    key = str(freq).strip()
    if key in FREQS:
        return key
    try:
        return _FREQ_ALIASES[key.lower()]
    except KeyError:
        raise PeriodError(
            f"freq: unknown frequency '{freq}' (use monthly, quarterly or yearly)"
        ) from None


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period.

    Attributes
    ----------
    start : Timestamp
        Its first instant.
    freq : str
        ``"M"``, ``"Q"`` or ``"Y"``.

    Examples
    --------
    >>> Period(pd.Timestamp("2024-06-01"), "M").label
    '2024-06'
    """

    start: pd.Timestamp
    freq: str

    @property
    def _pd(self) -> pd.Period:
        return pd.Period(self.start, freq=_PANDAS_FREQ[self.freq])

    @property
    def label(self) -> str:
        """``2024-06``, ``2024-Q2`` or ``2024``."""
        if self.freq == "M":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        if self.freq == "Q":
            return f"{self.start.year:04d}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year:04d}"

    @property
    def end(self) -> pd.Timestamp:
        """The cutoff: the period's last instant."""
        return self.next().start - pd.Timedelta(1, "ns")

    @property
    def last_day(self) -> pd.Timestamp:
        """Midnight at the start of the period's last day."""
        return self.end.normalize()

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.next().start - self.start).days

    def shift(self, n: int) -> Period:
        """Return the period ``n`` steps later (earlier when negative)."""
        shifted = self._pd + n
        return Period(shifted.start_time, self.freq)

    def next(self) -> Period:
        """Return the following period."""
        return self.shift(1)

    def previous(self) -> Period:
        """Return the preceding period."""
        return self.shift(-1)

    def contains(self, when: pd.Series | pd.Timestamp) -> Any:
        """Whether timestamps fall inside the period (vectorised for a Series)."""
        return (when >= self.start) & (when <= self.end)

    def __str__(self) -> str:
        """Return the label, e.g. ``2024-06``."""
        return self.label


Instant: TypeAlias = "pd.Timestamp | dt.date | str"
"""An instant or a date read with ``pd.Timestamp`` (a ``Timestamp``, a ``datetime``, a date or
its text): what the checks and facts that take no period labels accept."""

Cutoff: TypeAlias = "Period | str | dt.date | np.datetime64"
"""What a ``cutoff`` (or ``as_of``) parameter takes: a period, its label, a date or an instant
(a ``datetime`` or a ``Timestamp``, both dates); :func:`to_cutoff` reads it."""


def parse_period(value: str | Period, freq: str | None = None) -> Period:
    """Parse ``2024-06`` (month), ``2024-Q2`` (quarter) or ``2024`` (year).

    Parameters
    ----------
    value : str or Period
        The label.
    freq : str, optional
        When given, the parsed period must be of this frequency.

    Raises
    ------
    PeriodError
        For a malformed label such as ``2024-13`` or ``June``.

    Examples
    --------
    >>> parse_period("2024-06").end
    Timestamp('2024-06-30 23:59:59.999999999')
    """
    if isinstance(value, Period):
        period = value
    else:
        text = str(value).strip()
        if m := _MONTH.match(text):
            year, month = int(m.group(1)), int(m.group(2))
            if not 1 <= month <= 12:
                raise PeriodError(f"period: month {month} in '{value}' is not 1-12")
            period = Period(pd.Timestamp(year=year, month=month, day=1), "M")
        elif m := _QUARTER.match(text):
            year, quarter = int(m.group(1)), int(m.group(2))
            period = Period(pd.Timestamp(year=year, month=3 * quarter - 2, day=1), "Q")
        elif m := _YEAR.match(text):
            period = Period(pd.Timestamp(year=int(m.group(1)), month=1, day=1), "Y")
        else:
            raise PeriodError(
                f"period: cannot read '{value}'; use 2024-06 (month), 2024-Q2 (quarter), "
                "2024 (year) or latest"
            )
    if freq is not None and period.freq != normalize_freq(freq):
        raise PeriodError(
            f"period: '{period.label}' is {FREQS[period.freq]}, but {FREQS[normalize_freq(freq)]} "
            "was asked for"
        )
    return period


def period_of(when: pd.Timestamp | str, freq: str) -> Period:
    """Return the period of frequency ``freq`` that contains ``when``.

    Examples
    --------
    >>> period_of("2024-05-17", "Q").label
    '2024-Q2'
    """
    code = normalize_freq(freq)
    return Period(pd.Period(pd.Timestamp(when), freq=_PANDAS_FREQ[code]).start_time, code)


def period_range(start: str | Period, end: str | Period) -> list[Period]:
    """All periods from ``start`` to ``end`` inclusive (same frequency), for backfills.

    Examples
    --------
    >>> [p.label for p in period_range("2024-01", "2024-03")]
    ['2024-01', '2024-02', '2024-03']
    """
    first, last = parse_period(start), parse_period(end)
    if first.freq != last.freq:
        raise PeriodError(f"period: '{first}' and '{last}' are of different frequencies")
    if last < first:
        raise PeriodError(f"period: the range ends ({last}) before it starts ({first})")
    out = [first]
    while out[-1] < last:
        out.append(out[-1].next())
    return out


def latest_period(last_date: pd.Timestamp | Any, freq: str = "M") -> Period:
    """Return the last complete period given the last date the data reaches.

    A period is complete when the data reaches its last day. ``last_date`` may also be a
    :class:`~cpm_analysis.data.Dataset`, whose :meth:`~cpm_analysis.data.Dataset.last_date` is
    used.

    Examples
    --------
    >>> latest_period(pd.Timestamp("2024-06-15"), "M").label
    '2024-05'
    >>> latest_period(pd.Timestamp("2024-06-30 08:00"), "M").label
    '2024-06'
    """
    if hasattr(last_date, "last_date"):
        last_date = last_date.last_date()
    last_date = pd.Timestamp(last_date)
    current = period_of(last_date, freq)
    return current if last_date.normalize() >= current.last_day else current.previous()


def resolve_period(value: str | Period, dataset: Any = None, freq: str = "M") -> Period:
    """Parse a period label, resolving ``"latest"`` against a dataset.

    Examples
    --------
    >>> resolve_period("2024-06").label
    '2024-06'
    """
    if isinstance(value, str) and value.strip().lower() == "latest":
        if dataset is None:
            raise PeriodError("period: 'latest' needs a dataset to look at")
        return latest_period(dataset, freq)
    return parse_period(value)


def to_cutoff(value: Cutoff) -> pd.Timestamp:
    """Turn a cutoff argument into an exact instant.

    - a :class:`Period` or a period label (``"2024-06"``, ``"2024-Q2"``, ``"2024"``): its last
      instant;
    - a date (``"2024-06-30"`` or :class:`datetime.date`): the end of that day, so the whole day
      is included;
    - a Timestamp, a datetime or a string with a time: exactly that instant (tz-aware values
      converted to tz-naive UTC).

    Examples
    --------
    >>> to_cutoff("2024-06-30")
    Timestamp('2024-06-30 23:59:59.999999999')
    >>> to_cutoff(pd.Timestamp("2024-06-30 12:00"))
    Timestamp('2024-06-30 12:00:00')
    """
    if isinstance(value, Period):
        return value.end
    if isinstance(value, str):
        text = value.strip()
        if _MONTH.match(text) or _QUARTER.match(text) or _YEAR.match(text):
            return parse_period(text).end
        if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            return pd.Timestamp(text) + pd.Timedelta(1, "D") - pd.Timedelta(1, "ns")
        if not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d", text):
            raise PeriodError(
                f"cutoff: cannot read '{value}'; use a period (2024-06), a date (2024-06-30) "
                "or a date and time (2024-06-30 18:00)"
            )
        try:
            ts = pd.Timestamp(text)
        except ValueError:
            raise PeriodError(f"cutoff: cannot read '{value}' as a date or period") from None
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pd.Timestamp(value) + pd.Timedelta(1, "D") - pd.Timedelta(1, "ns")
    else:
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError):
            raise PeriodError(f"cutoff: cannot read {value!r} as a date or period") from None
    if ts is pd.NaT:
        raise PeriodError("cutoff: got a missing value (NaT)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.as_unit("ns")
