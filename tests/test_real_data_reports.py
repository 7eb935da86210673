"""The real-data gallery: full reports on real exports and on incomplete variants of the sample.

Every published page is scanned: its visible text never shows ``nan``, ``inf``, ``NaN``, a
Python error or an empty "No rows." table, and each section page 01 calls unavailable states
the same reason on its page. These are end-to-end renders (marked slow; they still run in CI):
CDNOW for two months including 1998-06, Superstore (CSV and workbook) when its folder is
vendored, and five incomplete variants of the bundled sample.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from published_pages import assert_clean, visible_text
from variants import PERIOD, VARIANTS

from cpm_analysis import privacy
from cpm_analysis.cli import main
from cpm_analysis.data import load
from cpm_analysis.periods import parse_period
from cpm_analysis.pipeline.availability import capabilities

ROOT = Path(__file__).resolve().parents[1]
CDNOW = ROOT / "data" / "external" / "cdnow"
SUPERSTORE = ROOT / "data" / "external" / "superstore"
PERIODIC = len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
"""The company report's pages: one per periodic notebook (NN_name.ipynb)."""

PAGES = {
    "Behavioural clusters": "02_segments",
    "Segment migration": "02_segments",
    "Lifetime value and P(alive)": "03_lifetime_value",
    "The lifetime-value holdout check": "03_lifetime_value",
    "The churn backtest": "04_churn",
    "Account owner books": "05_performance_review",
    "Agent scorecards": "05_performance_review",
    "The forecast check": "05_performance_review",
}
"""The page on which each check of page 01 shows or leaves out its section."""


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, "test-key-for-the-real-data-gallery")


def test_the_scan_catches_what_it_must(tmp_path):
    for bad in ("nan", "-inf", "inf%", "NaN", "ValueError: x", "Traceback", "No rows."):
        (tmp_path / "p.html").write_text(f"<p>CLV holdout {bad}</p><script>nan</script>")
        with pytest.raises(AssertionError):
            assert_clean(tmp_path)
    (tmp_path / "p.html").write_text("<p>information, infinite care, finance</p><style>nan</style>")
    assert_clean(tmp_path)


def report(*args: str) -> object:
    return CliRunner().invoke(main, ["report", *args, "-q"])


# --- incomplete variants of the sample ----------------------------------------------------------


RENDERED = (
    "few_repeat_buyers",
    "no_orders_in_period",
    "no_staff_or_owners",
    "no_targets",
    "no_tickets",
    "one_year",
)
"""The variants rendered end to end (every variant is checked section by section in
tests/test_degrade.py; a render costs about a minute)."""


@pytest.mark.slow
@pytest.mark.parametrize("name", RENDERED)
def test_an_incomplete_sample_publishes_every_page_with_one_sentence_notes(name, tmp_path):
    folder = VARIANTS[name](tmp_path / name)
    out = tmp_path / "out"
    result = report("--data", str(folder), "--period", PERIOD, "--out", str(out))
    assert result.exit_code == 0, result.output
    pages = {p.stem: visible_text(p) for p in assert_clean(out / PERIOD)}
    assert set(pages) >= set(PAGES.values()) | {"01_data_quality"}
    # page 01's verdict is what the pages do: the same reason where a section is left out
    period = parse_period(PERIOD)
    caps = capabilities(load(folder).as_of(period.end), period).set_index("analysis")
    for analysis, page in PAGES.items():
        row = caps.loc[analysis]
        left_out = [f"{analysis} is not available", f"{analysis} are not available"]
        if row["available"]:
            assert not any(s in pages[page] for s in left_out), (analysis, page)
        else:
            assert row["detail"] in pages[page], (analysis, row["detail"], page)
        assert row["detail"] in pages["01_data_quality"]


# --- CDNOW ----------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not CDNOW.is_dir(), reason="data/external/cdnow is not in this checkout")
def test_cdnow_publishes_every_month_up_to_1998_06_without_nan_or_errors(tmp_path):
    out = tmp_path / "out"
    result = report("--data", str(CDNOW), "--from", "1998-05", "--to", "1998-06", "--out", str(out))
    assert result.exit_code == 0, result.output
    for month in ("1998-05", "1998-06"):
        pages = assert_clean(out / month)
        assert len(pages) == PERIODIC
    text = visible_text(out / "1998-06" / "03_lifetime_value.html")
    assert "Lifetime value by account owner is not available" in text  # CDNOW has no owners


# --- Superstore -----------------------------------------------------------------------------------


SUPERSTORE_MONTHS = ("2022-12", "2019-06")
"""The last month of the data (its last order is on 2022-12-30: a named period within a few days of
its end counts as complete), and one with six months of history (from 2019-01)."""


@pytest.mark.slow
@pytest.mark.skipif(not SUPERSTORE.is_dir(), reason="data/external/superstore is not vendored yet")
@pytest.mark.parametrize("month", SUPERSTORE_MONTHS)
def test_superstore_csv_publishes_the_company_report(month, tmp_path):
    out = tmp_path / "out"
    result = report("--data", str(SUPERSTORE), "--period", month, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(assert_clean(out / month)) == PERIODIC


@pytest.mark.slow
@pytest.mark.skipif(
    not (SUPERSTORE / "workbook").is_dir(), reason="the Superstore workbook is not vendored yet"
)
@pytest.mark.parametrize("month", SUPERSTORE_MONTHS)
def test_superstore_workbook_publishes_the_company_and_the_four_regional_managers(month, tmp_path):
    out = tmp_path / "out"
    result = report(
        "--data", str(SUPERSTORE / "workbook"), "--period", month, "--out", str(out), "--per-owner"
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pages = assert_clean(out / month)
    owners = sorted(p.name for p in (out / month / "owners").iterdir())
    assert len(owners) == 4, owners
    company = len(list((out / month).glob("*.html")))  # the periodic pages
    assert len(pages) == company + len(owners)  # and one owner book per regional manager
    assert all((out / month / "owners" / o / "owner_book.html").is_file() for o in owners)
