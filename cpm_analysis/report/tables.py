"""HTML tables for reports: masked, formatted for reading, escaped, compact.

Every table a notebook shows goes through :func:`show` (or ``ReportContext.show``): personal
columns are dropped and customer ids pseudonymised in ``mask`` mode (:mod:`cpm_analysis.privacy`),
numbers get thousands separators and sensible decimals, shares are shown as percentages, dates
without a time of day as dates, missing and infinite values (a figure that cannot be computed) as
a dash, and long tables are cut with a note.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"table": ["orders"], "rows": [15735], "share": [0.0123]})
>>> "15,735" in to_html(frame, percent=["share"])
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cpm_analysis.privacy import mask_frame
from cpm_analysis.report.escaping import html_text

MISSING = "–"
_PERCENT_HINTS = ("share", "rate", "ratio", "probability", "p_alive", "churn_probability", "pct")


def header(name: str) -> str:
    """``rows_in_period`` -> ``Rows in period``; names with capitals are kept.

    Examples
    --------
    >>> header("rows_in_period"), header("NPS")
    ('Rows in period', 'NPS')
    """
    text = str(name)
    if any(c.isupper() for c in text):
        return text
    text = text.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _is_percent(column: str, values: pd.Series, percent: Sequence[str] | None) -> bool:
    if percent is not None:
        return column in percent
    key = str(column).lower()
    if not any(h in key for h in _PERCENT_HINTS):
        return False
    finite = values.dropna()
    return bool(len(finite)) and bool(((finite >= 0) & (finite <= 1)).all())


def format_column(
    series: pd.Series, *, percent: bool = False, decimals: int | None = None
) -> pd.Series:
    """Format one column as display strings (vectorised per column).

    Examples
    --------
    >>> format_column(pd.Series([1234.5, None])).tolist()
    ['1,234', '–']
    >>> format_column(pd.Series([0.25]), percent=True).tolist()
    ['25.0%']
    >>> format_column(pd.Series([float("inf"), -float("inf")]), percent=True).tolist()
    ['–', '–']
    """
    missing = series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype):
        out = series.map({True: "yes", False: "no"}).astype(object)
    elif pd.api.types.is_datetime64_any_dtype(series.dtype):
        valid = series.dropna()
        midnight = bool(len(valid)) and bool((valid == valid.dt.normalize()).all())
        out = series.dt.strftime("%Y-%m-%d" if midnight or not len(valid) else "%Y-%m-%d %H:%M")
    elif pd.api.types.is_integer_dtype(series.dtype):
        out = series.map(lambda v: f"{int(v):,}" if pd.notna(v) else MISSING)
    elif pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        missing = missing | ~np.isfinite(values)  # an infinite figure is not available either
        if percent:
            out = series.map(lambda v: f"{v:.{1 if decimals is None else decimals}%}")
        else:
            finite = values[np.isfinite(values)]
            if decimals is None:
                whole = bool(len(finite)) and bool(np.all(finite == np.round(finite)))
                big = bool(len(finite)) and float(np.nanmedian(np.abs(finite))) >= 100
                decimals = 0 if whole or big else 2
            out = series.map(lambda v: f"{v:,.{decimals}f}")
    else:
        out = series.astype(object).map(str)
    out = out.astype(object)
    out[missing] = MISSING
    return out


def to_html(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    max_rows: int = 30,
    percent: Sequence[str] | None = None,
    decimals: Mapping[str, int] | None = None,
    index: bool = False,
    translate: Callable[[str], str] | None = None,
) -> str:
    """Render ``frame`` as an escaped HTML table (no masking: see :func:`show`).

    Parameters
    ----------
    frame : DataFrame
        The table.
    caption : str, optional
        A caption shown above the table.
    max_rows : int
        At most this many rows; a note says how many there are in all.
    percent : sequence of str, optional
        Columns shown as percentages; default: float columns within 0-1 whose name mentions a
        share, rate, ratio or probability.
    decimals : dict, optional
        Decimals per column (default 0 for large or whole numbers, else 2).
    index : bool
        Show the index as the first column(s).
    translate : callable, optional
        Translates each column header (:func:`header` of the name), e.g. a translator's
        ``gettext``; headers stay in English without one.

    Examples
    --------
    >>> print(to_html(pd.DataFrame({"a": [1]}), caption="<b>"))  # doctest: +ELLIPSIS
    <table class="cpm-table">
    <caption>&lt;b&gt;</caption>...
    """
    if max_rows < 1:
        raise ValueError(f"max_rows: expected at least 1, got {max_rows}")
    shown = frame.reset_index() if index else frame
    total = len(shown)
    shown = shown.head(max_rows)
    decimals = dict(decimals or {})
    numeric = {c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c].dtype)}
    numeric -= {c for c in shown.columns if pd.api.types.is_bool_dtype(shown[c].dtype)}
    cells = {
        c: format_column(
            shown[c],
            percent=c in numeric and _is_percent(c, shown[c], percent),
            decimals=decimals.get(c),
        )
        for c in shown.columns
    }
    lines = ['<table class="cpm-table">']
    if caption:
        lines.append(f"<caption>{html_text(caption)}</caption>")
    words = translate or str
    heads = "".join(
        f"<th{' class=num' if c in numeric else ''}>{html_text(words(header(c)))}</th>"
        for c in shown.columns
    )
    lines.append(f"<thead><tr>{heads}</tr></thead>")
    lines.append("<tbody>")
    columns = list(shown.columns)
    for row in range(len(shown)):
        tds = "".join(
            f"<td{' class=num' if c in numeric else ''}>{html_text(cells[c].iat[row])}</td>"
            for c in columns
        )
        lines.append(f"<tr>{tds}</tr>")
    lines.append("</tbody></table>")
    if total > len(shown):
        lines.append(f'<p class="cpm-note">Showing {len(shown):,} of {total:,} rows.</p>')
    if total == 0:
        lines.append('<p class="cpm-note">No rows.</p>')
    return "\n".join(lines)


def show(
    frame: pd.DataFrame,
    *,
    pii: str = "mask",
    key: bytes | None = None,
    caption: str | None = None,
    max_rows: int = 30,
    percent: Sequence[str] | None = None,
    decimals: Mapping[str, int] | None = None,
    index: bool = False,
    translate: Callable[[str], str] | None = None,
) -> Any:
    """Mask and render ``frame`` for a notebook: returns an ``IPython.display.HTML``.

    In ``mask`` mode personal columns are dropped and ``customer_id`` becomes ``pseudonym``
    (``key`` needed then); see :func:`cpm_analysis.privacy.mask_frame`. The other parameters are
    those of :func:`to_html`.

    Examples
    --------
    >>> out = show(pd.DataFrame({"customer_id": ["C1"], "name": ["Ann Lee"]}), key=b"k" * 16)
    >>> "Ann Lee" in out.data, "C1" in out.data
    (False, False)
    """
    from IPython.display import HTML

    masked = mask_frame(frame.reset_index() if index else frame, pii, key=key)
    return HTML(
        to_html(
            masked,
            caption=caption,
            max_rows=max_rows,
            percent=percent,
            decimals=decimals,
            translate=translate,
        )
    )
