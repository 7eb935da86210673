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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# an integer written with a zero fraction, as float-formatted exports write ids
_ZERO_FRACTION = r"^([+-]?\d+)\.0+$"


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
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("str")
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype("str").where(series.notna(), None).astype("str")
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(values)
        integral = finite & (values == np.floor(np.where(finite, values, 0)))
        if integral[~np.isnan(values)].all():
            out = series.astype("Int64").astype("str")
            return out.where(series.notna(), None).astype("str")
        series = series.astype(object).where(series.notna(), None)
    text = series.astype("str").str.strip()
    has_fraction = text.str.contains(".", regex=False).fillna(False).to_numpy(dtype=bool)
    if has_fraction.any():
        part = text[has_fraction]
        text.loc[has_fraction] = part.str.replace(_ZERO_FRACTION, r"\1", regex=True)
    blank = series.isna().to_numpy() | (text == "").fillna(True).to_numpy(dtype=bool)
    return text.where(~blank, None).astype("str")
