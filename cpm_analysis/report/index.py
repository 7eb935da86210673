"""``reports/index.html``: every period's reports, with KPI trends drawn as inline SVG.

The page is self-contained (no JavaScript, no fonts, no network): one section per frequency
(monthly, quarterly, yearly) with a trend table (one sparkline per KPI across the periods, the
latest value and the change against the previous period) and a table of periods linking to
their HTML reports and downloads (with ``--per-owner`` also each owner's book,
``owners/<owner>/owner_book.html``). Periods whose last run failed are flagged; their previous
good report is the one linked.

It reads well from the first period: a sparkline is drawn only for a number known in two
periods or more (with a single period there is no Trend column at all), and a change without an
earlier value says "first period". The page is in the report's language (``lang``: English or
Chinese, :mod:`cpm_analysis.i18n`): every visible string comes from the message catalogue, KPI
names from the KPI registry's label for the language, and numbers are formatted for the locale.

Trends come from each period's ``metrics.json``: the ``kpis`` entry when the scoring plug-in
provides one (a number per KPI, or ``{"value": ..., "label": ...}``), else the row counts of
the period (new customers, orders, tickets opened, survey answers).

Examples
--------
>>> sparkline_svg([1, 3, 2]).startswith("<svg")
True
"""

from __future__ import annotations

import contextlib
import html
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpm_analysis.i18n import N_, Translator, translator
from cpm_analysis.periods import Period, parse_period
from cpm_analysis.report.metrics import METRICS_FILE, read_metrics
from cpm_analysis.report.sanitize import sanitize_page

INDEX_FILE = "index.html"
FAILED_DIR = "_failed"
FAILED_NOTE = "FAILED.txt"
OWNERS_DIR = "owners"
OWNER_PAGE = "owner_book.html"
"""The page of an owner's book in ``<period>/owners/<owner>/`` (``cpm report --per-owner``)."""
PERIOD_DIR = re.compile(r"^\d{4}(?:-\d{2}|-Q[1-4])?$")
DOWNLOADS: tuple[str, ...] = (
    "customers_scored.csv",
    "customers_scored.parquet",
    "rejected_rows.csv",
    METRICS_FILE,
)
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)

ROWS_IN_PERIOD: dict[str, str] = {
    "new_customers": N_("New customers in period"),
    "orders": N_("Orders in period"),
    "tickets_opened": N_("Tickets opened in period"),
    "survey_answers": N_("Survey answers in period"),
}
"""The labels of the row counts trended when a period has no KPIs (``rows_in_period``)."""


