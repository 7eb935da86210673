"""cpm_analysis.report.index: a page that reads well from the first period, in English and Chinese."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cpm_analysis.i18n import Translator, missing_translations
from cpm_analysis.report import index, metrics


def _publish(root: Path, label: str, kpis: dict | None = None, rows: dict | None = None) -> None:
    folder = root / label
    folder.mkdir(parents=True)
    (folder / "05_performance_review.html").write_text(
        "<html><head><title>Performance review</title></head></html>"
    )
    data = {"data": {"rows_in_period": rows or {}, "fingerprint": "cd" * 32}}
    if kpis is not None:
        data["kpis"] = kpis
    metrics.write_metrics(folder, data)
    (folder / "customers_scored.csv").write_text("customer_id\n")


class _Text(HTMLParser):
    """The text a reader sees: text nodes and the titles and labels a browser shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag == "style"
        self.parts.extend(v for k, v in attrs if k in ("aria-label", "title", "alt") and v)

    def handle_endtag(self, tag):
        self._skip -= tag == "style"

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def test_the_first_period_has_no_sparkline_and_says_first_period(tmp_path):
    _publish(tmp_path, "2025-12", kpis={"revenue": {"value": 1234.5, "label": "Revenue"}})
    page = index.write_index(tmp_path).read_text()
    assert "<svg" not in page and "<th>Trend</th>" not in page
    assert "first period" in page and "–" not in page
    assert "2025-12 is the first period: trends and changes start with the next one." in page
    assert "1 published period." in page
    assert '<td class="num">1,234.50</td>' in page  # Revenue: money, two decimals


def test_a_sparkline_needs_two_points_and_a_new_kpi_starts_with_first_period(tmp_path):
    _publish(tmp_path, "2025-11", kpis={"revenue": 100.0})
    _publish(tmp_path, "2025-12", kpis={"revenue": 150.0, "nps": 42.0})
    page = index.write_index(tmp_path).read_text()
    assert page.count("<svg") == 1 and "<th>Trend</th>" in page  # revenue only
    revenue = re.search(r"<tr><td>Revenue</td>.*?</tr>", page).group(0)
    nps = re.search(r"<tr><td>Net Promoter Score</td>.*?</tr>", page).group(0)
    assert "<svg" in revenue and "+50.0%" in revenue
    assert "<svg" not in nps and "first period" in nps
    assert "Trends 2025-11 to 2025-12" in page and "2 published periods." in page


def test_changes_in_words_where_a_number_would_mislead():
    tr = Translator("en")
    assert index.format_change([None, 5.0], tr) == "first period"
    assert index.format_change([5.0, None], tr) == "not available"
    assert index.format_change([3.0, None, 4.0], tr) == "not available"
    assert index.format_change([0.0, 0.0], tr) == "+0.0%"
    assert index.format_value(None, tr) == "not available"


def test_the_chinese_index_has_every_string_translated(tmp_path):
    _publish(tmp_path, "2025-11", kpis={"revenue": {"value": 100.0, "label": "Revenue"}})
    _publish(tmp_path, "2025-12", kpis={"revenue": 1500.0, "churn_rate": 0.25})
    _publish(tmp_path, "2025-Q4", rows={"orders": 40, "new_customers": 3})
    (tmp_path / "2025-12" / "owners" / "S001").mkdir(parents=True)
    (tmp_path / "2025-12" / "owners" / "S001" / index.OWNER_PAGE).write_text("<title>b</title>")
    failed = tmp_path / "_failed" / "2026-01"
    failed.mkdir(parents=True)
    (failed / "FAILED.txt").write_text("05_performance_review: cell 3 raised ValueError\n")
    tr = Translator("zh")
    entries, failed_only = index.collect_periods(tmp_path)
    page = index.render_index(entries, failed_only, lang=tr)
    assert tr.used and not missing_translations(tr.used, "zh")
    assert '<html lang="zh-Hans">' in page and "<title>客户绩效报告</title>" in page
    assert "销售收入" in page and "客户流失率" in page and "本期订单数" in page  # KPI registry
    assert "<h2>月度</h2>" in page and "<h2>季度</h2>" in page
    assert "客户负责人报告：" in page  # the links to the owner books
    # What is left in Latin letters is data, not words: file names, periods, page titles
    # (rendered in their own language), ids, the failed run's note and the version.
    text = visible_text(page)
    for data in (
        "customers_scored.csv",
        "metrics.json",
        "Performance review",
        "2025-12/owners/",
        "05_performance_review: cell 3 raised ValueError",
        "cpm-analysis",
        "cd" * 6,
    ):
        text = text.replace(data, " ")
    words = re.findall(r"[A-Za-z]{2,}", text)
    assert not words, f"untranslated text on the Chinese index: {words}"


def test_the_empty_index_in_chinese():
    page = index.render_index([], lang="zh")
    assert "尚无报告：请运行 <code>cpm report</code>。" in page
    assert "已发布 0 个周期" in page


def test_write_index_in_chinese_keeps_the_characters_through_the_sanitiser(tmp_path):
    _publish(tmp_path, "2025-11", kpis={"revenue": 100.0})
    _publish(tmp_path, "2025-12", kpis={"revenue": 150.0})
    page = index.write_index(tmp_path, lang="zh-CN").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans-CN">' in page and "销售收入" in page
    assert 'aria-label="销售收入：2025-11 至 2025-12"' in page


def test_a_language_without_a_catalogue_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no report language 'fr'"):
        index.write_index(tmp_path, lang="fr")
    assert not (tmp_path / "index.html").exists()
