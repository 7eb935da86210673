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

from cpm_analysis.i18n import N_, Message, Translator
from cpm_analysis.privacy import mask_frame
from cpm_analysis.report.escaping import html_text

_ENGLISH = Translator("en")

MISSING = "–"
_PERCENT_HINTS = ("share", "rate", "ratio", "probability", "p_alive", "churn_probability", "pct")
_MONEY_HINTS = ("revenue", "spend", "clv", "monetary", "amount", "order_value", "aov", "_value")
_COUNT_HINTS = ("count", "customers", "orders", "tickets", "rows", "n_", "number")

LABELS: dict[str, str] = {
    "clv": "CLV",
    "predicted_clv": "Predicted CLV",
    "roc_auc": "ROC AUC (ranking, 0.5 = chance)",
    "pr_auc": "PR AUC (precision-recall)",
    "brier": "Brier score (lower is better)",
    "kpi_score": "KPI score (0-100)",
    "kpi": "KPI",
    "sla_compliance": "SLA compliance",
    "p_alive": "P(alive)",
    "mean_p_alive": "Mean P(alive)",
    "importance_mean": "Drop in ROC AUC when shuffled",
    "importance_std": "Spread over cutoffs (std)",
    "aov": "Average order value",
    "csat": "CSAT",
    "nps": "NPS",
    "composite": "Composite (0-100)",
    "no_purchase_rate": "Did not buy",
    "top_decile_no_purchase_rate": "Did not buy, riskiest tenth",
}
"""Display labels of field names that :func:`header` cannot derive (acronyms, units)."""

_ACRONYMS = {
    "clv": "CLV",
    "kpi": "KPI",
    "sla": "SLA",
    "auc": "AUC",
    "roc": "ROC",
    "pr": "PR",
    "nps": "NPS",
    "csat": "CSAT",
    "id": "ID",
    "rfm": "RFM",
    "aov": "AOV",
    "bg/nbd": "BG/NBD",
}


def header(name: str) -> str:
    """Return a human label for a field name: ``rows_in_period`` -> ``Rows in period``.

    Names with capitals are kept as written; known field names get their label
    (:data:`LABELS`) and acronyms stay upper case (``Clv`` is never shown).

    Examples
    --------
    >>> header("rows_in_period"), header("NPS"), header("roc_auc"), header("clv_low")
    ('Rows in period', 'NPS', 'ROC AUC (ranking, 0.5 = chance)', 'CLV low')
    """
    if isinstance(name, Message):  # a header the package wrote: translated as it is
        return name
    text = str(name)
    if any(c.isupper() for c in text):
        return text
    if text in LABELS:
        return LABELS[text]
    words = [_ACRONYMS.get(w, w) for w in text.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _has(column: str, hints: Sequence[str]) -> bool:
    key = str(column).lower()
    return any(h in key for h in hints)


def _is_percent(column: str, values: pd.Series, percent: Sequence[str] | None) -> bool:
    if percent is not None:
        return column in percent
    key = str(column).lower()
    if not any(h in key for h in _PERCENT_HINTS):
        return False
    finite = values.dropna()
    return bool(len(finite)) and bool(((finite >= 0) & (finite <= 1)).all())


def format_column(
    series: pd.Series,
    *,
    percent: bool = False,
    decimals: int | None = None,
    unit: str | None = None,
    translator: Translator | None = None,
) -> pd.Series:
    """Format one column as display strings, by the type of what it holds.

    A ``unit`` (a KPI registry unit: ``currency``, ``share``, ``hours``, ``days``, a count such
    as ``customers``) formats every value with :meth:`~cpm_analysis.i18n.Translator.quantity`:
    money with the translator's currency, durations with their unit, counts as integers.
    Without one: shares as percentages (``percent``), whole or large numbers without decimals,
    others with two, all with the locale's thousands separator (``translator``, default English).

    Examples
    --------
    >>> format_column(pd.Series([1234.5, None])).tolist()
    ['1,234', '–']
    >>> format_column(pd.Series([0.25]), percent=True).tolist()
    ['25.0%']
    >>> format_column(pd.Series([float("inf"), -float("inf")]), percent=True).tolist()
    ['–', '–']
    >>> format_column(pd.Series([388.0, 432.0]), unit="customers").tolist()
    ['388', '432']
    >>> from cpm_analysis.i18n import N_, Message, Translator
    >>> format_column(pd.Series([1549.0]), unit="currency", translator=Translator("en", currency="EUR")).tolist()
    ['€1,549.00']
    """
    tr = translator if translator is not None else _ENGLISH
    missing = series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype):
        out = series.map({True: tr.gettext(N_("yes")), False: tr.gettext(N_("no"))}).astype(object)
    elif pd.api.types.is_datetime64_any_dtype(series.dtype):
        valid = series.dropna()
        midnight = bool(len(valid)) and bool((valid == valid.dt.normalize()).all())
        out = series.dt.strftime("%Y-%m-%d" if midnight or not len(valid) else "%Y-%m-%d %H:%M")
        if tr.lang != "en" and midnight:  # dates as the locale writes them (2025年12月31日)
            out = series.map(lambda v: tr.date(v) if pd.notna(v) else MISSING)
    elif unit is not None and pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        missing = missing | ~np.isfinite(values)
        out = pd.Series(
            [tr.quantity(float(v), unit) if np.isfinite(v) else MISSING for v in values],
            index=series.index,
        )
    elif pd.api.types.is_integer_dtype(series.dtype):
        out = series.map(lambda v: tr.integer(int(v)) if pd.notna(v) else MISSING)
    elif pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        missing = missing | ~np.isfinite(values)  # an infinite figure is not available either
        if percent:
            places = 1 if decimals is None else decimals
            out = pd.Series(
                [tr.percent(float(v), places) if np.isfinite(v) else MISSING for v in values],
                index=series.index,
            )
        else:
            finite = values[np.isfinite(values)]
            if decimals is None:
                whole = bool(len(finite)) and bool(np.all(finite == np.round(finite)))
                big = bool(len(finite)) and float(np.nanmedian(np.abs(finite))) >= 100
                decimals = 0 if whole or big else 2
            out = pd.Series(
                [tr.number(float(v), decimals) if np.isfinite(v) else MISSING for v in values],
                index=series.index,
            )
    else:  # words and sentences the package wrote (statuses, reasons) in the report's language
        shown: dict[str, str] = {}

        def cell(value: Any) -> str:
            if isinstance(value, Message):
                return tr.gettext(value)
            if tr.lang == "en" or not isinstance(value, str):
                return str(value)
            if value not in shown:
                shown[value] = tr.sentence(value)
            return shown[value]

        out = series.astype(object).map(cell)
    out = out.astype(object)
    out[missing] = MISSING
    return out


