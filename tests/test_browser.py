"""The reports in a real browser, offline: headless Chromium driven by Playwright.

Every request that is not a local file is aborted and recorded; the index and each report must
load with no console error, no failed or blocked request, and every chart must be a decoded,
visible image (naturalWidth > 0 and a rendered size > 0); the index's sparklines must render.

Needs Debian's Chromium (``apt-get install -y chromium chromium-driver``; /usr/bin/chromium) and
Playwright for Python (``pip install playwright``; never ``playwright install``: the system
Chromium is used). Skipped with the reason when either is missing, except in CI (``CI`` set),
where it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cpm_analysis import privacy
from cpm_analysis.periods import parse_period
from cpm_analysis.report.runner import run_report
from cpm_analysis.synthetic import generate

CHROMIUM = os.environ.get("CPM_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]


def _missing() -> list[str]:
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python (pip install playwright)")
    return missing


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    data = generate(400, seed=41, faults=0.01)
    source = tmp_path_factory.mktemp("company")
    data.write(source)
    return source


@pytest.fixture(scope="module")
def reports(tmp_path_factory, company):
    source = company
    out = tmp_path_factory.mktemp("reports")
    os.environ.pop(privacy.KEY_ENV, None)
    # with Chromium the period's PDF is printed too (test_the_period_pdf_is_printed_and_owned)
    chromium = Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None
    outcome = run_report(data=str(source), out=str(out), progress=False, pdf=chromium)
    assert outcome.exit_code == 0, [p.error for p in outcome.periods]
    # the month before, one page only: the index then knows two periods and draws sparklines
    (latest,) = [p.name for p in out.iterdir() if p.is_dir() and p.name[:1].isdigit()]
    before = parse_period(latest).previous().label
    outcome = run_report(
        data=str(source), out=str(out), period=before, only=["01_data_quality"], progress=False
    )
    assert outcome.exit_code == 0, [p.error for p in outcome.periods]
    return out


@pytest.fixture(scope="module")
def reports_zh(tmp_path_factory, company):
    out = tmp_path_factory.mktemp("reports-zh")
    os.environ.pop(privacy.KEY_ENV, None)
    # with every owner's book, so that the fit checks read the owner books too
    outcome = run_report(data=str(company), out=str(out), progress=False, lang="zh", per_owner=True)
    assert outcome.exit_code == 0, [p.error for p in outcome.periods]
    return out


class OfflinePage:
    """A page whose non-file requests are aborted, with everything that went wrong recorded."""

    def __init__(self, browser, width: int = 1280):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.errors.append(f"page error: {err}"))
        self.page.on("requestfailed", lambda req: self.failed.append(f"{req.url} {req.failure}"))

    def _route(self, route):
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def open(self, path: Path) -> None:
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def assert_clean(self) -> None:
        assert self.blocked == [], f"network requests: {self.blocked[:5]}"
        assert self.failed == [], f"failed requests: {self.failed[:5]}"
        assert self.errors == [], self.errors[:5]

    def close(self) -> None:
        self.context.close()


def test_index_renders_offline_with_sparklines_and_links(browser, reports):
    page = OfflinePage(browser)
    try:
        page.open(reports / "index.html")
        sparks = page.page.eval_on_selector_all(
            "svg.spark",
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })",
        )
        assert sparks and all(w > 0 and h > 0 for w, h in sparks)
        links = page.page.eval_on_selector_all("a[href$='.html']", "els => els.map(e => e.href)")
        assert links and all(link.startswith("file://") for link in links)
        assert "Customer performance reports" in page.page.title()
        page.assert_clean()
    finally:
        page.close()


def test_every_report_renders_offline_with_visible_charts(browser, reports):
    pages = sorted(p for p in reports.rglob("*.html") if p.name != "index.html")
    assert pages
    for path in pages:
        page = OfflinePage(browser)
        try:
            page.open(path)
            images = page.page.eval_on_selector_all(
                "img",
                """els => els.map(e => {
                    const r = e.getBoundingClientRect();
                    return {complete: e.complete, natural: e.naturalWidth, w: r.width, h: r.height,
                            src: e.src.slice(0, 22)};
                })""",
            )
            assert images, f"{path.name}: no chart"
            for image in images:
                assert image["complete"] and image["natural"] > 0, (path.name, image)
                assert image["w"] > 0 and image["h"] > 0, (path.name, image)
                assert image["src"].startswith("data:image/png"), (path.name, image)
            scripts = page.page.eval_on_selector_all("script[src], link[href]", "els => els.length")
            assert scripts == 0
            assert page.page.locator("h1").count() >= 1
            page.assert_clean()
        finally:
            page.close()


def test_the_offline_check_would_catch_a_network_request(browser, tmp_path):
    page_file = tmp_path / "leaky.html"
    page_file.write_text('<html><body><img src="https://cdn.example.invalid/x.png"></body></html>')
    page = OfflinePage(browser)
    try:
        page.open(page_file)
        assert page.blocked == ["https://cdn.example.invalid/x.png"]
        with pytest.raises(AssertionError, match="network requests"):
            page.assert_clean()
    finally:
        page.close()


WIDTHS = (1024, 1400)
"""Issue 15 items 1 and 10: the widths at which no page may overflow horizontally."""

OVERFLOW = """() => {
  const root = document.documentElement, width = root.clientWidth, problems = [];
  const name = t => (t.caption ? t.caption.textContent : t.textContent).trim().slice(0, 50);
  if (root.scrollWidth > width + 1) problems.push(`page ${root.scrollWidth} px wide`);
  for (const table of document.querySelectorAll("table")) {
    const right = table.getBoundingClientRect().right;
    if (right > width + 1) problems.push(`table "${name(table)}" ends at ${Math.round(right)} px`);
    for (let box = table.parentElement; box && box !== document.body; box = box.parentElement) {
      if (box.scrollWidth > box.clientWidth + 1 && getComputedStyle(box).overflowX !== "visible") {
        problems.push(`table "${name(table)}" scrolls horizontally in its box`);
        break;
      }
    }
    for (const cell of table.querySelectorAll("td, th")) {
      if (cell.scrollWidth > cell.clientWidth + 1) {
        problems.push(`cell "${cell.textContent.trim().slice(0, 40)}" of "${name(table)}" ` +
                      `overflows (${cell.scrollWidth} > ${cell.clientWidth} px)`);
      }
    }
  }
  for (const img of document.querySelectorAll("img")) {
    if (img.getBoundingClientRect().right > width + 1) problems.push("a chart is cut off");
  }
  return problems;
}"""


MIDWORD = """() => {
  const problems = [];
  for (const cell of document.querySelectorAll("td, th")) {
    const text = cell.textContent;
    if (/\\S{41,}/.test(text)) continue;  // a blob without spaces (a rejected row's raw values)
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[A-Za-z][A-Za-z0-9_]+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) problems.push(`"${m[0]}" breaks mid-word in "${text.trim().slice(0, 50)}"`);
      }
    }
  }
  return problems;
}"""
"""Issue 15 item 1: a table cell that wraps a word across lines ("Servi/ce", "improv/ement_plan")."""


def overflow_problems(browser, path: Path, width: int) -> list[str]:
    """What overflows horizontally, or breaks a word, on the page at ``width`` px (empty: fits)."""
    page = OfflinePage(browser, width)
    try:
        page.open(path)
        return page.page.evaluate(OVERFLOW) + page.page.evaluate(MIDWORD)
    finally:
        page.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_page_overflows_at_1024_and_1400_px(browser, request, lang):
    out = request.getfixturevalue("reports" if lang == "en" else "reports_zh")
    pages = sorted(p for p in out.rglob("*.html") if "_failed" not in p.parts)
    assert len(pages) > 5 and any(p.name == "index.html" for p in pages)
    assert lang == "en" or any(p.name == "owner_book.html" for p in pages)
    found = [
        f"{path.relative_to(out)} at {width} px: {problem}"
        for path in pages
        for width in WIDTHS
        for problem in overflow_problems(browser, path, width)
    ]
    assert not found, "\n".join(found[:20])


def test_the_overflow_check_would_catch_a_wide_table(browser, tmp_path):
    page_file = tmp_path / "wide.html"
    cells = "".join(f"<td>{'x' * 40}{i}</td>" for i in range(12))
    page_file.write_text(
        f"<html><body><div style='overflow-x:auto'><table><tr>{cells}</tr></table></div>"
        "<table style='table-layout:fixed;width:200px'><tr><td style='white-space:nowrap'>"
        f"{'y' * 200}</td></tr></table></body></html>"
    )
    problems = overflow_problems(browser, page_file, 1024)
    assert any("scrolls horizontally" in p for p in problems), problems
    assert any("overflows" in p for p in problems), problems


def test_the_fit_check_would_catch_a_word_broken_across_lines(browser, tmp_path):
    page_file = tmp_path / "narrow.html"
    page_file.write_text(
        "<html><body><table><tr><td style='width:30px;max-width:30px;overflow-wrap:anywhere'>"
        "Service improvement_plan</td><td style='width:30px'>会员 服务 续费</td></tr></table>"
        "</body></html>"
    )
    problems = overflow_problems(browser, page_file, 1024)
    assert any('"Service" breaks mid-word' in p for p in problems), problems
    assert not any("会员" in p for p in problems)  # Chinese breaks between characters


def test_the_period_pdf_is_printed_and_owned(browser, reports):
    from cpm_analysis.report.manifest import Manifest
    from cpm_analysis.report.pdf import PDF_FILE

    (folder,) = [p for p in reports.iterdir() if p.is_dir() and (p / PDF_FILE).exists()]
    data = (folder / PDF_FILE).read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 50_000
    pages = len(list(folder.glob("[0-9][0-9]_*.html")))
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") > pages  # A4 pages
    manifest = Manifest.read(reports)
    assert manifest is not None and PDF_FILE in manifest.entries[folder.name]  # the runner's
