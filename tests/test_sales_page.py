"""Page 06 (sales and service) rendered on the bundled sample and on a real export without the
sales and service tables (CDNOW): every section shows its table, or says what is missing.

The period result is the light one (no models: page 06 needs none), so a render takes seconds
plus the kernel's start.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from light_period import light_build_period

from cpm_analysis import privacy
from cpm_analysis.data import load
from cpm_analysis.report import params

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "notebooks" / "06_sales_and_service.ipynb"
SAMPLE = ROOT / "data" / "sample"
CDNOW = ROOT / "data" / "external" / "cdnow"


def _render(folder: Path, period: str, tmp_path: Path) -> str:
    dataset = load(folder)
    target = params.resolve_period(dataset, period, "monthly")
    saved = light_build_period(dataset, target).save(tmp_path / "period-result.pickle")
    out = tmp_path / "06.ipynb"
    pm.execute_notebook(
        str(PAGE),
        str(out),
        parameters={
            "data": str(folder),
            "period": target.label,
            "out_dir": str(tmp_path),
            "result": str(saved),
        },
        kernel_name="python3",
        cwd=str(PAGE.parent),
        progress_bar=False,
        extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    parts = []
    for o in outputs:
        data = o.get("data", {})
        parts.append(data.get("text/html", "") + data.get("text/markdown", ""))
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, "test-key-for-the-sales-page")


def test_page_06_on_the_sample_shows_every_section(tmp_path):
    text = _render(SAMPLE, "latest", tmp_path)
    for caption in (
        "Opportunity funnel of the period",
        "Sales cycle in days, won and lost",
        "Win rate and sales cycle by owner",
        "Sales teams: the KPIs of each team",
        "Service teams: the KPIs of the tickets each team handled",
        "Complaints by category",
        "Complaints by product",
        "SLA breaches and detractors to follow up",
        "Service quality by team",
        "Campaign response",
        "Marketing staff scored on campaign response",
    ):
        assert caption in text, caption
    assert "not available" not in text
    # the follow-up list names customers by pseudonym only
    assert re.search(r"P-[A-Z0-9]{12}", text)
    assert not re.search(r"\bC\d{6}\b", text)


@pytest.mark.skipif(not CDNOW.is_dir(), reason="data/external/cdnow is not in this checkout")
def test_page_06_without_the_tables_says_what_is_missing(tmp_path):
    text = _render(CDNOW, "1998-06", tmp_path)
    for sentence in (
        "The opportunity funnel and sales cycle are not available: the data has no "
        "opportunities table.",
        "Team roll-ups are not available: they need a staff table with manager\\_id",
        "The complaint drill-down is not available: the data has no tickets table.",
        "Campaign response is not available: the data has no activities table.",
    ):
        assert sentence in text, sentence
    assert "<table" not in text.split("## Glossary")[0]


def test_page_01_lists_page_06_sections_with_the_same_checks():
    import dataclasses

    from cpm_analysis.periods import parse_period
    from cpm_analysis.pipeline.availability import checks
    from cpm_analysis.sales import opportunity_check
    from cpm_analysis.service import service_check
    from cpm_analysis.synthetic import generate

    period = parse_period("2025-06")
    full = generate(300, seed=1).to_dataset().as_of("2025-06")
    rows = {str(c.analysis): c for c in checks(full, period)}
    funnel = rows["The opportunity funnel and sales cycle"]
    assert funnel == opportunity_check(full, period) and funnel.available
    assert rows["The complaint drill-down"] == service_check(full, period)
    assert rows["Activity KPIs, campaign response and action follow-up"].available
    bare = dataclasses.replace(full, opportunities=None, activities=None, tickets=None)
    rows = {str(c.analysis): c for c in checks(bare, period)}
    assert rows["The opportunity funnel and sales cycle"].detail == (
        "the data has no opportunities table"
    )
    assert rows["The complaint drill-down"].detail == "the data has no tickets table"
    assert not rows["Activity KPIs, campaign response and action follow-up"].available