def _unit_of(column: str, values: pd.Series, tr: Translator) -> str | None:
    """Return the unit a column's name implies: money (with a configured currency) or a count."""
    if not pd.api.types.is_float_dtype(values.dtype):
        return None
    if tr.currency and _has(column, _MONEY_HINTS) and not _has(column, _PERCENT_HINTS):
        return "currency"
    finite = values.to_numpy(dtype=float, na_value=np.nan)
    finite = finite[np.isfinite(finite)]
    if _has(column, _COUNT_HINTS) and len(finite) and np.all(finite == np.round(finite)):
        return "count"
    return None


def to_html(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    max_rows: int = 30,
    percent: Sequence[str] | None = None,
    decimals: Mapping[str, int] | None = None,
    index: bool = False,
    translate: Callable[[str], str] | None = None,
    units: Mapping[str, str] | None = None,
    translator: Translator | None = None,
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
    units : dict, optional
        The unit of a column's values (a KPI registry unit: ``currency``, ``share``,
        ``hours``, ``days``, ``customers``, ...), formatted with
        :meth:`~cpm_analysis.i18n.Translator.quantity`. By default a float column whose name
        names money (revenue, spend, CLV, ...) is money when the translator has a currency, and
        a whole-valued one whose name names a count is a count.
    translator : Translator, optional
        The report language's formats and currency (``ReportContext.translator``); default
        English without a currency.

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
    tr = translator if translator is not None else _ENGLISH
    given = dict(units or {})
    unknown = sorted(set(given) - set(map(str, shown.columns)))
    if unknown:
        raise ValueError(f"units: no column {', '.join(unknown)} in the table")
    numeric = {c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c].dtype)}
    numeric -= {c for c in shown.columns if pd.api.types.is_bool_dtype(shown[c].dtype)}
    cells = {}
    for c in shown.columns:
        is_percent = c in numeric and _is_percent(c, shown[c], percent)
        unit = given.get(str(c))
        if unit is None and c in numeric and not is_percent and c not in decimals:
            unit = _unit_of(str(c), shown[c], tr)
        cells[c] = format_column(
            shown[c], percent=is_percent, decimals=decimals.get(c), unit=unit, translator=tr
        )
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
        note = tr._(
            "Showing %(shown)s of %(total)s rows.",
            shown=tr.integer(len(shown)),
            total=tr.integer(total),
        )
        lines.append(f'<p class="cpm-note">{html_text(note)}</p>')
    if total == 0:
        lines.append(f'<p class="cpm-note">{html_text(tr._("No rows."))}</p>')
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
    units: Mapping[str, str] | None = None,
    translator: Translator | None = None,
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
            units=units,
            translator=translator,
        )
    )
