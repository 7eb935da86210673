"""Identifiers that read the same from every source format.

An id is text. The same customer must get the same id whether the export came as CSV, as
Parquet (where a column with blanks is often stored as floats, ``17850.0``), as an Excel sheet
(numeric cells are floats) or from a database: :func:`normalise_ids` is the one place that
decides, and every id column of the data contract goes through it.

Rules
-----
- surrounding blanks are stripped; blank and missing values become missing;
- a float with an integral value is written without its fraction: ``17850.0`` -> ``"17850"``;
- text that is a float-formatted integer loses the zero fraction: ``"17850.0"`` -> ``"17850"``,
  ``"00123.0"`` -> ``"00123"``;
- any other text is kept as it is, leading zeros included: ``"00123"`` stays ``"00123"``.

Each distinct id is normalised once (:mod:`cpm_analysis.data.distinct`): an export repeats an
order id on every line and a customer id on every order. :func:`factorize_ids` also gives the
codes of the normalised ids, which the loader reuses to group lines into orders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpm_analysis.data.distinct import codes_of, take

# an integer written with a zero fraction, as float-formatted exports write ids
_ZERO_FRACTION = r"^([+-]?\d+)\.0+$"


def _normalise_text(values: pd.Series) -> pd.Series:
    """Apply the id rules to distinct text values (``str`` dtype).

    Stripped, a zero fraction dropped, blank as missing.
    """
    text = values.str.strip()
    has_fraction = text.str.contains(".", regex=False).fillna(False).to_numpy(dtype=bool)
    if has_fraction.any():
        text.loc[has_fraction] = text[has_fraction].str.replace(_ZERO_FRACTION, r"\1", regex=True)
    blank = values.isna().to_numpy() | (text == "").fillna(True).to_numpy(dtype=bool)
    return text.where(~blank, None).astype("str")


def _recode(codes: np.ndarray, normalised: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Map codes into ``normalised`` (one per former distinct value) to its distinct values.

    Two values may normalise to the same id (``17850`` and ``17850.0``), a blank to missing.
    """
    inner, uniques = codes_of(normalised)
    if len(inner) == len(uniques) and (inner == np.arange(len(inner))).all():
        return codes, uniques
    spread = np.concatenate([inner, np.full(1, -1, dtype=np.int64)])
    return spread[codes], uniques


def factorize_ids(series: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Index]:
    """Ids as :func:`normalise_ids` makes them, their codes and the distinct ids.

    Each distinct value of ``series`` is normalised once. The codes number the normalised ids
    in order of first appearance (``-1`` for a missing id), as :func:`pandas.factorize` would
    number the normalised column.

    Parameters
    ----------
    series : Series
        Ids as read: text, integers, floats (``NaN`` for missing) or a mix (Excel).

    Returns
    -------
    (ids, codes, uniques)
        The ids (``str`` dtype, same index), an int64 code per row and the distinct ids.

    Examples
    --------
    >>> ids, codes, uniques = factorize_ids(pd.Series(["7.0", " 8", "7", None]))
    >>> ids.tolist(), codes.tolist(), uniques.tolist()
    (['7', '8', '7', nan], [0, 1, 0, -1], ['7', '8'])
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        ids = series.astype("str")
        return (ids, *codes_of(ids))
    if pd.api.types.is_integer_dtype(series.dtype):
        codes, uniques = codes_of(series)
        text = pd.Series(uniques.astype("str"), dtype="str")
        return take(text, codes, series.index), codes, pd.Index(text)
    if pd.api.types.is_float_dtype(series.dtype):
        codes, uniques = codes_of(series)
        values = uniques.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(values)
        if (finite & (values == np.floor(np.where(finite, values, 0)))).all():
            text = pd.Series(uniques.astype("Int64").astype("str"), dtype="str")
            codes, uniques = _recode(codes, text)  # -0.0 and 0.0 are both "0"
            return take(uniques, codes, series.index), codes, uniques
        series = series.astype(object).where(series.notna(), None)
    text = series if series.dtype == "str" else series.astype("str")
    codes, uniques = codes_of(text)
    values = pd.Series(uniques.array if len(uniques) else text.array[:0])
    normalised = _normalise_text(values)
    unchanged = normalised.eq(values).fillna(False).to_numpy(dtype=bool).all()
    if unchanged:  # already canonical: the column as it is
        return text, codes, pd.Index(values)
    codes, uniques = _recode(codes, normalised)
    return take(uniques, codes, series.index), codes, uniques


def normalise_ids(series: pd.Series) -> pd.Series:
    """Ids as text in one canonical form, whatever the source's type (see the module rules).

    Parameters
    ----------
    series : Series
        Ids as read: text, integers, floats (``NaN`` for missing) or a mix (Excel).

    Returns
    -------
    Series
        ``str`` dtype, missing where the id is blank or missing; same index.

    Examples
    --------
    >>> normalise_ids(pd.Series([17850.0, None])).tolist()
    ['17850', nan]
    >>> normalise_ids(pd.Series(["17850.0", " 00123 ", "C536379", ""])).tolist()
    ['17850', '00123', 'C536379', nan]
    """
    return factorize_ids(series)[0]
