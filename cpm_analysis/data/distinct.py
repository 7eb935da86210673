"""Columns handled once per distinct value.

Exports repeat their values: an order id on each of its lines, a date on every order of the
day, a category on thousands of lines, a price on every sale of a product. The loader hashes a
column once (pyarrow's dictionary encoding, through :func:`pandas.factorize`), works on its
distinct values only (strips, normalises, parses, checks them) and takes the result back to the
rows by code. Every step stays vectorised; no Python loop runs per row.

Lines of one order usually come one after the other, so a column is hashed by its *runs* of
equal values when runs are long (each run's first value is hashed, the codes are spread over
the run): the codes are the same as hashing every row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

RUNS_WORTH = 0.5
"""Hash a column by its runs when it has fewer runs than this share of its rows."""


def _run_starts(series: pd.Series) -> np.ndarray | None:
    """Tell whether each row starts a run of equal values (a missing value always does).

    ``None`` when the dtype is not one that compares fast (Arrow strings, numbers, dates).
    """
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        strings = pa.array(series.array)  # the Arrow strings, not a copy
        chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
        pieces: list[np.ndarray] = []
        last, seen = None, False
        for chunk in chunks:  # per chunk (a Parquet row group), not per row: no copy of all
            if len(chunk) == 0:
                continue
            if seen:  # the chunk's first row against the previous chunk's last
                first = chunk[0].as_py()
                pieces.append(np.array([first is None or last is None or first != last]))
            differs = pc.not_equal(chunk.slice(1), chunk.slice(0, len(chunk) - 1))
            pieces.append(pc.fill_null(differs, True).to_numpy(zero_copy_only=False))
            last, seen = chunk[len(chunk) - 1].as_py(), True
        rest = np.concatenate(pieces) if pieces else np.zeros(0, dtype=bool)
    elif isinstance(series.dtype, np.dtype) and series.dtype.kind in "iufmM":
        values = series.to_numpy()
        rest = values[1:] != values[:-1]
    else:
        return None
    return np.concatenate([np.ones(1, dtype=bool), np.asarray(rest, dtype=bool)])


def codes_of(series: pd.Series, sort: bool = False) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of ``series`` (``-1`` for missing) and the distinct values.

    The codes number the values in order of first appearance (as :func:`pandas.factorize`
    does), or in the sort order of the values with ``sort=True``.

    Examples
    --------
    >>> codes_of(pd.Series(["b", "a", None, "b"]), sort=True)[0].tolist()
    [1, 0, -1, 1]
    >>> codes_of(pd.Series(["x", "x", "x", "y", "y", "x"]))[0].tolist()
    [0, 0, 0, 1, 1, 0]
    """
    starts = _run_starts(series) if len(series) > 1 else None
    if starts is not None:
        heads = np.flatnonzero(starts)
        if len(heads) < RUNS_WORTH * len(series):
            codes, uniques = pd.factorize(series.iloc[heads], sort=sort)
            lengths = np.diff(np.append(heads, len(series)))
            return np.repeat(np.asarray(codes, dtype=np.int64), lengths), pd.Index(uniques)
    codes, uniques = pd.factorize(series, sort=sort)
    return np.asarray(codes, dtype=np.int64), pd.Index(uniques)


def compact(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber the codes of a subset of rows from zero.

    The new codes are ``0..k-1`` in order of first appearance, as :func:`codes_of` would number
    the subset (``-1`` stays ``-1``); also returned is the position of each new code's first
    row (so ``old[first]`` are the former codes, to take the values with).

    Examples
    --------
    >>> new, first = compact(np.array([4, 2, 4, -1, 7]))
    >>> new.tolist(), first.tolist()
    ([0, 1, 0, -1, 2], [0, 1, 4])
    """
    n = len(codes)
    if n == 0:
        return codes, np.zeros(0, dtype=np.int64)
    # a row is a code's first when the code exceeds every code before it, as long as the codes
    # are 0..k-1 in order of first appearance already (then there are exactly k such rows)
    running = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.concatenate([codes[:1] >= 0, codes[1:] > running[:-1]]))
    top = int(running[-1])
    if top + 1 == len(first):
        return codes, first
    rows = np.flatnonzero(codes >= 0)
    first_of = np.full(top + 1, n, dtype=np.int64)
    np.minimum.at(first_of, codes[rows], rows)
    present = np.flatnonzero(first_of < n)
    order = present[np.argsort(first_of[present], kind="stable")]
    new = np.full(top + 2, -1, dtype=np.int64)  # the last entry: code -1 stays -1
    new[order] = np.arange(len(order))
    return new[codes], first_of[order]


def take(
    values: pd.Series | pd.Index, codes: np.ndarray, index: pd.Index | None = None
) -> pd.Series:
    """``values`` at ``codes`` as a Series (missing where a code is ``-1``), same dtype.

    Examples
    --------
    >>> take(pd.Series(["a", "b"], dtype="str"), np.array([1, -1, 0])).tolist()
    ['b', nan, 'a']
    """
    array = pd.Series(values).array
    if len(array) == 0:
        array = pd.Series([None], dtype=array.dtype).array
        codes = np.full(len(codes), -1, dtype=np.int64)
    return pd.Series(array.take(codes, allow_fill=True), index=index)


@dataclass(frozen=True)
class Distinct:
    """A column as codes into its distinct values.

    Attributes
    ----------
    codes : ndarray of int64
        Per row, the position of its value in ``values``; ``-1`` for a missing value.
    values : Series
        The distinct non-missing values in order of first appearance (fresh ``RangeIndex``).
    index : Index
        The column's index, which :meth:`expand` gives back.

    Examples
    --------
    >>> d = Distinct.of(pd.Series(["7", "x", "7", None], dtype="str"))
    >>> d.values.tolist(), d.codes.tolist()
    (['7', 'x'], [0, 1, 0, -1])
    >>> d.expand(d.values + "!").tolist(), d.rows(np.array([True, False])).tolist()
    (['7!', 'x!', '7!', nan], [True, False, True, False])
    """

    codes: np.ndarray
    values: pd.Series
    index: pd.Index

    @classmethod
    def of(cls, series: pd.Series) -> Distinct:
        """Find the distinct values of ``series`` and each row's code."""
        codes, uniques = codes_of(series)
        values = pd.Series(uniques.array if len(uniques) else series.array[:0])
        return cls(codes, values, series.index)

    @property
    def missing(self) -> np.ndarray:
        """Rows whose value is missing."""
        return self.codes < 0

    def rows(self, per_value: np.ndarray | pd.Series) -> np.ndarray:
        """Spread a mask over the distinct values to the rows (missing rows: ``False``)."""
        flags = np.asarray(per_value, dtype=bool)
        return np.concatenate([flags, np.zeros(1, dtype=bool)])[self.codes]

    def expand(self, per_value: pd.Series | pd.Index) -> pd.Series:
        """Values computed per distinct value, back on the rows (missing rows: missing)."""
        return take(per_value, self.codes, self.index)