@dataclass
class PeriodEntry:
    """One published period folder."""

    period: Period
    folder: Path
    reports: list[tuple[str, str]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    metrics: dict[str, Any] | None = None
    owners: int = 0
    owner_books: list[tuple[str, str]] = field(default_factory=list)
    """``(owner folder, link)`` of each owner book published in the period."""
    failed_note: str | None = None


def html_title(path: str | os.PathLike, default: str = "") -> str:
    """Return the ``<title>`` of an HTML file (read from its first 64 KB).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.html"
    >>> _ = p.write_text("<html><head><title>Data quality</title></head></html>")
    >>> html_title(p)
    'Data quality'
    """
    with open(path, encoding="utf-8", errors="replace") as handle:
        head = handle.read(65536)
    match = _TITLE.search(head)
    return html.unescape(match.group(1).strip()) if match else default


def collect_periods(out_dir: str | os.PathLike) -> tuple[list[PeriodEntry], list[tuple[str, str]]]:
    """Return the published periods of a report folder, and the failed runs without a good report.

    A folder holding the report manifest (:mod:`cpm_analysis.report.manifest`) lists only the
    period folders the manifest names: a folder someone else put there is not a report.

    Returns
    -------
    entries : list of PeriodEntry
        Sorted by frequency then period.
    failed_only : list of (label, note)
        Periods whose only run failed (nothing published yet).
    """
    root = Path(out_dir)
    listed = _listed(root)
    failed: dict[str, str] = {}
    failed_root = root / FAILED_DIR
    if failed_root.is_dir():
        for folder in sorted(failed_root.iterdir()):
            if listed is not None and f"{FAILED_DIR}/{folder.name}" not in listed:
                continue
            if folder.is_dir() and PERIOD_DIR.match(folder.name):
                note = folder / FAILED_NOTE
                text = note.read_text(encoding="utf-8").strip() if note.exists() else "failed"
                failed[folder.name] = text.splitlines()[0] if text else "failed"
    entries = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not (folder.is_dir() and PERIOD_DIR.match(folder.name)):
            continue
        if listed is not None and folder.name not in listed:
            continue  # a folder cpm report did not write: not one of its reports
        entry = PeriodEntry(period=parse_period(folder.name), folder=folder)
        for page in sorted(folder.glob("*.html")):
            entry.reports.append((html_title(page, page.stem), f"{folder.name}/{page.name}"))
        entry.downloads = [name for name in DOWNLOADS if (folder / name).exists()]
        if (folder / METRICS_FILE).exists():
            entry.metrics = read_metrics(folder / METRICS_FILE)
        owners = folder / OWNERS_DIR
        books = sorted(p for p in owners.iterdir() if p.is_dir()) if owners.is_dir() else []
        entry.owners = len(books)
        entry.owner_books = [
            (book.name, f"{folder.name}/{OWNERS_DIR}/{book.name}/{OWNER_PAGE}")
            for book in books
            if (book / OWNER_PAGE).is_file()
        ]
        entry.failed_note = failed.pop(folder.name, None)
        entries.append(entry)
    entries.sort(key=lambda e: ("MQY".index(e.period.freq), e.period.start))
    return entries, sorted(failed.items())


def _listed(root: Path) -> set[str] | None:
    """Return what the manifest of ``root`` lists, or ``None`` without a manifest."""
    from cpm_analysis.report.manifest import Manifest

    manifest = Manifest.read(root) if root.is_dir() else None
    return None if manifest is None else set(manifest.entries)


def trend_values(metrics: dict[str, Any] | None) -> dict[str, tuple[str, float | None]]:
    """Return the numbers to trend from one ``metrics.json``: ``{id: (label, value)}``.

    Examples
    --------
    >>> trend_values({"kpis": {"revenue": {"value": 10.0, "label": "Revenue"}, "orders": 3}})
    {'revenue': ('Revenue', 10.0), 'orders': ('orders', 3.0)}
    >>> trend_values({"data": {"rows_in_period": {"orders": 7}}})
    {'orders': ('Orders in period', 7.0)}
    """
    if not metrics:
        return {}
    out: dict[str, tuple[str, float | None]] = {}
    kpis = metrics.get("kpis")
    if isinstance(kpis, dict) and kpis:
        for key, value in kpis.items():
            label = str(key)
            if isinstance(value, dict):
                label = str(value.get("label") or key)
                value = value.get("value")
            if isinstance(value, bool) or not isinstance(value, int | float | type(None)):
                continue
            out[str(key)] = (label, None if value is None else float(value))
        return out
    rows = metrics.get("data", {}).get("rows_in_period", {})
    for key, value in rows.items():
        label = ROWS_IN_PERIOD.get(str(key), f"{str(key).replace('_', ' ')} in period")
        out[str(key)] = (label, float(value))
    return out


def sparkline_svg(
    values: Sequence[float | None], *, width: int = 140, height: int = 30, label: str = ""
) -> str:
    """Return a tiny line chart as inline SVG; missing values break the line.

    Examples
    --------
    >>> 'points="' in sparkline_svg([1.0, 2.0, None, 4.0])
    True
    """
    pad = 3.0
    clean = [v if v is not None and math.isfinite(v) else None for v in values]
    known = [v for v in clean if v is not None]
    title = html.escape(label)
    head = (
        f'<svg class="spark" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}"><title>{title}</title>'
    )
    if not known:
        return head + "</svg>"
    low, high = min(known), max(known)
    span = high - low or 1.0
    step = (width - 2 * pad) / max(len(clean) - 1, 1)

    def xy(i: int, v: float) -> str:
        x = pad + i * step if len(clean) > 1 else width / 2
        y = height - pad - (v - low) / span * (height - 2 * pad) if high > low else height / 2
        return f"{x:.1f},{y:.1f}"

    segments: list[list[str]] = [[]]
    for i, v in enumerate(clean):
        if v is None:
            segments.append([])
        else:
            segments[-1].append(xy(i, v))
    body = "".join(
        f'<polyline fill="none" stroke="#2f6690" stroke-width="1.5" points="{" ".join(s)}"/>'
        for s in segments
        if len(s) > 1
    )
    last_i, last = max((i, v) for i, v in enumerate(clean) if v is not None)
    cx, cy = xy(last_i, last).split(",")
    body += f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="#d1495b"/>'
    return head + body + "</svg>"


FREQ_TITLES: dict[str, str] = {"M": N_("Monthly"), "Q": N_("Quarterly"), "Y": N_("Yearly")}
"""The heading of each frequency's section (English; translated when the page is drawn)."""


def kpi_label(key: str, label: str, tr: Translator) -> str:
    """Return the name of a trended number in the page's language.

    A row count (:data:`ROWS_IN_PERIOD`) is named by its catalogue label; a KPI of the
    registry by the registry's label for the language (``label_zh`` in Chinese); anything else
    by the label the metrics give, through the catalogue.

    Examples
    --------
    >>> kpi_label("revenue", "Revenue", translator("zh"))
    '销售收入'
    >>> kpi_label("orders", "Orders in period", translator("zh"))
    '本期订单数'
    """
    from cpm_analysis.kpis import KPIS

    kpi = KPIS.get(key)
    if kpi is not None and label not in ROWS_IN_PERIOD.values():
        return kpi.label_zh if tr.lang == "zh" else kpi.label_en
    return tr.gettext(label)


def _known(points: Sequence[float | None]) -> int:
    return sum(1 for v in points if v is not None and math.isfinite(v))


def _unit(key: str, label: str) -> str | None:
    """Return the unit of a trended number: its KPI's, or a count for the row counts."""
    from cpm_analysis.kpis import KPIS

    if label in ROWS_IN_PERIOD.values():
        return "count"
    kpi = KPIS.get(key)
    return kpi.unit if kpi is not None else None


def format_value(value: float | None, tr: Translator, unit: str | None = None) -> str:
    """Return a trended value by its unit, in the locale's format; "not available" for none.

    Examples
    --------
    >>> format_value(1234.5, translator("en", currency="EUR"), "currency")
    '€1,234.50'
    >>> format_value(0.25, translator("en"), "share"), format_value(None, translator("zh"))
    ('25.0%', '不可用')
    """
    return tr.quantity(value, unit)


def format_change(points: Sequence[float | None], tr: Translator, unit: str | None = None) -> str:
    """Return the change of the last point against the one before it, in words where needed.

    "first period" when no earlier period has the number (the first report, or a KPI that
    appears for the first time), "not available" when the latest or the previous value is
    missing, "new" when the previous value was 0, else a signed percentage; a share changes
    by percentage points.

    Examples
    --------
    >>> tr = translator("en")
    >>> format_change([10.0], tr), format_change([10.0, 15.0], tr), format_change([None, 2.0], tr)
    ('first period', '+50.0%', 'first period')
    >>> format_change([1.0, None], tr), format_change([0.0, 3.0], tr)
    ('not available', 'new')
    >>> format_change([0.30, 0.33], tr, "share")
    '+3.0 pp'
    """
    current = points[-1] if points else None
    if current is None or not math.isfinite(current):
        return tr.not_available()
    if _known(points[:-1]) == 0:
        return tr.gettext("first period")
    previous = points[-2]
    if previous is None or not math.isfinite(previous):
        return tr.not_available()
    if unit == "share":
        return tr.points(current - previous)
    if previous == 0:
        return tr.gettext("new") if current else tr.change(0.0)
    return tr.change((current - previous) / abs(previous))


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
       max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; color: #1f2328; }
h1 { font-size: 26px; margin-bottom: 4px; }
h2 { font-size: 20px; margin-top: 36px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
p.lead { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; margin: 12px 0 24px; font-size: 14px; }
th, td { padding: 6px 10px; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: middle; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.failed, p.failed { color: #b42318; }
a { color: #0b5cad; text-decoration: none; } a:hover { text-decoration: underline; }
.muted { color: #57606a; font-size: 12px; }
svg.spark { display: block; }
caption { text-align: left; padding-bottom: 4px; }
"""


def render_index(
    entries: Sequence[PeriodEntry],
    failed_only: Sequence[tuple[str, str]] = (),
    *,
    lang: str | Translator | None = None,
) -> str:
    """Return the HTML text of the index page, in the language ``lang`` (default English).

    Every visible string goes through the language's catalogue (:mod:`cpm_analysis.i18n`) and
    every number is formatted for its locale.

    Examples
    --------
    >>> "<svg" not in render_index([])
    True
    >>> "<title>客户绩效报告</title>" in render_index([], lang="zh")
    True
    """
    from cpm_analysis import __version__

    tr = lang if isinstance(lang, Translator) else translator(lang)
    if tr.currency is None:  # the amounts' currency, as the latest report's configuration says
        tr.currency = next((c for c in map(_currency, reversed(entries)) if c), None)
    title = html.escape(tr._("Customer performance reports"))
    lead = tr.n_(
        "%(count)s published period. Each report opens offline; customer ids in reports are "
        "pseudonyms unless a report says otherwise.",
        "%(count)s published periods. Each report opens offline; customer ids in reports are "
        "pseudonyms unless a report says otherwise.",
        len(entries),
    )
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(tr.html_lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        f'<p class="lead">{html.escape(lead)}</p>',
    ]
    if failed_only:
        items = "".join(
            f"<li><b>{html.escape(label)}</b>: {html.escape(note)}</li>"
            for label, note in failed_only
        )
        heading = html.escape(tr._("Runs that failed with no earlier report:"))
        parts.append(f'<p class="failed">{heading}</p><ul>{items}</ul>')
    if not entries:
        sentence = html.escape(tr._("No reports yet: run %(command)s."), quote=False)
        parts.append(f"<p>{sentence % {'command': '<code>cpm report</code>'}}</p>")
    for freq in "MQY":
        group = [e for e in entries if e.period.freq == freq]
        if not group:
            continue
        parts.append(f"<h2>{html.escape(tr.gettext(FREQ_TITLES[freq]))}</h2>")
        parts.extend(_trend_table(group, tr))
        parts.extend(_period_table(group, tr))
    parts.append(f'<p class="muted">cpm-analysis {html.escape(__version__)}</p></body></html>')
    return "\n".join(parts) + "\n"


def _currency(entry: PeriodEntry) -> str | None:
    config = (entry.metrics or {}).get("config") or {}
    code = config.get("currency") if isinstance(config, dict) else None
    return code if isinstance(code, str) and re.fullmatch(r"[A-Z]{3}", code) else None


def _trend_table(group: Sequence[PeriodEntry], tr: Translator) -> list[str]:
    series: dict[str, list[float | None]] = {}
    labels: dict[str, str] = {}
    units: dict[str, str | None] = {}
    values = [trend_values(e.metrics) for e in group]
    for key in dict.fromkeys(k for v in values for k in v):
        label = next(v[key][0] for v in values if key in v)
        labels[key] = kpi_label(key, label, tr)
        units[key] = _unit(key, label)
        series[key] = [v[key][1] if key in v else None for v in values]
    if not series:
        return []
    first, last = group[0].period.label, group[-1].period.label
    # a sparkline needs two points: with one period (or no KPI known twice) no Trend column
    trends = any(_known(points) > 1 for points in series.values())
    if len(group) == 1:  # a sentence above the table, as wide as the page
        note = tr._(
            "%(period)s is the first period: trends and changes start with the next one.",
            period=first,
        )
        opening = f'<p class="muted">{html.escape(note)}</p>\n<table>'
    else:
        caption = tr._("Trends %(first)s to %(last)s", first=first, last=last)
        opening = f"<table><caption class=muted>{html.escape(caption)}</caption>"
    header = [tr._("KPI"), *([tr._("Trend")] if trends else []), tr._("Latest"), tr._("Change")]
    rows = [
        opening,
        "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead>",
        "<tbody>",
    ]
    for key, points in series.items():
        label = labels[key]
        cells = [f"<td>{html.escape(label)}</td>"]
        if trends:
            spark = ""
            if _known(points) > 1:
                name = tr._("%(kpi)s: %(first)s to %(last)s", kpi=label, first=first, last=last)
                spark = sparkline_svg(points, label=name)
            cells.append(f"<td>{spark}</td>")
        unit = units[key]
        cells.append(f'<td class="num">{html.escape(format_value(points[-1], tr, unit))}</td>')
        cells.append(f'<td class="num">{html.escape(format_change(points, tr, unit))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</tbody></table>")
    return rows


def _period_table(group: Sequence[PeriodEntry], tr: Translator) -> list[str]:
    header = [tr._("Period"), tr._("Reports"), tr._("Downloads"), tr._("Data")]
    rows = [
        "<table><thead><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in header)
        + "</tr></thead><tbody>"
    ]
    for entry in reversed(group):
        label = html.escape(entry.period.label)
        reports = "<br>".join(
            f'<a href="{html.escape(href)}">{html.escape(title)}</a>'
            for title, href in entry.reports
        )
        if entry.owner_books:
            books = " · ".join(
                f'<a href="{html.escape(href)}">{html.escape(name)}</a>'
                for name, href in entry.owner_books
            )
            heading = html.escape(tr._("Owner books:"))
            reports += f'<br><span class="muted">{heading}</span> {books}'
        downloads = " · ".join(
            f'<a href="{label}/{html.escape(name)}">{html.escape(name)}</a>'
            for name in entry.downloads
        )
        data = entry.metrics.get("data", {}) if entry.metrics else {}
        fingerprint = str(data.get("fingerprint", ""))[:12]
        notes = []
        if fingerprint:
            notes.append(tr._("fingerprint %(value)s", value=fingerprint))
        if entry.owners:
            notes.append(
                tr.n_(
                    "%(count)s owner report in %(folder)s",
                    "%(count)s owner reports in %(folder)s",
                    entry.owners,
                    folder=f"{entry.period.label}/{OWNERS_DIR}/",
                )
            )
        info = "<br>".join(f'<span class="muted">{html.escape(n)}</span>' for n in notes)
        if entry.failed_note:
            failed = tr._(
                "last run failed: %(error)s; this is the previous good report",
                error=entry.failed_note,
            )
            info += f'<br><span class="failed">{html.escape(failed)}</span>'
        rows.append(
            f"<tr><td><b>{label}</b></td><td>{reports}</td><td>{downloads}</td><td>{info}</td></tr>"
        )
    rows.append("</tbody></table>")
    return rows


def published_file(root: Path, href: str) -> bool:
    """Whether ``href`` is a relative link to a file under ``root`` (a page the report wrote).

    Examples
    --------
    >>> published_file(Path("."), "javascript:alert(1)"), published_file(Path("."), "../x.html")
    (False, False)
    """
    if not href or ":" in href or href.startswith(("/", "\\")) or "\\" in href:
        return False
    parts = Path(href).parts
    if ".." in parts:
        return False
    return (root / href).is_file()


def write_index(out_dir: str | os.PathLike, *, lang: str | None = None) -> Path:
    """(Re)write ``<out_dir>/index.html`` from the period folders, atomically.

    ``lang`` is the page's language (``en``, ``zh``, ...; default English): ``cpm report``
    passes its ``--lang``.

    Examples
    --------
    >>> import tempfile
    >>> write_index(tempfile.mkdtemp()).name
    'index.html'
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    entries, failed_only = collect_periods(root)
    target = root / INDEX_FILE
    handle, temporary = tempfile.mkstemp(prefix=f".{INDEX_FILE}.", dir=root)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(
                sanitize_page(
                    render_index(entries, failed_only, lang=lang),
                    link_ok=lambda href: published_file(root, href),
                    sparklines=True,
                )
            )
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)  # the temporary file made just above
        raise
    return target
