"""Issue 12 (part B), end to end: a report rendered from hostile data holds nothing live.

A copy of data/sample is rewritten with a payload in every text field and id (tests/hostile.py:
script tags, event handlers, ``javascript:`` and ``data:`` URLs, maths text, Markdown links,
autolinks, entities, formulas, a 300-character string), personal data in a ``notes`` free-text
column and a ``tel`` column, a column name with maths text and markup, a segment target and a
duplicated customer row naming the other owner. ``cpm report --per-owner`` renders one month
from it, and every file written is read back and parsed:

- HTML pages and the notebooks' rendered outputs hold no live markup, event handler,
  ``javascript:`` URL or link the report did not make;
- no CSV cell is a formula (read back with the ``csv`` module, as a spreadsheet would);
- no personal value (names, e-mails, phones, and those hidden in ``notes`` and ``tel``) is in
  any HTML, CSV, notebook or JSON;
- each customer is in exactly one owner's book.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hostile import OWNERS, SECRET_NOTES, formula_cells, live_markup, notebook_markup
from hostile import write_hostile_sample as write_hostile

from cpm_analysis import privacy
from cpm_analysis.data import sample_dir
from cpm_analysis.report.runner import OWNER_BOOK, discover_notebooks, run_report, select_notebooks

PERIOD = "2025-12"
PAGES = len(select_notebooks(discover_notebooks()))  # the company's periodic pages
BOOK = f"{OWNER_BOOK}.html"
ALL = (".html", ".ipynb", ".csv", ".json", ".parquet")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.delenv(privacy.KEY_ENV, raising=False)
    data = tmp_path_factory.mktemp("hostile-data")
    personal = write_hostile(sample_dir(), data, every=3)
    out = tmp_path_factory.mktemp("hostile-reports")
    outcome = run_report(data=data, period=PERIOD, out=out, per_owner=True, jobs=2, progress=False)
    return data, out, outcome, personal


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _written(out: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and p.suffix in suffixes)


def test_the_hostile_report_renders(hostile):
    _, out, outcome, _ = hostile
    assert outcome.exit_code == 0, [p.error for p in outcome.periods]
    period = out / PERIOD
    assert len(_written(period, ".html")) == PAGES + 2  # the company's pages, two owner books
    assert len(list((period / "owners").iterdir())) == 2
    assert [p.name for p in _written(period / "owners", ".html")] == [BOOK, BOOK]


def test_no_page_holds_live_markup(hostile):
    _, out, _, _ = hostile
    pages = _written(out, ".html")
    assert pages
    for page in pages:
        if page.name == "index.html":  # links to the files the report wrote, sparklines
            written = frozenset(p.relative_to(page.parent).as_posix() for p in _written(out, *ALL))
            assert live_markup(page.read_text(encoding="utf-8"), written, svg=True) == []
        else:
            assert live_markup(page.read_text(encoding="utf-8")) == [], page


def test_no_notebook_output_holds_live_markup(hostile):
    _, out, _, _ = hostile
    notebooks = _written(out, ".ipynb")
    assert len(notebooks) == PAGES + 2
    for notebook in notebooks:
        assert notebook_markup(notebook) == [], notebook


def test_payloads_are_shown_as_text_where_they_are_named(hostile):
    data, out, _, _ = hostile
    folder = sorted((out / PERIOD / "owners").iterdir())
    texts = [html.unescape(re.sub(r"<[^>]+>", "", (f / BOOK).read_text())) for f in folder]
    # the owner's own id is named literally in "the book of account owner ..."
    staff = pd.read_csv(data / "staff.csv", dtype=str).set_index("staff_id")["name"]
    for owner in OWNERS:
        shown = f"the book of account owner {staff[owner]} ({owner})"
        assert any(shown in t for t in texts), owner
    review = (out / PERIOD / "05_performance_review.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in review  # an owner id, escaped
    books = "".join((f / BOOK).read_text() for f in folder)
    assert "&lt;img src=x onerror=alert(1)&gt;" in books  # in the owner's scorecard, escaped
    plain = html.unescape(re.sub(r"<[^>]+>", "", review))
    assert f"{staff[OWNERS[0]]} ({OWNERS[0]})" in plain  # staff by name, hostile name as text


def test_no_csv_cell_is_a_formula(hostile):
    _, out, _, _ = hostile
    files = _written(out, ".csv")
    # scored and rejected rows and the care campaign of the company and of its two owners
    assert len(files) == 3 * 3
    assert (out / PERIOD / "care_campaign.csv") in files
    for path in files:
        assert formula_cells(path) == [], path
    scored = (out / PERIOD / "customers_scored.csv").read_text(encoding="utf-8")
    assert "\n'=HYPERLINK(" in scored.replace("\r\n", "\n") or "'=HYPERLINK(" in scored
    back = pd.read_csv(out / PERIOD / "customers_scored.csv")
    assert pd.api.types.is_numeric_dtype(back["monetary"])  # numbers stay numbers


def test_no_personal_value_in_anything_written(hostile):
    _, out, _, personal = hostile
    files = _written(out, ".html", ".csv", ".ipynb", ".json", ".jsonl")
    scanner = privacy.PiiScanner(
        names=personal["name"], emails=personal["email"], phones=personal["phone"]
    )
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert scanner.scan_text(text) == {}, path
        plain = html.unescape(text)
        for secret in (*SECRET_NOTES, "555-301-7788", "404-1212", "555-777-0101", "7946 0958"):
            assert secret not in plain, (path, secret)


def test_rejected_rows_show_contract_columns_only(hostile):
    _, out, _, _ = hostile
    rejected = pd.read_csv(out / PERIOD / "rejected_rows.csv", dtype=str)
    assert len(rejected)
    for line in rejected["values"]:
        row = json.loads(line)
        assert not {"notes", "tel"} & set(row), row
        assert all(v in (None, privacy.MASKED) for k, v in row.items() if k in ("name", "email"))


def test_each_customer_is_in_exactly_one_book(hostile):
    _, out, _, _ = hostile
    books = [
        pd.read_csv(folder / "customers_scored.csv", dtype=str, keep_default_na=False)
        for folder in sorted((out / PERIOD / "owners").iterdir())
    ]
    ids = pd.concat([b["customer_id"] for b in books])
    assert ids.is_unique
    company = pd.read_csv(out / PERIOD / "customers_scored.csv", dtype=str, keep_default_na=False)
    assert set(ids) == set(company["customer_id"])
    # the quarantined duplicate (naming the other owner) is in one book's rejected rows only
    duplicates = [
        (pd.read_csv(f / "rejected_rows.csv", dtype=str)["reason"] == "duplicate customer_id").sum()
        for f in sorted((out / PERIOD / "owners").iterdir())
    ]
    assert sorted(duplicates) == [0, 1]


def test_owner_pages_leave_agents_to_the_company_page(hostile):
    _, out, _, _ = hostile
    for folder in sorted((out / PERIOD / "owners").iterdir()):
        page = (folder / BOOK).read_text()
        assert "Owner scorecard" in page and "Agent scorecard" not in page
    assert "Agent scorecard" in (out / PERIOD / "05_performance_review.html").read_text()
