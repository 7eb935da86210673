"""Issue 15 item 7: ``cpm report --pdf`` prints the period's pages with headless Chromium."""

from __future__ import annotations

import pytest

from cpm_analysis.report import pdf
from cpm_analysis.report.runner import ReportArgumentError, run_report

PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><style>h1{{color:#333}}</style></head>"
    "<body class='jp-Notebook'><h1>{title}</h1><table class='cpm-table'><tr><td>{title}</td>"
    "</tr></table></body></html>"
)


def _chromium() -> str | None:
    try:
        return pdf.find_chromium()
    except pdf.PdfError:
        return None


def test_the_pages_are_combined_in_order_each_on_a_new_page():
    html = pdf.combined_html([PAGE.format(title="one"), PAGE.format(title="two")])
    assert html.index("one") < html.index("two")
    assert html.count('<div class="cpm-pdf-page">') == 2 and "break-before: page" in html
    assert "size: A4" in html and html.count("<body") == 1


def test_without_chromium_the_run_is_refused_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv(pdf.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    with pytest.raises(pdf.PdfError, match="--pdf needs headless Chromium"):
        pdf.find_chromium()
    with pytest.raises(ReportArgumentError, match="--pdf needs headless Chromium") as err:
        run_report(out=tmp_path / "out", pdf=True, progress=False)
    assert "\n" not in str(err.value)


def test_chromium_prints_the_folder_into_report_pdf(tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no headless Chromium on PATH (apt-get install chromium)")
    for name, title in (("02_b.html", "two"), ("01_a.html", "one")):
        (tmp_path / name).write_text(PAGE.format(title=title), encoding="utf-8")
    (tmp_path / "index.html").write_text(PAGE.format(title="not a page"), encoding="utf-8")
    assert [p.name for p in pdf.period_pages(tmp_path)] == ["01_a.html", "02_b.html"]
    out = pdf.write_pdf(tmp_path, chromium=chromium, timeout=180)
    data = out.read_bytes()
    assert out.name == "report.pdf" and data.startswith(b"%PDF")
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 2  # a page each
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "01_a.html",
        "02_b.html",
        "index.html",
        "report.pdf",
    ]  # nothing else left behind


def test_a_folder_without_pages_is_an_error(tmp_path):
    with pytest.raises(pdf.PdfError, match="no report page"):
        pdf.write_pdf(tmp_path, chromium="/bin/true")


def test_cpm_report_pdf_without_chromium_exits_2_with_one_line(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from cpm_analysis.cli import main

    monkeypatch.setenv(pdf.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    result = CliRunner().invoke(main, ["report", "--pdf", "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --pdf needs headless Chromium")
