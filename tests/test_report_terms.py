"""Issue 15 item 2: each glossary term is defined where it first appears on a page."""

from __future__ import annotations

from cpm_analysis import glossary
from cpm_analysis.i18n import translator
from cpm_analysis.report.sanitize import sanitize_page
from cpm_analysis.report.terms import link_terms

DEFINITION = "A customer of the base who makes no paid order in the next 90 days."


def _page(body: str) -> str:
    return f"<html><head><title>t</title></head><body class='jp-Notebook'>{body}</body></html>"


def test_the_first_occurrence_in_running_text_is_defined_and_survives_the_sanitiser():
    page = _page(
        "<h2>Churn</h2><table><tr><th>Churn</th></tr></table>"
        "<p>&lt;script&gt;Churn is low; <strong>churn</strong> again, churn.</p>"
    )
    out = sanitize_page(link_terms(page))
    assert f'<abbr class="cpm-term" title="{DEFINITION}">Churn</abbr> is low' in out
    assert out.count("cpm-term") == 1  # once, never in the heading, header or bold text
    assert "&lt;script&gt;" in out and "<script>" not in out


def test_on_a_page_with_the_glossary_the_term_links_to_its_entry():
    glossary_html = '<ul><li><a id="glossary-churn"></a><strong>Churn</strong>: ...</li></ul>'
    out = sanitize_page(link_terms(_page(f"<p>Who will churn?</p>{glossary_html}")))
    assert f'<a class="cpm-term" href="#glossary-churn" title="{DEFINITION}">churn</a>' in out


def test_chinese_terms_are_defined_in_chinese():
    tr = translator("zh")
    out = link_terms(_page("<p>本期流失风险很高。</p>"), tr)
    definition = tr.gettext(glossary.TERMS["churn"].definition)
    assert f'<abbr class="cpm-term" title="{definition}">流失</abbr>' in out


def test_a_shared_name_and_a_name_inside_another_are_not_linked():
    out = link_terms(_page("<p>Net Promoter Score is at risk.</p>"))
    assert "cpm-term" not in out


def test_a_definition_is_escaped_for_its_attribute(monkeypatch):
    term = glossary.Term("churn", "Churn", 'say "hi" <b>')
    monkeypatch.setitem(glossary.TERMS, "churn", term)
    out = sanitize_page(link_terms(_page("<p>churn</p>")))
    assert 'title="say &quot;hi&quot; &lt;b&gt;"' in out
